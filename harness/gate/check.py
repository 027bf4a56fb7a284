"""The gate: compare a run with a baseline, item by item, and decide pass or fail.

For each task x variant x model both sides have, the items both scored are paired by the
statistics package (:func:`harness.analysis.compare_runs`: McNemar's exact test for pass/fail
items, a paired test for graded ones, clustered when items share clusters); the
p-values of all cells are then corrected together (Holm by default), because a gate that tests
twenty cells at 5% each would cry wolf on most pull requests. A cell fails when its score fell
significantly *and* by more than ``max_drop``, or when its score is under ``min_score``. Every
failure carries the items that went from right to wrong, with the outputs before and after.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.gate.baseline import Baseline, GateInputError
from harness.gate.changes import sample_changes

if TYPE_CHECKING:
    import pandas as pd

    from harness.models.client import Client

NAN = float("nan")


@dataclass(frozen=True)
class GateSettings:
    """What counts as a regression; the defaults are the CLI's."""

    alpha: float = 0.05
    max_drop: float = 0.02
    min_score: float | None = None
    correction: str = "holm"

    def __post_init__(self) -> None:
        from harness.stats.multiple import normalise_correction

        if not 0.0 < self.alpha < 0.5:
            raise GateInputError(f"--alpha must be between 0 and 0.5 (0.05 means 5%); "
                                 f"got {self.alpha}")
        if not 0.0 <= self.max_drop < 1.0:
            raise GateInputError(f"--max-drop is a fraction of the score scale (0.02 means 2 "
                                 f"points); got {self.max_drop}")
        if self.min_score is not None and not 0.0 <= self.min_score <= 1.0:
            raise GateInputError(f"--min-score is a score between 0 and 1 (0.7 means 70%); "
                                 f"got {self.min_score}")
        try:
            object.__setattr__(self, "correction", normalise_correction(self.correction))
        except ValueError as exc:
            raise GateInputError(str(exc)) from None

    @property
    def confidence(self) -> str:
        return f"{100 * (1 - self.alpha):g}%"


@dataclass
class Flip:
    """An item whose score fell: what the model said before and what it says now."""

    item_id: str
    before: float
    after: float
    target: str | None
    output_before: str | None
    output_after: str | None


@dataclass
class CellResult:
    """One task x variant x model: the paired comparison and the verdict."""

    task: str
    variant: str
    model: str
    metric: str
    kind: str
    status: str = "pass"  # pass | fail | new | missing | unpaired
    n_baseline: int = 0
    n_current: int = 0
    n_pairs: int = 0
    mean_baseline: float = NAN
    mean_current: float = NAN
    score_current: float = NAN
    diff: float = NAN
    ci_low: float = NAN
    ci_high: float = NAN
    p_value: float = NAN
    p_adjusted: float = NAN
    test: str = ""
    mde: float = NAN
    regression: bool = False
    below_floor: bool = False
    improved: bool = False
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    worse: list[Flip] = field(default_factory=list)
    n_better: int = 0

    @property
    def name(self) -> str:
        return f"{self.task} / {self.variant} / {self.model}"

    @property
    def failed(self) -> bool:
        return self.status == "fail"


@dataclass
class CheckResult:
    """Everything the formats need: verdicts per cell, what changed, and where things are."""

    settings: GateSettings
    cells: list[CellResult]
    baseline: dict[str, Any]
    current: dict[str, Any]
    changes: list[str] = field(default_factory=list)
    mode: str = "check"

    @property
    def failures(self) -> list[CellResult]:
        return [c for c in self.cells if c.failed]

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def exit_code(self) -> int:
        return 0 if self.passed or self.mode == "compare" else 1

    @property
    def n_compared(self) -> int:
        return sum(1 for c in self.cells if math.isfinite(c.p_value))


def _cell_items(table: pd.DataFrame | None, variant: str, model: str) -> pd.DataFrame | None:
    if table is None:
        return None
    part = table[(table["variant"] == variant) & (table["model"] == model)]
    return part.drop_duplicates("item_id").set_index("item_id") if len(part) else None


def _fill(cell: CellResult, rec: Any, now: pd.DataFrame, before: pd.DataFrame,
          outputs: pd.DataFrame, baseline: Baseline) -> None:
    """Copy the statistics' row into the cell, and list the items whose score fell."""
    cell.n_pairs = int(rec["n_pairs"])
    for name, key in (("mean_current", "mean_a"), ("mean_baseline", "mean_b"), ("diff", "diff"),
                      ("ci_low", "ci_low"), ("ci_high", "ci_high"), ("p_value", "p_value"),
                      ("mde", "mde")):
        setattr(cell, name, float(rec[key]))
    cell.test = str(rec["test"])
    if isinstance(rec["note"], str) and rec["note"]:
        cell.notes.append(rec["note"])
    key3 = (cell.task, cell.variant, cell.model)
    pairs = now[["score"]].join(before[["score"]].rename(columns={"score": "before"}),
                                how="inner")
    for item_id, after, prior in pairs.itertuples():
        if not (math.isfinite(after) and math.isfinite(prior)) or after == prior:
            continue
        if after > prior:
            cell.n_better += 1
            continue
        key = (cell.task, cell.model, cell.variant, str(item_id))
        row = outputs.loc[key] if key in outputs.index else {}
        target, output = row.get("target"), row.get("output")
        cell.worse.append(Flip(str(item_id), float(prior), float(after),
                               None if target is None else str(target),
                               baseline.output(key3, str(item_id)),
                               output if isinstance(output, str) else None))
    cell.worse.sort(key=lambda f: (f.after - f.before, f.item_id))


