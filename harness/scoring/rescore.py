"""``harness score <run>``: score a finished run again, without calling its models.

The records hold everything a scorer reads (raw output, messages, passages, item fields), so
a fixed parser, a new scorer or an added judge is applied to them with the *current* task and
experiment files. The new scoring is stored beside the records under its own id
(``harness.scoring.versions``); the records are never rewritten, and ``load_run`` (so the
report, ``check`` and ``compare``) reads the latest scoring unless told another.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd


def _selected(task: Any, wanted: list[str]) -> list[Any]:
    """The scorers ``--scorers`` names for one task: an entry of the task file by its name,
    else a new entry (a built-in scorer's name, or ``module:function``)."""
    from harness.scoring.registry import check_spec, spec_from_entry

    own = {spec.name: spec for spec in task.scorers}
    chosen = []
    for entry in wanted:
        if entry in own:
            chosen.append(own[entry])
            continue
        try:
            spec = spec_from_entry(entry, {})
            check_spec(spec, Path(task.config.source))
        except ValueError as exc:
            raise ConfigError(f"--scorers {entry}: {exc} (task '{task.config.name}', "
                              f"{task.config.source})") from None
        chosen.append(spec)
    names = [s.name for s in chosen]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"--scorers: '{twice[0]}' is named twice; give each scorer once")
    return chosen


def _split(scorers: list[str] | str | None) -> list[str]:
    if scorers is None:
        return []
    items = [scorers] if isinstance(scorers, str) else list(scorers)
    return [part.strip() for item in items for part in str(item).split(",") if part.strip()]


def score(
    run: str | Path,
    scorers: list[str] | str | None = None,
    *,
    experiment: str | Path | None = None,
    results_dir: str | Path = "results",
    reports_dir: str | Path | None = None,
    client: Any = None,
) -> pd.DataFrame:
    """Score run ``run`` again with the current task files and return it as :func:`load_run`
    does, under the new scoring (``df.attrs["manifest"]["scoring"]["id"]``).

    ``scorers`` replaces each task's scorers for this scoring (names of the task's own
    entries, built-in scorer names, or ``module:function``); ``experiment`` is the
    experiment file whose variants' parsers apply (default: the one the run was started
    from). No model under test is called; a model-graded scorer calls its judge through
    ``client`` (default: the usual client stack, with the response cache).
    """
    from harness.aio import run_async
    from harness.api import _execute_and_close, build_client
    from harness.config import load_experiment
    from harness.plan import Plan, load_tasks_and_variants
    from harness.results import load_run, read_manifest, read_records, resolve_run_dir
    from harness.resume import experiment_file
    from harness.runlock import RunLock
    from harness.scoring.versions import describe, manifest_scorers, write_scoring

    run_dir = resolve_run_dir(run, Path(results_dir))
    lock = RunLock.acquire(run_dir)  # a run still going would finish samples unscored here
    try:
        manifest = read_manifest(run_dir)
        source = Path(experiment) if experiment is not None else experiment_file(manifest,
                                                                                 run_dir)
        config = load_experiment(source)
        tasks, variants = load_tasks_and_variants(config)
        wanted = _split(scorers)
        if wanted:
            tasks = {name: dataclasses.replace(task, scorers=_selected(task, wanted))
                     for name, task in tasks.items()}
        records = read_records(run_dir)
        _check_covered(records, tasks, variants, source)
        scoring = describe(tasks, variants)
        plan = Plan(experiment=config, tasks=tasks, variants=variants, models={}, samples=[])
        from harness.judges.run import for_rescore, rescore_with

        judges = for_rescore(plan, records)  # a rubric error stops here, before any call
        usage = None
        stack, cache, inner = build_client(config, client)
        try:
            if judges is None:
                rows = run_async(_execute_and_close(_score_records(plan, stack, records),
                                                    inner))
            else:
                rows, usage = run_async(_execute_and_close(rescore_with(
                    judges, plan, stack, records, run_dir, _score_records), inner))
        finally:
            if cache is not None:
                cache.close()
        write_scoring(run_dir, scoring, manifest_scorers(tasks), rows,
                      extra={"judge_usage": usage} if usage else None)
    finally:
        lock.release()
    samples = load_run(run_dir, scoring=scoring["id"])
    if reports_dir is not None:
        from harness.report import write_report

        samples.attrs["report"] = str(write_report(run_dir, reports_dir, samples=samples))
    return samples


def _check_covered(records: list[dict[str, Any]], tasks: dict[str, Any],
                   variants: dict[str, Any], source: Path) -> None:
    """Every task and variant the run has must still be in the experiment: its parser and
    scorers come from there."""
    for record in records:
        if record.get("task") not in tasks:
            raise ConfigError(f"{source}: run has task '{record.get('task')}', which the "
                              f"experiment no longer lists (it has {', '.join(tasks)}); give "
                              "the experiment that has it with --experiment")
        if record.get("variant") not in variants:
            raise ConfigError(f"{source}: run has variant '{record.get('variant')}', which the "
                              f"experiment no longer lists (it has {', '.join(variants)}); "
                              "give the experiment that has it with --experiment")


async def _score_records(plan: Any, client: Any, records: list[dict[str, Any]],
                         resources: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    from harness.scoring.record import SampleRecord
    from harness.scoring.stage import Scored, ScoringStage, short_error

    stage = ScoringStage.for_plan(plan, client=client, resources=resources)
    parsed: list[Any] = []
    for record in records:
        try:
            parsed.append(SampleRecord.from_dict(record))
        except Exception as exc:  # a record the schema cannot read: its scoring error
            parsed.append(Scored(error=short_error(exc)))
    todo = [r for r in parsed if isinstance(r, SampleRecord)]
    results = iter(await stage.score_all(todo))
    rows = []
    for record, item in zip(records, parsed, strict=True):
        scored = next(results) if isinstance(item, SampleRecord) else item
        rows.append({"sample_id": record["sample_id"], **scored.fields()})
    return rows
