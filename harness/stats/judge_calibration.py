"""How well a judge agrees with human labels: accuracy, Cohen's kappa, sensitivity,
specificity and the confusion matrix, each with a 95% interval.

The rows are a calibration set as the run folder's ``calibration.jsonl`` holds it: one row per
labelled item and judge epoch, ``verdict`` in [0, 1] (null when the judge's answer was
unreadable: such rows are skipped and counted, never scored as agreement or disagreement) and
``label`` 0/1. A graded verdict counts as a pass at 0.5 or more.

Intervals. With one verdict per item the proportions get the Wilson interval (the same as
:func:`harness.stats.intervals.wilson_interval` gives a variant's score); kappa and the Youden
index always get a percentile bootstrap over items. With several judge epochs per item the rows
of one item are not independent, so every interval is a bootstrap that resamples whole items.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from harness.stats.bootstrap import bootstrap_counts, make_rng
from harness.stats.errors import StatsError
from harness.stats.intervals import check_alpha, wilson_interval

PASS_AT = 0.5
"""A graded verdict at or above this counts as a pass for agreement."""


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its interval; NaN where the data cannot say (no positives...)."""

    value: float
    low: float
    high: float


@dataclass(frozen=True)
class Agreement:
    """A judge against human labels. Counts are of rows (item x judge epoch)."""

    n_items: int
    n_rows: int
    n_skipped: int
    true_pass: int
    false_pass: int
    false_fail: int
    true_fail: int
    accuracy: Estimate
    kappa: Estimate
    sensitivity: Estimate
    specificity: Estimate
    youden: Estimate
    method: str

    @property
    def positives(self) -> int:
        return self.true_pass + self.false_fail

    @property
    def negatives(self) -> int:
        return self.false_pass + self.true_fail


def _ratio(num: NDArray[np.float64], den: NDArray[np.float64]) -> NDArray[np.float64]:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _stats(cells: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
    """Agreement statistics from confusion counts (..., 4): tp, fp, fn, tn."""
    tp, fp, fn, tn = (cells[..., i] for i in range(4))
    n = tp + fp + fn + tn
    acc = _ratio(tp + tn, n)
    sens = _ratio(tp, tp + fn)
    spec = _ratio(tn, tn + fp)
    p_judge, p_label = _ratio(tp + fp, n), _ratio(tp + fn, n)
    chance = p_judge * p_label + (1 - p_judge) * (1 - p_label)
    with np.errstate(invalid="ignore", divide="ignore"):
        kappa = np.where(chance < 1, (acc - chance) / np.where(chance < 1, 1 - chance, 1.0),
                         np.nan)
    return {"accuracy": acc, "kappa": kappa, "sensitivity": sens, "specificity": spec,
            "youden": sens + spec - 1}


def _percentile(boot: NDArray[np.float64], alpha: float) -> tuple[float, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanquantile(boot, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def clean_rows(ids: ArrayLike, verdicts: ArrayLike, labels: ArrayLike
               ) -> tuple[NDArray[np.intp], NDArray[np.float64], NDArray[np.float64], int]:
    """Item codes, verdicts and labels of the readable rows, and how many were skipped."""
    v = pd.to_numeric(pd.Series(np.asarray(verdicts, dtype=object)), errors="coerce")
    lab = pd.to_numeric(pd.Series(np.asarray(labels, dtype=object)), errors="coerce")
    ok = (v.notna() & lab.notna()).to_numpy()
    v_ok, lab_ok = v.to_numpy(dtype=float)[ok], lab.to_numpy(dtype=float)[ok]
    if np.any((v_ok < 0) | (v_ok > 1)):
        raise StatsError("a judge verdict must lie in [0, 1] (0/1 for pass/fail)")
    if np.any((lab_ok != 0) & (lab_ok != 1)):
        raise StatsError("a human label must be 0 (fail) or 1 (pass)")
    codes, _ = pd.factorize(pd.Series(np.asarray(ids, dtype=object)[ok]).astype(str))
    return codes.astype(np.intp), v_ok, lab_ok, int((~ok).sum())


def agreement(ids: ArrayLike, verdicts: ArrayLike, labels: ArrayLike, *, alpha: float = 0.05,
              n_boot: int = 2000, seed: int | np.random.Generator | None = 0) -> Agreement:
    """Agreement of a judge's verdicts with human labels (see the module docstring)."""
    alpha = check_alpha(alpha)
    codes, v, lab, skipped = clean_rows(ids, verdicts, labels)
    if v.size == 0:
        raise StatsError("no readable judge verdict on a labelled item: nothing to calibrate")
    judged = (v >= PASS_AT).astype(float)
    onehot = np.stack([judged * lab, judged * (1 - lab), (1 - judged) * lab,
                       (1 - judged) * (1 - lab)], axis=1)
    n_items = int(codes.max()) + 1
    per_item = np.zeros((n_items, 4))
    for j in range(4):
        per_item[:, j] = np.bincount(codes, weights=onehot[:, j], minlength=n_items)
    cells = per_item.sum(axis=0)
    point = {k: float(x) for k, x in _stats(cells).items()}
    rng = make_rng(seed)
    counts = bootstrap_counts(rng, n_items, int(n_boot))
    boot = _stats(counts @ per_item)
    single = n_items == v.size
    ci = {k: _percentile(boot[k], alpha) for k in point}
    if single:
        tp, fp, fn, tn = cells
        for key, (k, n) in {"accuracy": (tp + tn, cells.sum()), "sensitivity": (tp, tp + fn),
                            "specificity": (tn, tn + fp)}.items():
            ci[key] = tuple(map(float, wilson_interval(k, n, alpha))) if n > 0 else (
                np.nan, np.nan)
    est = {k: Estimate(point[k], *ci[k]) if np.isfinite(point[k])
           else Estimate(np.nan, np.nan, np.nan) for k in point}
    tp, fp, fn, tn = (round(float(x)) for x in cells)
    method = ("Wilson intervals; kappa by bootstrap over items" if single
              else "bootstrap over items (several judge epochs per item)")
    return Agreement(n_items, int(v.size), skipped, tp, fp, fn, tn, est["accuracy"],
                     est["kappa"], est["sensitivity"], est["specificity"], est["youden"],
                     method)


def calibration_agreement(rows: pd.DataFrame, *, alpha: float = 0.05, n_boot: int = 2000,
                          seed: int = 0) -> dict[tuple[str, str], Agreement]:
    """Per (task, judge) of ``calibration.jsonl`` rows: the judge's :class:`Agreement`.

    A (task, judge) with no readable verdict is left out."""
    out: dict[tuple[str, str], Agreement] = {}
    if rows is None or rows.empty:
        return out
    for (task, judge), part in rows.groupby(["task", "judge"], sort=False):
        try:
            out[(str(task), str(judge))] = agreement(part["id"], part["verdict"],
                                                     part["label"], alpha=alpha,
                                                     n_boot=n_boot, seed=seed)
        except StatsError:
            continue
    return out
