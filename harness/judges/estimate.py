"""What the judges of a run will cost, for ``harness estimate`` and the budget check.

A judge prompt is the rubric rendered with the sample and its answer. Where the response cache
already holds the answer, the prompt is rendered exactly and looked up in the cache too (a
re-run of a judged experiment makes no judge call, and is estimated so). Where the answer is
still to come, the grade is a call to make, its input measured by rendering the rubric for (up
to 64 of) those samples with a stand-in answer, plus the answer the model under test is
expected to write (its expected output per call, at most its max_tokens). The judge's output
is expected from the judge model's answers in the cache, else at its max_tokens.
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


class _Cached:
    """What the response cache already holds: a sample's answer (then its judge prompts are
    known exactly) and a judge's answer to a prompt (then that grade costs nothing)."""

    def __init__(self, plan: Any, cache: Any, client: Any = None) -> None:
        self.plan, self.cache = plan, cache
        self.keys = None
        if cache is not None:
            from harness.cached_client import CachedClient
            from harness.models.client import LiteLLMClient

            inner = client or LiteLLMClient()
            self.keys = CachedClient(inner, cache, inner if hasattr(inner, "sent_params")
                                     else None)

    def record(self, sample: Any) -> Any:
        """The record the judges will see, when the sample's answer is in the cache."""
        if self.keys is None:
            return None
        model = self.plan.models[sample.model]
        hit = self.cache.get(self.keys.key(model, list(sample.messages), dict(sample.params),
                                           sample.epoch))
        if hit is None:
            return None
        try:
            answer = self.plan.variants[sample.variant].parsers[sample.task](hit.text)
        except Exception:  # the stage makes this a scoring error: no judge call
            answer = None
        return planned_record(self.plan, sample, hit.text, answer)

    def answered(self, model: Any, messages: list[dict[str, str]], epoch: int) -> bool:
        return self.keys is not None and self.cache.get(
            self.keys.key(model, messages, judge_params(model), epoch)) is not None

    def tally(self, judge: Any, prompts: Sequence[list[dict[str, str]]],
              count: Any) -> tuple[int, int, float]:
        """(calls, cached, prompt tokens) of ``prompts`` known exactly, over the judge's
        epochs: a grade the cache holds is cached, any other is a call."""
        calls, cached, tokens = 0, 0, 0.0
        for messages in prompts:
            for epoch in range(judge.epochs):
                if self.answered(judge.model, messages, epoch):
                    cached += 1
                else:
                    calls += 1
                    tokens += count(messages)
        return calls, cached, tokens


def judge_rows(plan: Any, todo: Sequence[Any], model_rows: dict[str, Any],
               cache: Any, client: Any = None) -> list[ModelEstimate]:
    """One estimate row per judge (``harness.estimate.ModelEstimate``), for ``todo``'s
    samples (and the calibration rows, and every pair for pairwise). A sample whose answer
    the cache holds has its judge prompts rendered exactly, and a grade the cache holds too
    is counted as cached, not as a call (a re-run of a judged experiment costs nothing)."""
    judges = build_judges(plan)
    if judges is None:
        return []
    answer = _answer_tokens(plan, model_rows)
    known = _Cached(plan, cache, client)
    records = {s.sample_id: known.record(s) for s in todo}
    rows = []
    for judge in judges.judges:
        mine = [s for s in todo if judge in judges.by_task.get(s.task, ())]
        count, method = token_counter(judge.model)
        new = [s for s in mine if records[s.sample_id] is None]
        prompts = [count(judge.messages(planned_record(plan, s))) for s in new[:SAMPLED]]
        per_prompt = sum(prompts) / len(prompts) if prompts else 0.0
        calls = len(new) * judge.epochs
        tokens_in = judge.epochs * (per_prompt * len(new) + sum(answer[s.model] for s in new))
        exact = [judge.messages(records[s.sample_id]) for s in mine
                 if records[s.sample_id] is not None and records[s.sample_id].answer is not None]
        exact += [judge.messages(r.record) for t, rs in judges.calibration.items()
                  if judge in judges.by_task.get(t, ()) for r in rs]
        more, cached, more_tokens = known.tally(judge, exact, count)
        calls, tokens_in = calls + more, tokens_in + more_tokens
        rows.append(_row(f"judge {judge.name}", judge.model, calls, tokens_in, method, cache,
                         cached))
    if judges.pairwise is not None:
        rows.append(_pairwise_row(plan, judges, todo, answer, cache, known, records))
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
                  answer: dict[str, float], cache: Any, known: _Cached,
                  records: dict[str, Any]) -> ModelEstimate:
    judge = judges.pairwise
    assert judge is not None
    groups: dict[tuple[str, str, str, int], list[Any]] = {}
    for sample in plan.samples:  # a pair needs both answers; either may be new
        if sample.task in judges.pairwise_tasks and sample.variant in judges.pairwise_variants:
            groups.setdefault((sample.task, sample.model, sample.item.id, sample.epoch),
                              []).append(sample)
    fresh = {s.sample_id for s in todo}
    count, method = token_counter(judge.model)
    calls, cached, tokens_in, measured, prompt = 0, 0, 0.0, 0, 0
    for group in groups.values():
        if not any(s.sample_id in fresh for s in group):
            continue
        group = sorted(group, key=lambda s: judges.pairwise_variants.index(s.variant))
        for left, right in itertools.combinations(group, 2):
            a, b = records.get(left.sample_id), records.get(right.sample_id)
            if a is not None and b is not None:  # both answers known: the exact prompts
                both = [judge.messages(a, first or "", second or "")
                        for first, second in ((a.output, b.output), (b.output, a.output))]
                more, more_cached, more_tokens = known.tally(judge, both, count)
                calls, cached, tokens_in = (calls + more, cached + more_cached,
                                            tokens_in + more_tokens)
                continue
            if measured < SAMPLED:
                prompt = count(judge.messages(planned_record(plan, left), PLACEHOLDER,
                                              PLACEHOLDER))
                measured += 1
            calls += 2 * judge.epochs
            tokens_in += 2 * judge.epochs * (prompt + answer[left.model] + answer[right.model])
    label = "judge pairwise" if judge.name == "pairwise" else f"judge {judge.name} (pairwise)"
    return _row(label, judge.model, calls, tokens_in, method, cache, cached)


def _row(label: str, model: Any, calls: int, tokens_in: float, method: str,
         cache: Any, cached: int = 0) -> ModelEstimate:
    row = ModelEstimate(label, model.model, calls + cached, calls=calls, cached=cached,
                        local=_local(model),
                        input_tokens=round(tokens_in), tokens_counted=method,
                        latency_s=ASSUMED_LATENCY_S, judge=True)
    if cache is not None:
        _history(cache, model, row)
    cap = int(judge_params(model)["max_tokens"])
    per_call = min(row.output_expected, cap) if row.history else cap
    row.output_expected = per_call * calls
    row.output_upper = cap * calls
    if calls and not row.local:
        from harness.models.pricing import price_of

        row.price = price_of(model.model)
    return row
