"""RAG answer metrics: is the answer grounded in what was retrieved, and was the right thing
retrieved?

Four metrics, each a score in [0, 1] per sample, so the report gives them intervals and the
paired tests compare retrieval settings on them like any other score:

``faithfulness``
    The share of the answer's claims that the retrieved passages support. A judge splits the
    answer into self-contained claims, then checks each claim against the passages alone (one
    call per claim); score = supported / total, every claim's verdict and reason kept in the
    score's metadata. An answer that makes no claim is not scored (None), not a 1.
``answer_relevance``
    Whether the answer addresses the question (a judge's 1-5 grade, mapped to 0, .25, ... 1),
    whatever its grounding; the one metric that also scores closed-book variants, so a
    retrieval setting can be compared with none on it.
``context_precision``
    How high the first useful passage ranks: the reciprocal rank of the first relevant
    passage. Relevant means from a gold document where the item names gold documents (the
    task's ``gold_docs_field``; the same number as the report's MRR column), else judged
    relevant to the question and its reference answer, passage by passage.
``context_recall``
    How much of what is needed was retrieved: recall@k of the gold documents where the item
    names them, else the share of the reference answer's claims the passages support (the
    faithfulness procedure applied to the target).

A sample without retrieved passages (a closed-book variant) is not scored by the other three. A
judge's malformed answer raises (``rag_judge.MalformedVerdict``): a scoring error on that
sample, never a guessed number.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from harness.scoring.rag_judge import Judge, MalformedVerdict
from harness.scoring.record import SampleRecord
from harness.scoring.score import Score

_SYSTEM = "You are a careful, literal grader. You answer with JSON only."


def answer_text(record: SampleRecord) -> str:
    """What is graded: the parsed answer (the final answer of a reasoning variant)."""
    return (record.answer if record.answer is not None else record.output or "").strip()


def _messages(user: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": user}]


def claims_prompt(question: str, text: str) -> list[dict[str, str]]:
    return _messages(
        f"Question:\n{question}\n\nAnswer:\n{text}\n\n"
        "List every factual claim the answer makes, each as one short sentence that can be "
        "checked on its own (write out what pronouns refer to). Leave out greetings, hedges and "
        "text that states no fact. Reply with JSON only: "
        '{"claims": ["<claim>", ...]} (an empty list when the answer makes no claim).')


def support_prompt(context: str, claim: str) -> list[dict[str, str]]:
    return _messages(
        f"Passages:\n{context}\n\nClaim:\n{claim}\n\n"
        "Can the claim be inferred from the passages above alone, without outside knowledge? "
        'Reply with JSON only: {"reason": "<one sentence>", "supported": true or false}')


def relevance_prompt(question: str, text: str) -> list[dict[str, str]]:
    return _messages(
        f"Question:\n{question}\n\nAnswer:\n{text}\n\n"
        "How well does the answer address the question, regardless of whether it is correct? "
        "1: not at all or off topic, 2: barely, 3: partly, 4: mostly, 5: fully and directly. "
        'Reply with JSON only: {"reason": "<one sentence>", "grade": <1-5>}')


def passage_prompt(question: str, reference: str, passage: str) -> list[dict[str, str]]:
    ref = f"\n\nReference answer:\n{reference}" if reference.strip() else ""
    return _messages(
        f"Question:\n{question}{ref}\n\nPassage:\n{passage}\n\n"
        "Is this passage useful for answering the question (it states facts the answer needs)? "
        'Reply with JSON only: {"reason": "<one sentence>", "relevant": true or false}')


@dataclass(frozen=True)
class Claims:
    """The claims of a text and the judge's verdict on each against the passages."""

    claims: list[str]
    verdicts: list[dict[str, Any]]
    raw: list[str]

    @property
    def supported(self) -> int:
        return sum(1 for v in self.verdicts if v["supported"])


async def claim_support(judge: Judge, question: str, text: str, context: str) -> Claims:
    """Split ``text`` into claims and check each against ``context`` (the faithfulness and
    judged context-recall procedure)."""
    verdict, raw = await judge.verdict(claims_prompt(question, text), {"claims": "list"})
    claims = verdict["claims"]
    if not all(isinstance(c, str) and c.strip() for c in claims):
        raise MalformedVerdict(f"the judge's claims are not all non-empty strings: {claims!r:.120}")
    checks = await asyncio.gather(*(judge.verdict(support_prompt(context, c),
                                                  {"supported": "bool"}) for c in claims))
    verdicts = [{"claim": c, "supported": v["supported"], "reason": str(v.get("reason", ""))}
                for c, (v, _) in zip(claims, checks, strict=True)]
    return Claims(claims=list(claims), verdicts=verdicts, raw=[raw, *(t for _, t in checks)])


