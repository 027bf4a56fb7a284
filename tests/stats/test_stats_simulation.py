"""Calibration by simulation: with no true difference, tests reject at most alpha of the time.

Each simulation draws thousands of paired data sets in which both variants have exactly the same
per-item success chance (items differ in difficulty, as real items do), runs the same code that
``compare`` runs, and counts rejections at alpha = 0.05. "At most 5%" allows for simulation error:
the bound is 5% plus 2.58 binomial standard errors of the estimate. Seeds are fixed, so the tests
are deterministic.
"""

from __future__ import annotations

import numpy as np

from harness.stats import adjust_pvalues, holm, mcnemar_exact, wilcoxon_signed_rank
from harness.stats.intervals import t_interval
from harness.stats.paired_tests import sign_flip_pvalues
from harness.stats.pairwise import Block, compare_block

ALPHA = 0.05


def _upper(n_sims: int, rate: float = ALPHA) -> float:
    return rate + 2.58 * np.sqrt(rate * (1 - rate) / n_sims)


def _null_binary(rng: np.random.Generator, n_sims: int, n_items: int, n_variants: int,
                 epochs: int = 1) -> np.ndarray:
    """sims x items x variants x epochs pass/fail outcomes, same chance for every variant."""
    p_item = 1 / (1 + np.exp(-rng.normal(0.4, 1.5, (n_sims, n_items, 1, 1))))
    return (rng.random((n_sims, n_items, n_variants, epochs)) < p_item).astype(float)


def test_mcnemar_false_positive_rate() -> None:
    rng = np.random.default_rng(0)
    x = _null_binary(rng, 5000, 60, 2)[..., 0]
    a_only = np.sum((x[..., 0] == 1) & (x[..., 1] == 0), axis=1)
    b_only = np.sum((x[..., 0] == 0) & (x[..., 1] == 1), axis=1)
    rate = np.mean(mcnemar_exact(a_only, b_only).p_value < ALPHA)
    assert rate <= _upper(5000), rate


def test_wilcoxon_false_positive_rate_on_item_means_with_ties_and_zeros() -> None:
    rng = np.random.default_rng(1)
    n_sims = 2000
    x = _null_binary(rng, n_sims, 50, 2, epochs=3).mean(axis=3)  # means in {0, 1/3, 2/3, 1}
    d = x[..., 0] - x[..., 1]
    p = np.array([wilcoxon_signed_rank(row).p_value for row in d])
    assert np.mean(p < ALPHA) <= _upper(n_sims), np.mean(p < ALPHA)


def test_paired_t_interval_excludes_zero_at_most_alpha_of_the_time() -> None:
    rng = np.random.default_rng(2)
    n_sims, n_items = 4000, 40
    x = _null_binary(rng, n_sims, n_items, 2, epochs=2).mean(axis=3)
    d = x[..., 0] - x[..., 1]
    se = d.std(axis=1, ddof=1) / np.sqrt(n_items)
    rejected = 0
    for mean, s in zip(d.mean(axis=1), se, strict=True):
        low, high = t_interval(mean, s, n_items - 1, bounds=(-1, 1))
        rejected += bool(low > 0 or high < 0)
    assert rejected / n_sims <= _upper(n_sims), rejected / n_sims


def test_cluster_sign_flip_holds_alpha_where_item_tests_do_not() -> None:
    rng = np.random.default_rng(3)
    n_sims, n_clusters, size = 2000, 12, 8
    # a shared shock per cluster that hits both variants' difference: items within a cluster
    # are correlated, but there is no true difference on average
    shock = rng.normal(0, 0.15, (n_sims, n_clusters, 1))
    d = (shock + rng.normal(0, 0.2, (n_sims, n_clusters, size))).reshape(n_sims, -1)
    codes = np.repeat(np.arange(n_clusters), size)
    totals = np.stack([np.bincount(codes, weights=row) for row in d], axis=1)  # clusters x sims
    p_cluster = sign_flip_pvalues(totals)
    assert np.mean(p_cluster < ALPHA) <= _upper(n_sims)
    # ignoring the clusters is anti-conservative, which is why compare() flips whole clusters
    p_naive = np.array([wilcoxon_signed_rank(row).p_value for row in d[:500]])
    assert np.mean(p_naive < ALPHA) > 0.15


def test_holm_keeps_family_wise_error_for_five_pass_fail_variants() -> None:
    rng = np.random.default_rng(4)
    n_sims = 4000
    x = _null_binary(rng, n_sims, 80, 5)[..., 0]
    pairs = [(i, j) for i in range(5) for j in range(i + 1, 5)]
    p = np.column_stack([
        mcnemar_exact(np.sum((x[..., i] == 1) & (x[..., j] == 0), axis=1),
                      np.sum((x[..., i] == 0) & (x[..., j] == 1), axis=1)).p_value
        for i, j in pairs
    ])
    raw_fwer = np.mean((p < ALPHA).any(axis=1))
    holm_fwer = np.mean([(holm(row) < ALPHA).any() for row in p])
    assert holm_fwer <= _upper(n_sims), holm_fwer
    assert raw_fwer > 2 * ALPHA  # without adjustment, 10 pairs inflate the error a lot


def test_holm_over_compare_blocks_for_five_graded_variants() -> None:
    """The same code path as compare(): paired item means, Wilcoxon, Holm over the table."""
    rng = np.random.default_rng(5)
    n_sims, n_items = 400, 40
    x = _null_binary(rng, n_sims, n_items, 5, epochs=2).mean(axis=3)
    levels = [f"v{i}" for i in range(5)]
    shape = (n_items, 5)
    any_rejected = 0
    for scores in x:
        block = Block(levels=levels, scores=scores, binary=np.zeros(shape, bool),
                      present=np.ones(shape, bool), errors=np.zeros(shape, np.int64))
        p = [rec["p_value"] for rec in compare_block(block, n_boot=0)]
        any_rejected += bool((adjust_pvalues(p, "holm") < ALPHA).any())
    assert any_rejected / n_sims <= _upper(n_sims), any_rejected / n_sims
