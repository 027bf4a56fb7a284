"""Splitting a score's variance into between-item and within-item parts (Miller 2024).

With K samples per item the variance of an item's mean score is ``B + W / K``: B is how much
items differ in difficulty (fixed by the choice of items) and W is the sampling noise of the
model on one item (which repeats average away). The squared SE of the overall score is
``(B + W / K) / n``. So more repeats can at best remove the ``W / K`` part, while more items
shrink everything; the split tells a team which to buy.

The estimates are the one-way random-effects ANOVA (method of moments) ones: W is the pooled
within-item variance and B = var(item means) - W * mean(1 / K_i), floored at zero. For balanced
designs they equal the REML estimates whenever B > 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True)
class VarianceSplit:
    """Between- and within-item variance, and what they imply for more repeats vs more items."""

    between: float
    within: float
    epochs: float
    within_share: float
    se_ratio_more_items: float
    se_ratio_more_repeats: float
    advice: str


def variance_split(
    item_means: ArrayLike, item_vars: ArrayLike, item_counts: ArrayLike
) -> VarianceSplit:
    """Estimate B and W from per-item means, per-item sample variances (ddof 1) and counts."""
    m = np.asarray(item_means, dtype=float)
    v = np.asarray(item_vars, dtype=float)
    k = np.asarray(item_counts, dtype=float)
    ok = np.isfinite(m) & (k >= 1)
    m, v, k = m[ok], v[ok], k[ok]
    nan = float("nan")
    if m.size < 2:
        return VarianceSplit(nan, nan, nan, nan, nan, nan, "too few items to split the variance")
    multi = k >= 2
    epochs = float(1.0 / np.mean(1.0 / k))  # harmonic mean: what W / K averages over
    if not multi.any():
        advice = (
            "one sample per item: run 2 or more epochs to split item-to-item from "
            "sample-to-sample variance; until then, more items is the sure way to narrow the CI"
        )
        return VarianceSplit(nan, nan, epochs, nan, 1.0 / np.sqrt(2.0), nan, advice)
    within = float(np.sum((k[multi] - 1.0) * v[multi]) / np.sum(k[multi] - 1.0))
    between = max(0.0, float(m.var(ddof=1)) - within * float(np.mean(1.0 / k)))
    total = between + within / epochs
    if total <= 0.0:
        advice = "every item got the same score on every sample: no variance to split"
        return VarianceSplit(between, within, epochs, nan, nan, nan, advice)
    share = (within / epochs) / total
    more_items = 1.0 / np.sqrt(2.0)
    more_repeats = float(np.sqrt((between + within / (2.0 * epochs)) / total))
    gains = (
        f"doubling the items shrinks the CI by {1 - more_items:.0%}, doubling the repeats by "
        f"{1 - more_repeats:.0%}"
    )
    if within == 0.0:
        advice = "repeats always agree, so more repeats cannot help; add items"
    elif more_repeats - more_items < 0.01:
        advice = (
            f"items barely differ beyond sampling noise: {gains}, so repeats are as good as "
            "new items here"
        )
    else:
        advice = f"{share:.0%} of the variance is sample noise: {gains}; more items help more"
        if share >= 0.5:
            advice += ", but if items are scarce, more repeats are worth it"
    return VarianceSplit(between, within, epochs, share, more_items, more_repeats, advice)
