"""Adjusting p-values when one table holds many comparisons.

With 5 variants there are 10 pairs; at alpha 0.05 the chance that at least one of 10 true-null
pairs looks "significant" is about 40%. Holm's step-down method keeps that family-wise error rate
at alpha and is never less powerful than Bonferroni, so it is the default. Benjamini-Hochberg
controls the false discovery rate instead: more discoveries, some of them false, which suits
exploratory screens of many variants. Missing p-values (pairs with no paired items) are left
missing and do not count towards the family size.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from harness.stats.errors import StatsError

Correction = Literal["holm", "bh", "none"]
CORRECTIONS: dict[str, str] = {
    "holm": "holm",
    "bh": "bh",
    "fdr_bh": "bh",
    "benjamini-hochberg": "bh",
    "none": "none",
}
CORRECTION_LABELS: dict[str, str] = {"holm": "Holm", "bh": "Benjamini-Hochberg", "none": "none"}


def holm(p_values: ArrayLike) -> NDArray[np.float64]:
    """Holm step-down adjusted p-values (family-wise error control)."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    scaled = (m - np.arange(m)) * p[order]
    adjusted = np.minimum(1.0, np.maximum.accumulate(scaled))
    out = np.empty(m)
    out[order] = adjusted
    return out


def benjamini_hochberg(p_values: ArrayLike) -> NDArray[np.float64]:
    """Benjamini-Hochberg adjusted p-values (false discovery rate control)."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")[::-1]
    scaled = p[order] * m / (m - np.arange(m))
    adjusted = np.minimum(1.0, np.minimum.accumulate(scaled))
    out = np.empty(m)
    out[order] = adjusted
    return out


def normalise_correction(correction: str | None) -> str:
    """Accept the spellings people use (``fdr_bh`` from statsmodels, ``None``) for one method."""
    key = "none" if correction is None else str(correction).lower()
    if key not in CORRECTIONS:
        raise StatsError(
            f"unknown multiple-comparison correction {correction!r}; use 'holm', 'bh' or 'none'"
        )
    return CORRECTIONS[key]


def adjust_pvalues(p_values: ArrayLike, method: str | None = "holm") -> NDArray[np.float64]:
    """Adjust the finite p-values of one family; NaNs stay NaN and are not counted."""
    p = np.asarray(p_values, dtype=float)
    if np.any(p[np.isfinite(p)] < 0) or np.any(p[np.isfinite(p)] > 1):
        raise StatsError("p-values must lie between 0 and 1")
    how = normalise_correction(method)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if how == "holm":
        out[ok] = holm(p[ok])
    elif how == "bh":
        out[ok] = benjamini_hochberg(p[ok])
    else:
        out[ok] = p[ok]
    return out
