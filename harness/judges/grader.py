"""Rubric grading: one judge's verdict on one sample, as a :class:`Score`.

A :class:`RubricJudge` is a scorer in the scoring stage's sense (an async callable of a
``SampleRecord``): it renders its rubric with the sample, asks the judge model ``epochs``
times, parses each answer strictly (``harness.judges.verdicts``) and returns the mean verdict
as the score, with every verdict kept: ``Score.metadata`` holds ``judge`` (the judge model),
``judge_name``, ``rubric``, ``grade`` (``pass_fail``, ``score`` or the scale ``1-5``), ``raw``
and ``judge_epoch`` (the verdict line and judge epoch; lists when ``epochs`` > 1) and
``verdicts`` (one entry per judge epoch: ``judge_epoch``, ``raw``, ``value``, ``grade``,
``explanation``, ``cached``, tokens and ``cost_usd``); ``Score.explanation`` holds the judge's
reasoning. One unreadable verdict makes the whole sample a scoring error: averaging the
readable ones would quietly change what the score means.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from harness.config import ModelConfig
from harness.judges.verdicts import Grade, Verdict, VerdictError, parse_verdict
from harness.models.client import Completion
from harness.prompting import PromptTemplate
from harness.scoring.record import SampleRecord
from harness.scoring.score import Score

# ask(model, messages, params, *, epoch, judge) -> Completion: JudgeClient.ask, or a test's.
Ask = Callable[..., Awaitable[Completion]]


def rubric_context(record: SampleRecord, grade: Grade) -> dict[str, Any]:
    """What a grading rubric is rendered with (``harness.judges.rubrics.GRADING_VARS``)."""
    return {
        "input": record.input,
        "output": record.output if record.output is not None else "",
        "answer": record.answer if record.answer is not None else "",
        "target": record.target,
        "context": record.context,
        "documents": [p.text for p in record.retrieved if p.text],
        "item": dict(record.fields),
        "messages": [dict(m) for m in record.messages],
        "task": record.task,
        "variant": record.variant,
        "model": record.model,
        "item_id": record.item_id,
        "epoch": record.epoch,
        "verdict": grade.instructions(),
        "grade": {"kind": grade.kind, "low": grade.low, "high": grade.high},
    }


@dataclass
class RubricJudge:
    """One configured judge, bound to a way of asking (``ask``)."""

    name: str
    model: ModelConfig
    rubric: PromptTemplate
    grade: Grade
    epochs: int
    ask: Ask

    @property
    def kind(self) -> str:
        """The score's kind for the statistics: pass/fail judged once is binary."""
        return "binary" if self.grade.kind == "pass_fail" and self.epochs == 1 else "graded"

    def messages(self, record: SampleRecord) -> list[dict[str, str]]:
        """The judge's messages for ``record``; a ConfigError naming the rubric's file and
        line when it cannot render."""
        from harness.judges.rubrics import render_rubric

        return render_rubric(self.rubric, rubric_context(record, self.grade),
                             where=f"judge '{self.name}', task {record.task}, "
                                   f"item {record.item_id}")

    async def __call__(self, record: SampleRecord) -> Score:
        messages = self.messages(record)
        answers = await asyncio.gather(*(
            self.ask(self.model, messages, None, epoch=e, judge=self.name)
            for e in range(self.epochs)))
        verdicts: list[tuple[int, Verdict, Completion]] = []
        for epoch, completion in enumerate(answers):
            try:
                verdicts.append((epoch, parse_verdict(completion.text, self.grade), completion))
            except VerdictError as exc:
                where = f" (judge epoch {epoch})" if self.epochs > 1 else ""
                raise VerdictError(f"judge '{self.name}': {exc}{where}{_cut(completion)}"
                                   ) from None
        return self._score(verdicts)

    def _score(self, verdicts: list[tuple[int, Verdict, Completion]]) -> Score:
        entries = [_entry(epoch, verdict, completion) for epoch, verdict, completion in verdicts]
        value = sum(v.value for _, v, _ in verdicts) / len(verdicts)
        single = len(verdicts) == 1
        shown = [_shown(v, self.grade) for _, v, _ in verdicts]
        explanation = (verdicts[0][1].explanation if single else "\n\n".join(
            f"[judge epoch {e}] {v.explanation}" for e, v, _ in verdicts))
        return Score(
            value=value,
            answer=shown[0] if single else ", ".join(shown),
            explanation=explanation,
            metadata={
                "judge": self.model.model,
                "judge_name": self.name,
                "rubric": self.rubric.name,
                "rubric_path": str(self.rubric.path),
                "grade": self.grade.label,
                "raw": entries[0]["raw"] if single else [e["raw"] for e in entries],
                "judge_epoch": 0 if single else [e["judge_epoch"] for e in entries],
                "verdicts": entries,
            },
        )


def _cut(completion: Completion) -> str:
    """Why a verdict may be missing: the judge ran out of tokens before writing it."""
    if completion.finish_reason != "length":
        return ""
    return ("; the judge's answer was cut off at max_tokens before its verdict: raise the "
            "judge's max_tokens")


def _shown(verdict: Verdict, grade: Grade) -> str:
    if grade.kind == "pass_fail":
        return "PASS" if verdict.value == 1.0 else "FAIL"
    if grade.kind == "scale":
        return f"{verdict.grade}/{grade.high}"
    return f"{verdict.value:g}"


def _entry(epoch: int, verdict: Verdict, completion: Completion) -> dict[str, Any]:
    return {
        "judge_epoch": epoch,
        "raw": verdict.raw,
        "value": verdict.value,
        "grade": verdict.grade,
        "explanation": verdict.explanation,
        "cached": completion.cached,
        "input_tokens": completion.input_tokens,
        "output_tokens": completion.output_tokens,
        "cost_usd": None if completion.cached else completion.cost_usd,
    }
