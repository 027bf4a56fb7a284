"""Confidence intervals for the mean score of one variant, following Miller (2024).

An eval score is a mean over items drawn from a larger population of possible questions, so it
carries sampling error like any survey estimate. Pass/fail scores get the Wilson interval by
default because the plain normal interval collapses to zero width at 0% and 100% and
under-covers at small n; Clopper-Pearson is there for those who want a guaranteed (if wide)
interval. Graded scores get the CLT interval. When items share a cluster (several questions about
one passage) they are not independent, and the clustered standard error is used instead.

Conventions, chosen once and used everywhere in :mod:`harness.stats`:

* the standard error is ``s / sqrt(n)`` with the ``n - 1`` sample standard deviation; with clusters
  it is the cluster-robust (CR1) estimator, which is Miller's clustered SE times ``sqrt(G/(G-1))``
  (G clusters), the small-sample factor statsmodels applies. With one item per cluster it reduces
  to ``s / sqrt(n)``, so the two never disagree.
* CLT intervals use the Student t quantile with ``n - 1`` (or ``G - 1``) degrees of freedom: the
  same as Miller's 1.96 once n is in the hundreds, and less over-confident below that.
* intervals for a mean score are clipped to [0, 1], the range scores live in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from harness.stats.bootstrap import bootstrap_ratio_means, percentile_interval
from harness.stats.distributions import beta_ppf, norm_ppf, t_ppf
from harness.stats.errors import StatsError

SMALL_N = 30
"""Below this many items (or clusters) the CLT interval is flagged as possibly too narrow."""

CIMethod = Literal["auto", "wilson", "clopper-pearson", "clt", "bootstrap"]
CI_METHODS: tuple[str, ...] = ("auto", "wilson", "clopper-pearson", "clt", "bootstrap")


def check_alpha(alpha: float) -> float:
    """Reject alphas that are surely typos (5 instead of 0.05) before they give nonsense."""
    if not 0.0 < float(alpha) < 1.0:
        raise StatsError(f"alpha must be between 0 and 1 (0.05 for 95% intervals); got {alpha}")
    return float(alpha)


def _scalar_or_array(x: NDArray[np.float64]) -> float | NDArray[np.float64]:
    return float(x) if np.ndim(x) == 0 else x


def _binomial_inputs(
    successes: ArrayLike, n: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    k = np.asarray(successes, dtype=float)
    nn = np.asarray(n, dtype=float)
    if np.any(~np.isfinite(nn)) or np.any(nn <= 0):
        raise StatsError(
            "cannot build an interval from 0 items: every sample errored or none were scored"
        )
    if np.any(~np.isfinite(k)) or np.any(k < 0) or np.any(k > nn):
        raise StatsError("the number of passes must be between 0 and the number of items")
    return k, nn


def wilson_interval(
    successes: ArrayLike, n: ArrayLike, alpha: float = 0.05
) -> tuple[float | NDArray[np.float64], float | NDArray[np.float64]]:
    """Wilson score interval; vectorised so a whole table's rows are one call."""
    k, nn = _binomial_inputs(successes, n)
    z = norm_ppf(1.0 - check_alpha(alpha) / 2.0)
    p = k / nn
    z2n = z * z / nn
    denom = 1.0 + z2n
    center = (p + z2n / 2.0) / denom
    half = z * np.sqrt(p * (1.0 - p) / nn + z2n / (4.0 * nn)) / denom
    low = np.clip(center - half, 0.0, 1.0)
    high = np.clip(center + half, 0.0, 1.0)
    return _scalar_or_array(low), _scalar_or_array(high)


def clopper_pearson_interval(
    successes: ArrayLike, n: ArrayLike, alpha: float = 0.05
) -> tuple[float | NDArray[np.float64], float | NDArray[np.float64]]:
    """Exact (beta-quantile) interval: never under-covers, at the price of width."""
    k, nn = _binomial_inputs(successes, n)
    a = check_alpha(alpha)
    # Evaluate the beta quantiles with harmless parameters where the bound is pinned at 0 or 1.
    low = np.where(k > 0, beta_ppf(a / 2.0, np.maximum(k, 1e-12), nn - k + 1.0), 0.0)
    high = np.where(
        k < nn, beta_ppf(1.0 - a / 2.0, k + 1.0, np.maximum(nn - k, 1e-12)), 1.0
    )
    return _scalar_or_array(low), _scalar_or_array(high)


def cluster_codes(clusters: ArrayLike) -> tuple[NDArray[np.intp], int]:
    """Integer codes 0..G-1 for cluster labels; missing labels become one-item clusters."""
    codes, uniques = pd.factorize(pd.Series(np.asarray(clusters, dtype=object)), sort=False)
    codes = codes.astype(np.intp)
    missing = codes < 0
    n_missing = int(missing.sum())
    codes[missing] = len(uniques) + np.arange(n_missing)
    return codes, len(uniques) + n_missing


def clustered_se(values: ArrayLike, codes: ArrayLike) -> tuple[float, int]:
    """Cluster-robust SE of a mean and the number of clusters behind it.

    Returns NaN with fewer than two clusters, where between-cluster spread cannot be estimated.
    """
    x = np.asarray(values, dtype=float)
    c = np.asarray(codes, dtype=np.intp)
    if x.size == 0:
        raise StatsError("cannot compute a standard error from 0 items")
    _, c = np.unique(c, return_inverse=True)
    n_clusters = int(c.max()) + 1
    if n_clusters < 2:
        return float("nan"), n_clusters
    totals = np.bincount(c, weights=x - x.mean(), minlength=n_clusters)
    var = n_clusters / (n_clusters - 1.0) * float(np.sum(totals**2)) / x.size**2
    return float(np.sqrt(var)), n_clusters


