"""The RAG metrics' judge calls, which an estimate cannot count before the answers exist.

``faithfulness`` asks its judge for the claims of each answer, then once per claim; a judged
``context_recall`` does the same for the reference answer; ``context_precision`` asks once per
retrieved passage of an item without gold documents; ``answer_relevance`` once per answer.
How many claims an answer holds is unknown until it is written, so these calls are not in the
estimate's rows or its total. Saying so, with the rule and the count known so far, keeps the
estimate (and the ``max_cost_usd`` check made from it) from looking complete when it is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Unestimated:
    """One RAG metric's judge calls left out of an estimate."""

    task: str
    metric: str
    model: str
    rule: str
    known: str  # the calls countable now, in words ("at least 40 calls", "40 calls")

    @property
    def hosted(self) -> bool:
        return not self.model.startswith("hf/")

    def sentence(self) -> str:
        return (f"{self.metric} (task {self.task}, judge {self.model}): {self.rule}; here "
                f"{self.known} (any the response cache holds cost nothing)")


def _calls(metric: str, samples: Sequence[Any]) -> tuple[str, str] | None:
    """The metric's rule in words and what can be counted of it for ``samples``."""
    with_passages = [s for s in samples if s.retrieved]
    ungold = [s for s in with_passages if not s.item.gold_docs]
    if metric == "answer_relevance":
        return "1 call per answer", f"up to {len(samples)} calls"
    if metric == "faithfulness":
        return ("1 call per answer with retrieved passages, plus 1 per claim the judge finds "
                "in it (unknown before the answer)", f"at least {len(with_passages)} calls")
    if metric == "context_precision":
        passages = sum(len(s.retrieved) for s in ungold)
        return ("1 call per retrieved passage of an item without gold documents",
                f"{passages} calls")
    if metric == "context_recall":
        return ("1 call per item without gold documents, plus 1 per claim of its reference "
                "answer", f"at least {len(ungold)} calls")
    return None


def unestimated(plan: Any, todo: Sequence[Any]) -> list[Unestimated]:
    """The RAG metrics of the plan's tasks that call a judge, for the samples ``todo``."""
    from harness.scoring.rag import METRICS
    from harness.scoring.rag_types import spec_judge_model

    by_task: dict[str, list[Any]] = {}
    for sample in todo:
        by_task.setdefault(sample.task, []).append(sample)
    out = []
    for name, task in plan.tasks.items():
        mine = by_task.get(name, [])
        for spec in task.scorers:
            model = spec_judge_model(spec) if spec.type in METRICS else None
            described = _calls(spec.type, mine) if model is not None and mine else None
            if described is not None:
                out.append(Unestimated(name, spec.name, model.model, *described))
    return out
