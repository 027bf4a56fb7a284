"""``harness check --sequential``: stop the check's run as soon as the gate is decided.

Each cell (task x variant x model the baseline has) gets an anytime-valid confidence sequence
for the mean per-item difference, current minus baseline (``harness.stats.sequential``),
updated item by item in the planned order (``harness.monitor.ItemStream``). With ``margin``
the gate's ``--max-drop``:

* **fail** as soon as some cell's upper bound falls below ``-margin``: its drop is larger than
  the margin, with error rate alpha / k per cell (Bonferroni over the k cells), so the chance
  of failing a change whose every cell is within the margin stays at or below alpha;
* **pass** as soon as every cell's lower bound is above ``-margin``: non-inferiority shown in
  each cell at alpha (an intersection-union test: passing needs every cell, so the chance of
  passing a change with some cell worse than the margin is at most alpha without correction);
* otherwise the run goes on to its full size and the usual fixed-size check decides.

The bounds stay valid however often they are looked at, which is what lets the run stop at
the first decisive item without inflating either error rate.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.monitor import ItemStream, StopDecision, primary_metrics
from harness.stats.sequential import BettingCS, grid_with

if TYPE_CHECKING:
    from harness.gate.baseline import Baseline
    from harness.gate.check import CheckResult


def _baseline_scores(entry: dict[str, Any]) -> float:
    scores = entry.get("score")
    scores = scores if isinstance(scores, list) else [scores]
    finite = [float(s) for s in scores if isinstance(s, int | float) and math.isfinite(s)]
    return float(np.mean(finite)) if finite else math.nan


class GateMonitor:
    """Watches a check's run; see the module docstring for the rule."""

    def __init__(self, plan: Any, baseline: Baseline, *, alpha: float, margin: float,
                 skip: Any = ()) -> None:
        self.alpha, self.margin = alpha, margin
        metrics = primary_metrics(plan)
        for task, info in baseline.metrics.items():  # the baseline's metric is the gate's
            if task in metrics:
                metrics[task] = info["name"]
        self.stream = ItemStream(plan.samples, metrics)
        planned = {(s.task, s.variant, s.model) for s in plan.samples}
        self.cells = [key for key in baseline.cells if key in planned]
        self.before = {key: {i: _baseline_scores(e) for i, e in baseline.cells[key].items()}
                       for key in self.cells}
        k = max(1, len(self.cells))
        self.cs = BettingCS(len(self.cells), alpha, alpha / k, grid_with([-margin, 0.0]))
        self.items = 0
        for record in skip:
            self.stream.add(record)
        self._consume()

    def _consume(self) -> None:
        for (task, item_id), scores in self.stream.ready():
            self.items += 1
            values = np.full(len(self.cells), np.nan)
            for n, (t, variant, model) in enumerate(self.cells):
                if t != task or (variant, model) not in scores:
                    continue
                prior = self.before[(t, variant, model)].get(item_id, math.nan)
                values[n] = scores[(variant, model)] - prior
            self.cs.update(values)

    def failing(self) -> np.ndarray:
        return self.cs.excludes_below(-self.margin)

    def passing(self) -> np.ndarray:
        return self.cs.excludes_above(-self.margin)

    def update(self, record: dict[str, Any]) -> StopDecision | None:
        self.stream.add(record)
        before = self.items
        self._consume()
        if self.items == before or not self.cells or self.items >= self.stream.total:
            return None
        pts = f"{100 * self.margin:g} points"
        if self.failing().any():
            names = [" / ".join(self.cells[n]) for n in np.flatnonzero(self.failing())]
            reason = (f"a regression larger than --max-drop ({pts}) is certain for "
                      f"{', '.join(names)}")
            return StopDecision(reason, self.items, "fail", self.describe())
        if self.passing().all():
            reason = f"every cell is shown to be no more than {pts} worse than the baseline"
            return StopDecision(reason, self.items, "pass", self.describe())
        return None

    def describe(self) -> list[str]:
        lines = []
        for n, key in enumerate(self.cells):
            verdict = ("regression beyond the margin" if self.failing()[n]
                       else "non-inferior" if self.passing()[n] else "undecided")
            lines.append(
                f"{' / '.join(key)}: {100 * self.cs.mean[n]:+.1f} points over "
                f"{int(self.cs.n[n])} items, confidence sequence "
                f"[{100 * self.cs.lower[n]:.1f}, {100 * self.cs.upper[n]:.1f}]: {verdict}")
        return lines


def monitor_factory(baseline: Baseline, alpha: float, margin: float) -> Any:
    """What ``harness.api.run(monitor=...)`` takes: builds the monitor once the plan exists."""
    return lambda plan, done: GateMonitor(plan, baseline, alpha=alpha, margin=margin, skip=done)


def say_stopped(manifest: dict[str, Any]) -> str:
    """The lines ``harness check --sequential`` prints about how its run ended."""
    from harness.report.stopped import stopped_early_sentence

    sentence = stopped_early_sentence(manifest)
    if sentence is None:
        return ("sequential check: not decided early; the run went to its full size and the "
                "fixed-size check below decides\n")
    details = manifest["stopped_early"].get("details") or []
    text = sentence.replace("<run-id>", str(manifest.get("run_id")))
    return "\n".join([f"sequential check: {text}", *[f"  {d}" for d in details], ""]) + "\n"


def apply_decision(result: CheckResult, manifest: dict[str, Any]) -> CheckResult:
    """Make the early decision the check's verdict: the fixed-size p-values of a run stopped
    by a sequential rule are not valid, the confidence sequences are."""
    info = manifest.get("stopped_early")
    if not info:
        return result
    settings = result.settings
    limit = getattr(settings, "max_error_rate", None)
    limit = 0.1 if limit is None else limit
    lines = {line.split(": ", 1)[0]: line for line in info.get("details") or []}
    for cell in result.cells:
        line = lines.get(f"{cell.task} / {cell.variant} / {cell.model}")
        if line is None:
            continue
        cell.notes.append(f"sequential: {line.split(': ', 1)[1]}")
        if info.get("outcome") == "fail" and line.endswith("regression beyond the margin"):
            cell.regression = True
            cell.status = "fail"
            cell.reasons.append("sequential check: the confidence sequence lies entirely below "
                                "-max-drop, so the drop is larger than the margin")
        elif info.get("outcome") == "pass" and not cell.below_floor \
                and cell.n_current > 0 and cell.error_rate <= limit:
            # The valid (sequential) analysis shows non-inferiority; a missing cell or one
            # with too many failed calls stays inconclusive, never a pass.
            cell.regression = False
            cell.reasons.clear()
            cell.status = "pass"
    return result
