"""Repeats: pass@k, majority vote and the between/within variance split, checked independently."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from harness.analysis import summary
from harness.stats import StatsError, pass_at_k, variance_split


def _pass_at_k_by_enumeration(outcomes: list[int], k: int) -> float:
    subsets = list(combinations(outcomes, k))
    return sum(max(s) for s in subsets) / len(subsets)


@pytest.mark.parametrize("outcomes", [
    [0, 0, 0, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0], [0, 1, 0, 1, 0, 0], [1, 1, 0, 1, 0, 0, 0, 1],
])
@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_pass_at_k_equals_enumerating_every_subset(outcomes: list[int], k: int) -> None:
    n, c = len(outcomes), sum(outcomes)
    got = pass_at_k([n], [c], k)[0]
    if n < k:
        assert np.isnan(got)
    else:
        assert got == pytest.approx(_pass_at_k_by_enumeration(outcomes, k), abs=1e-12)


def test_pass_at_k_is_numerically_stable_for_many_samples() -> None:
    # Chen et al.'s product form: 1 - prod_{i=n-c+1}^{n} (1 - k / i)
    n, c, k = 200, 7, 50
    expected = 1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1))
    assert pass_at_k([n], [c], k)[0] == pytest.approx(expected, rel=1e-10)


def _runs_with_answers() -> pd.DataFrame:
    # item q1: answers 42, 42, 41 -> majority 42 (correct); q2: 7, 8, 8 -> 8 (wrong);
    # q3: 5, 6 tie -> earliest epoch wins, 5 (correct); q4: errored, 3, 3 -> 3 (correct)
    rows = []
    spec = {
        "q1": [("42", 1.0), ("42", 1.0), ("41", 0.0)],
        "q2": [("7", 1.0), ("8", 0.0), ("8", 0.0)],
        "q3": [("5", 1.0), ("6", 0.0)],
        "q4": [(None, np.nan), ("3", 1.0), ("3", 1.0)],
    }
    for item, samples in spec.items():
        for epoch, (answer, score) in enumerate(samples):
            rows.append({"task": "t", "model": "m", "variant": "v", "item_id": item, "epoch": epoch,
                         "cluster": None, "error": "boom" if answer is None else None,
                         "answer": answer, "score_exact": score})
    return pd.DataFrame(rows)


def _majority_by_counter(df: pd.DataFrame) -> dict[str, float]:
    out = {}
    for item, g in df[df["error"].isna()].sort_values("epoch").groupby("item_id"):
        counts = Counter(g["answer"])
        top = max(counts.values())
        winner = next(a for a in g["answer"] if counts[a] == top)  # earliest among ties
        out[item] = g.loc[g["answer"] == winner, "score_exact"].mean()
    return out


def test_majority_vote_matches_a_counter_based_reference() -> None:
    df = _runs_with_answers()
    expected = _majority_by_counter(df)
    row = summary(df, reducer="majority").iloc[0]
    assert row["mean"] == pytest.approx(np.mean(list(expected.values())))
    assert row["n"] == 4 and row["n_errors"] == 1
    assert row["ci_method"] == "wilson"  # majority vote keeps pass/fail items pass/fail


def test_pass_at_k_reducer_drops_items_with_too_few_samples() -> None:
    df = _runs_with_answers()
    row = summary(df, reducer="pass@3").iloc[0]
    # q3 and q4 have only 2 valid samples; q1 and q2 each pass at least once in 3 -> 1.0
    assert row["n"] == 2 and row["mean"] == 1.0
    assert "fewer valid samples" in row["note"]


def test_pass_at_k_rejects_graded_scores() -> None:
    df = _runs_with_answers()
    df["score_exact"] = df["score_exact"] * 0.5
    with pytest.raises(StatsError, match="pass/fail"):
        summary(df, reducer="pass@2")


def test_unknown_reducer_is_a_clear_error() -> None:
    with pytest.raises(StatsError, match="unknown reducer"):
        summary(_runs_with_answers(), reducer="median")


def test_variance_split_matches_reml_for_a_balanced_design() -> None:
    rng = np.random.default_rng(0)
    n_items, k = 80, 4
    item_effect = rng.normal(0, 0.2, n_items)
    y = 0.5 + item_effect[:, None] + rng.normal(0, 0.3, (n_items, k))
    long = pd.DataFrame({"y": y.ravel(), "item": np.repeat(np.arange(n_items), k)})
    fit = smf.mixedlm("y ~ 1", long, groups=long["item"]).fit(reml=True)
    split = variance_split(y.mean(axis=1), y.var(axis=1, ddof=1), np.full(n_items, k))
    assert split.within == pytest.approx(fit.scale, rel=1e-4)
    assert split.between == pytest.approx(float(fit.cov_re.iloc[0, 0]), rel=1e-3)
    # SE of the mean is sqrt((B + W / K) / n): check against the item-level SE
    se_items = y.mean(axis=1).std(ddof=1) / np.sqrt(n_items)
    assert np.sqrt((split.between + split.within / k) / n_items) == pytest.approx(se_items)


def test_variance_split_advice_follows_the_numbers() -> None:
    n = 200
    rng = np.random.default_rng(1)
    # items identical, all noise within: repeats are as good as items
    noisy = variance_split(rng.normal(0.5, 0.3 / np.sqrt(4), n), np.full(n, 0.09), np.full(n, 4))
    assert noisy.within_share > 0.8
    # items differ a lot, little noise: items are the better buy
    spread = variance_split(rng.normal(0.5, 0.3, n), np.full(n, 0.001), np.full(n, 4))
    assert spread.within_share < 0.05
    assert spread.se_ratio_more_repeats > spread.se_ratio_more_items
    assert "more items help more" in spread.advice
    single = variance_split(rng.random(n), np.full(n, np.nan), np.ones(n))
    assert "2 or more epochs" in single.advice


def test_summary_reports_the_split_when_there_are_repeats(
    make_samples: Callable[..., pd.DataFrame],
) -> None:
    df = make_samples(epochs=3, n_items=50, binary=False)
    s = summary(df)
    assert (s["epochs"] == 3).all()
    item_means = df.groupby(["variant", "item_id"])["score_exact"].mean()
    for _, row in s.iterrows():
        m = item_means[row["variant"]]
        assert row["mean"] == pytest.approx(m.mean())
        assert row["se"] == pytest.approx(m.std(ddof=1) / np.sqrt(len(m)))  # SE over items
        assert row["var_within"] > 0 and 0 <= row["within_share"] <= 1
