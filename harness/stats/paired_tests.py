"""Paired significance tests: McNemar for pass/fail, Wilcoxon or sign-flip for graded scores.

Pairing is what makes prompt comparisons cheap (Miller 2024, on paired differences): both
variants answer the same items, so item difficulty cancels out of the difference. The tests here
all look only at items where the two sides differ:

* McNemar's exact test counts the items only A passed and only B passed; under "no difference"
  each discordant item is a fair coin, so the p-value is a two-sided binomial tail.
* The Wilcoxon signed-rank test drops zero differences (Wilcoxon's own handling, mirroring how
  McNemar drops concordant items), ranks the absolute differences with average ranks for ties,
  and uses the exact null distribution of the signed ranks (given the ties) when there are at
  most 50 non-zero differences, and the tie-corrected normal approximation (no continuity
  correction) otherwise.
* The sign-flip permutation test flips the sign of each unit's difference at random: exact for
  at most 16 units, Monte Carlo with a fixed seed otherwise. With clusters the unit is the cluster
  total, which keeps the test valid when items within a cluster are correlated.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

from harness.stats.bootstrap import make_rng
from harness.stats.distributions import binom_cdf, norm_sf, rankdata
from harness.stats.errors import StatsError

EXACT_WILCOXON_MAX = 50
EXACT_SIGN_FLIP_MAX = 16
# Scores are fractions written with a few decimals (0.7, 0.85, a mean of 3 repeats); their
# differences computed in binary floating point are not (0.7 - 0.5 != 0.8 - 0.6). Rounding
# differences to 12 decimals, far below any score's resolution and far above float error,
# keeps designed ties tied and true zeros zero, so ranks and dropped zeros are what they
# are on paper.
DIFF_DECIMALS = 12


def paired_differences(a: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
    """``a - b`` rounded to the scores' resolution (see :data:`DIFF_DECIMALS`)."""
    return np.round(np.asarray(a, dtype=float) - np.asarray(b, dtype=float), DIFF_DECIMALS)


@dataclass(frozen=True)
class TestResult:
    """A test's name as a reader should see it, its statistic and its two-sided p-value."""

    __test__ = False  # not a pytest test class, despite the name

    test: str
    statistic: float
    p_value: float


def mcnemar_exact(a_only: ArrayLike, b_only: ArrayLike) -> TestResult:
    """McNemar's exact test from the two discordant counts (vectorised over arrays of counts).

    The statistic is the smaller count, as statsmodels reports it. With no discordant items the
    p-value is 1: the data show no disagreement at all.
    """
    b = np.asarray(a_only, dtype=float)
    c = np.asarray(b_only, dtype=float)
    if np.any(b < 0) or np.any(c < 0) or np.any(b != np.round(b)) or np.any(c != np.round(c)):
        raise StatsError("discordant counts must be whole numbers >= 0")
    k = np.minimum(b, c)
    n = b + c
    p = np.where(n > 0, np.minimum(1.0, 2.0 * binom_cdf(k, np.maximum(n, 1), 0.5)), 1.0)
    stat = float(k) if k.ndim == 0 else k
    pv = float(p) if p.ndim == 0 else p
    return TestResult("McNemar exact", stat, pv)  # type: ignore[arg-type]


@lru_cache(maxsize=256)
def _positive_rank_sum_counts(doubled_ranks: tuple[int, ...]) -> NDArray[np.float64]:
    """How many of the 2**n sign patterns give each value of 2 * R+ (subset-sum counting).

    Ranks are doubled so that average ranks of ties (x.5) are integers too; without ties this is
    the classical exact null distribution. Counts stay exact in float64 up to n = 50 (< 2**53).
    """
    counts = np.zeros(sum(doubled_ranks) + 1)
    counts[0] = 1.0
    top = 0
    for w in doubled_ranks:
        counts[w : top + w + 1] += counts[: top + 1].copy()
        top += w
    return counts


def _wilcoxon_exact_p(ranks: NDArray[np.float64], r_plus: float) -> float:
    """Exact two-sided p-value: chance of a positive rank sum at least as far from its mean."""
    doubled = np.rint(2.0 * ranks).astype(int)
    counts = _positive_rank_sum_counts(tuple(sorted(doubled.tolist())))
    sums = np.arange(counts.size)
    center = counts.size - 1  # twice the mean of 2 * R+, kept in integers
    distance = np.abs(2 * sums - center)
    observed = abs(2 * round(2.0 * r_plus) - center)
    return float(min(1.0, counts[distance >= observed].sum() / counts.sum()))


@cache
def _sign_flip_matrix(n: int) -> NDArray[np.float64]:
    """Every one of the 2**n sign vectors, one per row (cached: at most 16 MB for n <= 16)."""
    bits = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
    signs = 1.0 - 2.0 * bits
    signs.flags.writeable = False
    return signs


