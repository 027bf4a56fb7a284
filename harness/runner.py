"""Executing a plan: samples sent concurrently, each scored and appended as it finishes.

A fixed pool of workers pulls samples from one queue, so at most ``concurrency`` calls are in
flight whatever the run's size; per-model caps and rate limits sit in the client stack. A
failed call becomes an error record, never a wrong answer, and is kept out of every score.
"""

from __future__ import annotations

import asyncio
import signal
import time
import warnings
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from harness.errors import HarnessError
from harness.incomplete import incomplete_error, incomplete_kind
from harness.models.client import Client, Completion, ModelCallError
from harness.plan import Plan, Sample
from harness.progress import Progress
from harness.results import RunWriter, now
from harness.scoring.record import SCHEMA_VERSION
from harness.scoring.stage import ScoringStage, short_error

__all__ = ["EARLY_ABORT_AFTER", "Outcome", "build_record", "execute", "short_error"]


@dataclass
class Outcome:
    fresh: int = 0  # samples attempted and not answered from the cache
    errors: int = 0
    stopped: str | None = None
    decision: Any = None  # the monitor's StopDecision when it stopped the run (decided)
    interrupted: bool = False  # stopped by Ctrl-C (exit 130), not by a limit


class Monitor(Protocol):
    """Looks at each finished record; returns a decision (with ``reason``) to stop the run."""

    def update(self, record: dict[str, Any]) -> Any: ...


def _retrieval_metrics(sample: Sample) -> dict[str, float | None]:
    if not sample.retrieved or not sample.item.gold_docs:
        return {"retrieval_recall": None, "retrieval_rr": None}
    from harness.retrieval import recall_at_k, reciprocal_rank

    ids = [hit.doc_id for hit in sample.retrieved]
    gold = list(sample.item.gold_docs)
    return {
        "retrieval_recall": float(recall_at_k(ids, gold, len(ids))),
        "retrieval_rr": float(reciprocal_rank(ids, gold)),
    }


def build_record(
    plan: Plan, sample: Sample, run_id: str, completion: Completion | None, error: str | None
) -> dict[str, Any]:
    """One sample's record (``harness.scoring.record`` documents its schema), not yet scored:
    the scoring stage fills ``answer``, ``scores`` and ``scoring_error``. ``error``: the call
    failed; ``scoring_error``: the call answered but parsing or scoring its answer raised.
    Either keeps the sample out of every score."""
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "sample_id": sample.sample_id,
        "task": sample.task,
        "variant": sample.variant,
        "model": sample.model,
        "model_id": plan.models[sample.model].model,
        "item_id": sample.item.id,
        "epoch": sample.epoch,
        "cluster": sample.item.cluster,
        "input": sample.item.input,
        "target": sample.item.target,
        "messages": list(sample.messages),
        "output": completion.text if completion else None,
        "answer": None,
        "scores": {},
        "error": error,
        "scoring_error": None,
        "latency_s": completion.latency_s if completion else None,
        "input_tokens": completion.input_tokens if completion else None,
        "output_tokens": completion.output_tokens if completion else None,
        "cost_usd": completion.cost_usd if completion else None,
        "cached": bool(completion and completion.cached),
        "finish_reason": completion.finish_reason if completion else None,
        "response_model": completion.response_model if completion else None,
        "incomplete": incomplete_kind(completion) if completion else None,
        "retrieved": [
            {"doc_id": h.doc_id, "chunk_id": h.chunk_id, "score": round(h.score, 6),
             "text": h.text}
            for h in sample.retrieved
        ],
        "gold_docs": list(sample.item.gold_docs),
        "fields": sample.item.fields,
        **_retrieval_metrics(sample),
        "fingerprint": sample.fingerprint,
        "prompt_parts": sample.parts,
        "finished_at": now(),
    }


# A run whose first this-many fresh samples all failed is stopped: a wrong key, model name or
# API base fails every call, and finding out after thousands of them helps nobody.
EARLY_ABORT_AFTER = 20


