"""How repeatable a sampled judge is: with judge epochs > 1 every sample was graded several
times, and the spread of those verdicts is noise the judge adds to the score.

Self-agreement is the share of pairs of judge epochs, on one sample, whose verdicts agree (a
graded verdict counts as pass at 0.5 or more), averaged over samples; ``unanimous`` is the
share of samples on which every judge epoch agreed.

The variance split is the one :mod:`harness.stats.variance` makes for repeats, with the
sample in the place of the item and the judge epoch in the place of the repeat: W is the
variance between judge epochs on one sample (the judge's noise) and B the variance between
samples of their judge-averaged verdicts. ``judge_share_single = W / (B + W)`` is the share of
one verdict's variance that is the judge's; ``judge_share_score`` the share of the variance of
a sample's reported (averaged) score, ``(W/K) / (B + W/K)``. The interval is a percentile
bootstrap over samples.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from harness.stats.bootstrap import bootstrap_counts, make_rng
from harness.stats.intervals import check_alpha
from harness.stats.judge_calibration import PASS_AT
from harness.stats.variance import variance_split


@dataclass(frozen=True)
class Repeatability:
    n_samples: int
    judge_epochs: float
    agreement: float
    unanimous: float
    between: float
    within: float
    judge_share_single: float
    share_low: float
    share_high: float
    judge_share_score: float


def verdict_lists(samples: pd.DataFrame, name: str) -> list[list[float]]:
    """Per sample whose call did not fail, the verdicts of judge ``name`` by judge epoch, read
    from ``score_details[name].metadata.verdicts`` (the judges' record of every epoch; absent
    where that judge failed, whatever another scorer did)."""
    if "score_details" not in samples.columns:
        return []
    ok = samples["error"].isna() if "error" in samples.columns else pd.Series(True,
                                                                              samples.index)
    out = []
    for details in samples.loc[ok, "score_details"]:
        entry: Any = details.get(name) if isinstance(details, dict) else None
        meta = entry.get("metadata") if isinstance(entry, dict) else None
        verdicts = meta.get("verdicts") if isinstance(meta, dict) else None
        if not isinstance(verdicts, list):
            continue
        values = [float(v["value"]) for v in verdicts
                  if isinstance(v, dict) and isinstance(v.get("value"), (int, float))]
        if values:
            out.append(values)
    return out


def _pair_agreement(row: NDArray[np.float64]) -> float:
    passed = int((row >= PASS_AT).sum())
    k = row.size
    return (passed * (passed - 1) + (k - passed) * (k - passed - 1)) / (k * (k - 1))


def repeatability(verdicts: list[list[float]], *, alpha: float = 0.05, n_boot: int = 2000,
                  seed: int = 0) -> Repeatability | None:
    """The judge's self-agreement and variance share; None with fewer than two samples graded
    more than once."""
    alpha = check_alpha(alpha)
    rows = [np.asarray(v, dtype=float) for v in verdicts if len(v) >= 2]
    if len(rows) < 2:
        return None
    agree = np.array([_pair_agreement(r) for r in rows])
    means = np.array([r.mean() for r in rows])
    variances = np.array([r.var(ddof=1) for r in rows])
    k = np.array([r.size for r in rows], dtype=float)
    split = variance_split(means, variances, k)
    single = _share(split.between, split.within)
    counts = bootstrap_counts(make_rng(seed), len(rows), n_boot)
    n = float(len(rows))
    w_b = (counts @ ((k - 1) * variances)) / (counts @ (k - 1))
    mean_b = counts @ means / n
    var_b = (counts @ means**2 / n - mean_b**2) * n / (n - 1)
    b_b = np.maximum(0.0, var_b - w_b * (counts @ (1 / k) / n))
    with np.errstate(invalid="ignore", divide="ignore"):
        boot = np.where(b_b + w_b > 0, w_b / (b_b + w_b), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanquantile(boot, [alpha / 2, 1 - alpha / 2])
    return Repeatability(len(rows), split.epochs, float(agree.mean()),
                         float(np.mean([len(set((r >= PASS_AT).tolist())) == 1 for r in rows])),
                         split.between, split.within, single, float(low), float(high),
                         float(split.within_share))


def _share(between: float, within: float) -> float:
    total = between + within
    return within / total if total > 0 else float("nan")
