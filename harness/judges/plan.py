"""An experiment's judges, built once per run and checked before anything is paid for.

:func:`build_judges` turns the experiment's ``judges:`` and ``pairwise:`` keys into bound
scorers, reads the tasks' calibration files, and renders every judge prompt the run can
already know: each planned sample's rubric (with a stand-in for the answer the model under
test has not given yet), each pairwise prompt and each calibration row's. A rubric that
cannot render for some item (a missing or null field, a filter that fails on it) is then a
one-line error naming the rubric's file and line, before the first call of the run. The real
answers are rendered in again when they arrive; a failure then (one that only some answer
provokes) is that sample's scoring error.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.judges.calibration import (
    CALIBRATION_FILE,
    CalibrationRow,
    grade_rows,
    load_calibration,
)
from harness.judges.grader import Ask, RubricJudge
from harness.judges.pairwise import PAIRWISE_FILE, PairwiseJudge, judge_pairs, pairs
from harness.judges.rubrics import GRADING_VARS, PAIRWISE_VARS, load_rubric, resolve_rubric
from harness.scoring.record import Passage, SampleRecord

# Stands in for the answer of the model under test when prompts are rendered before the run.
PLACEHOLDER = "(the answer of the model under test)"


async def _not_bound(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("judge used before JudgePlan.bind gave it a client")


@dataclass
class JudgePlan:
    """The run's judges: rubric judges per task, the pairwise judge, calibration rows."""

    by_task: dict[str, list[RubricJudge]] = field(default_factory=dict)
    judges: list[RubricJudge] = field(default_factory=list)
    pairwise: PairwiseJudge | None = None
    pairwise_variants: list[str] = field(default_factory=list)
    pairwise_tasks: set[str] = field(default_factory=set)
    calibration: dict[str, list[CalibrationRow]] = field(default_factory=dict)
    concurrency: int = 16

    def bind(self, ask: Ask) -> JudgePlan:
        """Give every judge its way of asking (``JudgeClient.ask`` on the run's stack)."""
        for judge in self.judges:
            judge.ask = ask
        if self.pairwise is not None:
            self.pairwise.ask = ask
        return self

    def describe(self) -> dict[str, Any]:
        """What the manifest records about the judges: enough to tell two scorings apart."""
        out: dict[str, Any] = {}
        for judge in self.judges:
            out[judge.name] = {
                "model": judge.model.model, "rubric": judge.rubric.name,
                "rubric_sha256": _sha(judge.rubric.source), "grade": judge.grade.label,
                "epochs": judge.epochs, "kind": judge.kind,
                "tasks": sorted(t for t, js in self.by_task.items() if judge in js),
                "params": _params(judge.model)}
        if self.pairwise is not None:
            out[self.pairwise.name] = {
                "model": self.pairwise.model.model, "rubric": self.pairwise.rubric.name,
                "rubric_sha256": _sha(self.pairwise.rubric.source), "pairwise": True,
                "epochs": self.pairwise.epochs, "variants": self.pairwise_variants,
                "tasks": sorted(self.pairwise_tasks), "params": _params(self.pairwise.model)}
        return out

    def check_records(self, records: Iterable[SampleRecord]) -> None:
        """Render every judge prompt of finished ``records`` (``harness score``), so a rubric
        that cannot render stops the re-scoring before its first call."""
        records = list(records)
        for record in records:
            if record.answered:
                for judge in self.by_task.get(record.task, ()):
                    judge.messages(record)
        if self.pairwise is not None:
            todo = pairs((r for r in records if r.task in self.pairwise_tasks),
                         self.pairwise_variants)
            for pair in todo:
                self.pairwise.messages(pair.a, pair.a.output or "", pair.b.output or "")
                self.pairwise.messages(pair.a, pair.b.output or "", pair.a.output or "")

    async def after_run(self, run_dir: Path, records: Iterable[SampleRecord]) -> None:
        """Pairwise preferences and calibration grades, written to the run folder (each
        file replaced whole, so a resumed run's files hold every pair and row once)."""
        if self.pairwise is not None:
            todo = [p for p in pairs((r for r in records if r.task in self.pairwise_tasks),
                                     self.pairwise_variants)]
            rows = await judge_pairs(self.pairwise, todo, self.concurrency)
            write_jsonl(run_dir / PAIRWISE_FILE, rows)
        if self.calibration:
            graded: list[dict[str, Any]] = []
            for task, rows_ in sorted(self.calibration.items()):
                for judge in self.by_task.get(task, ()):
                    graded += await grade_rows(judge, rows_, self.concurrency)
            write_jsonl(run_dir / CALIBRATION_FILE, graded)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _params(model: Any) -> dict[str, Any]:
    from harness.judges.client import judge_params

    return judge_params(model)


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    """Replace ``path`` with ``rows`` atomically, credentials blanked like every run file."""
    import json

    from harness.redaction import redact
    from harness.results import JSON_ERRORS

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8", errors=JSON_ERRORS) as fh:
        for row in rows:
            fh.write(redact(json.dumps(row, ensure_ascii=False, default=str)) + "\n")
    os.replace(tmp, path)