def _decide(cell: CellResult, settings: GateSettings) -> None:
    pts = 100 * settings.max_drop
    if math.isfinite(cell.p_adjusted) and cell.p_adjusted < settings.alpha and cell.diff < 0:
        if -cell.diff > settings.max_drop + 1e-12:
            cell.regression = True
            cell.reasons.append(
                f"score fell {100 * -cell.diff:.1f} points ({100 * cell.mean_baseline:.1f}% → "
                f"{100 * cell.mean_current:.1f}%), significant (p = {cell.p_adjusted:.3g}) and "
                f"more than --max-drop {pts:g} points")
        else:
            cell.notes.append(f"a significant but small drop ({100 * -cell.diff:.1f} points, "
                              f"within --max-drop {pts:g})")
    elif cell.diff < -settings.max_drop and math.isfinite(cell.p_adjusted):
        cell.notes.append(
            f"fell {100 * -cell.diff:.1f} points but not significantly (p = "
            f"{cell.p_adjusted:.3g}): could be noise; with {cell.n_pairs} items the smallest "
            f"change this check reliably detects is about {100 * cell.mde:.1f} points")
    if math.isfinite(cell.p_adjusted) and cell.p_adjusted < settings.alpha and cell.diff > 0:
        cell.improved = True
    if settings.min_score is not None and math.isfinite(cell.score_current) \
            and cell.score_current < settings.min_score:
        cell.below_floor = True
        cell.reasons.append(f"score {100 * cell.score_current:.1f}% is below --min-score "
                            f"{100 * settings.min_score:g}%")
    if cell.regression or cell.below_floor:
        cell.status = "fail"
    elif cell.status == "pass" and cell.n_pairs == 0:
        cell.status = "unpaired"
        cell.notes.append("no item was scored on both sides: not compared")


def compare_samples(baseline: Baseline, samples: pd.DataFrame,
                    settings: GateSettings) -> list[CellResult]:
    """Every cell of the baseline and the run, compared and decided.

    The numbers come from :func:`harness.analysis.compare_runs`, the report's own paired
    comparison, run per task (each task keeps the metric its baseline was saved with); the
    p-values of all cells are then corrected together, because the gate is one decision.
    """
    import numpy as np

    from harness.analysis import compare_runs
    from harness.report.disagreements import first_outputs
    from harness.stats.multiple import adjust_pvalues
    from harness.stats.samples import item_table

    if samples.empty:
        raise GateInputError("the run has no finished samples to check")
    before_all = baseline.samples_frame()
    outputs = first_outputs(samples)
    cells: list[CellResult] = []
    tasks = sorted(set(baseline.metrics) | set(samples["task"].astype(str)))
    for task in tasks:
        info = baseline.metrics.get(task)
        now_rows = samples[samples["task"].astype(str) == task]
        now = before = None
        stats: dict[tuple[str, str], Any] = {}
        if info is None:  # a task the baseline lacks: its own primary metric, nothing to pair
            table = item_table(now_rows)
            now, metric, kind = table.items, table.metrics[task].name, table.metrics[task].kind
        else:
            metric, kind = info["name"], info["kind"]
            before_rows = before_all[before_all["task"] == task]
            before = item_table(before_rows, metric=metric).items
            if not now_rows.empty:
                if f"score_{metric}" not in now_rows.columns:
                    raise GateInputError(
                        f"task {task}: the baseline scores metric '{metric}', which this run "
                        "does not have; save a new baseline")
                now = item_table(now_rows, metric=metric).items
                rows = compare_runs(before_rows, now_rows, labels=("baseline", "current"),
                                    metric=metric, correction="none", n_boot=0,
                                    alpha=settings.alpha)
                stats = {(str(r["variant"]), str(r["model"])): r for _, r in rows.iterrows()}
        keys: dict[tuple[str, str], None] = {}
        for table_ in (before, now):
            if table_ is not None:
                keys.update(dict.fromkeys(zip(table_["variant"], table_["model"], strict=True)))
        for variant, model in keys:
            cell = CellResult(task, variant, model, metric, kind)
            a, b = _cell_items(now, variant, model), _cell_items(before, variant, model)
            if a is not None:
                cell.n_current = len(a)
                cell.score_current = float(np.nanmean(a["score"])) if a["score"].notna().any() \
                    else NAN
            if b is not None:
                cell.n_baseline = len(b)
            if a is None:
                cell.status = "missing"
                cell.notes.append("in the baseline but not in this run")
            elif b is None:
                cell.status = "new"
                cell.notes.append("not in the baseline: nothing to compare with")
            else:
                _fill(cell, stats[(variant, model)], a, b, outputs, baseline)
                only_before = len(set(b.index) - set(a.index))
                only_now = len(set(a.index) - set(b.index))
                if only_before or only_now:
                    cell.notes.append(f"{only_before} baseline item(s) not in this run and "
                                      f"{only_now} new item(s); only shared items are compared")
            cells.append(cell)
    compared = [c for c in cells if c.status == "pass"]
    if not compared:
        raise GateInputError(
            "no task x variant x model of this run is in the baseline "
            f"(baseline: {_names(c for c in cells if c.status == 'missing')}; "
            f"run: {_names(c for c in cells if c.status == 'new')}); "
            "check that the baseline belongs to this experiment")
    if sum(c.n_pairs for c in compared) == 0:
        raise GateInputError(
            "the run and the baseline share no scored items, so there is nothing to pair "
            f"(e.g. baseline items {_items(baseline)}); check that the baseline was saved from "
            "this experiment's data")
    adjusted = adjust_pvalues([c.p_value for c in cells], settings.correction)
    for cell, p in zip(cells, adjusted, strict=True):
        cell.p_adjusted = float(p)
        _decide(cell, settings)
    return cells


