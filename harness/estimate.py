"""What a run will cost before it pays anything: calls, tokens, dollars and time.

Planning renders every prompt before any call (``harness.plan``), so the messages are known.
From them, without calling a model:

- *calls*: the samples left once the response cache has answered what it can and identical
  requests of the run are counted once (they share one call). Keys come from the same
  ``CachedClient.key`` the run uses, so "cached" here means served from the cache there;
- *input tokens* of those calls, counted with the model's tokenizer where LiteLLM ships one
  offline (tiktoken for OpenAI models; the bundled tokenizers it selects for DeepSeek and
  Claude 2), and otherwise approximated, said as ``approx``: Claude 3 and later with the
  Claude 2 tokenizer LiteLLM ships (theirs is not published), others with tiktoken's
  cl100k. Nothing is ever downloaded: LiteLLM would fetch some tokenizers (Llama, Cohere)
  from the Hub, so those are approximated instead. Local ``hf/`` models: characters / 4,
  also ``approx``;
- *output tokens*: the mean of the answers the cache holds for that model (per model: the
  cache does not record the task), capped at each call's ``max_tokens``; without history the
  expectation *is* ``max_tokens``. The upper bound is always the sum of ``max_tokens``;
- *price* from LiteLLM's price map, once per model; a model it does not know is ``unknown``
  (never $0); a local model costs $0;
- *time* from the cache's mean latency for the model (else an assumed 2 s, said so), the
  concurrency (the run's and the model's cap), and the model's ``rpm`` / ``tpm``. It is the
  time without 429s: a rough guide, not a promise.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from harness.config import ModelConfig
from harness.plan import Plan, Sample

ASSUMED_LATENCY_S = 2.0


@dataclass
class ModelEstimate:
    label: str
    model: str
    samples: int
    calls: int = 0
    cached: int = 0  # answered from the response cache
    shared: int = 0  # identical to another request of the run: one call serves both
    input_tokens: int = 0
    tokens_counted: str = "tiktoken"  # or "model tokenizer", "approx"
    output_expected: float = 0.0
    output_upper: int = 0
    history: int = 0  # answers of this model in the cache the expectation is drawn from
    local: bool = False
    price: Any = None  # harness.models.client.Price, None when unknown
    latency_s: float = ASSUMED_LATENCY_S
    latency_from_history: bool = False
    seconds: float = 0.0
    judge: bool = False  # a judge's calls (harness.judges.estimate): no samples of its own

    @property
    def cost_expected(self) -> float | None:
        return self._cost(self.output_expected)

    @property
    def cost_upper(self) -> float | None:
        return self._cost(self.output_upper)

    def _cost(self, output: float) -> float | None:
        if self.local or self.calls == 0:
            return 0.0
        if self.price is None:
            return None
        return float(self.input_tokens * self.price.input + output * self.price.output)


@dataclass
class Estimate:
    experiment: str
    models: list[ModelEstimate] = field(default_factory=list)
    seconds: float = 0.0
    cache: bool = True
    # RAG metrics' judge calls that cannot be counted before the answers exist
    # (``harness.judges.rag_estimate.Unestimated``): not in the rows nor the total.
    unestimated: list[Any] = field(default_factory=list)

    @property
    def samples(self) -> int:
        return sum(m.samples for m in self.models if not m.judge)

    @property
    def calls(self) -> int:
        return sum(m.calls for m in self.models)

    @property
    def unknown_price(self) -> list[str]:
        return [m.label for m in self.models if m.cost_expected is None]

    @property
    def cost_expected(self) -> float | None:
        """The expected total in USD; None when a model with calls to make has no price."""
        return None if self.unknown_price else sum(m.cost_expected or 0.0 for m in self.models)

    @property
    def cost_upper(self) -> float | None:
        return None if self.unknown_price else sum(m.cost_upper or 0.0 for m in self.models)


def estimate_plan(plan: Plan, skip: Iterable[str] = (), client: Any = None) -> Estimate:
    """The estimate for the samples of ``plan`` not in ``skip`` (a resume's finished ones).

    ``client`` is the run's innermost client (default: LiteLLM's): it says which parameters a
    call really sends, which the cache key holds. Opens the response cache read-mostly;
    calls no model.
    """
    from harness.cache import ResponseCache, cache_file
    from harness.cached_client import CachedClient

    experiment = plan.experiment
    skipped = set(skip)
    todo = [s for s in plan.samples if s.sample_id not in skipped]
    estimate = Estimate(experiment.name, cache=experiment.cache)
    per_model = {label: ModelEstimate(label, m.model, 0, local=_local(m))
                 for label, m in plan.models.items()}
    fresh: dict[str, list[Sample]] = {label: [] for label in plan.models}
    cache = ResponseCache.open(cache_file(experiment.cache_dir)) if experiment.cache else None
    try:
        if cache is None:
            for sample in todo:
                per_model[sample.model].samples += 1
                fresh[sample.model].append(sample)
        else:
            if client is None:
                from harness.models.client import LiteLLMClient

                client = LiteLLMClient()
            mapper = client if hasattr(client, "sent_params") else None
            keys = CachedClient(client, cache, mapper)
            seen: set[str] = set()
            sample_keys = [keys.key(plan.models[sample.model], list(sample.messages),
                                    dict(sample.params), sample.epoch) for sample in todo]
            stored = cache.stored(sample_keys)
            for sample, key in zip(todo, sample_keys, strict=True):
                row = per_model[sample.model]
                row.samples += 1
                if key in seen:
                    row.shared += 1
                elif key in stored:
                    row.cached += 1
                else:
                    fresh[sample.model].append(sample)
                seen.add(key)
            for label, row in per_model.items():
                _history(cache, plan.models[label], row)
        for label, row in per_model.items():
            _fill(row, plan.models[label], fresh[label], experiment.max_tokens)
            row.seconds = _seconds(row, plan.models[label], experiment.concurrency)
        estimate.models = list(per_model.values())
        rubric_in_tasks = any(spec.type == "judge" for task in plan.tasks.values()
                              for spec in task.scorers)  # a task file's type: judge too
        if experiment.judges or experiment.pairwise is not None or rubric_in_tasks:
            from harness.judges.estimate import judge_rows

            for row in judge_rows(plan, todo, per_model, cache, client):
                row.seconds = _seconds(row, _judge_model(plan, row), experiment.concurrency)
                estimate.models.append(row)
        if any("judge" in spec.args for task in plan.tasks.values() for spec in task.scorers):
            from harness.judges.rag_estimate import unestimated

            estimate.unestimated = unestimated(plan, todo)
    finally:
        if cache is not None:
            cache.close()
    busy = sum(m.calls * m.latency_s for m in estimate.models) / experiment.concurrency
    estimate.seconds = max([busy, *(m.seconds for m in estimate.models)])
    return estimate


def _judge_model(plan: Any, row: ModelEstimate) -> ModelConfig:
    """The model of a judge's estimate row (its limits set how fast its calls can go): the
    experiment's judges, the pairwise judge, a task file's judges, or a model under test."""
    from harness.preflight_judges import judge_models

    return next(m for m in [*judge_models(plan), *plan.experiment.models]
                if m.model == row.model)


def _local(model: ModelConfig) -> bool:
    return model.model.startswith("hf/")


def _history(cache: Any, model: ModelConfig, row: ModelEstimate) -> None:
    """Mean output tokens and latency of the answers the cache holds for the model."""
    if cache.db is None:
        return
    try:
        found = cache.db.execute(
            "SELECT count(output_tokens), avg(output_tokens), avg(latency_s) FROM responses "
            "WHERE model = ? AND output_tokens IS NOT NULL", (model.model,)).fetchone()
    except sqlite3.Error:
        return
    if found and found[0]:
        row.history = int(found[0])
        row.output_expected = float(found[1])  # per call, until _fill scales it
        if found[2]:
            row.latency_s = float(found[2])
            row.latency_from_history = True


def _fill(row: ModelEstimate, model: ModelConfig, calls: list[Sample], default_max: int) -> None:
    row.calls = len(calls)
    per_call = row.output_expected
    row.output_expected = 0.0
    if not calls:
        return
    count, row.tokens_counted = token_counter(model)
    for sample in calls:
        cap = int(sample.params.get("max_tokens") or default_max)
        row.output_upper += cap
        row.output_expected += min(per_call, cap) if row.history else cap
        row.input_tokens += count(list(sample.messages))
    if not row.local:
        from harness.models.pricing import price_of

        row.price = price_of(model.model)


def _seconds(row: ModelEstimate, model: ModelConfig, concurrency: int) -> float:
    if not row.calls:
        return 0.0
    in_flight = min(model.max_concurrency or concurrency, concurrency)
    rpm, tpm = model.rpm, model.tpm
    if model.deployments:  # replicas: their caps and rates add up (harness.models.replicas)
        in_flight = min(in_flight, sum(d.max_concurrency or concurrency
                                       for d in model.deployments))
        rpm = _least(rpm, _total([d.rpm for d in model.deployments]))
        tpm = _least(tpm, _total([d.tpm for d in model.deployments]))
    seconds = row.calls * row.latency_s / in_flight
    if rpm:
        seconds = max(seconds, row.calls / rpm * 60)
    if tpm:
        seconds = max(seconds, (row.input_tokens + row.output_expected) / tpm * 60)
    return seconds


def _total(rates: list[float | None]) -> float | None:
    """The replicas' rate together; None (no limit) when any replica has none."""
    return None if any(r is None for r in rates) else sum(r for r in rates if r is not None)