def planned_record(plan: Any, sample: Any, output: str | None = PLACEHOLDER,
                   answer: str | None = PLACEHOLDER) -> SampleRecord:
    """A plan's sample as the record the judges will see (``output`` not known yet: a
    stand-in)."""
    item = sample.item
    return SampleRecord(
        run_id="", sample_id=sample.sample_id, task=sample.task, variant=sample.variant,
        model=sample.model, model_id=plan.models[sample.model].model, item_id=item.id,
        epoch=sample.epoch, input=item.input, target=item.target,
        messages=tuple(sample.messages), output=output, answer=answer,
        retrieved=tuple(Passage(doc_id=h.doc_id, chunk_id=h.chunk_id, score=h.score,
                                text=h.text) for h in sample.retrieved),
        gold_docs=tuple(item.gold_docs), fields=dict(item.fields), cluster=item.cluster)


def build_judges(plan: Any) -> JudgePlan | None:
    """The plan's judges, every prompt they can render already rendered (see the module
    docstring); None when the run has no judge. The rubric judges are the scorer entries of
    type ``judge`` of its tasks: the experiment's ``judges:`` (added to each task they grade,
    ``harness.judges.scorer_type``) and any a task file lists. Raises ConfigError (exit 2)."""
    experiment = plan.experiment
    specs = {name: [s for s in task.scorers if s.type == "judge"]
             for name, task in plan.tasks.items()}
    if not any(specs.values()) and experiment.pairwise is None:
        return None
    out = JudgePlan(concurrency=experiment.concurrency)
    for index, config in enumerate(experiment.judges):
        _tasks(plan, config.tasks, ("judges", index, "tasks"))
    shared: dict[str, RubricJudge] = {}
    for task, task_specs in specs.items():
        _unique_names(plan, task)
        for spec in task_specs:
            key = json.dumps([spec.name, dict(spec.args)], sort_keys=True, default=str)
            judge = shared.get(key)
            if judge is None:
                judge = shared[key] = _judge(plan, task, spec)
                out.judges.append(judge)
            out.by_task.setdefault(task, []).append(judge)
    if experiment.pairwise is not None:
        out.pairwise, out.pairwise_tasks = _pairwise(plan, out)
        names = list(plan.variants)
        out.pairwise_variants = list(experiment.pairwise.variants or names)
    _read_calibration(plan, out)
    _render_all(plan, out)
    return out


def _judge(plan: Any, task: str, spec: Any) -> RubricJudge:
    """A judge spec as a ``RubricJudge`` (not yet able to ask); a rubric error is placed
    where the judge was written (the experiment's ``judges:`` or the task's ``scorers:``)."""
    from harness.judges.scorer_type import rubric_path, settings

    experiment = plan.experiment
    config_file = plan.tasks[task].config
    names = [j.name for j in experiment.judges]
    where = (experiment.locate("judges", names.index(spec.name), "rubric")
             if spec.name in names else config_file.locate("scorers"))
    try:
        config = settings(spec)
        rubric = load_rubric(rubric_path(spec, Path(config_file.source)), GRADING_VARS)
    except ValueError as exc:
        raise ConfigError(str(exc), **where) from None
    except ConfigError as exc:
        raise _placed(exc, where) from None
    return RubricJudge(name=config.name, model=config.call_model(), rubric=rubric,
                       grade=config.grading, epochs=config.epochs, ask=_not_bound)


