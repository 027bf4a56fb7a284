"""harness.stats.distributions gives exactly scipy.stats' values (bit for bit), edge cases too.

The statistics dropped ``scipy.stats`` for start-up; these grids are what says no p-value,
interval or quantile moved by even one unit in the last place.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import stats as sps

from harness.stats import distributions as dist

# boost warns where its root finder gives up (tiny q with large shapes), in scipy.stats as here
QUIET_BOOST = pytest.mark.filterwarnings("ignore:Error in function boost:RuntimeWarning")
PROBS = np.array([0.0, 1.0, -0.1, 1.1, np.nan, 5e-324, 1e-300, 1e-16, 1e-10, 1e-6, 0.001,
                  0.005, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975, 0.995, 0.999,
                  1 - 1e-6, 1 - 1e-10, 1 - 1e-16, np.nextafter(1.0, 0.0)])
XS = np.array([-np.inf, np.inf, np.nan, 0.0, -0.0, 1e-300, -1e-12, 0.5, -0.5, 1.0, -1.0, 1.96,
               -1.96, 2.5, 5.0, -5.0, 8.3, -8.3, 12.0, -12.0, 37.5, -37.5, 40.0, 1e6, -1e6])
DFS = np.array([-1.0, 0.0, np.nan, 1e-300, 1e-10, 0.01, 0.3, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 9.0,
                29.0, 30.0, 99.0, 1e3, 1e5, 1e8, 1e12, 1e20, np.inf])
SHAPES = np.array([-1.0, 0.0, np.nan, 1e-12, 1e-6, 0.01, 0.5, 1.0, 1.5, 2.0, 3.0, 10.0, 49.5,
                   100.0, 999.0, 1e5, 1e7, np.inf])


def same(got: object, want: object) -> None:
    """Equal values, NaN where NaN, and the same kind of result (scalar vs array)."""
    np.testing.assert_array_equal(got, want, strict=True)


def grid(*axes: np.ndarray) -> list[np.ndarray]:
    return [a.ravel() for a in np.meshgrid(*axes, indexing="ij")]


def test_normal_matches_scipy_stats() -> None:
    same(dist.norm_ppf(PROBS), sps.norm.ppf(PROBS))
    same(dist.norm_cdf(XS), sps.norm.cdf(XS))
    same(dist.norm_sf(XS), sps.norm.sf(XS))
    rng = np.random.default_rng(0)
    q, x = rng.random(20_000), rng.normal(0, 4, 20_000)
    same(dist.norm_ppf(q), sps.norm.ppf(q))
    same(dist.norm_cdf(x), sps.norm.cdf(x))
    same(dist.norm_sf(x), sps.norm.sf(x))


@QUIET_BOOST
@pytest.mark.parametrize("value", [0.0, 1.0, 0.975, 1e-300, float("nan"), 2.0])
def test_scalars_stay_scalars(value: float) -> None:
    for mine, theirs in ((dist.norm_ppf, sps.norm.ppf), (dist.norm_sf, sps.norm.sf),
                         (dist.norm_cdf, sps.norm.cdf)):
        same(mine(value), theirs(value))
    same(dist.t_ppf(value, 3), sps.t.ppf(value, 3))
    same(dist.t_sf(value, 3), sps.t.sf(value, 3))
    same(dist.beta_ppf(min(value, 1.0), 2, 5), sps.beta.ppf(min(value, 1.0), 2, 5))
    same(dist.binom_cdf(value, 7, 0.5), sps.binom.cdf(value, 7, 0.5))


def test_student_t_matches_scipy_stats_over_tiny_to_huge_df() -> None:
    q, df = grid(PROBS, DFS)
    same(dist.t_ppf(q, df), sps.t.ppf(q, df))
    x, df = grid(XS, DFS)
    same(dist.t_cdf(x, df), sps.t.cdf(x, df))
    same(dist.t_sf(x, df), sps.t.sf(x, df))
    rng = np.random.default_rng(1)
    q, x, df = rng.random(20_000), rng.normal(0, 5, 20_000), np.exp(rng.uniform(-3, 12, 20_000))
    same(dist.t_ppf(q, df), sps.t.ppf(q, df))
    same(dist.t_sf(x, df), sps.t.sf(x, df))
    same(dist.t_cdf(x, df), sps.t.cdf(x, df))


@QUIET_BOOST
def test_beta_quantile_matches_scipy_stats() -> None:
    # q = 5e-324 (the smallest float) is left out: with shapes in the thousands boost itself
    # raises there, in scipy.stats as here (the intervals' q is alpha / 2).
    q, a, b = grid(PROBS[PROBS != 5e-324], SHAPES, SHAPES)
    same(dist.beta_ppf(q, a, b), sps.beta.ppf(q, a, b))
    rng = np.random.default_rng(2)
    q = rng.random(20_000)
    a, b = np.exp(rng.uniform(-8, 10, 20_000)), np.exp(rng.uniform(-8, 10, 20_000))
    same(dist.beta_ppf(q, a, b), sps.beta.ppf(q, a, b))


def test_clopper_pearson_arguments_match_scipy_stats() -> None:
    """Exactly the calls the interval makes: k = 0, k = n, n = 0 and the 1e-12 floors."""
    n = np.arange(0, 160, dtype=float)
    k = np.concatenate([np.arange(0, m + 1) for m in n.astype(int)]).astype(float)
    nn = np.concatenate([np.full(m + 1, m) for m in n.astype(int)]).astype(float)
    for alpha in (1e-12, 1e-6, 0.001, 0.01, 0.05, 0.1, 0.5, 0.999, 1 - 1e-12):
        a_low = (alpha / 2.0, np.maximum(k, 1e-12), nn - k + 1.0)
        a_high = (1.0 - alpha / 2.0, k + 1.0, np.maximum(nn - k, 1e-12))
        same(dist.beta_ppf(*a_low), sps.beta.ppf(*a_low))
        same(dist.beta_ppf(*a_high), sps.beta.ppf(*a_high))


def test_binomial_cdf_matches_scipy_stats_including_k0_kn_and_n0() -> None:
    pairs = [(k, n) for n in range(0, 80) for k in range(-2, n + 3)]
    pairs += [(k, n) for n in (199, 1000, 4999, 10_000, 123_457) for k in
              (0, 1, n // 3, n // 2 - 1, n // 2, n // 2 + 1, n - 1, n, n + 1)]
    k, n = (np.array(v, dtype=float) for v in zip(*pairs, strict=True))
    for p in (0.0, 1e-12, 0.01, 0.3, 0.5, 0.7, 1 - 1e-12, 1.0):
        same(dist.binom_cdf(k, n, p), sps.binom.cdf(k, n, p))
    odd = np.array([np.nan, np.inf, -np.inf, 2.5, -0.5, 3.999999])
    for n_odd in (10.0, 0.0, -1.0, 2.5, np.nan):
        for p in (0.5, -0.1, 1.1, np.nan):
            same(dist.binom_cdf(odd, n_odd, p), sps.binom.cdf(odd, n_odd, p))
    rng = np.random.default_rng(3)
    n = rng.integers(0, 100_000, 20_000).astype(float)
    k = np.floor(rng.random(20_000) * (n + 1))
    p = rng.random(20_000)
    same(dist.binom_cdf(k, n, p), sps.binom.cdf(k, n, p))
    same(dist.binom_cdf(k, n, 0.5), sps.binom.cdf(k, n, 0.5))


def test_mcnemar_calls_match_scipy_stats() -> None:
    """The exact McNemar p-value's own arguments: k = min(b, c), n = max(b + c, 1), p = 0.5."""
    b, c = (v.ravel().astype(float) for v in np.meshgrid(np.arange(300), np.arange(300)))
    k, n = np.minimum(b, c), np.maximum(b + c, 1)
    same(dist.binom_cdf(k, n, 0.5), sps.binom.cdf(k, n, 0.5))


@pytest.mark.parametrize("seed", range(5))
def test_rankdata_matches_scipy_stats_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for size in (1, 2, 3, 10, 51, 1000):
        tied = rng.integers(0, max(1, size // 3), size).astype(float) / 4
        smooth = rng.random(size)
        for values in (tied, smooth, np.abs(tied - 0.5), np.zeros(size)):
            same(dist.rankdata(values), sps.rankdata(values))
    same(dist.rankdata(np.array([])), sps.rankdata(np.array([])))


def test_statistics_import_no_scipy_stats() -> None:
    """The summary, the pairwise tests and the report's sections load without scipy.stats."""
    code = ("import sys; import harness.stats, harness.analysis, harness.report.markdown, "
            "harness.report.console, harness.stats.noninferiority, harness.stats.repeats, "
            "harness.stats.factorial, harness.stats.sequential; "
            "print(sorted(m for m in sys.modules if m.startswith(('scipy.stats', 'matplotlib'))"
            " or m == 'scipy.special'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stdout
