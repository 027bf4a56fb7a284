"""Factor main effects and interactions against ground truth, and their intervals' coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sweep_data import LEVELS, design, graded_sweep

from harness.report.factorial import effect_sentence, factorial_markdown
from harness.stats.factorial import contrasts, estimate, factorial

# Ground truth of graded_sweep's defaults: rag +12, cot +5, shots 0, rag x cot +6.
# Averaged over the other factors: rag = 12 + 6/2, template = 5 + 6/2.
TRUE_MAIN = {"rag": 0.15, "template": 0.08, "shots": 0.0}
TRUE_INTER = {("template", "rag"): 0.06, ("template", "shots"): 0.0, ("shots", "rag"): 0.0}


def _row(table: pd.DataFrame, factor: str, factor2: str = "") -> pd.Series:
    return table[(table["factor"] == factor) & (table["factor2"] == factor2)].iloc[0]


def test_estimates_match_the_truth_within_their_intervals() -> None:
    # 99.9% intervals, so that six effects all cover on any seed; 95% coverage is simulated below
    table = factorial(graded_sweep(np.random.default_rng(3), n_items=60), alpha=0.001)
    assert len(table) == 3 + 3
    for factor, truth in TRUE_MAIN.items():
        r = _row(table, factor)
        assert r["ci_low"] <= truth <= r["ci_high"], (factor, r.to_dict())
        assert r["averaged_over"] == ", ".join(f for f in LEVELS if f != factor)
    for (f, g), truth in TRUE_INTER.items():
        r = _row(table, f, g)
        assert r["ci_low"] <= truth <= r["ci_high"], (f, g, r.to_dict())
    assert _row(table, "rag")["p_adjusted"] < 0.001
    assert _row(table, "template", "rag")["p_adjusted"] < 0.05
    assert abs(_row(table, "rag")["estimate"] - 0.15) < 0.02
    assert _row(table, "shots")["p_adjusted"] > 0.05  # Holm >= raw
    assert (table["p_adjusted"] >= table["p_value"] - 1e-12).all()


def test_interval_coverage_by_simulation() -> None:
    """95% intervals of every effect cover the truth about 95% of the time (300 runs)."""
    cells = list(design().values())
    effects = contrasts(cells, LEVELS)
    truth = [TRUE_MAIN[e.factor] if e.kind == "main" else TRUE_INTER[(e.factor, e.factor2)]
             for e, _ in effects]
    rng = np.random.default_rng(11)
    mu = np.array([0.5 + 0.12 * (c["rag"] == "on") + 0.05 * (c["template"] == "cot")
                   + 0.06 * (c["rag"] == "on" and c["template"] == "cot") for c in cells])
    covered = np.zeros(len(effects))
    runs = 300
    for _ in range(runs):
        n = 25
        scores = mu + rng.normal(0, 0.2, (n, 1)) + rng.normal(0, 0.1, (n, len(cells)))
        for j, (_, w) in enumerate(effects):
            est = estimate(scores @ w, None)
            covered[j] += est["ci_low"] <= truth[j] <= est["ci_high"]
    rate = covered / runs
    # binomial SE at 95% over 300 runs is 1.3 points: allow 4 SE either way
    assert np.all(rate > 0.89) and np.all(rate < 0.995), rate


def test_clustered_items_widen_the_interval() -> None:
    rng = np.random.default_rng(5)
    df = graded_sweep(rng, n_items=60, clusters=10)
    plain = df.drop(columns="cluster")
    plain.attrs = df.attrs
    with_clusters, without = factorial(df), factorial(plain)
    assert with_clusters["clustered"].all() and not without["clustered"].any()
    assert (with_clusters["n_clusters"] == 10).all()
    assert (with_clusters["df"] == 9).all()


def test_three_level_factor_reports_each_level_against_the_first() -> None:
    rng = np.random.default_rng(2)
    levels = {"shots": ["0", "2", "8"], "rag": ["off", "on"]}
    factors = {f"s{s}-{r}": {"shots": s, "rag": r} for s in levels["shots"]
               for r in levels["rag"]}
    gain = {"0": 0.0, "2": 0.04, "8": 0.10}
    rows = []
    item = rng.normal(0, 0.2, 80)
    for name, lv in factors.items():
        for i in range(80):
            rows.append({"task": "t", "model": "m", "variant": name, "item_id": f"i{i}",
                         "error": None, "score_s": 0.4 + gain[lv["shots"]] + item[i]
                         + rng.normal(0, 0.05)})
    table = factorial(pd.DataFrame(rows), factors=factors, levels=levels)
    mains = table[table["kind"] == "main"].set_index("level")
    assert list(mains.index) == ["2", "8", "on"]
    assert (mains.loc[["2", "8"], "reference"] == "0").all()
    for level in ("2", "8"):
        assert mains.loc[level, "ci_low"] <= gain[level] <= mains.loc[level, "ci_high"]
    assert len(table[table["kind"] == "interaction"]) == 2  # (2 vs 0) x rag, (8 vs 0) x rag


def test_items_missing_a_cell_are_left_out_and_explicit_variants_ignored() -> None:
    df = graded_sweep(np.random.default_rng(1), n_items=30)
    extra = df[df["variant"] == "cot-4-on"].assign(variant="hand-written")
    df2 = pd.concat([df[~((df["variant"] == "cot-4-on") & (df["item_id"] == "i000"))], extra],
                    ignore_index=True)
    df2.attrs = df.attrs
    table = factorial(df2)
    assert (table["n_items"] == 29).all()


def test_sentences_say_the_direction_and_what_was_averaged() -> None:
    df = graded_sweep(np.random.default_rng(3), n_items=60, shots=-0.10)
    table = factorial(df)
    rag = effect_sentence(_row(table, "rag"))
    assert rag.startswith("`rag` (`on` vs `off`) adds 1")
    assert "averaged over template and shots" in rag
    shots = effect_sentence(_row(table, "shots"))
    assert "`shots` (`4` vs `0`) costs " in shots and "not distinguishable" not in shots
    text = "\n".join(factorial_markdown(table))
    assert "### Factors" in text
    assert "the effect of `template` (`cot` vs `zero-shot`) is" in text
    assert "larger" in text and "with `rag` `on` than with `off`" in text


def test_binary_sweep_recovers_a_known_difference() -> None:
    """Pass/fail items: rag turns exactly the items with id < 20 from fail to pass."""
    rows = []
    for name, lv in design().items():
        for i in range(50):
            ok = (i % 2 == 0) or (lv["rag"] == "on" and i < 20)
            rows.append({"task": "t", "model": "m", "variant": name, "item_id": f"i{i:02d}",
                         "error": None, "score_s": float(ok)})
    df = pd.DataFrame(rows)
    df.attrs["manifest"] = {"factors": design(), "factor_levels": LEVELS}
    r = _row(factorial(df), "rag")
    assert r["estimate"] == pytest.approx(10 / 50)
    assert r["ci_low"] < 0.2 < r["ci_high"]
