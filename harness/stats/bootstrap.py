"""Vectorised nonparametric bootstrap of means, shared across all the columns of one table.

A naive bootstrap of 45 variant pairs x 10,000 resamples x 10,000 items would draw 4.5 billion
indices. Instead each resample is drawn once as a row of multinomial counts (how often each item,
or each cluster, was picked) and every column (a variant, or a pair's per-item differences) is
averaged with one matrix product. All columns therefore see the same resamples, which is what a
paired bootstrap needs anyway.

Columns may have missing items (an errored sample on one side of a pair). The statistic is then
the ratio ``sum(w * x) / sum(w * present)``: the mean over the resampled items that the column
has. That is the bootstrap of "mean over the items this column has", with the number of such
items allowed to vary between resamples, as it would between repeated runs.

With clusters, whole clusters are resampled (Miller 2024: the cluster, not the item, is the
independent unit), so the resample size in items varies too; the same ratio handles it.
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import ArrayLike, NDArray

CHUNK_ELEMENTS = 2_000_000
"""Resample counts held in memory at once (16 MB of float64), so memory stays flat in n_boot.

Changing it changes the matrix products' shapes, hence their last-bit rounding (BLAS blocks by
shape), and so every seeded interval's last digit: leave it.
"""

DRAW_BLOCK_ELEMENTS = 250_000
"""Indices drawn and counted at once while a chunk's counts are built (2 MB of int64 each)."""


def make_rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """One place that turns a seed into a generator, so results are reproducible by default."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(0 if seed is None else seed)


def bootstrap_counts(rng: np.random.Generator, n_units: int, rows: int) -> NDArray[np.float64]:
    """``rows`` resamples of ``n_units`` units with replacement, as counts per unit.

    Drawing indices and counting them with one ``bincount`` is several times faster than
    ``Generator.multinomial`` for the sizes an eval has. The indices are drawn and counted a
    block of rows at a time straight into the float matrix: a generator's stream does not depend
    on how its draws are split into calls, so the counts are the same as from one draw, while
    the int64 indices and counts of the whole chunk (twice the result's size) are never held.
    """
    out = np.empty((rows, n_units))
    block = max(1, DRAW_BLOCK_ELEMENTS // max(1, n_units))
    for start in range(0, rows, block):
        r = min(block, rows - start)
        idx = rng.integers(0, n_units, size=(r, n_units))
        idx += (np.arange(r, dtype=idx.dtype) * n_units)[:, None]
        out[start : start + r] = np.bincount(idx.ravel(), minlength=r * n_units).reshape(
            r, n_units)
    return out


def cluster_totals(
    values: NDArray[np.float64], codes: NDArray[np.intp], n_clusters: int
) -> NDArray[np.float64]:
    """Per-cluster column sums (clusters x columns), one bincount per column."""
    totals = np.zeros((n_clusters, values.shape[1]))
    for j in range(values.shape[1]):
        totals[:, j] = np.bincount(codes, weights=values[:, j], minlength=n_clusters)
    return totals


def bootstrap_ratio_means(
    values: ArrayLike,
    mask: ArrayLike | None = None,
    *,
    clusters: ArrayLike | None = None,
    n_boot: int = 10_000,
    seed: int | np.random.Generator | None = 0,
) -> NDArray[np.float64]:
    """Bootstrap distribution (``n_boot`` x columns) of each column's mean over its present items.

    ``values`` is items x columns; a cell is absent where ``mask`` is False (by default, where it
    is NaN). ``clusters`` holds integer codes 0..G-1 per item; whole clusters are resampled.
    A resample that picks none of a column's items gives NaN for that column.
    """
    v = np.asarray(values, dtype=float)
    if v.ndim == 1:
        v = v[:, None]
    present = np.isfinite(v) if mask is None else np.asarray(mask, dtype=bool) & np.isfinite(v)
    v = np.where(present, v, 0.0)
    n_items, n_cols = v.shape
    out = np.full((int(n_boot), n_cols), np.nan)
    if n_items == 0 or n_boot <= 0:
        return out
    full = bool(present.all())
    if clusters is not None:
        codes = np.asarray(clusters, dtype=np.intp)
        _, codes = np.unique(codes, return_inverse=True)
        n_units = int(codes.max()) + 1
        num_units = cluster_totals(v, codes, n_units)
        den_units = cluster_totals(present.astype(float), codes, n_units)
        fixed_den = None
    else:
        n_units = n_items
        num_units = v
        den_units = present.astype(float)
        fixed_den = float(n_items) if full else None
    rng = make_rng(seed)
    rows = max(1, CHUNK_ELEMENTS // n_units)
    with np.errstate(invalid="ignore", divide="ignore"):
        for start in range(0, int(n_boot), rows):
            r = min(rows, int(n_boot) - start)
            w = bootstrap_counts(rng, n_units, r)
            num = w @ num_units
            den = fixed_den if fixed_den is not None else w @ den_units
            out[start : start + r] = num / den
    return out


def percentile_interval(
    boot: NDArray[np.float64], alpha: float = 0.05
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Percentile interval per column, ignoring resamples where a column had no items."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN, on purpose
        low, high = np.nanquantile(boot, [alpha / 2.0, 1.0 - alpha / 2.0], axis=0)
    return low, high