def _tolerance(units: NDArray[np.float64]) -> NDArray[np.float64]:
    """Slack for float round-off when comparing resampled statistics to the observed one."""
    return 1e-9 * np.maximum(1.0, np.abs(units).sum(axis=0))


def wilcoxon_signed_rank(differences: ArrayLike) -> TestResult:
    """Two-sided Wilcoxon signed-rank test of paired differences (zeros dropped; see module doc).

    The statistic is min(R+, R-), as scipy reports it. With every difference zero the p-value is
    1, since there is no evidence of any difference.
    """
    d = np.round(np.asarray(differences, dtype=float), DIFF_DECIMALS)
    d = d[np.isfinite(d)]
    if d.size == 0:
        raise StatsError("the Wilcoxon test needs at least one paired item; there are none")
    d = d[d != 0.0]
    n = d.size
    if n == 0:
        return TestResult("Wilcoxon signed-rank (zeros dropped)", 0.0, 1.0)
    ranks = rankdata(np.abs(d))
    r_plus = float(ranks[d > 0].sum())
    r_minus = float(ranks[d < 0].sum())
    stat = min(r_plus, r_minus)
    _, tie_sizes = np.unique(ranks, return_counts=True)
    has_ties = bool(np.any(tie_sizes > 1))
    name = "Wilcoxon signed-rank (zeros dropped"
    if n <= EXACT_WILCOXON_MAX:
        how = ", exact with ties)" if has_ties else ", exact)"
        return TestResult(name + how, stat, _wilcoxon_exact_p(ranks, r_plus))
    mean = n * (n + 1) / 4.0
    var = n * (n + 1) * (2 * n + 1) / 24.0 - float(np.sum(tie_sizes**3 - tie_sizes)) / 48.0
    z = (r_plus - mean) / np.sqrt(var)
    return TestResult(name + ", normal approx.)", stat, float(2.0 * norm_sf(abs(z))))


def sign_flip_pvalues(
    units: ArrayLike,
    *,
    n_resamples: int = 10_000,
    seed: int | np.random.Generator | None = 0,
) -> NDArray[np.float64]:
    """Two-sided sign-flip p-value of ``|sum|`` for each column of ``units`` (units x columns).

    A unit is an item's difference, or a cluster's total difference; a unit a column lacks is 0
    there, which no sign flip changes. Exact when there are at most 16 units (every sign vector);
    otherwise ``(1 + hits) / (1 + n_resamples)`` over random sign vectors, which keeps the test's
    false-positive rate at or below alpha. All columns share the same sign vectors.
    """
    u = np.asarray(units, dtype=float)
    if u.ndim == 1:
        u = u[:, None]
    u = np.where(np.isfinite(u), u, 0.0)
    n_units, n_cols = u.shape
    if n_units == 0:
        raise StatsError("a permutation test needs at least one paired item; there are none")
    observed = np.abs(u.sum(axis=0))
    threshold = observed - _tolerance(u)
    if n_units <= EXACT_SIGN_FLIP_MAX:
        sums = _sign_flip_matrix(n_units) @ u
        return np.mean(np.abs(sums) >= threshold, axis=0)
    rng = make_rng(seed)
    hits = np.zeros(n_cols)
    rows = max(1, 2_000_000 // n_units)
    for start in range(0, n_resamples, rows):
        r = min(rows, n_resamples - start)
        signs = 1.0 - 2.0 * rng.integers(0, 2, size=(r, n_units)).astype(np.float64)
        hits += np.sum(np.abs(signs @ u) >= threshold, axis=0)
    return (1.0 + hits) / (1.0 + n_resamples)


def sign_flip_test(
    differences: ArrayLike,
    clusters: ArrayLike | None = None,
    *,
    n_resamples: int = 10_000,
    seed: int | np.random.Generator | None = 0,
) -> TestResult:
    """Paired permutation test of one set of differences; with clusters, flips whole clusters."""
    d = np.asarray(differences, dtype=float)
    keep = np.isfinite(d)
    d = d[keep]
    if d.size == 0:
        raise StatsError("a permutation test needs at least one paired item; there are none")
    if clusters is None:
        units = d
        kind = "item"
    else:
        _, codes = np.unique(np.asarray(clusters)[keep], return_inverse=True)
        units = np.bincount(codes, weights=d)
        kind = "cluster"
    exact = units.size <= EXACT_SIGN_FLIP_MAX
    how = "exact" if exact else f"{n_resamples} Monte Carlo draws"
    p = sign_flip_pvalues(units[:, None], n_resamples=n_resamples, seed=seed)[0]
    return TestResult(f"{kind} sign-flip permutation ({how})", float(d.mean()), float(p))
