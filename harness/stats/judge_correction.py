"""Pass rates corrected for a judge's measured errors, with intervals that include the
uncertainty of the measurement itself.

A judge that passes a truly passing answer with probability Se (sensitivity) and a truly
failing one with probability 1 - Sp (Sp: specificity) reports, on answers whose true pass
rate is pi, the rate ``q = pi Se + (1 - pi)(1 - Sp)``. Solving for pi gives Rogan and
Gladen's (1978) estimator

    pi = (q + Sp - 1) / (Se + Sp - 1)

whose denominator is Youden's J. For a graded verdict in [0, 1] the same algebra holds with Se
the mean verdict on labelled passes and 1 - Sp the mean verdict on labelled fails; for 0/1
verdicts these are the usual sensitivity and specificity. The correction assumes the judge errs
alike on every variant (its errors depend on the true verdict, not on which prompt wrote the
answer); the report says so.

**Intervals.** One joint percentile bootstrap: each replicate resamples the evaluated items
(shared by all variants, so differences stay paired) and, independently, the labelled items
within each label (the labelled passes estimate Se and the labelled fails Sp, so their numbers
are held fixed), and recomputes every corrected rate. A paired difference is
``(q_a - q_b) / J`` in every replicate.

**Outside [0, 1].** A judged rate below the judge's false-pass rate (or above its
sensitivity) gives a raw estimate outside [0, 1]: the point estimate and each replicate are
clipped to [0, 1] and the result says it was clipped. Differences are not clipped.

**Refusal.** When J is near 0 the judge's verdicts carry almost no information about the
truth and dividing by J turns noise into any rate at all. The correction is refused, with
the reason, when either label has fewer than :data:`MIN_PER_LABEL` labelled items, or when
the lower end of J's 95% interval is below :data:`MIN_YOUDEN`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from harness.stats.bootstrap import bootstrap_counts, bootstrap_ratio_means, make_rng
from harness.stats.errors import StatsError
from harness.stats.intervals import check_alpha

MIN_PER_LABEL = 10
"""Fewest labelled passes (and fails) that measure Se (and Sp) well enough to correct by."""
MIN_YOUDEN = 0.1
"""The lower end of J's interval must reach this: a judge barely better than a coin is no
basis for a correction."""


@dataclass(frozen=True)
class JudgeRates:
    """The judge's error rates as measured on the labelled items, with bootstrap replicates."""

    sensitivity: float
    specificity: float
    youden: float
    youden_low: float
    youden_high: float
    n_pass: int
    n_fail: int
    refused: str | None
    boot_sensitivity: NDArray[np.float64] = field(repr=False)
    boot_specificity: NDArray[np.float64] = field(repr=False)


@dataclass(frozen=True)
class Corrected:
    """Judged (naive) and corrected rates per column, and paired differences."""

    names: list[str]
    judged: NDArray[np.float64]
    judged_low: NDArray[np.float64]
    judged_high: NDArray[np.float64]
    corrected: NDArray[np.float64]
    raw: NDArray[np.float64]
    low: NDArray[np.float64]
    high: NDArray[np.float64]
    clipped: NDArray[np.bool_]
    rates: JudgeRates
    pairs: list[dict[str, object]]


def rogan_gladen(judged: ArrayLike, sensitivity: ArrayLike,
                 specificity: ArrayLike) -> NDArray[np.float64]:
    """The unclipped corrected rate; NaN where J <= 0 (the judge is no better than chance)."""
    q, se, sp = (np.asarray(x, dtype=float) for x in (judged, sensitivity, specificity))
    j = se + sp - 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(j > 0, (q + sp - 1.0) / np.where(j > 0, j, 1.0), np.nan)