def _least(a: float | None, b: float | None) -> float | None:
    return min(a, b) if a and b else (a or b)


Counter = Callable[[list[dict[str, str]]], int]
_OPENAI_PROVIDERS = {"openai", "azure", "text-completion-openai", "azure_text"}
_BUNDLED = {"anthropic", "deepseek"}  # tokenizers LiteLLM ships in its wheel


def approx_tokens(messages: list[dict[str, str]]) -> int:
    return sum(len(m.get("content") or "") for m in messages) // 4 + 3 * len(messages) + 3


def byte_bound_tokens(messages: list[dict[str, str]]) -> int:
    """More tokens than any tokenizer the estimate uses can count: BPE tokens and LiteLLM's
    chat overheads (a few per message) never outnumber twice the bytes plus 8 per turn."""
    return sum(2 * len((m.get("content") or "").encode()) + 2 * len(m.get("role") or "") + 8
               for m in messages) + 8


# Set by :func:`bound_counting`: token counts are upper bounds, no tokenizer is loaded.
_bound = ContextVar("harness_estimate_bound", default=False)


@contextmanager
def bound_counting() -> Iterator[None]:
    """Estimates made inside count input tokens with :func:`byte_bound_tokens`: an estimate
    that stays under a limit this way stays under it when counted exactly, and no tokenizer
    (nor LiteLLM, which supplies them) has to be loaded for a pre-run check."""
    token = _bound.set(True)
    try:
        yield
    finally:
        _bound.reset(token)