def _unique_names(plan: Any, task: str) -> None:
    """A judge may not take the name of a scorer of the task: both would be ``score_<name>``."""
    experiment = plan.experiment
    seen: set[str] = set()
    judges = [j.name for j in experiment.judges]
    for spec in plan.tasks[task].scorers:
        if spec.name in seen:
            where = (experiment.locate("judges", judges.index(spec.name), "name")
                     if spec.name in judges else plan.tasks[task].config.locate("scorers"))
            raise ConfigError(f"task '{task}' already has a scorer named '{spec.name}'; give "
                              "the judge another name", **where)
        seen.add(spec.name)


def _placed(exc: ConfigError, where: dict[str, Any]) -> ConfigError:
    """A rubric error that names no file (not found) is placed where the rubric was named;
    one inside the rubric keeps the rubric's file and line."""
    return exc if exc.file is not None else ConfigError(exc.message, **where)


def _tasks(plan: Any, names: list[str] | None, loc: tuple[Any, ...]) -> list[str]:
    if names is None:
        return list(plan.tasks)
    for index, name in enumerate(names):
        if name not in plan.tasks:
            raise ConfigError(f"no task named '{name}' in this experiment "
                              f"({', '.join(plan.tasks)})",
                              **plan.experiment.locate(*loc, index))
    return list(names)


def _pairwise(plan: Any, out: JudgePlan) -> tuple[PairwiseJudge, set[str]]:
    experiment = plan.experiment
    config = experiment.pairwise
    if config.judge is not None:
        source = next(j for j in experiment.judges if j.name == config.judge)
        model = source.call_model()
        update = {k: v for k, v in (("temperature", config.temperature),
                                    ("max_tokens", config.max_tokens)) if v is not None}
        model = model.model_copy(update=update) if update else model
    else:
        model = config.call_model()
    base = Path(experiment.source).parent
    try:
        rubric = load_rubric(resolve_rubric(config.rubric, base), PAIRWISE_VARS)
    except ConfigError as exc:
        raise _placed(exc, experiment.locate("pairwise", "rubric")) from None
    tasks = set(_tasks(plan, config.tasks, ("pairwise", "tasks")))
    judge = PairwiseJudge(name=config.name, model=model, rubric=rubric, epochs=config.epochs,
                          ask=_not_bound)
    return judge, tasks


def _read_calibration(plan: Any, out: JudgePlan) -> None:
    from harness.paths import confine, project_roots

    roots = project_roots(Path(plan.experiment.source))
    for name, task in plan.tasks.items():
        reference = task.config.calibration
        if reference is None or not out.by_task.get(name):
            continue
        path = confine(task.config.resolve(reference), roots, file=task.config.source,
                       key=("calibration",))
        out.calibration[name] = load_calibration(name, path)


def _render_all(plan: Any, out: JudgePlan) -> None:
    seen_items: set[tuple[str, str, str, int]] = set()
    for sample in plan.samples:
        judges = out.by_task.get(sample.task, ())
        pairwise = (out.pairwise is not None and sample.task in out.pairwise_tasks
                    and sample.variant in out.pairwise_variants)
        if not judges and not pairwise:
            continue
        record = planned_record(plan, sample)
        for judge in judges:
            judge.messages(record)
        key = (sample.task, sample.model, sample.item.id, sample.epoch)
        if pairwise and key not in seen_items:
            seen_items.add(key)
            assert out.pairwise is not None
            out.pairwise.messages(record, PLACEHOLDER, PLACEHOLDER)
    for task, rows in out.calibration.items():
        for judge in out.by_task.get(task, ()):
            for row in rows:
                judge.messages(row.record)


def run_records(plan: Any, data: Iterable[dict[str, Any]]) -> list[SampleRecord]:
    """A run folder's records as the judges see them: a sample the plan still holds gets its
    item fields and passages from the plan (older records did not store them)."""
    samples = {s.sample_id: s for s in plan.samples}
    out = []
    for row in data:
        sample = samples.get(row.get("sample_id"))
        if sample is not None and row.get("error") is None:
            out.append(planned_record(plan, sample, row.get("output"), row.get("answer")))
        else:
            try:
                out.append(SampleRecord.from_dict(row))
            except (KeyError, TypeError, ValueError):
                continue
    return out


def merge_usage(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """Judge usage of a resumed run: what earlier sessions spent plus this one's."""
    merged = {name: dict(values) for name, values in (old or {}).items()}
    for name, values in new.items():
        into = merged.setdefault(name, {})
        for key, value in values.items():
            if isinstance(value, (int, float)) and isinstance(into.get(key), (int, float)):
                into[key] = into[key] + value
            else:
                into[key] = value
    return merged
