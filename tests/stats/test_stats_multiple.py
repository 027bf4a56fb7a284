"""Holm and Benjamini-Hochberg against statsmodels' multipletests."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from harness.stats import StatsError, adjust_pvalues, benjamini_hochberg, holm

P_SETS = [
    [0.01, 0.04, 0.03, 0.005, 0.2],
    [0.05],
    [0.5, 0.5, 0.5, 0.5],  # ties
    [0.001, 0.001, 0.04, 0.04, 0.9, 1.0],
    list(np.random.default_rng(0).random(45)),  # 10 variants -> 45 pairs
    list(np.random.default_rng(1).random(10) ** 4),
    [0.0, 1.0, 0.02],
]


@pytest.mark.parametrize("p", P_SETS)
def test_holm_matches_statsmodels(p: list[float]) -> None:
    np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1], rtol=1e-12)


@pytest.mark.parametrize("p", P_SETS)
def test_bh_matches_statsmodels(p: list[float]) -> None:
    ref = multipletests(p, method="fdr_bh")[1]
    np.testing.assert_allclose(benjamini_hochberg(p), ref, rtol=1e-12)


@pytest.mark.parametrize("p", P_SETS)
def test_rejections_match_statsmodels(p: list[float]) -> None:
    for ours, theirs in (("holm", "holm"), ("bh", "fdr_bh")):
        reject = adjust_pvalues(p, ours) < 0.05
        ref = multipletests(p, alpha=0.05, method=theirs)[0]
        # statsmodels rejects at p_adj <= alpha; only exact equality could differ
        assert list(reject) == list(ref) or np.any(np.isclose(adjust_pvalues(p, ours), 0.05))


def test_missing_pvalues_stay_missing_and_do_not_count() -> None:
    p = np.array([0.01, np.nan, 0.04, 0.03])
    out = adjust_pvalues(p, "holm")
    assert np.isnan(out[1])
    np.testing.assert_allclose(out[[0, 2, 3]], multipletests([0.01, 0.04, 0.03], method="holm")[1])


def test_no_correction_returns_raw_values() -> None:
    p = [0.01, 0.2]
    assert list(adjust_pvalues(p, "none")) == p
    assert list(adjust_pvalues(p, None)) == p


def test_statsmodels_spelling_is_accepted_and_unknown_is_rejected() -> None:
    np.testing.assert_allclose(adjust_pvalues([0.01, 0.02], "fdr_bh"), [0.02, 0.02])
    with pytest.raises(StatsError, match="unknown multiple-comparison"):
        adjust_pvalues([0.01], "bonferonni")


def test_empty_family() -> None:
    assert adjust_pvalues([], "holm").size == 0