def token_counter(model: ModelConfig) -> tuple[Counter, str]:
    """A token counter for the model's messages and how exact it is (never downloads)."""
    if _local(model):
        return approx_tokens, "approx"
    if _bound.get():
        return byte_bound_tokens, "upper bound"
    from harness.models._litellm import import_litellm

    litellm = import_litellm()
    provider, _, name = model.model.partition("/")
    exact = provider in _OPENAI_PROVIDERS
    try:
        from litellm.utils import huggingface_tokenizer_kind

        kind = huggingface_tokenizer_kind(name)
    except Exception:  # an older or newer LiteLLM: only OpenAI's own tokenizer is trusted
        kind = None
    if kind is not None and kind not in _BUNDLED:
        exact = False  # LiteLLM would download this one from the Hub
    elif kind in _BUNDLED:
        exact = True
    counted_as = name if exact else "gpt-3.5-turbo"  # cl100k: a fair approximation offline
    if kind == "anthropic" and not re.search(r"claude-(2|instant)", name):
        exact = False  # LiteLLM ships Claude 2's tokenizer; later Claudes' is unpublished

    def count(messages: list[dict[str, str]]) -> int:
        try:
            return int(litellm.token_counter(model=counted_as, messages=messages))
        except Exception:
            return approx_tokens(messages)

    method = ("tiktoken" if provider in _OPENAI_PROVIDERS else "model tokenizer") if exact \
        else "approx"
    return count, method


