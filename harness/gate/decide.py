"""One verdict per gated cell: fail, pass or inconclusive, and the sentence that says why.

A cell of the baseline is judged on the items both sides scored, against the margin
(``--max-drop``), with the two one-sided tests of :mod:`harness.stats.noninferiority`:

* **fail**: the new score is significantly more than the margin below the baseline (the
  one-sided p-value of "delta < -margin", corrected over every tested cell, Holm by default);
* **pass**: non-inferiority shown (the uncorrected one-sided p-value of "delta > -margin" below
  alpha; the gate passes only when every cell does, which keeps the chance of passing a gate
  with any cell worse than the margin at or below alpha without a correction);
* **inconclusive**: neither, or the cell could not be judged: it is missing from the run
  (renamed, deleted), more of its samples failed than ``max_error_rate``, or it has fewer than
  :data:`MIN_PAIRS` paired items. A missing or fully-errored cell is never a pass.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from harness.gate.check import CellResult, GateSettings

MIN_PAIRS = 10
"""Fewer paired items than this: no decision either way (the tests are not trustworthy)."""


def not_scored(rows: pd.DataFrame, column: str) -> pd.Series:
    """Samples that count as errors: a failed call, or no score in ``column`` (a parser's or
    this scorer's error, or a score that did not apply). Another scorer's error on the sample
    does not: the score in ``column`` stands (harness.scoring.stage)."""
    import pandas as pd

    bad = pd.Series(False, index=rows.index)
    if "error" in rows:
        bad |= rows["error"].notna()
    if column in rows:
        bad |= pd.to_numeric(rows[column], errors="coerce").isna()
    else:
        bad[:] = True
    return bad


def count_errors(cell: CellResult, rows: pd.DataFrame, column: str) -> None:
    """Fill the cell's sample and error counts (and its first error) from the run's rows."""
    bad = not_scored(rows, column)
    cell.n_samples = len(rows)
    cell.n_errors = int(bad.sum())
    if cell.n_errors:
        messages = []
        for name in ("error", "scoring_error"):
            if name in rows and name != column:
                messages += [str(v) for v in rows.loc[bad, name] if isinstance(v, str) and v]
        cell.first_error = messages[0][:300] if messages else "no score"


def paired_arrays(now: pd.DataFrame, before: pd.DataFrame) -> tuple[Any, Any, Any, bool]:
    """Scores of the items both sides scored, their clusters (or None), and pass/fail-ness."""
    import numpy as np
    import pandas as pd

    from harness.stats.intervals import has_real_clusters

    both = now[["score", "cluster", "binary_item"]].join(
        before[["score", "binary_item"]].rename(columns={"score": "before",
                                                         "binary_item": "binary_before"}),
        how="inner")
    finite = np.isfinite(both["score"].astype(float)) & np.isfinite(both["before"].astype(float))
    both = both[finite]
    x = both["score"].to_numpy(dtype=float)
    y = both["before"].to_numpy(dtype=float)
    binary = bool(len(both)) and bool(both["binary_item"].all() and both["binary_before"].all())
    labels = both["cluster"].where(both["cluster"].notna(),
                                   pd.Series(both.index.astype(str), index=both.index))
    codes = pd.factorize(labels.astype(str))[0].astype(np.intp)
    clusters = codes if has_real_clusters(codes) else None
    return x, y, clusters, binary


def test_cell(cell: CellResult, x: Any, y: Any, clusters: Any, binary: bool,
              settings: GateSettings) -> None:
    """Run the margin tests on a cell's paired items and fill its numbers."""
    from harness.stats.noninferiority import margin_test, score_bounds

    cell.n_pairs = len(x)
    if cell.n_pairs:
        cell.mean_current, cell.mean_baseline = float(x.mean()), float(y.mean())
        cell.diff = cell.mean_current - cell.mean_baseline
    if cell.n_pairs < MIN_PAIRS:
        return
    result = margin_test(x, y, settings.max_drop, binary=binary, clusters=clusters)
    cell.p_pass, cell.p_value, cell.test = result.p_above, result.p_below, result.method
    cell.ci_low, cell.ci_high = score_bounds(x, y, settings.alpha)


def judge(cell: CellResult, settings: GateSettings) -> None:
    """The verdict and its sentence, once ``p_adjusted`` (the corrected fail p) is known."""
    pts = 100 * settings.max_drop
    limit = settings.max_error_rate if settings.max_error_rate is not None else 0.1
    if cell.status == "new":
        return
    if cell.n_current == 0 or cell.n_samples == 0:
        _inconclusive(cell, "in the baseline but not in this run (renamed, deleted or not "
                            "run): not judged, never a pass")
    elif cell.error_rate > limit:
        _inconclusive(cell, f"{cell.n_errors} of {cell.n_samples} samples failed "
                            f"({100 * cell.error_rate:.0f}%, above max_error_rate "
                            f"{100 * limit:g}%): not judged; first error: "
                            f"{cell.first_error}")
    elif cell.n_pairs < MIN_PAIRS:
        _inconclusive(cell, f"only {cell.n_pairs} item(s) scored on both sides (at least "
                            f"{MIN_PAIRS} needed): not judged")
    elif math.isfinite(cell.p_adjusted) and cell.p_adjusted < settings.alpha:
        cell.regression = True
        cell.status = "fail"
        cell.reasons.append(
            f"score fell {100 * -cell.diff:.1f} points ({100 * cell.mean_baseline:.1f}% → "
            f"{100 * cell.mean_current:.1f}%): significantly more than --max-drop {pts:g} "
            f"points (p = {cell.p_adjusted:.3g})")
    elif cell.p_pass < settings.alpha:
        cell.status = "pass"
        if cell.diff > 0 and cell.ci_low > 0:
            cell.improved = True
    else:
        _inconclusive(cell, f"could not show the score is within {pts:g} points of the "
                            f"baseline: change {100 * cell.diff:+.1f} points, lower bound "
                            f"{100 * cell.ci_low:+.1f} (p = {cell.p_pass:.3g}, "
                            f"{cell.n_pairs} paired items); more items or a wider --max-drop "
                            "would settle it")
    if cell.error_rate > 0 and cell.status != "inconclusive":
        cell.notes.append(f"{cell.n_errors} of {cell.n_samples} samples failed "
                          f"({100 * cell.error_rate:.1f}%); first error: {cell.first_error}")
    if settings.min_score is not None and math.isfinite(cell.score_current) \
            and cell.score_current < settings.min_score:
        cell.below_floor = True
        cell.status = "fail"
        cell.reasons.append(f"score {100 * cell.score_current:.1f}% is below --min-score "
                            f"{100 * settings.min_score:g}%")


def _inconclusive(cell: CellResult, why: str) -> None:
    cell.status = "inconclusive"
    cell.reasons.append(why)
