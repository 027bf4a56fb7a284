"""Details an independent check found: designed ties survive floating point, and the number
of permutation draws is the caller's, with p-values at its floor said to be there."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from harness import analysis
from harness.stats.paired_tests import paired_differences, wilcoxon_signed_rank

Factory = Callable[..., pd.DataFrame]


def test_designed_ties_stay_tied() -> None:
    assert 0.7 - 0.5 != 0.8 - 0.6  # the floating-point trap
    d = paired_differences([0.7, 0.8, 0.3], [0.5, 0.6, 0.1])
    assert d[0] == d[1] == d[2]


def test_wilcoxon_on_graded_scores_matches_exact_integer_arithmetic(make_samples: Factory) -> None:
    rng = np.random.default_rng(5)
    n = 80
    a_tenths = rng.integers(0, 11, n)
    b_tenths = np.clip(a_tenths - rng.integers(-1, 4, n), 0, 10)
    rows = []
    for variant, tenths in (("a", a_tenths), ("b", b_tenths)):
        for i, t in enumerate(tenths):
            rows.append({"task": "t", "model": "m", "variant": variant, "item_id": f"q{i}",
                         "epoch": 0, "error": None, "score_grade": t / 10})
    df = pd.DataFrame(rows)
    df.attrs["manifest"] = {"scorers": {"t": [{"name": "grade", "kind": "graded"}]}}
    row = analysis.compare(df, n_boot=0).iloc[0]
    # The truth: differences in whole tenths, where ties are ties.
    d = (a_tenths - b_tenths).astype(float)
    ref = sps.wilcoxon(d[d != 0], method="asymptotic", correction=False)
    assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert row["statistic"] == pytest.approx(ref.statistic)
    direct = wilcoxon_signed_rank(a_tenths / 10 - b_tenths / 10)
    assert direct.p_value == pytest.approx(ref.pvalue, rel=1e-9)


def test_n_permutations_reaches_the_permutation_test(make_samples: Factory) -> None:
    df = make_samples(variants={"a": 0.5, "b": 0.52}, n_items=60, binary=False, seed=2)
    row = analysis.compare(df, n_boot=0, graded_test="permutation",
                           n_permutations=999).iloc[0]
    assert "999 Monte Carlo draws" in row["test"]
    assert (row["p_value"] * 1000) == pytest.approx(round(row["p_value"] * 1000))


def test_a_p_value_at_the_resolution_floor_says_so(make_samples: Factory) -> None:
    df = make_samples(variants={"a": 0.2, "b": 0.8}, n_items=60, binary=False, seed=2)
    row = analysis.compare(df, n_boot=0, graded_test="permutation",
                           n_permutations=200).iloc[0]
    assert row["p_value"] == pytest.approx(1 / 201)
    assert "resolution floor of 200 draws" in row["note"]
    fine = analysis.compare(df, n_boot=0, graded_test="permutation",
                            n_permutations=20_000).iloc[0]
    assert fine["p_value"] < row["p_value"]


def test_clustered_comparisons_take_n_permutations_too(make_samples: Factory) -> None:
    df = make_samples(variants={"a": 0.3, "b": 0.8}, n_items=200, cluster_size=5, seed=1)
    df.attrs["manifest"] = {"scorers": {"t": [{"name": "exact", "kind": "binary"}]}}
    row = analysis.compare(df, n_boot=0, n_permutations=300).iloc[0]
    assert "300 Monte Carlo draws" in row["test"]
    assert "sqrt(G/(G-1))" in row["note"]


def test_the_report_says_which_p_values_are_at_the_floor(make_samples: Factory) -> None:
    from harness.report.stats_sections import _pairs_section

    df = make_samples(variants={"a": 0.2, "b": 0.8}, n_items=60, binary=False, seed=2)
    cmp = analysis.compare(df, n_boot=0, graded_test="permutation", n_permutations=200)
    text = "\n".join(_pairs_section(cmp, "variant", "model"))
    assert "At the resolution floor of the permutation test" in text and "a vs b" in text