# --- the table ``harness estimate`` and ``harness run --dry-run`` print ---------------------

def money(value: float | None) -> str:
    if value is None:
        return "unknown"
    return f"${value:.4f}" if value < 100 else f"${value:,.2f}"


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _price(row: ModelEstimate) -> str:
    if row.local:
        return "local ($0)"
    if row.calls == 0:
        return "-"
    if row.price is None:
        return "unknown"
    return f"${row.price.input * 1e6:.2f} / ${row.price.output * 1e6:.2f}"


def format_estimate(estimate: Estimate) -> str:
    from harness.report.tables import text_table

    rows = []
    for m in estimate.models:
        output = f"{m.output_expected:,.0f} / {m.output_upper:,}"
        rows.append([m.label, m.samples, m.cached, m.shared, m.calls,
                     f"{m.input_tokens:,}" + (" approx" if m.tokens_counted == "approx" else ""),
                     output, _price(m), money(m.cost_expected), money(m.cost_upper),
                     duration(m.seconds)])
    table = text_table(["model", "samples", "cached", "shared", "calls", "tokens in",
                        "tokens out (expected / max)", "$ per 1M in / out", "cost expected",
                        "cost max", "time"], rows)
    lines = [f"estimate for {estimate.experiment}: {estimate.samples} samples, "
             f"{estimate.calls} calls to make" + ("" if estimate.cache else " (cache off)"),
             "", table, ""]
    if estimate.unknown_price:
        known = [m for m in estimate.models if m.cost_expected is not None and m.calls]
        total = (f"total: unknown (no price in LiteLLM's map for "
                 f"{', '.join(estimate.unknown_price)})")
        if known:
            total += (f"; the others {money(sum(m.cost_expected or 0.0 for m in known))} "
                      f"expected, at most {money(sum(m.cost_upper or 0.0 for m in known))}")
    else:
        total = (f"total: {money(estimate.cost_expected)} expected, at most "
                 f"{money(estimate.cost_upper)}")
    total += f"; about {duration(estimate.seconds)}"
    if estimate.unestimated:
        total += "; not counting the RAG judge calls below"
    lines.append(total)
    lines += _notes(estimate)
    if estimate.unestimated:
        lines += ["not counted above (how many calls depends on the answers; max_cost_usd "
                  "still stops the run when what it spends reaches the budget):",
                  *(f"- {u.sentence()}" for u in estimate.unestimated)]
    return "\n".join(lines)


def _notes(estimate: Estimate) -> list[str]:
    notes = []
    for m in estimate.models:
        if not m.calls:
            continue
        counted = {"tiktoken": "counted with tiktoken",
                   "model tokenizer": "counted with the model's tokenizer",
                   "approx": "approximate (no offline tokenizer for this model)",
                   "upper bound": "an upper bound (twice the bytes)"}[m.tokens_counted]
        output = (f"expected from the mean of {m.history} cached answers of this model "
                  "(per model, not per task)" if m.history
                  else "expected at max_tokens (no answers of this model in the cache)")
        latency = (f"mean latency {m.latency_s:.2f} s from the cache" if m.latency_from_history
                   else f"latency assumed {m.latency_s:.0f} s (no history)")
        judged = ("; a grade of an answer not yet in the cache is counted as a call (its "
                  "judge prompt cannot be looked up before the answer exists)" if m.judge else "")
        notes.append(f"- {m.label}: input tokens {counted}; output tokens {output}; "
                     f"{latency}{judged}")
    return notes
