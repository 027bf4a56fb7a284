"""Pass counts, flaky items, the k-of-n repeat rule and recommended repeats, against truth."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from harness.report.repeats import repeats_markdown
from harness.stats.errors import StatsError
from harness.stats.repeats import (
    advice,
    flaky_items,
    judge_item,
    optimal_repeats,
    pair_variance,
    parse_rule,
    repeat_rule,
    target_se,
)


def _samples(passes: dict[str, list[int]], variant: str = "v") -> pd.DataFrame:
    rows = [{"task": "t", "model": "m", "variant": variant, "item_id": item, "epoch": e,
             "error": None, "score_ok": float(s)}
            for item, scores in passes.items() for e, s in enumerate(scores)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("passes", "repeats", "verdict"),
    [(8, 10, "pass"), (7, 10, "fail"), (10, 10, "pass"), (16, 20, "pass"), (15, 20, "fail"),
     (8, 9, "pass"),           # already 8 passes
     (4, 7, "fail"),           # 3 failures > 10 - 8: no missing repeat can save it
     (6, 7, "inconclusive"),   # 1 failure; 3 missing repeats decide it
     (0, 0, "inconclusive")],
)
def test_k_of_n_rule(passes: int, repeats: int, verdict: str) -> None:
    assert judge_item(passes, repeats, 8, 10) == verdict


def test_parse_rule() -> None:
    assert parse_rule("8/10") == (8, 10)
    assert parse_rule("0.8") == (4, 5)
    for bad in ("11/10", "0/10", "eight", "1/0"):
        with pytest.raises(StatsError):
            parse_rule(bad)


def test_repeat_rule_and_flaky_items_count_passes_and_skip_errors() -> None:
    df = _samples({"a": [1] * 10, "b": [1] * 7 + [0] * 3, "c": [1, 0] * 5, "d": [0] * 10})
    df.loc[(df["item_id"] == "a") & (df["epoch"] == 0), "error"] = "timeout"
    judged = repeat_rule(df, "8/10").set_index("item_id")
    assert judged.loc["a", ["passes", "repeats", "verdict"]].tolist() == [9, 9, "pass"]
    assert judged.loc["b", "verdict"] == "fail" and judged.loc["b", "passes"] == 7
    flaky = flaky_items(df)
    assert sorted(flaky["item_id"]) == ["b", "c"]  # a and d never changed outcome
    assert flaky.set_index("item_id").loc["c", "passes"] == 5


def test_variance_components_recovered_by_simulation() -> None:
    """Known B (between items) and W (between repeats) of the paired difference."""
    rng = np.random.default_rng(7)
    n, r, b_true, w_each = 400, 6, 0.02, 0.05
    d_item = rng.normal(0.0, math.sqrt(b_true), n)
    rows = []
    for variant, shift in (("a", 0.0), ("b", 1.0)):
        for i in range(n):
            mu = 0.5 + shift * d_item[i]
            for e in range(r):
                rows.append({"task": "t", "model": "m", "variant": variant, "item_id": f"i{i}",
                             "epoch": e, "error": None,
                             "score_g": mu + rng.normal(0, math.sqrt(w_each))})
    pv = pair_variance(pd.DataFrame(rows)).iloc[0]
    assert pv["within"] == pytest.approx(2 * w_each, rel=0.05)
    assert pv["between"] == pytest.approx(b_true, rel=0.25)
    assert pv["epochs"] == pytest.approx(r)


@pytest.mark.parametrize("cost", [1.0, 2.0, 5.0, 20.0, 100.0])
@pytest.mark.parametrize(("b", "w"), [(0.04, 0.2), (0.01, 0.25), (0.1, 0.05)])
def test_optimal_repeats_is_the_cheapest_for_a_given_se(cost: float, b: float, w: float) -> None:
    """Brute force: for each R, the items needed for a target SE and the calls they cost."""
    se = target_se(0.05)

    def total_cost(r: int) -> float:
        items = (b + w / r) / se**2  # continuous: the rounding would only add noise
        return items * (cost - 1 + r)

    best = min(range(1, 101), key=total_cost)
    chosen = optimal_repeats(b, w, cost)
    assert total_cost(chosen) == pytest.approx(total_cost(best), rel=1e-9)
    if cost == 1.0:
        assert chosen == 1  # at equal cost per call a new item always beats a repeat


def test_variance_formula_and_pool_advice_by_simulation() -> None:
    """Var(mean of N item means over R repeats) = (B + W/R)/N, and the repeats a fixed pool
    needs reach the target SE."""
    rng = np.random.default_rng(1)
    b, w, n = 0.01, 0.2, 50
    adv = advice(b, w, target_se(0.08), pool=n)
    r = int(adv.repeats_for_pool)
    assert (b + w / r) / n <= target_se(0.08) ** 2 < (b + w / (r - 1)) / n
    runs = 20_000  # the variance of a variance estimate: 1% relative SE
    means = (rng.normal(0, math.sqrt(b), (runs, n, 1))
             + rng.normal(0, math.sqrt(w), (runs, n, r))).mean(axis=(1, 2))
    assert np.var(means) == pytest.approx((b + w / r) / n, rel=0.04)
    assert math.isinf(advice(0.2, 0.1, target_se(0.05), pool=50).repeats_for_pool)


def test_report_lists_flaky_items_and_repeat_advice() -> None:
    a = _samples({"x1": [1, 1, 1], "x2": [1, 0, 1], "x3": [0, 0, 0], "x4": [1, 1, 0]}, "a")
    b = _samples({"x1": [1, 1, 1], "x2": [0, 0, 0], "x3": [0, 1, 0], "x4": [1, 1, 1]}, "b")
    text = "\n".join(repeats_markdown(pd.concat([a, b], ignore_index=True)))
    assert "x2 (2/3)" in text and "x4 (2/3)" in text and "x3 (1/3)" in text
    assert "x1 (" not in text
    assert "Recommended repeats" in text and "a vs b" in text
    assert repeats_markdown(_samples({"x1": [1]})) == []  # one epoch: no section