def _quantiles(boot: NDArray[np.float64], alpha: float
               ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanquantile(boot, [alpha / 2, 1 - alpha / 2], axis=0)
    return low, high


def judge_rates(item_verdicts: ArrayLike, item_labels: ArrayLike, *, n_boot: int = 2000,
                alpha: float = 0.05, seed: int | np.random.Generator | None = 0) -> JudgeRates:
    """Se, Sp and J from per-item mean verdicts and labels, resampled within each label."""
    v = np.asarray(item_verdicts, dtype=float)
    lab = np.asarray(item_labels, dtype=float)
    ok = np.isfinite(v) & np.isfinite(lab)
    v, lab = v[ok], lab[ok]
    pos, neg = v[lab == 1], v[lab == 0]
    rng = make_rng(seed)
    nan = np.full(int(n_boot), np.nan)
    se = float(pos.mean()) if pos.size else np.nan
    sp = float(1 - neg.mean()) if neg.size else np.nan
    boot_se = (bootstrap_counts(rng, pos.size, int(n_boot)) @ pos / pos.size
               if pos.size else nan)
    boot_sp = (1 - bootstrap_counts(rng, neg.size, int(n_boot)) @ neg / neg.size
               if neg.size else nan)
    j = se + sp - 1
    j_low, j_high = _quantiles((boot_se + boot_sp - 1)[:, None], alpha)
    refused = None
    if min(pos.size, neg.size) < MIN_PER_LABEL:
        refused = (f"the labelled set has {pos.size} pass and {neg.size} fail label(s); "
                   f"measuring the judge's sensitivity and specificity needs at least "
                   f"{MIN_PER_LABEL} of each")
    elif not (float(j_low[0]) >= MIN_YOUDEN):
        refused = (f"the judge is barely better than chance on the labelled items (Youden's "
                   f"J = sensitivity + specificity - 1 = {j:.2f}, 95% CI [{float(j_low[0]):.2f}, "
                   f"{float(j_high[0]):.2f}], whose lower end is below {MIN_YOUDEN}); dividing "
                   "by so small a J would turn noise into any rate at all")
    return JudgeRates(se, sp, j, float(j_low[0]), float(j_high[0]), int(pos.size),
                      int(neg.size), refused, boot_se, boot_sp)


def correct_rates(values: ArrayLike, item_verdicts: ArrayLike, item_labels: ArrayLike, *,
                  names: list[str] | None = None, n_boot: int = 2000, alpha: float = 0.05,
                  seed: int = 0) -> Corrected:
    """Corrected rates of each column of ``values`` (items x variants, NaN where a variant has
    no score for an item), with the joint bootstrap of the module docstring."""
    alpha = check_alpha(alpha)
    x = np.asarray(values, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.shape[0] == 0:
        raise StatsError("no judged item to correct")
    names = names or [str(i) for i in range(x.shape[1])]
    rng = make_rng(seed)
    rates = judge_rates(item_verdicts, item_labels, n_boot=n_boot, alpha=alpha, seed=rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        judged = np.nanmean(x, axis=0)
    boot_q = bootstrap_ratio_means(x, n_boot=n_boot, seed=rng)
    q_low, q_high = _quantiles(boot_q, alpha)
    nan = np.full(x.shape[1], np.nan)
    if rates.refused:
        return Corrected(names, judged, q_low, q_high, nan, nan, nan, nan,
                         np.zeros(x.shape[1], bool), rates, [])
    raw = rogan_gladen(judged, rates.sensitivity, rates.specificity)
    se_b, sp_b = rates.boot_sensitivity[:, None], rates.boot_specificity[:, None]
    boot = np.clip(rogan_gladen(boot_q, se_b, sp_b), 0.0, 1.0)
    low, high = _quantiles(boot, alpha)
    j_b = (se_b + sp_b - 1.0)[:, 0]
    pairs = _pairs(x, names, j_b, rates.youden, n_boot, alpha, rng)
    return Corrected(names, judged, q_low, q_high, np.clip(raw, 0.0, 1.0), raw, low, high,
                     (raw < 0) | (raw > 1), rates, pairs)


def _pairs(x: NDArray[np.float64], names: list[str], j_b: NDArray[np.float64], youden: float,
           n_boot: int, alpha: float, rng: np.random.Generator) -> list[dict[str, object]]:
    """Every pair's judged and corrected difference; one item bootstrap serves all pairs (an
    item missing on either side is left out of that pair)."""
    index = [(a, b) for a in range(x.shape[1]) for b in range(a + 1, x.shape[1])
             if (np.isfinite(x[:, a]) & np.isfinite(x[:, b])).sum() >= 2]
    if not index:
        return []
    d = np.stack([x[:, a] - x[:, b] for a, b in index], axis=1)  # NaN where either is missing
    boot_d = bootstrap_ratio_means(d, n_boot=n_boot, seed=rng)
    with np.errstate(invalid="ignore", divide="ignore"):
        boot_c = np.where(j_b[:, None] > 0, boot_d / j_b[:, None], np.nan)
    d_low, d_high = _quantiles(boot_c, alpha)
    naive_low, naive_high = _quantiles(boot_d, alpha)
    out = []
    for k, (a, b) in enumerate(index):
        mean = float(np.nanmean(d[:, k]))
        out.append({"a": names[a], "b": names[b], "n_items": int(np.isfinite(d[:, k]).sum()),
                    "judged_diff": mean, "judged_low": float(naive_low[k]),
                    "judged_high": float(naive_high[k]), "corrected_diff": mean / youden,
                    "corrected_low": float(d_low[k]), "corrected_high": float(d_high[k])})
    return out
