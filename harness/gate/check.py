"""The gate: compare a run with a baseline, item by item, and give every cell a verdict.

For each task x variant x model of the baseline, the items both sides scored are paired and
tested one-sidedly against the margin (``max_drop``); :mod:`harness.gate.decide` turns the
p-values into ``fail``, ``pass`` or ``inconclusive``. The fail p-values of all tested cells are
corrected together (Holm by default), because a gate that tests twenty cells at 5% each would
cry wolf on most pull requests. Every failure carries the items that went from right to wrong,
with the outputs before and after.
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
INCONCLUSIVE = 3  # the exit code of a run that could not be judged


@dataclass(frozen=True)
class GateSettings:
    """What counts as a regression; the defaults are the CLI's."""

    alpha: float = 0.05
    max_drop: float = 0.02
    min_score: float | None = None
    correction: str = "holm"
    strict: bool = False  # inconclusive cells fail the gate
    max_error_rate: float | None = None  # a cell failing more than this is not judged;
    # None: the run's own max_error_rate (default 0.1)
    min_pass_repeats: str | None = None  # "8/10": each item passes 8 of 10 repeats

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
        if self.max_error_rate is not None and not 0.0 <= self.max_error_rate <= 1.0:
            raise GateInputError(f"--max-error-rate is a fraction (0.1 means 10%); got "
                                 f"{self.max_error_rate}")
        if self.min_pass_repeats is not None:
            from harness.stats.repeats import parse_rule

            try:
                k, n = parse_rule(self.min_pass_repeats)
            except ValueError as exc:
                raise GateInputError(f"--min-pass-repeats: {exc}") from None
            object.__setattr__(self, "min_pass_repeats", f"{k}/{n}")
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
    status: str = "inconclusive"  # pass | fail | inconclusive | new (not in the baseline)
    n_baseline: int = 0
    n_current: int = 0
    n_samples: int = 0  # this run's samples of the cell, errors included
    n_errors: int = 0  # ... of which not scored (failed call, scoring error, no score)
    first_error: str = ""
    n_pairs: int = 0
    mean_baseline: float = NAN
    mean_current: float = NAN
    score_current: float = NAN
    diff: float = NAN
    ci_low: float = NAN
    ci_high: float = NAN
    p_value: float = NAN  # one-sided p of "worse than the margin" (the fail test)
    p_adjusted: float = NAN  # ... corrected over the tested cells
    p_pass: float = NAN  # one-sided p of "within the margin" (the pass test)
    test: str = ""
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

    @property
    def error_rate(self) -> float:
        return self.n_errors / self.n_samples if self.n_samples else 0.0


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

    fail_on_regression: bool = True  # compare: only with --fail-on-regression

    @property
    def inconclusive(self) -> list[CellResult]:
        return [c for c in self.cells if c.status == "inconclusive"]

    @property
    def outcome(self) -> str:
        """``fail`` if any cell failed, else ``inconclusive`` if any is, else ``pass``."""
        if self.failures or (self.settings.strict and self.inconclusive):
            return "fail"
        return "inconclusive" if self.inconclusive else "pass"

    @property
    def passed(self) -> bool:
        return self.outcome == "pass"

    @property
    def exit_code(self) -> int:
        """0 pass, 1 regression (or inconclusive with --strict), 3 inconclusive."""
        if self.mode == "compare" and not self.fail_on_regression:
            return 0
        return {"pass": 0, "fail": 1, "inconclusive": INCONCLUSIVE}[self.outcome]

    @property
    def n_compared(self) -> int:
        return sum(1 for c in self.cells if math.isfinite(c.p_value))


def _cell_items(table: pd.DataFrame | None, variant: str, model: str) -> pd.DataFrame | None:
    if table is None:
        return None
    part = table[(table["variant"] == variant) & (table["model"] == model)]
    return part.drop_duplicates("item_id").set_index("item_id") if len(part) else None


def _flips(cell: CellResult, now: pd.DataFrame, before: pd.DataFrame,
           outputs: pd.DataFrame, baseline: Baseline) -> None:
    """List the items whose score fell, with the outputs before and after."""
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


