"""The scoring stage: a finished sample record in, its answer and scores out.

The runner passes each record through the stage as it arrives (so progress and the sequential
monitor see scores as samples finish); ``harness score`` passes a finished run's records
through it again with the current task files. Per record: the variant's parser chain turns the
raw output into ``answer``, then every scorer of the task sees the record (answer filled in).
Sync scorers run inline (a string match costs microseconds); async ones (a judge calling a
model) are awaited together, at most ``concurrency`` at a time across the whole stage.
Whatever a parser or scorer raises, or a result the stage cannot read, is that sample's
``scoring_error`` (``Type: message (in scorer 'x')``), never the end of the run. A parser's
error leaves the sample without any score; a scorer's leaves it without that scorer's scores
only: the other scorers' scores stand, so a judge that fails on some answers does not take
their string-match scores (often the primary metric) with it and bias that metric toward the
answers the judge could read.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.scoring.record import SampleRecord
from harness.scoring.registry import (
    ScorerSpec,
    ScoringContext,
    build_spec,
    spec_from_entry,
)
from harness.scoring.results import named_scores
from harness.scoring.score import Score, ScorerFn

Parse = Callable[[str], str]
DEFAULT_CONCURRENCY = 16


def short_error(exc: BaseException, limit: int = 300) -> str:
    """``Type: first line of the message``, cut short, with any unencodable character (a lone
    surrogate the message quotes from an answer) escaped, so it can be printed and stored."""
    try:
        first = (str(exc).strip().splitlines() or [""])[0]
    except Exception:  # a message that cannot be made
        first = ""
    text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class StageScorer:
    """One built scorer of a task."""

    spec: ScorerSpec
    fn: ScorerFn

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def kind(self) -> str | None:
        return self.spec.kind


@dataclass
class Scored:
    """The stage's verdict on one record: what goes into its ``answer``, ``scores``,
    ``scoring_error`` and ``score_details`` (a score's explanation and metadata, by name)."""

    answer: str | None = None
    scores: dict[str, float | None] = field(default_factory=dict)
    error: str | None = None
    details: dict[str, dict[str, Any]] = field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"answer": self.answer, "scores": self.scores,
                               "scoring_error": self.error}
        if self.details:
            out["score_details"] = self.details
        return out


def task_specs(task: Any) -> list[ScorerSpec]:
    """The scorer specs of a ``TaskConfig`` (its ``scorers:`` entries, validated at load)."""
    return [spec_from_entry(step.name, step.args) for step in task.scorers]


def build_task_scorers(task: Any, context: ScoringContext,
                       specs: Sequence[ScorerSpec] | None = None) -> list[StageScorer]:
    """Build every scorer of ``task``; a factory that fails is one config error naming the
    task file and the entry."""
    built = []
    for index, spec in enumerate(task_specs(task) if specs is None else specs):
        try:
            built.append(StageScorer(spec=spec, fn=build_spec(spec, context)))
        except ConfigError:
            raise
        except Exception as exc:
            where = task.locate("scorers", index) if hasattr(task, "locate") else {}
            raise ConfigError(f"scorer '{spec.name}' cannot be built: {short_error(exc)}",
                              **where) from None
    return built


