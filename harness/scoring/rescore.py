"""``harness score <run>``: score a finished run again, without calling its models.

The records hold everything a scorer reads (raw output, messages, passages, item fields), so
a fixed parser, a new scorer or an added judge is applied to them with the *current* task and
experiment files. The new scoring is stored beside the records under its own id
(``harness.scoring.versions``); the records are never rewritten, and ``load_run`` (so the
report, ``check`` and ``compare``) reads the latest scoring unless told another.
"""

from __future__ import annotations

import dataclasses
import functools
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
            name, args = _entry(entry)
            spec = spec_from_entry(name, args)
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


def _entry(text: str) -> tuple[str, dict[str, Any]]:
    """A ``--scorers`` entry: a name, ``module:function``, or a YAML mapping written as in a
    task file (``{name: numeric, tolerance: 0.5}``)."""
    if not text.startswith("{"):
        return text, {}
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"not a YAML mapping: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ValueError("not a YAML mapping")
    data = {str(k): v for k, v in data.items()}
    if "name" not in data and isinstance(data.get("function"), str):
        data["name"] = data["function"].rpartition(":")[2].rpartition(".")[2]
    name = data.pop("name", None)
    if not isinstance(name, str) or not name:
        raise ValueError("give the scorer a name: {name: ..., ...}")
    return name, data


def _split(scorers: list[str] | str | None) -> list[str]:
    if scorers is None:
        return []
    items = [scorers] if isinstance(scorers, str) else list(scorers)
    out = []
    for item in map(str, items):  # commas separate names, never inside a YAML mapping
        out += [item.strip()] if item.strip().startswith("{") else [
            part.strip() for part in item.split(",") if part.strip()]
    return out


def score(
    run: str | Path,
    scorers: list[str] | str | None = None,
    *,
    experiment: str | Path | None = None,
    results_dir: str | Path = "results",
    reports_dir: str | Path | None = None,
    client: Any = None,
    quiet: bool = True,
) -> pd.DataFrame:
    """Score run ``run`` again with the current task files and return it as :func:`load_run`
    does, under the new scoring (``df.attrs["manifest"]["scoring"]["id"]``).

    ``scorers`` replaces each task's scorers for this scoring (names of the task's own
    entries, built-in scorer names, ``module:function``, or a YAML mapping written as in a
    task file, ``{name: numeric, tolerance: 0.5}``); ``experiment`` is the
    experiment file whose variants' parsers apply (default: the one the run was started
    from). No model under test is called; a model-graded scorer calls its judge through
    ``client`` (default: the usual client stack, with the response cache). Run hooks
    (``harness.scoring.hooks``) then run on the new scores. ``quiet=False`` shows progress.
    """
    from harness.aio import run_async
    from harness.client_stack import build_client, execute_and_close
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
        from harness.judges.run import for_rescore

        judges = for_rescore(plan, records)  # a rubric error stops here, before any call
        if client is None:  # a judge's unset key or unknown provider: refused before any call
            from harness.preflight import check_judge_models
            from harness.preflight_judges import check_task_judges

            check_judge_models(config, used={j.name for j in judges.judges} if judges else (),
                               pairwise=judges is not None and judges.pairwise is not None)
            check_task_judges(plan)  # the selected scorers' judges only
        stack, cache, inner = build_client(config, client)
        work = _rescore(plan, stack, records, run_dir, scoring, judges, quiet)
        try:
            rows, usage, errors = run_async(execute_and_close(work, inner))
        finally:
            if cache is not None:
                cache.close()
        extra = {**({"judge_usage": usage} if usage else {}),
                 **({"run_hook_errors": errors} if errors else {})}
        write_scoring(run_dir, scoring, manifest_scorers(tasks), rows, extra=extra or None)
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


async def _rescore(plan: Any, client: Any, records: list[dict[str, Any]], run_dir: Path,
                   scoring: dict[str, Any], judges: Any, quiet: bool,
                   ) -> tuple[list[dict[str, Any]], dict[str, Any] | None, list[str]]:
    """Score (with the judges, who then grade pairs and calibration rows again), then run the
    run hooks on the new scores, all in the client's event loop. Returns the rows, the
    judges' usage and the hooks that failed."""
    from harness.scoring.hooks import RunHookContext, has_hooks, run_hooks
    from harness.scoring.versions import SCORED_FIELDS

    score = functools.partial(_score_records, quiet=quiet)
    usage = None
    if judges is None:
        rows = await score(plan, client, records)
    else:
        from harness.judges.run import rescore_with

        rows, usage = await rescore_with(judges, plan, client, records, run_dir, score)
    errors: list[str] = []
    if has_hooks():
        by_id = {row["sample_id"]: row for row in rows}
        rescored = [{**{k: v for k, v in r.items() if k not in SCORED_FIELDS},
                     **by_id[r["sample_id"]]} for r in records]
        errors = await run_hooks(RunHookContext(run_dir=run_dir, plan=plan, records=rescored,
                                                client=client, scoring=scoring))
    return rows, usage, errors


async def _score_records(plan: Any, client: Any, records: list[dict[str, Any]],
                         resources: dict[str, Any] | None = None,
                         quiet: bool = True) -> list[dict[str, Any]]:
    from harness.progress import Progress
    from harness.scoring.record import SampleRecord
    from harness.scoring.stage import Scored, ScoringStage, short_error

    stage = ScoringStage.for_plan(plan, client=client, resources=resources)
    progress = Progress(len(records), quiet=quiet)
    parsed: list[Any] = []
    for record in records:
        try:
            parsed.append(SampleRecord.from_dict(record))
        except Exception as exc:  # a record the schema cannot read: its scoring error
            parsed.append(Scored(error=short_error(exc)))
    todo = [r for r in parsed if isinstance(r, SampleRecord)]
    try:
        results = iter(await stage.score_all(
            todo, done=lambda s: progress.update(error=s.error is not None, cost=None,
                                                 cached=False)))
    finally:
        progress.close()
    rows = []
    for record, item in zip(records, parsed, strict=True):
        scored = next(results) if isinstance(item, SampleRecord) else item
        rows.append({"sample_id": record["sample_id"], **scored.fields()})
    return rows
