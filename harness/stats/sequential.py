"""Anytime-valid confidence sequences for paired differences, for looking after every item.

A fixed-size test looked at after every item and stopped at the first p < alpha rejects a
true null far more often than alpha (about 0.3 after a few hundred looks). A confidence
sequence is a sequence of intervals that holds the true mean *at every time at once* with
probability at least 1 - alpha, so a run may be stopped whenever it is decided.

We use the betting construction of Waudby-Smith and Ramdas (2023, "Estimating means of
bounded random variables by betting", JRSS-B), for a per-item paired difference ``D`` in
[-1, 1] (a pass/fail or graded score in [0, 1] minus another): for a candidate mean ``m`` the
capital processes

    K+_t(m) = prod_i (1 + lam_i (D_i - m)),     K-_t(m) = prod_i (1 - lam_i (D_i - m))

are non-negative supermartingales when the mean is at most ``m`` (resp. at least ``m``), so
by Ville's inequality ``K+`` reaches ``1/alpha_lower`` with probability at most
``alpha_lower`` ever: every ``m`` at which it did lies below the mean (lower bound), and
likewise for ``K-`` (upper bound). The bet ``lam_i`` is the predictable plug-in of the paper
(from the differences before item ``i`` only), clipped to ``LAM_MAX``, and the same for every
``m``; with that, ``K+`` falls as ``m`` rises, so "rejected at m" implies "rejected below m"
and the bounds are monotone in ``m`` exactly, not just on the grid. Rejection is sticky (the
running intersection of the intervals), which Ville's inequality covers.

Everything is vectorised over independent streams (comparisons, or simulated runs) and over a
grid of candidate means; an update costs O(streams x grid).

Assumption (the same as the fixed-size tests'): items are independent draws from the task's
population, sent in an order that owes nothing to their content (``harness.schedule``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

LAM_MAX = 0.45
"""Largest bet: keeps every factor >= 1 - 2 * 0.45 = 0.1 for any D and m in [-1, 1]."""

PRIOR_VAR = 0.25
"""Variance guessed before the first item (the plug-in's start; any predictable value is
valid, this one is a paired binary difference with half of the items discordant)."""


def default_grid(step: float = 0.005) -> NDArray[np.float64]:
    """Candidate means from -1 to 1 in steps of ``step`` (0 included)."""
    n = round(2.0 / step)
    return np.linspace(-1.0, 1.0, n + 1)


@dataclass
class BettingCS:
    """Confidence sequences for the means of ``n_streams`` bounded paired differences.

    ``alpha_lower`` and ``alpha_upper`` are the error rates of the two one-sided bounds (a
    two-sided (1 - alpha) sequence: alpha / 2 each). ``grid`` holds the candidate means the
    bounds can take; include every decision threshold (0, +-margin) in it.
    """

    n_streams: int
    alpha_lower: float
    alpha_upper: float
    grid: NDArray[np.float64]

    def __post_init__(self) -> None:
        self.grid = np.asarray(self.grid, dtype=float)
        if np.any(np.abs(self.grid) > 1.0):
            raise ValueError("grid points must lie in [-1, 1]")
        for a in (self.alpha_lower, self.alpha_upper):
            if not 0.0 < a < 1.0:
                raise ValueError(f"alpha must be in (0, 1); got {a}")
        shape = (self.n_streams, len(self.grid))
        self.n = np.zeros(self.n_streams, dtype=np.int64)
        self._sum = np.zeros(self.n_streams)
        self._ss = np.zeros(self.n_streams)  # sum of squared deviations from the running mean
        self._log_up = np.zeros(shape)  # log K+ (evidence that the mean is above m)
        self._log_down = np.zeros(shape)  # log K- (evidence that the mean is below m)
        self.above = np.zeros(shape, dtype=bool)  # m rejected: the mean is above m
        self.below = np.zeros(shape, dtype=bool)  # m rejected: the mean is below m
        self._thr_lower = np.log(1.0 / self.alpha_lower)
        self._thr_upper = np.log(1.0 / self.alpha_upper)

    def _bets(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The predictable plug-in bets (Waudby-Smith and Ramdas, eq. 26), per side."""
        t = self.n + 1.0
        var = (PRIOR_VAR + self._ss) / t
        scale = var * t * np.log1p(t)
        up = np.sqrt(2.0 * self._thr_lower / scale)
        down = np.sqrt(2.0 * self._thr_upper / scale)
        return np.minimum(up, LAM_MAX), np.minimum(down, LAM_MAX)

    def update(self, values: ArrayLike, mask: ArrayLike | None = None) -> None:
        """Add one difference to each stream where ``mask`` is true (every stream if None)."""
        d = np.asarray(values, dtype=float)
        if d.shape != (self.n_streams,):
            raise ValueError(f"expected {self.n_streams} values, got shape {d.shape}")
        m = np.ones(self.n_streams, dtype=bool) if mask is None else np.asarray(mask, bool)
        m = m & np.isfinite(d)
        if not m.any():
            return
        if np.any(np.abs(d[m]) > 1.0 + 1e-12):
            raise ValueError("paired differences must lie in [-1, 1] (scores in [0, 1])")
        d = np.where(m, np.clip(d, -1.0, 1.0), 0.0)
        lam_up, lam_down = self._bets()
        lam_up, lam_down = np.where(m, lam_up, 0.0), np.where(m, lam_down, 0.0)
        excess = d[:, None] - self.grid[None, :]
        self._log_up += np.log1p(lam_up[:, None] * excess)
        self._log_down += np.log1p(-lam_down[:, None] * excess)
        self.above |= self._log_up >= self._thr_lower
        self.below |= self._log_down >= self._thr_upper
        # Welford's update of the running mean and squared deviations (the next bets' variance).
        n_new = self.n + m
        mean_old = np.divide(self._sum, self.n, out=np.zeros_like(self._sum), where=self.n > 0)
        self._sum += d
        mean_new = np.divide(self._sum, n_new, out=np.zeros_like(self._sum), where=n_new > 0)
        self._ss += np.where(m, (d - mean_old) * (d - mean_new), 0.0)
        self.n = n_new

    @property
    def mean(self) -> NDArray[np.float64]:
        return np.divide(self._sum, self.n, out=np.full_like(self._sum, np.nan),
                         where=self.n > 0)

    @property
    def lower(self) -> NDArray[np.float64]:
        """The largest grid point the mean is known to lie above (-1 where none)."""
        idx = np.where(self.above, np.arange(len(self.grid))[None, :], -1).max(axis=1)
        return np.where(idx >= 0, self.grid[np.maximum(idx, 0)], -1.0)

    @property
    def upper(self) -> NDArray[np.float64]:
        """The smallest grid point the mean is known to lie below (1 where none)."""
        big = len(self.grid)
        idx = np.where(self.below, np.arange(big)[None, :], big).min(axis=1)
        return np.where(idx < big, self.grid[np.minimum(idx, big - 1)], 1.0)

    def excludes_above(self, point: float) -> NDArray[np.bool_]:
        """Per stream: shown that the mean is above ``point`` (a grid point)."""
        return self.above[:, self._index(point)]

    def excludes_below(self, point: float) -> NDArray[np.bool_]:
        """Per stream: shown that the mean is below ``point`` (a grid point)."""
        return self.below[:, self._index(point)]

    def _index(self, point: float) -> int:
        hits = np.flatnonzero(np.isclose(self.grid, point, atol=1e-12))
        if not len(hits):
            raise ValueError(f"{point} is not a grid point; add it to the grid")
        return int(hits[0])


