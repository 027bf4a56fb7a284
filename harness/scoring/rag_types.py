"""The RAG metrics as scorer types of the scoring stage.

Each metric of ``harness.scoring.rag`` is a type named after it, so a task file lists it by
name, with its judge model under ``judge:`` (a LiteLLM string or a model mapping, as in the
experiment's ``models:``)::

    scorers:
      - exact_match
      - {name: faithfulness, judge: openai/gpt-4o-mini}
      - {name: answer_relevance, judge: openai/gpt-4o-mini}
      - context_recall            # recall@k where items name gold documents
      - {name: context_precision, judge: {model: hf/smollm2-135m-instruct, max_tokens: 256}}

``context_precision`` and ``context_recall`` need no judge when the task names gold documents
(``gold_docs_field``); without either the task is refused when its scorers are built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.scoring.rag import METRICS, NEED_JUDGE
from harness.scoring.rag_judge import Judge, context_ask, judge_params
from harness.scoring.record import SampleRecord
from harness.scoring.registry import ScorerSpec, ScoringContext, register_scorer_type
from harness.scoring.score import ScorerFn

#: Part of each metric's scoring identity: raised when a prompt or a rule changes, so an old
#: scoring is not mistaken for one made with the new prompts.
PROMPTS_VERSION = 1


def _metric(spec: ScorerSpec) -> str:
    return spec.type


def spec_judge_model(spec: ScorerSpec) -> Any:
    """The judge a RAG metric's entry names (``ModelConfig``), or None; ValueError on a bad
    entry (the task file's check says where)."""
    from pydantic import ValidationError

    from harness.config import ModelConfig

    extra = set(spec.args) - {"judge"}
    if extra:
        raise ValueError(f"unknown key(s) for {_metric(spec)}: {', '.join(sorted(extra))} "
                         "(allowed: judge; for a rubric judge with this name, add type: judge)")
    model = spec.args.get("judge")
    if model is None:
        return None
    try:
        return ModelConfig.model_validate(model)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in ("judge", *first["loc"]))
        raise ValueError(f"{where}: {str(first.get('msg')).removeprefix('Value error, ')}"
                         ) from None


def _check(spec: ScorerSpec, task_file: Path) -> None:
    model = spec_judge_model(spec)
    if model is None and _metric(spec) in NEED_JUDGE:
        raise ValueError(f"{_metric(spec)} is judged by a model: add judge: <model> (e.g. "
                         f"{{name: {spec.name}, judge: openai/gpt-4o-mini}})")


def _describe(spec: ScorerSpec, task_file: Path) -> Any:
    return {"prompts_version": PROMPTS_VERSION}


def _build(spec: ScorerSpec, context: ScoringContext) -> ScorerFn:
    metric = _metric(spec)
    model = spec_judge_model(spec)
    judge = None
    if model is not None:
        judge = Judge(model=model, ask=context_ask(context), params=judge_params(model))
    elif metric in NEED_JUDGE:
        raise ValueError(f"{metric} needs judge: <model>")
    elif not getattr(context.task, "gold_docs_field", None):
        raise ValueError(f"{metric} needs judge: <model>, or gold documents "
                         "(gold_docs_field in the task file)")
    measure = METRICS[metric]

    async def scorer(record: SampleRecord) -> Any:
        return await measure(record, judge)  # type: ignore[operator]

    scorer.__name__ = metric
    return scorer


for _name in METRICS:
    register_scorer_type(_name, _build, check=_check, describe=_describe,
                         kind=lambda spec: "graded")


def judge_models(plan: Any) -> list[Any]:
    """The judge models of a plan's RAG metrics (``ModelConfig``), so the run can register
    their keys for redaction and count their calls with the other judges'."""
    out = []
    for task in plan.tasks.values():
        for spec in task.scorers:
            if spec.type in METRICS and spec.args.get("judge") is not None:
                out.append(spec_judge_model(spec))
    return out
