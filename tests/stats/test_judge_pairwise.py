"""Pairwise preferences: Bradley-Terry against statsmodels' logistic fit, recovery of a known
order, win rates with ties as half, and position bias found when simulated."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from harness.stats.bradley_terry import fit, win_probability
from harness.stats.judge_pairwise import position_bias, ranking, win_rates

VARIANTS = ["v0", "v1", "v2", "v3"]


def _simulate(strengths: list[float], n_items: int, *, first_bias: float = 0.0,
              tie: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """Each pair judged in both orders per item; the judge adds ``first_bias`` to the logit
    of the answer shown first."""
    rng = np.random.default_rng(seed)
    rows = []
    for item in range(n_items):
        for i, j in itertools.combinations(range(len(strengths)), 2):
            for shown_first in ("a", "b"):
                logit = strengths[i] - strengths[j] + (first_bias if shown_first == "a"
                                                       else -first_bias)
                u = rng.random()
                if u < tie:
                    winner = "tie"
                else:
                    winner = "a" if rng.random() < 1 / (1 + np.exp(-logit)) else "b"
                rows.append({"task": "t", "model": "m", "judge": "j", "item_id": f"i{item}",
                             "epoch": 0, "variant_a": VARIANTS[i], "variant_b": VARIANTS[j],
                             "shown_first": shown_first, "winner": winner})
    return pd.DataFrame(rows)


def test_bradley_terry_matches_statsmodels_logistic_regression() -> None:
    rng = np.random.default_rng(4)
    wins = rng.integers(3, 30, size=(4, 4)).astype(float)
    np.fill_diagonal(wins, 0)
    ours = fit(wins, prior=0.0, tol=1e-13)
    # the same model as a GLM: logit P(i beats j) = s_i - s_j, variant 0 as reference
    x, y, w = [], [], []
    for i, j in itertools.combinations(range(4), 2):
        row = np.zeros(4)
        row[i], row[j] = 1, -1
        x.append(row[1:])
        y.append(wins[i, j] / (wins[i, j] + wins[j, i]))
        w.append(wins[i, j] + wins[j, i])
    res = sm.GLM(np.array(y), np.array(x), family=sm.families.Binomial(),
                 var_weights=np.array(w)).fit()
    ref = np.r_[0.0, res.params]
    assert ours == pytest.approx(ref - ref.mean(), abs=1e-6)
    p = win_probability(ours)
    assert p[0, 1] + p[1, 0] == pytest.approx(1.0)


def test_bradley_terry_stays_finite_on_a_clean_sweep() -> None:
    wins = np.array([[0, 5, 5], [0, 0, 5], [0, 0, 0]], dtype=float)
    s = fit(wins)
    assert np.all(np.isfinite(s)) and s[0] > s[1] > s[2]


def test_ranking_recovers_a_known_order_with_intervals() -> None:
    truth = [1.0, 0.4, -0.2, -1.2]  # v0 best ... v3 worst
    rows = _simulate(truth, 80, tie=0.1, seed=2)
    table = ranking(rows, n_boot=300)
    assert table["variant"].tolist() == VARIANTS
    assert table["rank"].tolist() == [1, 2, 3, 4]
    centred = np.array(truth) - np.mean(truth)
    for row, true in zip(table.itertuples(), centred, strict=True):
        assert row.low <= true <= row.high  # shrunk a little by the prior, still inside
    assert table.loc[0, "p_best"] > 0.9
    assert table.loc[0, "rank_low"] == 1 and table.loc[3, "rank_high"] == 4


def test_win_rates_count_ties_as_half_and_average_per_item() -> None:
    rows = pd.DataFrame({
        "task": "t", "model": "m", "judge": "j", "epoch": 0, "variant_a": "x",
        "variant_b": "y", "item_id": ["1", "1", "2", "2", "3", "3", "3", "3"],
        "shown_first": ["a", "b"] * 4,
        "winner": ["a", "a", "tie", "b", "a", "tie", None, "b"]})
    table = win_rates(rows, n_boot=500)
    row = table.iloc[0]
    # item 1: 1; item 2: (0.5 + 0) / 2; item 3: (1 + 0.5 + 0) / 3 (the unreadable one skipped)
    assert row["win_rate"] == pytest.approx((1 + 0.25 + 0.5) / 3)
    assert (row["a_wins"], row["b_wins"], row["ties"], row["judgements"]) == (3, 2, 2, 7)
    assert row["low"] <= row["win_rate"] <= row["high"]


def test_win_rate_interval_covers_truth() -> None:
    rows = _simulate([0.5, 0.0, 0.0, 0.0], 150, seed=5)
    table = win_rates(rows, n_boot=1000).set_index(["a", "b"])
    true = 1 / (1 + np.exp(-0.5))
    assert table.loc[("v0", "v1"), "low"] <= true <= table.loc[("v0", "v1"), "high"]
    assert table.loc[("v1", "v2"), "low"] <= 0.5 <= table.loc[("v1", "v2"), "high"]


def test_position_bias_found_when_there_is_one_and_not_when_there_is_none() -> None:
    biased = position_bias(_simulate([0.3, 0.0, 0.0, -0.3], 60, first_bias=0.8, seed=7))
    row = biased.iloc[0]
    assert row["low"] > 0.5  # the judge favours the first answer
    assert row["first_share"] == pytest.approx(1 / (1 + np.exp(-0.8)), abs=0.05)
    assert row["consistent"] < 0.8
    fair = position_bias(_simulate([0.3, 0.0, 0.0, -0.3], 60, seed=8)).iloc[0]
    assert fair["low"] <= 0.5 <= fair["high"]
    assert fair["both_orders"] == 60 * 6