class ScoringStage:
    """Parsers per (task, variant) and scorers per task, applied to records."""

    def __init__(self, parsers: Mapping[tuple[str, str], Parse],
                 scorers: Mapping[str, Sequence[StageScorer]], *,
                 concurrency: int = DEFAULT_CONCURRENCY) -> None:
        self.parsers = dict(parsers)
        self.scorers = {task: list(fns) for task, fns in scorers.items()}
        self._limit = asyncio.Semaphore(max(1, concurrency))
        self.concurrency = max(1, concurrency)
        self._waits: dict[str, bool] = {}

    def may_wait(self, task: str) -> bool:
        """Whether ``task`` has a scorer that may wait (anything but a string scorer): its
        records are then scored beside the model calls rather than before the next one."""
        flag = self._waits.get(task)
        if flag is None:
            flag = self._waits[task] = any(s.spec.type != "string"
                                           for s in self.scorers.get(task, ()))
        return flag

    @classmethod
    def for_plan(cls, plan: Any, *, client: Any = None,
                 concurrency: int | None = None,
                 resources: dict[str, Any] | None = None) -> ScoringStage:
        """The stage a plan's run scores with; ``client`` is the run's client stack, which
        model-graded scorers call through."""
        parsers = {(task, variant): v.parsers[task]
                   for variant, v in plan.variants.items() for task in v.parsers}
        scorers = {}
        for name, task in plan.tasks.items():
            context = ScoringContext(task=task.config, task_file=Path(task.config.source),
                                     client=client, experiment=plan.experiment,
                                     resources=dict(resources or {}))
            scorers[name] = build_task_scorers(task.config, context,
                                               list(task.scorers))
        limit = concurrency or getattr(plan.experiment, "concurrency", None)
        return cls(parsers, scorers, concurrency=limit or DEFAULT_CONCURRENCY)

    async def score(self, record: SampleRecord) -> Scored:
        """Parse and score one record; a record whose call failed is not scored."""
        if not record.answered:
            return Scored()
        assert record.output is not None
        answer, failed = self._parse(record.task, record.variant, record.output)
        if failed is not None:
            return failed
        parsed = record if record.answer == answer else dataclasses.replace(record,
                                                                            answer=answer)
        return await self._apply(parsed, self.scorers.get(record.task, ()))

    def _parse(self, task: str, variant: str, output: str) -> tuple[str | None, Scored | None]:
        parse = self.parsers.get((task, variant))
        if parse is None:
            return None, Scored(error=f"LookupError: no parser for task '{task}', variant "
                                      f"'{variant}'")
        try:
            return parse(output), None
        except Exception as exc:  # any answer may break any parser
            return None, Scored(error=f"{short_error(exc)} (in the parser)")

    async def _apply(self, record: SampleRecord, scorers: Sequence[StageScorer]) -> Scored:
        results: list[tuple[StageScorer, Any]] = []
        pending: list[tuple[StageScorer, Any]] = []
        for scorer in scorers:
            try:
                result = scorer.fn(record)
            except Exception as exc:
                results.append((scorer, _Failed(exc)))
                continue
            if inspect.isawaitable(result):
                pending.append((scorer, result))
            else:
                results.append((scorer, result))
        if pending:
            done = await asyncio.gather(*(self._bounded(aw) for _, aw in pending),
                                        return_exceptions=True)
            for (scorer, _), result in zip(pending, done, strict=True):
                if isinstance(result, BaseException):
                    if not isinstance(result, Exception):
                        raise result  # cancellation, KeyboardInterrupt: not a scoring error
                    result = _Failed(result)
                results.append((scorer, result))
            order = {id(s): n for n, s in enumerate(scorers)}
            results.sort(key=lambda pair: order[id(pair[0])])
        return _collect(record.answer, results)

    async def _bounded(self, awaitable: Any) -> Any:
        async with self._limit:
            return await awaitable

    async def score_into(self, data: dict[str, Any]) -> dict[str, Any]:
        """Score a record written as a dict (``samples.jsonl``'s form), in place: the runner's
        path, so the answer is parsed before the typed record is made (made once)."""
        output = data.get("output")
        if data.get("error") is not None or not isinstance(output, str):
            data.update(answer=None, scores={}, scoring_error=None)
            return data
        answer, failed = self._parse(str(data.get("task")), str(data.get("variant")), output)
        if failed is not None:
            data.update(failed.fields())
            return data
        data["answer"] = answer
        try:
            record = SampleRecord.from_dict(data)
        except Exception as exc:  # a record the schema cannot read
            data.update(scores={}, scoring_error=short_error(exc))
            return data
        scored = await self._apply(record, self.scorers.get(record.task, ()))
        data.update(_fill(scored.fields()))
        return data

    async def score_all(self, records: Iterable[SampleRecord],
                        done: Callable[[Scored], None] | None = None) -> list[Scored]:
        """Score many records, at most ``concurrency`` at a time (``harness score``);
        ``done`` is told of each as it finishes (progress)."""
        gate = asyncio.Semaphore(self.concurrency)

        async def one(record: SampleRecord) -> Scored:
            async with gate:
                scored = await self.score(record)
            if done is not None:
                done(scored)
            return scored

        return list(await asyncio.gather(*(one(r) for r in records)))

    def score_sync(self, record: SampleRecord) -> Scored:
        """:meth:`score` outside an event loop (tests, ``Plan.score``)."""
        return asyncio.run(self.score(record))


def _fill(fields: dict[str, Any]) -> dict[str, Any]:
    fields.setdefault("score_details", None)
    return {k: v for k, v in fields.items() if k != "score_details" or v is not None}


def _in(exc: BaseException, scorer: StageScorer) -> str:
    return f"{short_error(exc)} (in scorer '{scorer.name}')"


@dataclass(frozen=True)
class _Failed:
    """What a scorer raised, in place of its result."""

    exc: Exception


def _collect(answer: str | None, results: list[tuple[StageScorer, Any]]) -> Scored:
    """The scores of every scorer that gave them; the first failure (in the task's scorer
    order) is the record's ``scoring_error``, and says how many other scorers failed too."""
    scored = Scored(answer=answer)
    failures: list[str] = []
    for scorer, result in results:
        if isinstance(result, _Failed):
            failures.append(_in(result.exc, scorer))
            continue
        try:
            named = named_scores(result, scorer.name)
        except Exception as exc:
            failures.append(_in(exc, scorer))
            continue
        for name, score in named.items():
            if name in scored.scores:
                return Scored(answer=answer, error=f"ValueError: two scorers both return a "
                                                   f"score named '{name}' (in scorer "
                                                   f"'{scorer.name}')")
            scored.scores[name] = None if score is None else score.value
            if score is not None:
                detail = _detail(score)
                if detail:
                    scored.details[name] = detail
    if failures:
        more = len(failures) - 1
        scored.error = failures[0] + (f" (and {more} more scorer{'s' if more > 1 else ''} "
                                      "failed)" if more else "")
    return scored


def _detail(score: Score) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if score.answer is not None:
        out["answer"] = score.answer
    if score.explanation is not None:
        out["explanation"] = score.explanation
    if score.metadata:
        out["metadata"] = dict(score.metadata)
    return out
