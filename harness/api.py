"""The Python entry points: ``run`` an experiment, ``load_run`` its results.

The CLI is a thin layer over these. Data flows one way: config -> plan -> model calls ->
scores (appended to the run folder) -> analysis -> report.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.client_stack import build_client, execute_and_close
from harness.config import ExperimentConfig, load_experiment
from harness.config.overrides import apply_overrides
from harness.errors import ConfigError, ErrorRateExceeded, RunError
from harness.models.client import Client
from harness.results import (
    RunWriter,
    load_run,
    new_run_id,
    now,
    read_manifest,
    read_records,
    resolve_run_dir,
)
from harness.run_manifest import manifest_for

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd

    from harness.plan import Plan
    from harness.runlock import RunLock


def run(
    config: str | Path | ExperimentConfig | None = None,
    *,
    resume: str | None = None,
    results_dir: str | Path = "results",
    reports_dir: str | Path | None = "reports",
    quiet: bool = False,
    client: Client | None = None,
    until_decided: bool = False,
    margin: float = 0.02,
    alpha: float = 0.05,
    monitor: Any = None,
    yes: bool = False,
    force: bool = False,
    ray: str | None = None,
    ray_workers: int | None = None,
    before_report: Callable[[pd.DataFrame], None] | None = None,
    **overrides: Any,
) -> pd.DataFrame:
    """Run an experiment and return its samples as a DataFrame (see ``load_run``).

    ``until_decided`` stops the run as soon as every pair of variants is decided by an
    anytime-valid confidence sequence at ``alpha`` (``harness.monitor``: a difference, or
    equivalence within ``margin``); ``monitor(plan, finished_records)`` builds any other
    monitor (the sequential gate's). The manifest then records ``stopped_early``.

    ``overrides`` are the command-line settings (limit, models, epochs, seed, concurrency,
    max_error_rate, max_cost_usd, cache, cache_dir, confirm_above_usd). Before any call the
    cost is estimated (``harness.budget``): over ``max_cost_usd`` the run is refused unless
    ``force``; over ``confirm_above_usd`` on a terminal it asks unless ``yes``.
    ``resume`` continues a run folder's run,
    calling the model only for samples that have not finished, with the overrides the run was
    started with (those given now win) and, without ``config``, its experiment file. One
    process at a time may run a run folder (``harness.runlock``). ``client`` replaces the
    LiteLLM client (tests, or a custom transport). ``ray`` (an address, or ``""`` for a
    local Ray instance) sends the model calls to Ray workers, ``ray_workers`` of them
    (``harness.ray_run``); everything else stays in this process. ``before_report`` is called
    with the samples of a run that will return them, before its report is written (the CLI
    prints its table there, so the answer does not wait on the report's figures).
    """
    from harness.runlock import RunLock

    results_dir = Path(results_dir)
    lock: RunLock | None = None
    old: dict[str, Any] | None = None
    if resume:
        from harness.resume import experiment_file, merged_overrides

        run_dir = resolve_run_dir(resume, results_dir)
        lock = RunLock.acquire(run_dir)  # before reading: a second resume is refused at once
        try:
            old = read_manifest(run_dir)
            overrides = merged_overrides(old, overrides)
            if config is None:
                config = experiment_file(old, run_dir)
        except BaseException:
            lock.release()
            raise
    elif config is None:
        raise ConfigError("give an experiment file to run (or --resume <run-id>)")
    try:
        if until_decided and monitor is None:
            monitor = _pairwise(alpha, margin)
        return _run(config, old=old, lock=lock, results_dir=results_dir,
                    reports_dir=reports_dir, quiet=quiet, client=client, overrides=overrides,
                    gate={"yes": yes, "force": force, "client": client, "quiet": quiet},
                    monitor=monitor, ray=(ray, ray_workers), before_report=before_report)
    finally:
        if lock is not None:
            lock.release()


def _ray_client(ray: tuple[str | None, int | None], plan: Plan) -> Any:
    """The client that sends calls to Ray workers, for a ``--ray`` run (after the cost gate:
    declining the estimate starts no cluster); None otherwise."""
    address, workers = ray
    if address is None:
        return None
    from harness.ray_run import RayClient

    return RayClient(address, list(plan.models.values()), workers=workers)


def _pairwise(alpha: float, margin: float) -> Any:
    from harness.monitor import PairwiseMonitor

    for name, value, ok in (("--alpha", alpha, 0.0 < alpha < 0.5),
                            ("--margin", margin, 0.0 <= margin < 1.0)):
        if not ok:
            raise ConfigError(f"{name} {value}: must be a fraction (0.05 means 5%), "
                              f"{'between 0 and 0.5' if name == '--alpha' else 'below 1'}")
    return lambda plan, done: PairwiseMonitor(plan, alpha=alpha, margin=margin, skip=done)


def _run(
    config: str | Path | ExperimentConfig, *, old: dict[str, Any] | None, lock: RunLock | None,
    results_dir: Path, reports_dir: str | Path | None, quiet: bool, client: Client | None,
    overrides: dict[str, Any], gate: dict[str, Any] | None = None, monitor: Any = None,
    ray: tuple[str | None, int | None] = (None, None), before_report: Any = None,
) -> pd.DataFrame:
    from harness.budget import check_before_run
    from harness.plan import build_plan
    from harness.runlock import RunLock

    experiment = config if isinstance(config, ExperimentConfig) else load_experiment(Path(config))
    experiment = apply_overrides(experiment, **overrides)
    if ray[0] is not None:
        from harness.ray_run import import_ray

        if client is not None:
            raise ConfigError("--ray sends calls through the harness's own model client to "
                              "the workers; a custom client cannot go with them")
        import_ray()  # a missing Ray is a one-line error before anything runs
    from harness.preflight import check_before_run as preflight

    preflight(experiment, results_dir=results_dir, reports_dir=reports_dir,
              models=client is None)
    plan = build_plan(experiment)
    from harness.preflight_plan import check_plan

    check_plan(plan, judges=client is None)  # a custom client needs no keys
    from harness.judges.plan import build_judges
    from harness.plan_retrieval import warn_empty_contexts
    from harness.redaction import register_model

    judges = build_judges(plan)  # every judge prompt it can render, before any call
    for model in plan.models.values():  # their keys are blanked in all the run writes
        register_model(model)
    for judge in experiment.judges:
        register_model(judge.model)
    from harness.scoring.rag_types import judge_models

    for model in judge_models(plan):  # the RAG metrics' judges (faithfulness...)
        register_model(model)
    if experiment.pairwise is not None and experiment.pairwise.model is not None:
        register_model(experiment.pairwise.model)

    skip: set[str] = set()
    done: list[dict[str, Any]] = []
    prior_cost = 0.0
    ray_client: Any = None
    if old is not None:
        from harness.resume import reusable

        assert lock is not None
        run_id = old["run_id"]
        run_dir = lock.path.parent
        for record in reusable(plan, read_records(run_dir), run_id):
            skip.add(record["sample_id"])
            done.append(record)
            if not record.get("cached"):
                prior_cost += record.get("cost_usd") or 0.0
        check_before_run(plan, skip, prior_cost=prior_cost, **(gate or {}))
        warn_empty_contexts(plan)  # after every check that refuses a run
        ray_client = _ray_client(ray, plan)
        fresh = manifest_for(plan, run_id, "running", overrides)
        manifest = {**old, "status": "running", "resumed_at": now(),
                    **{k: fresh[k] for k in ("overrides", "config", "config_hash",
                                             "samples_planned", "experiment_path")}}
        manifest.pop("stopped_early", None)  # this run goes on; a new stop records its own
    else:
        check_before_run(plan, **(gate or {}))  # before the run folder exists
        warn_empty_contexts(plan)  # after every check that refuses a run
        ray_client = _ray_client(ray, plan)
        run_id = new_run_id(experiment.name)
        run_dir = results_dir / run_id
        lock = RunLock.acquire(run_dir)
        manifest = manifest_for(plan, run_id, "running", overrides)
    try:
        if ray_client is not None:  # a Ray run: where its calls went
            manifest["ray"] = ray_client.describe()
            client = ray_client
        watch = monitor(plan, done) if monitor is not None else None
        ended = _execute_run(plan, run_dir, run_id, manifest, skip, prior_cost,
                             results_dir=results_dir, reports_dir=reports_dir, quiet=quiet,
                             client=client, monitor=watch, judges=judges)
        # The plan (every rendered prompt), its judges and monitor are not needed to report:
        # dropped here, a large run's report peaks with ~13 MB less (issue 15's memory target).
        del plan, judges, watch, done
        return _finish_run(run_dir, ended, experiment.max_error_rate, reports_dir=reports_dir,
                           before_report=before_report)
    finally:
        if old is None:  # a resume's lock is released by run(), which took it
            lock.release()
        if ray_client is not None:
            ray_client.close()


def _execute_run(
    plan: Plan, run_dir: Path, run_id: str, manifest: dict[str, Any], skip: set[str],
    prior_cost: float, *, results_dir: Path, reports_dir: str | Path | None, quiet: bool,
    client: Client | None, monitor: Any = None, judges: Any = None,
) -> tuple[str, str | None]:
    """Make the run's calls and write its records; returns its status and, for a run that
    stopped or was interrupted, the message that says how to continue it."""
    from harness.aio import run_async
    from harness.progress import Progress
    from harness.runner import execute

    experiment = plan.experiment
    if judges is not None or manifest.get("judges"):
        from harness.judges.run import describe_in

        describe_in(manifest, judges)  # a resume whose judges changed is refused here
    writer = RunWriter(run_dir)
    writer.write_manifest(manifest)
    progress = Progress(len(plan.samples), done=len(skip), cost=prior_cost, quiet=quiet)
    stack, cache, inner = build_client(experiment, client, progress)
    judge_client, stage = None, None
    from harness.scoring.rag_types import judge_models

    if judges is not None or judge_models(plan):  # judges call through the same stack,
        from harness.judges.client import JudgeClient  # their cost kept apart
        from harness.scoring.stage import ScoringStage

        judge_client = JudgeClient(stack, progress=progress)
        if judges is not None:
            judges.bind(judge_client.ask)
        stage = ScoringStage.for_plan(plan, client=stack,
                                      resources={"judge_client": judge_client})
    status, stop_message = "complete", None
    where = "" if results_dir == Path("results") else f" --results-dir {results_dir}"
    # The manifest holds the experiment file and the overrides: the run id is all it takes.
    resume_hint = f"harness run --resume {run_id}{where}"
    prefetch = report_prefetcher(plan) if reports_dir is not None else None
    try:
        work = execute(plan, stack, writer, run_id=run_id, skip=skip, progress=progress,
                       on_first_answer=prefetch, monitor=monitor, stage=stage)
        if judges is not None:
            from harness.judges.run import then_judge

            work = then_judge(work, judges, plan, writer)
        outcome = run_async(execute_and_close(work, inner))
        if outcome.hook_errors:  # whole-run scoring that failed (harness.scoring.hooks)
            manifest["run_hook_errors"] = outcome.hook_errors
        if outcome.interrupted:  # Ctrl-C: the calls in flight finished and were saved
            raise KeyboardInterrupt
        if outcome.decision is not None:
            status = "stopped_early"
            manifest["stopped_early"] = _stopped_early(outcome.decision, plan, progress)
        elif outcome.stopped:
            status = "stopped"
            stop_message = (f"run stopped: {outcome.stopped}; results so far are in {run_dir}; "
                            f"continue with: {resume_hint}")
    except KeyboardInterrupt:
        status = "interrupted"
        stop_message = (f"interrupted; finished samples are saved in {run_dir}; "
                        f"continue with: {resume_hint}")
    except BaseException:
        status = "failed"
        raise
    finally:
        progress.close()
        writer.close()
        if cache is not None:
            cache.close()
        manifest.update(status=status, finished_at=now())
        if judge_client is not None:
            from harness.judges.plan import merge_usage

            manifest["judge_usage"] = merge_usage(manifest.get("judge_usage"),
                                                  judge_client.summary())
        writer.write_manifest(manifest)
    return status, stop_message


def _finish_run(
    run_dir: Path, ended: tuple[str, str | None], max_error_rate: float | None, *,
    reports_dir: str | Path | None, before_report: Any = None,
) -> pd.DataFrame:
    """Load the finished run, hand it to ``before_report``, write its report, then raise for a
    run that stopped, was interrupted or failed too often."""
    status, stop_message = ended
    samples = load_run(run_dir)
    too_many_errors = _error_rate_exceeded(samples, max_error_rate, run_dir)
    if before_report is not None and not stop_message and too_many_errors is None:
        before_report(samples)
    if reports_dir is not None:
        from harness.report import write_report

        samples.attrs["report"] = str(write_report(run_dir, reports_dir, samples=samples))
    if stop_message:
        raise RunError(stop_message) if status != "interrupted" else _interrupted(stop_message)
    if too_many_errors is not None:
        raise too_many_errors
    return samples


def report_prefetcher(plan: Plan) -> Any:
    """What imports the report's libraries while a hosted model answers, or None.

    Not beside a local model: its torch threads would share the CPU (and the GIL) with a
    second of imports, and on two cores a descheduled torch thread stalls every step.
    """
    if any(m.model.startswith("hf/") for m in plan.models.values()):
        return None
    from harness.report import prefetch_modules

    return prefetch_modules


def _stopped_early(decision: Any, plan: Plan, progress: Any) -> dict[str, Any]:
    """What the manifest (and the report) says about a run a monitor stopped: why, when, and
    what the whole run would have cost (this run's cost per sample, times the planned ones)."""
    done = max(1, progress.done)
    planned = len(plan.samples)
    return {"reason": decision.reason, "outcome": decision.outcome, "items": decision.items,
            "items_planned": len({(s.task, s.item.id) for s in plan.samples}),
            "samples": progress.done, "samples_planned": planned,
            "cost_so_far": round(progress.cost, 6),
            "estimated_full_cost": round(progress.cost * planned / done, 6),
            "details": list(decision.details)}


def estimate(
    config: str | Path | ExperimentConfig | None = None,
    *,
    resume: str | None = None,
    results_dir: str | Path = "results",
    client: Client | None = None,
    **overrides: Any,
) -> Any:
    """What running ``config`` (or the rest of run ``resume``) would cost, without calling a
    model or writing a run folder: a ``harness.estimate.Estimate`` (``format_estimate``
    prints it). Takes the overrides of :func:`run`."""
    from harness.estimate import estimate_plan
    from harness.plan import build_plan

    skip: set[str] = set()
    old: dict[str, Any] | None = None
    if resume:
        from harness.resume import experiment_file, merged_overrides, reusable

        run_dir = resolve_run_dir(resume, Path(results_dir))
        old = read_manifest(run_dir)
        overrides = merged_overrides(old, overrides)
        config = config if config is not None else experiment_file(old, run_dir)
    elif config is None:
        raise ConfigError("give an experiment file to estimate (or --resume <run-id>)")
    experiment = config if isinstance(config, ExperimentConfig) else load_experiment(Path(config))
    plan = build_plan(apply_overrides(experiment, **overrides))
    from harness.preflight_plan import check_plan

    check_plan(plan, warn=False)
    if old is not None:
        skip = {r["sample_id"] for r in reusable(plan, read_records(run_dir), old["run_id"])}
    return estimate_plan(plan, skip, client)


def _interrupted(message: str) -> RunError:
    error = RunError(message)
    error.exit_code = 130
    return error


def _error_rate_exceeded(samples: pd.DataFrame, threshold: float,
                         run_dir: Path) -> ErrorRateExceeded | None:
    if samples.empty:
        return None
    rate = float(samples["error"].notna().mean())
    if rate > threshold:
        first = samples.loc[samples["error"].notna(), "error"].iloc[0]
        return ErrorRateExceeded(
            f"{rate:.1%} of samples failed (max_error_rate {threshold:.0%}); results and report "
            f"are in {run_dir}; first error: {first}", run_dir)
    return None