def _names(cells: Any) -> str:
    names = [c.name for c in cells]
    return ", ".join(names[:4]) + (" ..." if len(names) > 4 else "") if names else "none"


def _items(baseline: Baseline) -> str:
    ids = [i for items in baseline.cells.values() for i in items][:3]
    return ", ".join(ids) or "none"


def describe_changes(baseline: Baseline, manifest: dict[str, Any]) -> list[str]:
    """What changed since the baseline was saved: templates, models, package version. Which
    prompts changed, item by item, is :func:`harness.gate.changes.sample_changes`."""
    meta = baseline.meta
    changes = []
    templates = {n: t.get("sha256") for n, t in (manifest.get("templates") or {}).items()}
    for name, sha in templates.items():
        old = (meta.get("templates") or {}).get(name)
        if old is None:
            changes.append(f"variant `{name}` is new since the baseline")
        elif old != sha:
            changes.append(f"the template of variant `{name}` changed since the baseline "
                           f"(sha256 {str(old)[:8]} -> {str(sha)[:8]})")
    models = manifest.get("models") or {}
    for label, model in models.items():
        old = (meta.get("models") or {}).get(label)
        if old is None:
            changes.append(f"model `{label}` is new since the baseline")
        elif (old.get("model"), old.get("api_base")) != (model.get("model"),
                                                         model.get("api_base")):
            changes.append(f"model `{label}` changed since the baseline: {old.get('model')} -> "
                           f"{model.get('model')}")
    old_v = meta.get("package_version")
    new_v = (manifest.get("versions") or {}).get("prompt-harness")
    if old_v and new_v and old_v != new_v:
        changes.append(f"prompt-harness {old_v} -> {new_v} since the baseline")
    return changes


def check_run(run: str | Path | pd.DataFrame, baseline: Baseline | str | Path,
              settings: GateSettings | None = None, *, mode: str = "check") -> CheckResult:
    """Compare an existing run (folder, id or loaded samples) with a baseline."""
    from harness.results import load_run

    settings = settings or GateSettings()
    base = baseline if isinstance(baseline, Baseline) else Baseline.load(baseline)
    samples = load_run(run) if not hasattr(run, "attrs") else run
    manifest = samples.attrs.get("manifest") or {}
    cells = compare_samples(base, samples, settings)
    return CheckResult(
        settings=settings, cells=cells, mode=mode,
        baseline={"run_id": base.run_id, "source": base.source,
                  "experiment": base.meta.get("experiment")},
        current={"run_id": manifest.get("run_id"), "run_dir": samples.attrs.get("run_dir"),
                 "experiment": manifest.get("experiment"),
                 "report": samples.attrs.get("report")},
        changes=describe_changes(base, manifest) + sample_changes(base, samples),
    )


def check_experiment(experiment: str | Path, baseline: Baseline | str | Path,
                     settings: GateSettings | None = None, *,
                     results_dir: str | Path = "results",
                     reports_dir: str | Path | None = "reports", quiet: bool = True,
                     client: Client | None = None, **overrides: Any) -> CheckResult:
    """Run an experiment (answers come from the response cache when nothing changed), then check.

    The baseline is read first, so a missing or broken one costs no model calls.
    """
    from harness.api import run
    from harness.preflight import check_experiment_baseline

    base = baseline if isinstance(baseline, Baseline) else Baseline.load(baseline)
    check_experiment_baseline(experiment, base, overrides)
    samples = run(experiment, results_dir=results_dir, reports_dir=reports_dir, quiet=quiet,
                  client=client, **overrides)
    return check_run(samples, base, settings)


def compare_runs(before: str | Path, after: str | Path,
                 settings: GateSettings | None = None) -> CheckResult:
    """``harness compare A B``: the gate's analysis of B against A, both ways, no verdict."""
    return check_run(after, Baseline.load(before), settings, mode="compare")
