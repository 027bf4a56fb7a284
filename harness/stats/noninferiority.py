"""Is a new prompt worse than the old one by more than a margin? One-sided tests at the margin.

The CI gate asks two one-sided questions of each cell's paired differences ``d = new - base``
(one per item, in score units, so ``d`` lies in [-1, 1]) and the margin ``m``:

* *fail*: is the mean difference significantly below ``-m``?  (H0: delta >= -m)
* *pass*: is it significantly above ``-m`` (non-inferiority)?  (H0: delta <= -m)

Both use one statistic, the score statistic at ``delta0 = -m``::

    Z = (mean(d) - delta0) / sqrt(V0 / n)

where ``V0`` is the variance of the differences under the null: that of the distribution
closest to the data (maximum likelihood over the observed values plus the two ends of the
scale, -1 and 1) whose mean is ``delta0``. For pass/fail items this is exactly Tango's (1998)
score test for paired proportions; its null variance never collapses to zero, so a run with no
flipped items on 40 items cannot "prove" that it is within 2 points (the plain t interval
would). Tango's test is a little liberal when flips are rare (a size of up to 7% at a nominal
5%, computed exactly), so for pass/fail items with at most :data:`EXACT_MAX_N` pairs the
p-value is the exact unconditional one: the largest tail probability of ``Z`` over the
nuisance parameter (the rate of flips) on the null boundary. Graded items (and larger samples)
use Student's t with n - 1 degrees of freedom; clustered items use the larger of the
cluster-robust SE and the null SE, with G - 1 degrees of freedom.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

from harness.stats.distributions import gammaln, norm_cdf, norm_ppf, norm_sf, t_cdf, t_sf

EXACT_MAX_N = 600
"""Pass/fail cells with up to this many pairs get the exact unconditional p-value."""

NUISANCE_GRID = 200
_BISECT_STEPS = 80


def null_variance(d: ArrayLike, delta0: float) -> NDArray[np.float64]:
    """``V0`` per row of ``d`` (rows x items): the variance of d about ``delta0`` under the null.

    The null distribution maximises the likelihood of the observed values, with mass allowed on
    the scale's ends -1 and 1 too (empirical likelihood with the support's known bounds). The
    solution is ``p_i = 1 / (n (1 + lam (d_i - delta0)))`` with the multiplier ``lam`` confined
    to ``[-1/(1 - delta0), 1/(1 + delta0)]``; at either end of that range the missing mass sits
    on the matching end of the scale.
    """
    x = np.atleast_2d(np.asarray(d, dtype=float))
    a = x - delta0
    n = x.shape[1]
    lo = np.full(x.shape[0], -1.0 / (1.0 - delta0))
    hi = np.full(x.shape[0], 1.0 / (1.0 + delta0))
    a_lo, a_hi = lo.copy(), hi.copy()

    def g(lam: NDArray[np.float64]) -> NDArray[np.float64]:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sum(a / (1.0 + lam[:, None] * a), axis=1)

    for _ in range(_BISECT_STEPS):  # g falls as lam rises: bisection, all rows at once
        mid = 0.5 * (lo + hi)
        up = g(mid) > 0
        lo = np.where(up, mid, lo)
        hi = np.where(up, hi, mid)
    lam = 0.5 * (lo + hi)
    lam = np.where(np.isclose(lam, a_hi, rtol=0, atol=1e-12), a_hi, lam)
    lam = np.where(np.isclose(lam, a_lo, rtol=0, atol=1e-12), a_lo, lam)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 1.0 / (n * (1.0 + lam[:, None] * a))
    p = np.where(np.isfinite(p), p, 0.0)
    rest = np.clip(1.0 - p.sum(axis=1), 0.0, 1.0)
    end = np.where(lam > 0, -1.0, 1.0)  # lam at its top puts the rest on -1, at its bottom on 1
    return np.sum(p * a * a, axis=1) + rest * (end - delta0) ** 2


def score_z(d: ArrayLike, delta0: float, se: ArrayLike | None = None) -> NDArray[np.float64]:
    """The score statistic per row; ``se`` (e.g. cluster-robust) replaces the null SE if larger."""
    x = np.atleast_2d(np.asarray(d, dtype=float))
    n = x.shape[1]
    null_se = np.sqrt(null_variance(x, delta0) / n)
    if se is not None:
        null_se = np.maximum(null_se, np.nan_to_num(np.asarray(se, dtype=float)))
    diff = x.mean(axis=1) - delta0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(null_se > 0, diff / np.where(null_se > 0, null_se, 1.0),
                     np.where(diff == 0, 0.0, np.sign(diff) * np.inf))
    return z


def tango_z(b: ArrayLike, c: ArrayLike, n: int, delta0: float) -> NDArray[np.float64]:
    """Tango's score statistic from the flip counts (b: new right only, c: baseline right only).

    Closed form of :func:`score_z` for pass/fail items, vectorised over counts.
    """
    bb = np.asarray(b, dtype=float)
    cc = np.asarray(c, dtype=float)
    qa = 2.0 * n
    qb = -bb - cc + (2.0 * n - bb + cc) * delta0
    qc = -cc * delta0 * (1.0 - delta0)
    p_c = (-qb + np.sqrt(np.maximum(qb * qb - 4.0 * qa * qc, 0.0))) / (2.0 * qa)
    var = n * (2.0 * p_c + delta0 * (1.0 - delta0))
    num = bb - cc - n * delta0
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(var > 0, num / np.sqrt(np.where(var > 0, var, 1.0)),
                        np.where(num == 0, 0.0, np.sign(num) * np.inf))


@lru_cache(maxsize=32)
def _exact_table(n: int, delta0: float) -> tuple[NDArray[np.float64], NDArray[np.float64],
                                                 NDArray[np.float64]]:
    """For every possible (b, c) of n pairs: Z, and the exact P(Z >= z) and P(Z <= z).

    Each tail is maximised over the rate of flips on the null boundary ``p_b - p_c = delta0``
    (a grid of :data:`NUISANCE_GRID` values plus its ends), so it holds whatever that rate is.
    Returned in one flat order, sorted by Z; :func:`exact_pvalues` looks a count up.
    """
    b, c = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    keep = b + c <= n
    b, c = b[keep].astype(float), c[keep].astype(float)
    z = tango_z(b, c, n, delta0)
    order = np.argsort(z, kind="stable")
    b, c, z = b[order], c[order], z[order]
    log_comb = gammaln(n + 1) - gammaln(b + 1) - gammaln(c + 1) - gammaln(n - b - c + 1)
    # p_b = p_c + delta0 >= 0 and p_b + p_c <= 1 bound the flip rate on the null boundary
    grid = np.linspace(max(-delta0, 0.0), (1.0 - delta0) / 2.0, NUISANCE_GRID)
    first = np.searchsorted(z, z - 1e-9, side="left")  # ties share one tail
    last = np.searchsorted(z, z + 1e-9, side="right") - 1
    upper = np.zeros(z.size)
    lower = np.zeros(z.size)
    for p_c in grid:
        p_b = p_c + delta0
        p_0 = 1.0 - p_b - p_c
        with np.errstate(divide="ignore", invalid="ignore"):
            logp = log_comb + _xlogy(b, p_b) + _xlogy(c, p_c) + _xlogy(n - b - c, p_0)
        pmf = np.exp(logp)
        below = np.cumsum(pmf)
        above = below[-1] - np.concatenate([[0.0], below[:-1]])
        np.maximum(upper, above[first], out=upper)
        np.maximum(lower, below[last], out=lower)
    index = np.empty((n + 1, n + 1), dtype=np.int64)
    index[b.astype(int), c.astype(int)] = np.arange(z.size)
    return index, np.minimum(upper, 1.0), np.minimum(lower, 1.0)


def _xlogy(k: NDArray[np.float64], p: float) -> NDArray[np.float64]:
    if p <= 0.0:
        return np.where(k > 0, -np.inf, 0.0)
    return k * np.log(p)


def exact_pvalues(b: ArrayLike, c: ArrayLike, n: int, delta0: float
                  ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Exact unconditional one-sided p-values: (for delta > delta0, for delta < delta0)."""
    index, upper, lower = _exact_table(int(n), float(round(delta0, 12)))
    i = index[np.asarray(b, dtype=int), np.asarray(c, dtype=int)]
    return upper[i], lower[i]