def _task_cells(task: str, baseline: Baseline, before_all: pd.DataFrame, samples: pd.DataFrame,
                outputs: pd.DataFrame, settings: GateSettings) -> list[CellResult]:
    """The cells of one task: the baseline's (gated) and the run's new ones (reported only)."""
    import numpy as np

    from harness.gate.decide import count_errors, paired_arrays, test_cell
    from harness.stats.samples import item_table

    info = baseline.metrics.get(task)
    now_rows = samples[samples["task"].astype(str) == task]
    now = before = None
    if info is None:  # a task the baseline lacks: its own primary metric, nothing to pair
        table = item_table(now_rows)
        now, metric, kind = table.items, table.metrics[task].name, table.metrics[task].kind
    else:
        metric, kind = info["name"], info["kind"]
        before = item_table(before_all[before_all["task"] == task], metric=metric).items
        if not now_rows.empty:
            if f"score_{metric}" not in now_rows.columns:
                raise GateInputError(
                    f"task {task}: the baseline scores metric '{metric}', which this run "
                    "does not have; save a new baseline")
            now = item_table(now_rows, metric=metric).items
    keys: dict[tuple[str, str], None] = {}
    for table_ in (before, now):
        if table_ is not None:
            keys.update(dict.fromkeys(zip(table_["variant"], table_["model"], strict=True)))
    cells = []
    for variant, model in keys:
        cell = CellResult(task, variant, model, metric, kind)
        a, b = _cell_items(now, variant, model), _cell_items(before, variant, model)
        rows = now_rows[(now_rows["variant"].astype(str) == variant)
                        & (now_rows["model"].astype(str) == model)]
        count_errors(cell, rows, f"score_{metric}")
        if a is not None:
            cell.n_current = len(a)
            cell.score_current = float(np.nanmean(a["score"])) if a["score"].notna().any() \
                else NAN
        if b is not None:
            cell.n_baseline = len(b)
        if b is None:
            cell.status = "new"
            cell.notes.append("not in the baseline: nothing to compare with")
        elif a is not None:
            test_cell(cell, *paired_arrays(a, b), settings)
            _flips(cell, a, b, outputs, baseline)
            only_before = len(set(b.index) - set(a.index))
            only_now = len(set(a.index) - set(b.index))
            if only_before or only_now:
                cell.notes.append(f"{only_before} baseline item(s) not in this run and "
                                  f"{only_now} new item(s); only shared items are compared")
        cells.append(cell)
    return cells


def compare_samples(baseline: Baseline, samples: pd.DataFrame,
                    settings: GateSettings) -> list[CellResult]:
    """Every cell of the baseline and the run, tested and judged.

    The fail p-values of all tested cells are corrected together, because the gate is one
    decision. A baseline that shares no cell or no item with the run is refused (exit 2):
    it belongs to another experiment or another dataset.
    """
    from harness.gate.decide import judge
    from harness.report.disagreements import first_outputs
    from harness.stats.multiple import adjust_pvalues

    if samples.empty:
        raise GateInputError("the run has no finished samples to check")
    before_all = baseline.samples_frame()
    outputs = first_outputs(samples)
    cells: list[CellResult] = []
    for task in sorted(set(baseline.metrics) | set(samples["task"].astype(str))):
        cells += _task_cells(task, baseline, before_all, samples, outputs, settings)
    gated = [c for c in cells if c.status != "new"]
    present = [c for c in gated if c.n_current]
    if not present:
        raise GateInputError(
            "no task x variant x model of this run is in the baseline "
            f"(baseline: {_names(gated)}; run: {_names(c for c in cells if c.status == 'new')});"
            " check that the baseline belongs to this experiment")
    if not _share_items(baseline, samples, present):
        raise GateInputError(
            "the run and the baseline share no items, so there is nothing to pair "
            f"(e.g. baseline items {_items(baseline)}); check that the baseline was saved from "
            "this experiment's data")
    adjusted = adjust_pvalues([c.p_value for c in cells], settings.correction)
    for cell, p in zip(cells, adjusted, strict=True):
        cell.p_adjusted = float(p)
        judge(cell, settings)
    if settings.min_pass_repeats:
        from harness.gate.repeat_rule import apply_repeat_rule

        apply_repeat_rule(cells, samples, settings.min_pass_repeats)
    return cells


def _share_items(baseline: Baseline, samples: pd.DataFrame, cells: list[CellResult]) -> bool:
    """Whether any gated cell has an item id on both sides (scored or not)."""
    for cell in cells:
        rows = samples[(samples["task"].astype(str) == cell.task)
                       & (samples["variant"].astype(str) == cell.variant)
                       & (samples["model"].astype(str) == cell.model)]
        if set(rows["item_id"].astype(str)) & set(baseline.cells.get(
                (cell.task, cell.variant, cell.model), {})):
            return True
    return False


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
              settings: GateSettings | None = None, *, mode: str = "check",
              sequential: bool = False) -> CheckResult:
    """Compare an existing run (folder, id or loaded samples) with a baseline.

    ``sequential``: the run was stopped early by ``check --sequential``'s own monitor, whose
    decision (``harness.gate.sequential.apply_decision``) the caller applies; any other
    unfinished run is refused."""
    from dataclasses import replace

    from harness.gate.baseline import require_finished
    from harness.results import load_run

    settings = settings or GateSettings()
    base = baseline if isinstance(baseline, Baseline) else Baseline.load(baseline)
    samples = load_run(run) if not hasattr(run, "attrs") else run
    manifest = samples.attrs.get("manifest") or {}
    if not (sequential and manifest.get("status") == "stopped_early"):
        require_finished(manifest, samples.attrs.get("run_dir"))
    if settings.max_error_rate is None:
        limit = (manifest.get("config") or {}).get("max_error_rate")
        settings = replace(settings, max_error_rate=float(limit) if limit is not None else 0.1)
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


def compare_runs(before: str | Path, after: str | Path, settings: GateSettings | None = None,
                 *, fail_on_regression: bool = False) -> CheckResult:
    """``harness compare A B``: the gate's analysis of B against A; exit 0 unless asked."""
    limit = settings.max_error_rate if settings is not None else None
    result = check_run(after, Baseline.load(before, max_error_rate=limit), settings,
                       mode="compare")
    result.fail_on_regression = fail_on_regression
    return result
