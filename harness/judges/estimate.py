"""What the judges of a run will cost, for ``harness estimate`` and the budget check.

Judge calls cannot be looked up in the response cache before the answers they grade exist,
so every grade is counted as a call to make (a re-run's real cost is lower: its judge
answers come from the cache). A judge prompt is the rubric rendered with the sample, so its
input is measured by rendering the rubric for (up to 64 of) the run's samples with a stand-in
answer, plus the answer the model under test is expected to write (its expected output per
call, at most its max_tokens); the judge's output is expected from the judge model's answers
in the cache, else at its max_tokens.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from harness.estimate import (
    ASSUMED_LATENCY_S,
    ModelEstimate,
    _history,
    _local,
    token_counter,
)
from harness.judges.client import judge_params
from harness.judges.plan import PLACEHOLDER, JudgePlan, build_judges, planned_record

SAMPLED = 64  # prompts rendered per judge to measure the mean prompt


def judge_rows(plan: Any, todo: Sequence[Any], model_rows: dict[str, Any],
               cache: Any) -> list[ModelEstimate]:
    """One estimate row per judge (``harness.estimate.ModelEstimate``), for ``todo``'s
    samples (and the calibration rows, and every pair for pairwise)."""
    judges = build_judges(plan)
    if judges is None:
        return []
    answer = _answer_tokens(plan, model_rows)
    rows = []
    for judge in judges.judges:
        mine = [s for s in todo if judge in judges.by_task.get(s.task, ())]
        count, method = token_counter(judge.model)
        prompts = [count(judge.messages(planned_record(plan, s))) for s in mine[:SAMPLED]]
        per_prompt = sum(prompts) / len(prompts) if prompts else 0.0
        extra = [count(judge.messages(r.record)) for t, rs in judges.calibration.items()
                 if judge in judges.by_task.get(t, ()) for r in rs]
        calls = (len(mine) + len(extra)) * judge.epochs
        tokens_in = judge.epochs * (per_prompt * len(mine) + sum(answer[s.model] for s in mine)
                                    + sum(extra))
        rows.append(_row(f"judge {judge.name}", judge.model, calls, tokens_in, method, cache))
    if judges.pairwise is not None:
        rows.append(_pairwise_row(plan, judges, todo, answer, cache))
    return rows


def _answer_tokens(plan: Any, model_rows: dict[str, Any]) -> dict[str, float]:
    """Tokens the model under test is expected to write per answer: its estimate's expected
    output per call (cached history, else max_tokens)."""
    out: dict[str, float] = {}
    for label, row in model_rows.items():
        cap = plan.models[label].max_tokens or plan.experiment.max_tokens
        out[label] = row.output_expected / row.calls if row.calls else float(cap)
    return out


def _pairwise_row(plan: Any, judges: JudgePlan, todo: Sequence[Any],
                  answer: dict[str, float], cache: Any) -> ModelEstimate:
    judge = judges.pairwise
    assert judge is not None
    groups: dict[tuple[str, str, str, int], list[Any]] = {}
    for sample in plan.samples:  # a pair needs both answers; either may be new
        if sample.task in judges.pairwise_tasks and sample.variant in judges.pairwise_variants:
            groups.setdefault((sample.task, sample.model, sample.item.id, sample.epoch),
                              []).append(sample)
    fresh = {s.sample_id for s in todo}
    count, method = token_counter(judge.model)
    calls, tokens_in, measured = 0, 0.0, 0
    for group in groups.values():
        if not any(s.sample_id in fresh for s in group):
            continue
        pairs = len(list(itertools.combinations(group, 2)))
        if not pairs:
            continue
        if measured < SAMPLED:
            prompt = count(judge.messages(planned_record(plan, group[0]), PLACEHOLDER,
                                          PLACEHOLDER))
            measured += 1
        calls += 2 * pairs * judge.epochs
        tokens_in += 2 * pairs * judge.epochs * (prompt + 2 * answer[group[0].model])
    label = "judge pairwise" if judge.name == "pairwise" else f"judge {judge.name} (pairwise)"
    return _row(label, judge.model, calls, tokens_in, method, cache)


def _row(label: str, model: Any, calls: int, tokens_in: float, method: str,
         cache: Any) -> ModelEstimate:
    row = ModelEstimate(label, model.model, calls, calls=calls, local=_local(model),
                        input_tokens=round(tokens_in), tokens_counted=method,
                        latency_s=ASSUMED_LATENCY_S, judge=True)
    if cache is not None:
        _history(cache, model, row)
    cap = int(judge_params(model)["max_tokens"])
    per_call = min(row.output_expected, cap) if row.history else cap
    row.output_expected = per_call * calls
    row.output_upper = cap * calls
    if calls and not row.local:
        from harness.models._litellm import import_litellm
        from harness.models.client import lookup_price

        row.price = lookup_price(import_litellm(), model.model)
    return row
