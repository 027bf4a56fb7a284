"""How a run uses its judges: the manifest's account of them, and the work after the calls.

Kept apart from ``harness.api`` so the run's entry point only gains a few lines: the samples
are graded as they finish, by the scoring stage (a judge is a scorer of type ``judge``,
``harness.judges.scorer_type``); once every call has finished, pairwise preferences and
calibration grades need the whole run.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from harness.judges.plan import JudgePlan, run_records


def describe_in(manifest: dict[str, Any], judges: JudgePlan | None) -> None:
    """Record the judges (model, rubric digest, grade, epochs) and their scores' kinds.

    A resumed run whose judges changed (another rubric, model, grade, or judges added) is
    refused: its samples would be graded two ways under one score name. Re-scoring a run
    with other judges is ``harness score``'s job, which keeps scorings apart."""
    described = judges.describe() if judges is not None else {}
    if manifest.get("resumed_at") and manifest.get("judges") != described:
        from harness.errors import ConfigError

        before = manifest.get("judges") or {}
        changed = sorted(n for n in set(before) | set(described)
                         if before.get(n) != described.get(n))
        raise ConfigError(
            f"the judges changed since run {manifest.get('run_id')} started ("
            f"{', '.join(changed)}): its finished samples were graded otherwise; restore the "
            "judges to finish it, or start a new run")
    if judges is None:
        return
    manifest["judges"] = described


async def then_judge(work: Awaitable[Any], judges: JudgePlan, plan: Any, writer: Any) -> Any:
    """Run ``work`` (the run's calls); then, unless it was interrupted or stopped by a limit
    (a spent budget must not be spent further on judging), judge the pairs and the
    calibration rows. A run a sequential monitor stopped early has decided: it is judged."""
    outcome = await work
    stopped = outcome.stopped is not None and outcome.decision is None
    if outcome.interrupted or stopped:
        return outcome
    if judges.pairwise is None and not judges.calibration:
        return outcome
    from harness.results import read_records

    writer.flush()
    await judges.after_run(writer.run_dir, run_records(plan, read_records(writer.run_dir)))
    return outcome


def for_rescore(plan: Any, records: list[dict[str, Any]]) -> JudgePlan | None:
    """The judges of a re-scoring (``harness score``), every prompt rendered from the run's
    records before any call; None when the experiment and tasks have no judge."""
    from harness.judges.plan import build_judges

    judges = build_judges(plan)
    if judges is not None:
        judges.check_records(run_records(plan, records))
    return judges


async def rescore_with(judges: JudgePlan, plan: Any, stack: Any, records: list[dict[str, Any]],
                       run_dir: Any, score: Any) -> tuple[Any, dict[str, Any]]:
    """Re-score ``records`` with ``score(plan, stack, records, resources=...)`` (the
    stage's), the judges asking through ``stack``; then judge the pairs and calibration rows
    again. Returns the scored rows and the judges' usage (kept with the scoring)."""
    from harness.judges.client import JudgeClient

    client = JudgeClient(stack)
    judges.bind(client.ask)
    rows = await score(plan, stack, records, resources={"judge_client": client})
    if judges.pairwise is not None or judges.calibration:
        await judges.after_run(run_dir, run_records(plan, records))
    return rows, client.summary()