@dataclass(frozen=True)
class MarginTest:
    """The two one-sided p-values at the margin and how they were computed."""

    z: float
    p_above: float  # small: the difference is above -margin (non-inferior)
    p_below: float  # small: the difference is below -margin (worse than the margin)
    method: str


def margin_test(new: ArrayLike, base: ArrayLike, margin: float, *, binary: bool,
                clusters: ArrayLike | None = None) -> MarginTest:
    """Test ``mean(new - base)`` against ``-margin`` on paired items (see the module doc)."""
    x = np.asarray(new, dtype=float)
    y = np.asarray(base, dtype=float)
    d = x - y
    n = d.size
    delta0 = -float(margin)
    if clusters is not None:
        from harness.stats.intervals import clustered_se

        se, groups = clustered_se(d, np.asarray(clusters))
        z = float(score_z(d, delta0, se=se)[0])
        df = max(groups - 1, 1)
        return MarginTest(z, float(t_sf(z, df)), float(t_cdf(z, df)),
                          f"score test at the margin, cluster-robust SE, t({df})")
    if binary:
        b = int(np.sum((x == 1.0) & (y == 0.0)))
        c = int(np.sum((x == 0.0) & (y == 1.0)))
        z = float(tango_z(b, c, n, delta0))
        if n <= EXACT_MAX_N:
            above, below = exact_pvalues(b, c, n, delta0)
            return MarginTest(z, float(above), float(below),
                              f"Tango score test at the margin, exact unconditional "
                              f"({b} better, {c} worse)")
        return MarginTest(z, float(norm_sf(z)), float(norm_cdf(z)),
                          f"Tango score test at the margin ({b} better, {c} worse)")
    z = float(score_z(d, delta0)[0])
    df = max(n - 1, 1)
    return MarginTest(z, float(t_sf(z, df)), float(t_cdf(z, df)),
                      f"score test at the margin, t({df})")


def score_bounds(new: ArrayLike, base: ArrayLike, alpha: float) -> tuple[float, float]:
    """One-sided (1 - alpha) lower and upper bounds of the mean difference (score inversion).

    For display beside the decision: the bound is where the score test's one-sided p-value
    crosses alpha; the decision itself uses :func:`margin_test`'s p-value (exact where it can).
    """
    d = (np.asarray(new, dtype=float) - np.asarray(base, dtype=float))[None, :]
    q = float(norm_ppf(1.0 - alpha))
    lo_hi = []
    for sign in (1.0, -1.0):  # lower bound: the smallest delta0 with Z <= q
        a, b = -1.0 + 1e-9, 1.0 - 1e-9
        for _ in range(50):
            mid = 0.5 * (a + b)
            z = float(score_z(d, mid)[0]) * sign
            if (z > q) == (sign > 0):
                a = mid
            else:
                b = mid
        lo_hi.append(0.5 * (a + b))
    return lo_hi[0], lo_hi[1]