def _meta(judge: Judge, method: str, **extra: Any) -> dict[str, Any]:
    return {"judge": judge.label, "method": method, **extra}


async def faithfulness(record: SampleRecord, judge: Judge) -> Score | None:
    """Supported claims / claims of the answer, against the retrieved passages."""
    text = answer_text(record)
    if not record.context or not text:
        return None
    found = await claim_support(judge, record.input, text, record.context)
    if not found.claims:
        return None
    total = len(found.claims)
    return Score(value=found.supported / total, explanation=f"{found.supported} of {total} "
                 "claims supported by the retrieved passages",
                 metadata=_meta(judge, "judge: claims", supported=found.supported, total=total,
                                claims=found.verdicts, raw=found.raw))


async def answer_relevance(record: SampleRecord, judge: Judge) -> Score | None:
    """The judge's 1-5 grade of how directly the answer addresses the question, as 0-1."""
    text = answer_text(record)
    if not text:
        return None
    verdict, raw = await judge.verdict(relevance_prompt(record.input, text), {"grade": "int"})
    grade = verdict["grade"]
    if not 1 <= grade <= 5:
        raise MalformedVerdict(f"the judge's grade {grade} is not on the 1-5 scale")
    return Score(value=(grade - 1) / 4, explanation=str(verdict.get("reason", "")),
                 metadata=_meta(judge, "judge: grade 1-5", grade=grade, raw=raw))


def _doc_ids(record: SampleRecord) -> list[str]:
    return [p.doc_id for p in record.retrieved]


async def context_precision(record: SampleRecord, judge: Judge | None) -> Score | None:
    """Reciprocal rank of the first relevant passage (gold documents, else judged)."""
    if not record.retrieved:
        return None
    if record.gold_docs:
        from harness.retrieval.metrics import reciprocal_rank

        value = reciprocal_rank(_doc_ids(record), record.gold_docs)
        return Score(value=float(value), metadata={"method": "gold: reciprocal rank",
                                                   "retrieved": _doc_ids(record)})
    if judge is None:
        raise ValueError("this item names no gold documents and context_precision has no "
                         "judge: add judge: <model> to the scorer")
    checks = await asyncio.gather(*(
        judge.verdict(passage_prompt(record.input, record.target, p.text), {"relevant": "bool"})
        for p in record.retrieved))
    relevant = [v["relevant"] for v, _ in checks]
    first = next((rank for rank, ok in enumerate(relevant, start=1) if ok), None)
    passages = [{"chunk_id": p.chunk_id, "relevant": v["relevant"],
                 "reason": str(v.get("reason", ""))}
                for p, (v, _) in zip(record.retrieved, checks, strict=True)]
    return Score(value=0.0 if first is None else 1.0 / first,
                 explanation=f"{sum(relevant)} of {len(relevant)} passages relevant; first at "
                             f"rank {first}" if first else "no passage judged relevant",
                 metadata=_meta(judge, "judge: reciprocal rank", passages=passages,
                                raw=[t for _, t in checks]))


async def context_recall(record: SampleRecord, judge: Judge | None) -> Score | None:
    """Recall@k of the gold documents, else the share of the reference answer's claims the
    passages support."""
    if not record.retrieved:
        return None
    if record.gold_docs:
        from harness.retrieval.metrics import recall_at_k

        ids = _doc_ids(record)
        return Score(value=float(recall_at_k(ids, record.gold_docs, len(ids))),
                     metadata={"method": "gold: recall@k", "retrieved": ids})
    if judge is None:
        raise ValueError("this item names no gold documents and context_recall has no judge: "
                         "add judge: <model> to the scorer")
    if not record.target.strip():
        return None
    found = await claim_support(judge, record.input, record.target, record.context)
    if not found.claims:
        return None
    total = len(found.claims)
    return Score(value=found.supported / total, explanation=f"{found.supported} of {total} "
                 "claims of the reference answer supported by the retrieved passages",
                 metadata=_meta(judge, "judge: reference claims", supported=found.supported,
                                total=total, claims=found.verdicts, raw=found.raw))


METRICS = {
    "faithfulness": faithfulness,
    "answer_relevance": answer_relevance,
    "context_precision": context_precision,
    "context_recall": context_recall,
}
#: Metrics that cannot do without a judge (the context ones fall back on gold documents).
NEED_JUDGE = ("faithfulness", "answer_relevance")
