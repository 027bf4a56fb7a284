"""Power for paired comparisons: how small a difference a run can see, and how many items it takes.

For a paired design the difference in mean score has standard error ``sd_d / sqrt(n)``, where
``sd_d`` is the standard deviation of the per-item differences (for pass/fail items, the square
root of the discordance rate minus the squared difference). A two-sided test at level alpha
detects a true difference delta with probability ``power`` once
``delta = (z_{1 - alpha/2} + z_{power}) * SE`` (Miller 2024, power analysis). That gives both the
minimum detectable effect (MDE) of a run and the number of items a planned run needs. The pilot's
``sd_d`` already contains the correlation between the two variants, which is why paired designs
need far fewer items than two independent ones; with clusters, the clustered SE carries the
design effect, assuming future items come in clusters of the same size.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

from harness.stats.distributions import norm_cdf, norm_ppf
from harness.stats.errors import StatsError
from harness.stats.intervals import check_alpha


def check_power(power: float) -> float:
    if not 0.0 < float(power) < 1.0:
        raise StatsError(f"power must be between 0 and 1 (0.8 means 80%); got {power}")
    return float(power)


def check_effect(effect: float) -> float:
    """Effects are fractions of the score scale; catch "3" meant as 3 points early."""
    e = float(effect)
    if not np.isfinite(e) or e <= 0.0:
        raise StatsError(f"the effect must be a positive score difference, e.g. 0.03; got {effect}")
    if e >= 1.0:
        raise StatsError(
            f"the effect is a fraction of the score scale (0.03 means 3 points); got {effect}"
        )
    return e


@lru_cache(maxsize=64)
def z_total(alpha: float = 0.05, power: float = 0.8) -> float:
    """``z_{1-alpha/2} + z_{power}``: 2.80 for the usual 5% and 80% (cached: called per pair)."""
    return float(norm_ppf(1.0 - check_alpha(alpha) / 2.0) + norm_ppf(check_power(power)))


def minimum_detectable_effect(
    se: ArrayLike, alpha: float = 0.05, power: float = 0.8
) -> float | NDArray[np.float64]:
    """Smallest true difference detected with the given power, for a difference with SE ``se``."""
    out = z_total(alpha, power) * np.asarray(se, dtype=float)
    return float(out) if out.ndim == 0 else out


def items_needed(
    effect: ArrayLike, sd_diff: ArrayLike, alpha: float = 0.05, power: float = 0.8
) -> float | NDArray[np.float64]:
    """Paired items needed to detect ``effect`` (unrounded; round up to plan)."""
    e = np.asarray(effect, dtype=float)
    sd = np.asarray(sd_diff, dtype=float)
    if np.any(e <= 0):
        raise StatsError("the effect to detect must be positive")
    out = (z_total(alpha, power) * sd / e) ** 2
    return float(out) if out.ndim == 0 else out


def power_at(
    effect: ArrayLike, se: ArrayLike, alpha: float = 0.05
) -> float | NDArray[np.float64]:
    """Chance a two-sided z test at ``alpha`` flags a true difference ``effect`` with SE ``se``."""
    z = norm_ppf(1.0 - check_alpha(alpha) / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.asarray(effect, dtype=float) / np.asarray(se, dtype=float)
    out = norm_cdf(shift - z) + norm_cdf(-shift - z)
    return float(out) if np.ndim(out) == 0 else out


def paired_sd(p_a: float, p_b: float, correlation: float) -> float:
    """SD of per-item differences for two pass rates with a given item-level correlation.

    Used to plan without a pilot: ``var(a - b) = var(a) + var(b) - 2 rho sd(a) sd(b)``.
    """
    for p in (p_a, p_b):
        if not 0.0 <= p <= 1.0:
            raise StatsError(f"pass rates must be between 0 and 1; got {p}")
    if not -1.0 <= correlation <= 1.0:
        raise StatsError(f"a correlation lies between -1 and 1; got {correlation}")
    va, vb = p_a * (1 - p_a), p_b * (1 - p_b)
    return float(np.sqrt(max(0.0, va + vb - 2.0 * correlation * np.sqrt(va * vb))))


# --- pass/fail pairs: the exact McNemar test the report and the gate run -----------------------
#
# The normal formula above under-sizes a pass/fail comparison: the test actually run is the
# exact (conditional binomial) McNemar test, which is conservative, so a run planned with the
# z formula reaches only about 0.74-0.79 power for a 0.80 target. The functions below compute
# the exact test's power instead: with n items, discordance q (share of items where exactly one
# side passes) and a true difference delta, the discordant count is Binomial(n, q) and, given d
# discordant items, those A alone passed are Binomial(d, (q + delta) / (2 q)); the test rejects
# when the two-sided binomial p-value is below alpha.


def _mcnemar_critical(d: NDArray[np.int64], alpha: float) -> NDArray[np.int64]:
    """Per discordant count ``d``: the largest k whose two-sided exact p-value 2*P(X <= k) is
    below ``alpha`` (-1 where even k = 0 is not)."""
    from scipy import stats as sps  # planning only: its import is not on every run's path

    k = sps.binom.ppf(alpha / 2.0, d, 0.5).astype(np.int64)
    k = np.where(sps.binom.cdf(k, d, 0.5) * 2.0 < alpha, k, k - 1)
    return np.where(d > 0, k, -1)


def mcnemar_power(n: int, discordance: float, effect: float, alpha: float = 0.05) -> float:
    """Power of the two-sided exact McNemar test at level ``alpha`` with ``n`` paired items."""
    check_alpha(alpha)
    q = max(float(discordance), abs(float(effect)))
    if n < 1 or q <= 0.0:
        return 0.0
    q = min(q, 1.0)
    from scipy import stats as sps  # planning only: its import is not on every run's path

    d = np.arange(n + 1)
    weight = sps.binom.pmf(d, n, q)
    crit = _mcnemar_critical(d, alpha)
    pi = min(1.0, (q + abs(float(effect))) / (2.0 * q))
    dd = np.maximum(d, 1)
    low = np.where(crit >= 0, sps.binom.cdf(crit, dd, pi), 0.0)
    high = np.where(crit >= 0, sps.binom.sf(d - crit - 1, dd, pi), 0.0)
    return float(np.sum(weight * (low + high)))


def mcnemar_items_needed(effect: float, discordance: float, alpha: float = 0.05,
                         power: float = 0.8, *, max_items: int = 1_000_000) -> float:
    """Fewest paired items at which the exact McNemar test reaches ``power`` (NaN if beyond
    ``max_items``). Starts from the normal formula and walks up; the exact test's power is a
    saw-tooth in n, so the first n that reaches the target is taken."""
    check_effect(effect)
    check_power(power)
    q = max(float(discordance), float(effect))
    sd = np.sqrt(max(q - effect**2, 1e-12))
    start = max(2, int(np.floor(0.8 * float(items_needed(effect, sd, alpha, power)))))
    while start > 2 and mcnemar_power(start, q, effect, alpha) >= power:
        start = max(2, start // 2)
    n, step = start, 1
    # Coarse steps first (power rises overall), then back up to the first n that makes it.
    while n <= max_items and mcnemar_power(n, q, effect, alpha) < power:
        step = max(1, n // 50)
        n += step
    if n > max_items:
        return float("nan")
    lo = max(start, n - step)
    for m in range(lo, n + 1):
        if mcnemar_power(m, q, effect, alpha) >= power:
            return float(m)
    return float(n)
