"""Executing a plan: samples sent concurrently, each scored and appended as it finishes.

A fixed pool of workers pulls samples from one queue, so at most ``concurrency`` calls are in
flight whatever the run's size; per-model caps and rate limits sit in the client stack. A
failed call becomes an error record, never a wrong answer, and is kept out of every score.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError
from harness.models.client import Client, Completion, ModelCallError
from harness.plan import Plan, Sample
from harness.progress import Progress
from harness.results import RunWriter, now


@dataclass
class Outcome:
    attempted: int = 0
    errors: int = 0
    cost_usd: float = 0.0
    stopped: str | None = None


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
    answer, scores = (None, {})
    if completion is not None and error is None:
        answer, scores = plan.score(sample, completion.text)
    return {
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
        "answer": answer,
        "scores": scores,
        "error": error,
        "latency_s": completion.latency_s if completion else None,
        "input_tokens": completion.input_tokens if completion else None,
        "output_tokens": completion.output_tokens if completion else None,
        "cost_usd": completion.cost_usd if completion else None,
        "cached": bool(completion and completion.cached),
        "retrieved": [
            {"doc_id": h.doc_id, "chunk_id": h.chunk_id, "score": round(h.score, 6)}
            for h in sample.retrieved
        ],
        "gold_docs": list(sample.item.gold_docs),
        **_retrieval_metrics(sample),
        "finished_at": now(),
    }


async def execute(
    plan: Plan,
    client: Client,
    writer: RunWriter,
    *,
    run_id: str,
    skip: set[str],
    progress: Progress,
) -> Outcome:
    """Run every sample of ``plan`` not in ``skip``; return what happened."""
    experiment = plan.experiment
    queue = deque(s for s in plan.samples if s.sample_id not in skip)
    outcome = Outcome()
    budget = experiment.max_cost_usd

    async def one(sample: Sample) -> dict[str, Any]:
        model = plan.models[sample.model]
        started = time.perf_counter()
        try:
            completion = await client.complete(
                model, list(sample.messages), dict(sample.params), epoch=sample.epoch
            )
        except HarnessError:
            raise
        except ModelCallError as exc:
            return build_record(plan, sample, run_id, None, str(exc))
        except Exception as exc:  # an unexpected failure of one call must not sink the run
            message = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
            record = build_record(plan, sample, run_id, None, message)
            record["latency_s"] = time.perf_counter() - started
            return record
        return build_record(plan, sample, run_id, completion, None)

    async def worker() -> None:
        while queue and outcome.stopped is None:
            sample = queue.popleft()
            record = await one(sample)
            writer.append(record)
            outcome.attempted += 1
            outcome.errors += record["error"] is not None
            outcome.cost_usd += record["cost_usd"] or 0.0
            progress.update(
                error=record["error"] is not None,
                cost=record["cost_usd"],
                cached=record["cached"],
            )
            if budget is not None and progress.cost >= budget and outcome.stopped is None:
                outcome.stopped = f"max_cost_usd ({budget}) reached"

    workers = [asyncio.create_task(worker()) for _ in range(min(experiment.concurrency,
                                                                  len(queue)) or 0)]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
    return outcome
