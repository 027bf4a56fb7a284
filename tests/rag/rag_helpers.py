"""A deterministic judge for the RAG metric tests: its verdicts follow fixed rules, so the
exact score every metric must give is known before it runs."""

from __future__ import annotations

import json
import re
from typing import Any

from harness.scoring.record import Passage, SampleRecord


def claims_of(text: str) -> list[str]:
    """The fake judge's claims: the text's sentences."""
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s.strip()]


def supported(claim: str, context: str) -> bool:
    """A claim is supported when its sentence occurs in the passages, word for word."""
    return claim.rstrip(".").lower() in context.lower()


def rule_judge(messages: list[dict[str, str]]) -> str:
    """The verdict a careful judge gives by the rules above, in the prompts' JSON."""
    prompt = messages[-1]["content"]
    if "List every factual claim" in prompt:
        answer = prompt.split("Answer:\n", 1)[1].split("\n\nList every", 1)[0]
        return json.dumps({"claims": claims_of(answer)})
    if "Can the claim be inferred" in prompt:
        context = prompt.split("Passages:\n", 1)[1].split("\n\nClaim:\n", 1)[0]
        claim = prompt.split("\n\nClaim:\n", 1)[1].split("\n\nCan the claim", 1)[0]
        ok = supported(claim, context)
        return f'Checking. {{"reason": "word for word", "supported": {json.dumps(ok)}}}'
    if "Is this passage useful" in prompt:
        passage = prompt.split("Passage:\n", 1)[1].split("\n\nIs this passage", 1)[0]
        return json.dumps({"reason": "r", "relevant": "useful" in passage})
    if "How well does the answer address" in prompt:
        answer = prompt.split("Answer:\n", 1)[1]
        return json.dumps({"reason": "r", "grade": 5 if "refund" in answer.lower() else 2})
    raise AssertionError(f"unexpected judge prompt: {prompt[:200]}")


class FakeJudge:
    """An ``ask``-like async callable: answers by ``reply(messages)`` and records each call."""

    def __init__(self, reply: Any = rule_judge) -> None:
        self.reply = reply
        self.calls: list[tuple[Any, list[dict[str, str]], dict[str, Any]]] = []

    async def __call__(self, model: Any, messages: list[dict[str, str]],
                       params: dict[str, Any] | None = None) -> str:
        self.calls.append((model, list(messages), dict(params or {})))
        return self.reply(messages)


CONTEXT = ["Refunds are paid within 14 days. Refunds need a receipt.",
           "The shop opens at 9 am. The shop closes at 6 pm."]


def record(output: str | None, *, passages: list[str] | None = None,
           gold: tuple[str, ...] = (), target: str = "Refunds are paid within 14 days.",
           doc_ids: list[str] | None = None, **kw: Any) -> SampleRecord:
    texts = CONTEXT if passages is None else passages
    ids = doc_ids or [f"d{n}" for n in range(len(texts))]
    return SampleRecord(
        run_id="r", sample_id=kw.pop("sample_id", "s0"), task="t", variant="v", model="m",
        model_id="m", item_id="i0", epoch=0, input="How are refunds paid?", target=target,
        output=output, answer=output,
        retrieved=tuple(Passage(doc_id=d, chunk_id=f"{d}#0", score=1.0, text=t)
                        for d, t in zip(ids, texts, strict=True)),
        gold_docs=gold, **kw)