@dataclass
class DiscordantMixture:
    """Sequential tests of "no difference" for paired pass/fail scores, from discordant pairs.

    Items where both sides agree carry no information about which is better; given that an
    item is discordant, under "no difference" it favours A with probability 1/2. For the
    one-sided alternative "A better" the statistic is a mixture, over p in (1/2, 1] with a
    Beta(a, a) prior restricted there, of the likelihood ratios of p against 1/2: each ratio
    is a non-negative supermartingale whenever A is not better (p <= 1/2), so is the mixture,
    and Ville's inequality bounds the chance it ever reaches ``1 / alpha_side``. Likewise for
    "B better". Closed form in (b, c), the discordant counts: O(streams) per update.

    On pass/fail data this needs fewer items than :class:`BettingCS` for the same decision
    (``benchmarks/README.md``), which is why ``run --until-decided`` uses it for pass/fail
    pairs; it says nothing about the size of a difference (that is the confidence sequence's
    job).
    """

    n_streams: int
    alpha_side: float
    prior: float = 10.0

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha_side < 1.0:
            raise ValueError(f"alpha must be in (0, 1); got {self.alpha_side}")
        self.b = np.zeros(self.n_streams)
        self.c = np.zeros(self.n_streams)
        self.n = np.zeros(self.n_streams, dtype=np.int64)
        self.above = np.zeros(self.n_streams, dtype=bool)  # shown: A better
        self.below = np.zeros(self.n_streams, dtype=bool)  # shown: B better
        self._thr = np.log(1.0 / self.alpha_side)

    def log_evidence(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """log e-values for "A better" and "B better" (the mixture likelihood ratios)."""
        from scipy.special import betainc, betaln

        a, b, c = self.prior, self.b, self.c
        base = (b + c) * np.log(2.0) + np.log(2.0) + betaln(a + b, a + c) - betaln(a, a)
        with np.errstate(divide="ignore"):
            up = base + np.log(np.maximum(1.0 - betainc(a + b, a + c, 0.5), 0.0))
            down = base + np.log(np.maximum(betainc(a + b, a + c, 0.5), 0.0))
        return up, down

    def update(self, values: ArrayLike, mask: ArrayLike | None = None) -> None:
        """One item per stream where ``mask`` is true: +1 (only A right), -1, or 0 (tie)."""
        d = np.asarray(values, dtype=float)
        m = np.ones(self.n_streams, dtype=bool) if mask is None else np.asarray(mask, bool)
        m = m & np.isfinite(d)
        if np.any(~np.isin(d[m], (-1.0, 0.0, 1.0))):
            raise ValueError("pass/fail differences must be -1, 0 or 1")
        self.b += m & (d > 0)
        self.c += m & (d < 0)
        self.n += m
        up, down = self.log_evidence()
        self.above |= up >= self._thr
        self.below |= down >= self._thr


def grid_with(points: ArrayLike, step: float = 0.005) -> NDArray[np.float64]:
    """The default grid with ``points`` (decision thresholds) added."""
    extra = np.clip(np.asarray(points, dtype=float).ravel(), -1.0, 1.0)
    return np.unique(np.concatenate([default_grid(step), extra]))


def naive_rejections(diffs: NDArray[np.float64], alpha: float,
                     test: str = "t") -> NDArray[np.bool_]:
    """What repeated fixed-size testing does: the fixed-size test after every item, stopping
    at the first p < alpha. ``diffs`` is (runs, items); returns, per run, whether it ever
    rejected. ``test``: ``t`` (paired t-test) or ``mcnemar`` (exact, for differences in
    {-1, 0, 1}: the harness's own pass/fail test)."""
    from scipy import stats

    n = np.arange(1, diffs.shape[1] + 1, dtype=float)
    if test == "mcnemar":
        b = np.cumsum(diffs > 0, axis=1)
        c = np.cumsum(diffs < 0, axis=1)
        p = np.minimum(1.0, 2.0 * stats.binom.cdf(np.minimum(b, c), b + c, 0.5))
        return ((p < alpha) & (b + c > 0)).any(axis=1)
    s1 = np.cumsum(diffs, axis=1)
    s2 = np.cumsum(diffs**2, axis=1)
    mean = s1 / n
    var = np.maximum(s2 / n - mean**2, 0.0) * n / np.maximum(n - 1.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        tstat = np.abs(mean) / np.sqrt(var / n)
    ok = (n >= 2)[None, :] & (var > 1e-15)
    crit = stats.t.ppf(1 - alpha / 2, np.maximum(n - 1.0, 1.0))[None, :]
    return (ok & (tstat > crit)).any(axis=1)