async def execute(
    plan: Plan,
    client: Client,
    writer: RunWriter,
    *,
    run_id: str,
    skip: set[str],
    progress: Progress,
    on_first_answer: Callable[[], None] | None = None,
    monitor: Monitor | None = None,
    stage: ScoringStage | None = None,
) -> Outcome:
    """Run every sample of ``plan`` not in ``skip``; return what happened.

    ``on_first_answer`` runs once, when the first answer that is not from the cache arrives:
    the run is then waiting on a model, and the caller can use the idle time.

    Stops early (``Outcome.stopped`` says why, the run stays resumable) when the cost budget
    is spent or when every one of the first ``EARLY_ABORT_AFTER`` samples failed, and when
    ``monitor`` (``harness.monitor``) decides (``Outcome.decision``): calls in flight finish
    and are saved, no new ones start.

    Each record is scored by ``stage`` (``harness.scoring``; by default the plan's parsers and
    scorers, with ``client`` for scorers that call models) before it is written.
    """
    experiment = plan.experiment
    if stage is None:
        stage = ScoringStage.for_plan(plan, client=client)
    queue = deque(s for s in plan.samples if s.sample_id not in skip)
    outcome = Outcome()
    budget = experiment.max_cost_usd
    if budget is not None and progress.cost >= budget and queue:
        outcome.stopped = (f"max_cost_usd ({budget}) already reached (${progress.cost:.4f} "
                           "spent); raise --max-cost-usd to go on")
        return outcome
    first_error: list[str] = []

    async def one(sample: Sample) -> dict[str, Any]:
        model = plan.models[sample.model]
        started = time.perf_counter()
        try:
            completion = await client.complete(
                model, list(sample.messages), dict(sample.params), epoch=sample.epoch
            )
        except HarnessError:
            raise
        except Exception as exc:  # a failed call (or an unexpected error) must not sink the run
            message = (str(exc) if isinstance(exc, ModelCallError)
                       else f"{type(exc).__name__}: {exc}".splitlines()[0][:500])
            record = build_record(plan, sample, run_id, None, message)
            record["latency_s"] = time.perf_counter() - started
            return record
        kind = incomplete_kind(completion)
        error = (incomplete_error(kind, completion)
                 if kind is not None and experiment.incomplete_answers == "error" else None)
        return await stage.score_into(build_record(plan, sample, run_id, completion, error))

    def note(record: dict[str, Any]) -> None:
        failed = record["error"] is not None
        spent = 0.0 if record["cached"] else (record["cost_usd"] or 0.0)
        outcome.fresh += not record["cached"]
        if outcome.fresh == 1 and not record["cached"] and on_first_answer is not None:
            on_first_answer()
        outcome.errors += failed
        progress.update(error=failed, cost=spent, cached=record["cached"])
        if failed and not first_error:
            first_error.append(record["error"])
        if outcome.stopped is not None:
            return
        judged = progress.judge_cost  # the budget covers what judging spends too
        if budget is not None and progress.cost + judged >= budget:
            by_judges = f", ${judged:.4f} of it by judges" if judged else ""
            outcome.stopped = (f"max_cost_usd ({budget}) reached "
                               f"(${progress.cost + judged:.4f} spent{by_judges})")
        elif outcome.fresh == EARLY_ABORT_AFTER and outcome.errors == EARLY_ABORT_AFTER:
            outcome.stopped = (f"the first {EARLY_ABORT_AFTER} samples all failed; "
                               f"first error: {first_error[0]}")
        elif monitor is not None:
            decision = monitor.update(record)
            if decision is not None:
                outcome.decision = decision
                outcome.stopped = decision.reason

    # Samples that finish in the same turn of the event loop are written with one flush at
    # its end: each flush is a system call that lets LiteLLM's worker threads take the GIL,
    # costing the loop about 0.2 ms a sample at full speed. A record is on its way to disk
    # before any other call can finish, so a kill loses at most the samples of that one turn.
    flush_pending = False

    def flush() -> None:
        nonlocal flush_pending
        flush_pending = False
        writer.flush()

    async def worker() -> None:
        nonlocal flush_pending
        loop = asyncio.get_running_loop()
        while queue and outcome.stopped is None:
            record = await one(queue.popleft())
            record = _append(writer, record)
            if not flush_pending:
                flush_pending = True
                loop.call_soon(flush)
            note(record)

    workers = [asyncio.create_task(worker()) for _ in range(min(experiment.concurrency,
                                                                  len(queue)))]
    restore_signals = _on_signals(outcome, lambda: sum(not w.done() for w in workers))
    try:
        await asyncio.gather(*workers)
    except asyncio.CancelledError:
        # Ctrl-C: LiteLLM leaves the coroutines of calls it had not started yet unawaited,
        # and Python would print a RuntimeWarning for each under the "how to resume" line.
        warnings.filterwarnings("ignore", message=r"coroutine .* was never awaited",
                                category=RuntimeWarning)
        raise
    finally:
        for task in workers:
            task.cancel()
        # Let cancelled workers unwind (closing their connections) before the loop closes.
        await asyncio.gather(*workers, return_exceptions=True)
        writer.flush()
        restore_signals()
    return outcome


def _append(writer: RunWriter, record: dict[str, Any]) -> dict[str, Any]:
    """Write one record; one that cannot be written is written as a scoring error with the
    output escaped, so a single odd answer neither ends the run nor vanishes from it."""
    try:
        writer.append(record, flush=False)
        return record
    except (ValueError, TypeError, RecursionError, OverflowError) as exc:  # not OSError
        safe = {k: (v if k not in ("answer", "output") or v is None
                    else str(v).encode("utf-8", "backslashreplace").decode("utf-8"))
                for k, v in record.items() if k != "retrieved"}
        safe.update(scores={}, scoring_error=f"record could not be written: {short_error(exc)}",
                    retrieved=[])
        writer.append(safe, flush=False)
        return safe


def _on_signals(outcome: Outcome, in_flight: Callable[[], int]) -> Callable[[], None]:
    """Treat SIGTERM (a CI job cancelled, a container stopped) and a first Ctrl-C as a clean
    stop: calls in flight (already paid for) finish and are saved, no new ones start, and the
    run is left resumable. A second Ctrl-C stops at once; every answer that has arrived is
    still written. Returns the undo."""
    loop = asyncio.get_running_loop()

    def stop() -> None:
        if outcome.stopped is None:
            outcome.stopped = "terminated by SIGTERM"

    def interrupt() -> None:
        if outcome.interrupted:
            raise KeyboardInterrupt
        outcome.interrupted = True
        outcome.stopped = outcome.stopped or "interrupted"
        waiting = in_flight()
        if waiting:
            import sys

            print(f"\nharness: stopping: saving the {waiting} call(s) in flight (already paid "
                  "for); press Ctrl-C again to stop at once", file=sys.stderr, flush=True)

    try:
        loop.add_signal_handler(signal.SIGTERM, stop)
        loop.add_signal_handler(signal.SIGINT, interrupt)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or Windows
        return lambda: None

    def undo() -> None:
        loop.remove_signal_handler(signal.SIGTERM)
        loop.remove_signal_handler(signal.SIGINT)

    return undo