def standard_error(values: ArrayLike, codes: ArrayLike | None = None) -> tuple[float, int]:
    """SE of the mean and the degrees of freedom its t quantile should use (NaN, 0 if n < 2)."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise StatsError("cannot compute a standard error from 0 items")
    if codes is not None:
        se, n_clusters = clustered_se(x, codes)
        return se, max(n_clusters - 1, 0)
    if x.size < 2:
        return float("nan"), 0
    return float(x.std(ddof=1) / np.sqrt(x.size)), x.size - 1


def t_interval(
    mean: float, se: float, df: int, alpha: float = 0.05, bounds: tuple[float, float] = (0.0, 1.0)
) -> tuple[float, float]:
    """``mean +/- t * se``, clipped to the range the quantity can take."""
    if df < 1 or not np.isfinite(se):
        return float("nan"), float("nan")
    q = float(t_ppf(1.0 - check_alpha(alpha) / 2.0, df))
    return (
        float(np.clip(mean - q * se, *bounds)),
        float(np.clip(mean + q * se, *bounds)),
    )


def is_binary(values: NDArray[np.float64]) -> bool:
    """True when every score is exactly 0 or 1, i.e. a pass/fail outcome."""
    return bool(values.size) and bool(np.all((values == 0.0) | (values == 1.0)))


@dataclass(frozen=True)
class MeanInterval:
    """A mean score with its uncertainty, and the caveats a reader should see next to it."""

    mean: float
    se: float
    low: float
    high: float
    method: str
    n: int
    n_clusters: int | None = None
    small_n: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)


def has_real_clusters(codes: NDArray[np.intp] | None) -> bool:
    """Clustering only changes anything if some cluster holds two or more items."""
    if codes is None or codes.size == 0:
        return False
    return bool(np.bincount(codes).max() >= 2)


def mean_interval(
    values: ArrayLike,
    *,
    method: str = "auto",
    clusters: ArrayLike | None = None,
    alpha: float = 0.05,
    n_boot: int = 10_000,
    seed: int = 0,
    boot: NDArray[np.float64] | None = None,
) -> MeanInterval:
    """Mean, SE and interval of one variant's per-item scores, the method chosen as documented.

    ``auto`` picks Wilson for pass/fail items with no clustering and the CLT interval otherwise
    (Wilson assumes independent items, which clustered items are not). ``boot`` is a bootstrap
    distribution computed elsewhere (one for many variants at once); without it, one is drawn.
    """
    if method not in CI_METHODS:
        raise StatsError(f"unknown interval method {method!r}; choose one of {CI_METHODS}")
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        raise StatsError(
            "cannot compute a score from 0 items: every sample errored or none were scored"
        )
    codes = cluster_codes(clusters)[0] if clusters is not None else None
    if codes is not None:
        codes = codes[np.isfinite(np.asarray(values, dtype=float))]
    clustered = has_real_clusters(codes)
    use_codes = codes if clustered else None
    notes: list[str] = []
    binary = is_binary(x)
    if method == "auto":
        method = "wilson" if binary and not clustered else "clt"
    if method in ("wilson", "clopper-pearson") and not binary:
        notes.append(f"{method} needs pass/fail item scores; used the CLT interval instead")
        method = "clt"
    if method in ("wilson", "clopper-pearson") and clustered:
        notes.append(f"the {method} interval ignores clustering; the SE does not")

    mean = float(x.mean())
    se, df = standard_error(x, use_codes)
    n_clusters = int(np.unique(codes).size) if clustered and codes is not None else None
    units = n_clusters if n_clusters is not None else x.size
    small = False
    if method == "wilson":
        low, high = wilson_interval(x.sum(), x.size, alpha)
    elif method == "clopper-pearson":
        low, high = clopper_pearson_interval(x.sum(), x.size, alpha)
    elif method == "bootstrap":
        if units < 2:
            low = high = float("nan")
            notes.append("a bootstrap interval needs at least 2 items (or clusters)")
        else:
            if boot is None:
                boot = bootstrap_ratio_means(x, clusters=use_codes, n_boot=n_boot, seed=seed)
            lo, hi = percentile_interval(np.reshape(boot, (np.shape(boot)[0], -1)), alpha)
            low, high = float(lo[0]), float(hi[0])
        small = units < SMALL_N
    else:
        low, high = t_interval(mean, se, df, alpha)
        small = units < SMALL_N
        if units < 2:
            unit = "cluster" if n_clusters else "item"
            notes.append(f"only 1 {unit}: no spread to estimate, so no CLT interval")
        elif se == 0.0:
            notes.append("every item has the same score, so the CLT interval has zero width")
    if small and units >= 2:
        what = "clusters" if n_clusters else "items"
        notes.append(
            f"only {units} {what}: the {method} interval may be too narrow (fewer than {SMALL_N})"
        )
    if clustered:
        notes.append(f"clustered SE over {n_clusters} clusters (Miller 2024's formula times "
                     "sqrt(G/(G-1)))")
    return MeanInterval(
        mean=mean,
        se=se,
        low=float(low),
        high=float(high),
        method=method,
        n=int(x.size),
        n_clusters=n_clusters,
        small_n=small,
        notes=tuple(notes),
    )
