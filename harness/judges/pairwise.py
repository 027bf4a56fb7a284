"""Pairwise preference: a judge compares two variants' answers to the same item.

For every task, model under test, item and epoch, each pair of variants that both answered is
judged twice, once with each variant's answer shown first (as Response A), so a judge's
leaning towards the first (or second) position cancels out and can be measured. The judge
never sees the variants' names. Each judgement is one row of ``pairwise.jsonl``::

    {task, model, item_id, epoch, judge, variant_a, variant_b, shown_first (a|b),
     winner (a|b|tie), explanation, judge_epoch, raw, cached}

``variant_a`` / ``variant_b`` name the pair in the experiment's variant order, whatever the
order shown; ``winner`` is in those terms. A verdict the judge did not give readably is a row
with ``winner`` null and ``error`` saying why (the statistics skip it and count it), never a
guessed preference. Win rates and the Bradley-Terry ranking are computed from these rows by
``harness.stats``.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from harness.config import ModelConfig
from harness.judges.grader import Ask
from harness.judges.verdicts import Grade, VerdictError, parse_verdict
from harness.prompting import PromptTemplate
from harness.scoring.record import SampleRecord

PAIRWISE_FILE = "pairwise.jsonl"
PREFERENCE = Grade("preference")


def pairwise_context(first: SampleRecord, output_a: str, output_b: str) -> dict[str, Any]:
    """What a pairwise rubric is rendered with (``harness.judges.rubrics.PAIRWISE_VARS``):
    the item as ``first`` holds it (both records share it) and the two answers in the order
    shown."""
    return {
        "input": first.input,
        "target": first.target,
        "context": first.context,
        "documents": [p.text for p in first.retrieved if p.text],
        "item": dict(first.fields),
        "task": first.task,
        "model": first.model,
        "item_id": first.item_id,
        "epoch": first.epoch,
        "output_a": output_a,
        "output_b": output_b,
        "verdict": PREFERENCE.instructions(),
    }


@dataclass(frozen=True)
class Pair:
    """Two records of one (task, model, item, epoch): ``a`` of the variant listed first."""

    a: SampleRecord
    b: SampleRecord


def pairs(records: Iterable[SampleRecord], variants: Sequence[str]) -> list[Pair]:
    """Every pair of the listed ``variants`` answered on the same task, model, item and
    epoch, in a stable order (task, model, item, epoch, then the variants' order)."""
    order = {name: index for index, name in enumerate(variants)}
    groups: dict[tuple[str, str, str, int], dict[str, SampleRecord]] = {}
    for record in records:
        if record.variant in order and record.answered:
            key = (record.task, record.model, record.item_id, record.epoch)
            groups.setdefault(key, {})[record.variant] = record
    out = []
    for key in sorted(groups):
        group = groups[key]
        present = sorted(group, key=order.__getitem__)
        for left, right in itertools.combinations(present, 2):
            out.append(Pair(group[left], group[right]))
    return out


@dataclass
class PairwiseJudge:
    name: str
    model: ModelConfig
    rubric: PromptTemplate
    epochs: int
    ask: Ask

    def messages(self, first: SampleRecord, output_a: str, output_b: str
                 ) -> list[dict[str, str]]:
        from harness.judges.rubrics import render_rubric

        return render_rubric(self.rubric, pairwise_context(first, output_a, output_b),
                             where=f"pairwise judge '{self.name}', task {first.task}, "
                                   f"item {first.item_id}")

    async def judge_pair(self, pair: Pair) -> list[dict[str, Any]]:
        """Both orders of one pair, ``epochs`` times each: one row per judgement."""
        orders = (("a", pair.a.output or "", pair.b.output or ""),
                  ("b", pair.b.output or "", pair.a.output or ""))
        jobs = [(shown, epoch, self.messages(pair.a, first, second))
                for shown, first, second in orders for epoch in range(self.epochs)]
        answers = await asyncio.gather(
            *(self.ask(self.model, messages, None, epoch=epoch, judge=self.name)
              for _, epoch, messages in jobs), return_exceptions=True)
        rows = []
        for (shown, epoch, _), answer in zip(jobs, answers, strict=True):
            if isinstance(answer, BaseException) and not isinstance(answer, Exception):
                raise answer
            rows.append(self._row(pair, shown, epoch, answer))
        return rows

    def _row(self, pair: Pair, shown: str, epoch: int, answer: Any) -> dict[str, Any]:
        row: dict[str, Any] = {
            "task": pair.a.task, "model": pair.a.model, "item_id": pair.a.item_id,
            "epoch": pair.a.epoch, "judge": self.name, "judge_model": self.model.model,
            "variant_a": pair.a.variant, "variant_b": pair.b.variant, "shown_first": shown,
            "winner": None, "explanation": None, "judge_epoch": epoch, "raw": None,
            "cached": None, "error": None,
        }
        if isinstance(answer, Exception):
            from harness.runner import short_error

            row["error"] = short_error(answer)
            return row
        row["cached"] = answer.cached
        try:
            verdict = parse_verdict(answer.text, PREFERENCE)
        except VerdictError as exc:
            row["error"] = f"VerdictError: {exc}"
            row["explanation"] = answer.text
            return row
        # The choice is of a position (A shown first); map it back to the pair's variants.
        shown_first_wins = verdict.choice == "A"
        if verdict.choice == "TIE":
            winner = "tie"
        elif shown_first_wins:
            winner = shown
        else:
            winner = "b" if shown == "a" else "a"
        row.update(winner=winner, explanation=verdict.explanation, raw=verdict.raw)
        return row


async def judge_pairs(judge: PairwiseJudge, todo: Sequence[Pair],
                      concurrency: int) -> list[dict[str, Any]]:
    """Every pair's rows, at most ``concurrency`` pairs at a time, in ``todo``'s order."""
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(pair: Pair) -> list[dict[str, Any]]:
        async with gate:
            return await judge.judge_pair(pair)

    done = await asyncio.gather(*(one(p) for p in todo))
    return [row for rows in done for row in rows]
