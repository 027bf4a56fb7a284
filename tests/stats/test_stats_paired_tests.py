"""McNemar, Wilcoxon and sign-flip tests against statsmodels and scipy, edge cases included."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.contingency_tables import mcnemar

from harness.stats import StatsError, mcnemar_exact, sign_flip_test, wilcoxon_signed_rank
from harness.stats.paired_tests import sign_flip_pvalues

DISCORDANT = [(0, 0), (0, 7), (9, 0), (3, 3), (5, 12), (1, 2), (40, 61), (0, 1), (100, 0)]


@pytest.mark.parametrize(("a_only", "b_only"), DISCORDANT)
def test_mcnemar_matches_statsmodels_and_binomtest(a_only: int, b_only: int) -> None:
    res = mcnemar_exact(a_only, b_only)
    ref = mcnemar([[20, a_only], [b_only, 15]], exact=True)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    assert res.statistic == ref.statistic
    if a_only + b_only:
        assert res.p_value == pytest.approx(sps.binomtest(a_only, a_only + b_only).pvalue)


def test_mcnemar_with_no_discordant_items_is_one() -> None:
    assert mcnemar_exact(0, 0).p_value == 1.0


def test_mcnemar_all_discordant_one_way_is_the_binomial_tail() -> None:
    # 9 of 9 discordant items favour A: p = 2 * 0.5**9
    assert mcnemar_exact(9, 0).p_value == pytest.approx(2 * 0.5**9)


def test_mcnemar_is_vectorised() -> None:
    b = np.array([d[0] for d in DISCORDANT])
    c = np.array([d[1] for d in DISCORDANT])
    p = mcnemar_exact(b, c).p_value
    ref = [mcnemar([[0, x], [y, 0]], exact=True).pvalue for x, y in DISCORDANT]
    np.testing.assert_allclose(p, ref, rtol=1e-12)


def test_mcnemar_rejects_fractional_counts() -> None:
    with pytest.raises(StatsError):
        mcnemar_exact(1.5, 2)


def _wilcoxon_cases() -> list[tuple[str, np.ndarray, str]]:
    rng = np.random.default_rng(5)
    return [
        ("no ties, small", rng.normal(0.3, 1, 12), "exact"),
        ("no ties, n=50", rng.normal(0.2, 1, 50), "exact"),
        ("no ties, large", rng.normal(0.1, 1, 120), "asymptotic"),
        ("ties and zeros, large", np.round(rng.normal(0.1, 0.4, 300), 1), "asymptotic"),
        ("graded item means", rng.integers(-3, 4, 80) / 3, "asymptotic"),
        ("one sided, no ties", np.arange(1, 21, dtype=float), "exact"),
    ]


@pytest.mark.parametrize(("label", "d", "method"), _wilcoxon_cases())
def test_wilcoxon_matches_scipy(label: str, d: np.ndarray, method: str) -> None:
    ours = wilcoxon_signed_rank(d)
    nonzero = d[d != 0]
    ref = sps.wilcoxon(nonzero, zero_method="wilcox", method=method, correction=False)
    assert ours.statistic == pytest.approx(ref.statistic), label
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-9), label
    assert "zeros dropped" in ours.test


def test_wilcoxon_zeros_are_dropped_like_scipy_wilcox_handling() -> None:
    # Rounded to a grid as scores are: -0.45 and 0.45 tie in |d| on paper, and must in ranks.
    d = np.round(np.array([0.0] * 30 + list(np.linspace(-1.0, 2.0, 61))), 12)
    ours = wilcoxon_signed_rank(d)
    ref = sps.wilcoxon(d, zero_method="wilcox", method="asymptotic", correction=False)
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-9)


@pytest.mark.parametrize("d", [
    [0.5, 0.5, -0.25, 1.0, 1.0, 0.25, -0.5, 0.75, 0.5, 0.0],
    [1 / 3, 1 / 3, 1 / 3, -1 / 3, 2 / 3, 2 / 3, 1.0, -1.0, 1 / 3, 0.0, 0.0, 2 / 3, 1 / 3],
    [-0.5, -0.5, -0.5, 0.5],
])
def test_wilcoxon_small_sample_with_ties_matches_scipy_exact_permutation(d: list[float]) -> None:
    x = np.array(d)
    ours = wilcoxon_signed_rank(x)
    ref = sps.wilcoxon(x[x != 0], method=sps.PermutationMethod(n_resamples=np.inf))
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert "exact with ties" in ours.test


def test_wilcoxon_mid_sample_with_ties_agrees_with_scipy_monte_carlo() -> None:
    x = np.random.default_rng(6).integers(-3, 5, 45) / 4  # many ties, 45 items, some zeros
    ours = wilcoxon_signed_rank(x)
    ref = sps.wilcoxon(x[x != 0], method=sps.PermutationMethod(n_resamples=10_000, rng=1))
    assert "exact with ties" in ours.test
    assert abs(ours.p_value - ref.pvalue) < 4 * np.sqrt(ref.pvalue * (1 - ref.pvalue) / 10_000)


def test_wilcoxon_all_zero_differences_gives_p_one() -> None:
    res = wilcoxon_signed_rank(np.zeros(25))
    assert res.p_value == 1.0 and res.statistic == 0.0


def test_wilcoxon_single_item() -> None:
    res = wilcoxon_signed_rank([0.4])
    assert res.p_value == pytest.approx(sps.wilcoxon([0.4], method="exact").pvalue)


def test_wilcoxon_no_items_is_a_clear_error() -> None:
    with pytest.raises(StatsError, match="at least one paired item"):
        wilcoxon_signed_rank([])


def _paired_mean_diff(x: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
    return np.mean(x - y, axis=axis)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sign_flip_exact_matches_scipy_permutation_test(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.random(12)
    b = a - rng.normal(0.1, 0.2, 12)
    ours = sign_flip_test(a - b)
    ref = sps.permutation_test((a, b), _paired_mean_diff, permutation_type="samples",
                               n_resamples=np.inf)
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert "exact" in ours.test


def test_sign_flip_monte_carlo_is_close_to_scipy() -> None:
    rng = np.random.default_rng(3)
    a = rng.random(60)
    b = a - rng.normal(0.05, 0.2, 60)
    ours = sign_flip_test(a - b, n_resamples=20_000, seed=1)
    ref = sps.permutation_test((a, b), _paired_mean_diff, permutation_type="samples",
                               n_resamples=20_000, rng=2)
    # two independent Monte Carlo estimates of the same p-value: within 4 standard errors
    se = np.sqrt(ref.pvalue * (1 - ref.pvalue) / 20_000) * np.sqrt(2)
    assert abs(ours.p_value - ref.pvalue) < 4 * se + 1e-4


def test_cluster_sign_flip_equals_item_test_on_cluster_totals() -> None:
    rng = np.random.default_rng(4)
    clusters = np.repeat(np.arange(10), 3)
    a = rng.random(30)
    b = a - rng.normal(0.05, 0.3, 30)
    ours = sign_flip_test(a - b, clusters)
    ta, tb = np.bincount(clusters, weights=a), np.bincount(clusters, weights=b)
    ref = sps.permutation_test((ta, tb), _paired_mean_diff, permutation_type="samples",
                               n_resamples=np.inf)
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert ours.test.startswith("cluster")


def test_permutation_tests_with_no_items_are_a_clear_error() -> None:
    with pytest.raises(StatsError, match="at least one paired item"):
        sign_flip_test([])
    with pytest.raises(StatsError, match="at least one paired item"):
        sign_flip_pvalues(np.empty((0, 2)))


def test_sign_flip_with_all_zero_differences_is_one() -> None:
    assert sign_flip_test(np.zeros(40)).p_value == 1.0
    assert sign_flip_test(np.zeros(5)).p_value == 1.0


def test_sign_flip_columns_share_draws_but_are_tested_separately() -> None:
    rng = np.random.default_rng(9)
    u = rng.normal(0, 1, (30, 3))
    u[:, 2] = 0.0
    joint = sign_flip_pvalues(u, n_resamples=5000, seed=0)
    assert joint[2] == 1.0
    for j in range(2):
        alone = sign_flip_pvalues(u[:, [j]], n_resamples=5000, seed=0)[0]
        assert joint[j] == pytest.approx(alone)


def test_paired_t_interval_matches_ttest_rel() -> None:
    from harness.stats.intervals import standard_error, t_interval

    rng = np.random.default_rng(8)
    a = rng.random(45)
    b = np.clip(a + rng.normal(-0.05, 0.1, 45), 0, 1)
    se, df = standard_error(a - b)
    ours = t_interval(float(np.mean(a - b)), se, df, bounds=(-1, 1))
    ref = sps.ttest_rel(a, b).confidence_interval()
    assert ours == pytest.approx((ref.low, ref.high), rel=1e-10)
