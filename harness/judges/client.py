"""Judge calls: the run's own client stack, with the judge's spending kept apart.

A judge is a model like any other, so its calls go through the stack every call of the run
goes through (``harness.client_stack.build_client``: response cache, retries with back-off,
per-model limits, LiteLLM or the in-process provider): a re-run or ``harness score`` of the
same judge pays nothing, a 429 is waited out, and ``hf/`` models or a loopback ``api_base``
work as judge as they do as models under test. What differs is the bookkeeping: a judge's
tokens and dollars are counted per judge in :class:`JudgeUsage`, never in the samples'
``cost_usd``, so the report can say what the models under test cost and, separately, what
grading them cost.

``JudgeClient.ask`` is the ``ask(model_spec, messages, params) -> Completion`` callable that
metric code taking "an ask-like async callable" (RAG faithfulness) receives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from harness.models.client import Completion

if TYPE_CHECKING:
    from harness.config import ExperimentConfig, ModelConfig
    from harness.models.client import Client

# A judge reasons before its verdict: the run's default of 256 tokens would cut it short.
DEFAULT_MAX_TOKENS = 512


@dataclass
class JudgeUsage:
    """One judge's calls and spending. ``calls`` counts every request (cached ones too),
    ``cost_usd`` only answers paid for now (a cached answer was paid for by an earlier run),
    ``unpriced`` fresh answers of a model LiteLLM has no price for (so the cost is a floor)."""

    model: str = ""
    calls: int = 0
    cached: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    unpriced: int = 0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["cost_usd"] = round(self.cost_usd, 8)
        return out


def judge_model(spec: ModelConfig | str | Mapping[str, Any]) -> ModelConfig:
    """A judge model from a LiteLLM string, a model mapping or a ``ModelConfig``."""
    from harness.config import ModelConfig

    if isinstance(spec, ModelConfig):
        return spec
    return ModelConfig.model_validate(spec)


def judge_params(model: ModelConfig, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What a judge call sends: greedy and room to reason unless the model or call says
    otherwise; the model's ``params`` and then the call's own win."""
    out: dict[str, Any] = {
        "temperature": 0.0 if model.temperature is None else model.temperature,
        "max_tokens": model.max_tokens or DEFAULT_MAX_TOKENS,
    }
    out.update(model.params)
    out.update(params or {})
    return out


class JudgeClient:
    """Sends judge calls through ``stack`` and keeps their usage per judge.

    ``progress`` (a ``harness.progress.Progress``), when given, counts each judge call in the
    progress line, apart from the samples. Build one on the run's stack with
    ``JudgeClient(stack, progress=progress)``, or a stack of its own with :meth:`open` (then
    :meth:`aclose` it inside the event loop that used it).
    """

    def __init__(self, stack: Client, *, progress: Any = None) -> None:
        self.stack = stack
        self.progress = progress
        self.usage: dict[str, JudgeUsage] = {}
        self._owned: tuple[Any, Any] | None = None  # (cache, inner client) when opened here

    @classmethod
    def open(cls, experiment: ExperimentConfig | None = None, *, client: Client | None = None,
             progress: Any = None) -> JudgeClient:
        """A judge client on a stack of its own, built like a run's (``build_client``) from
        ``experiment``'s settings (cache, retries, concurrency), or the defaults."""
        from harness.client_stack import build_client

        if experiment is None:
            experiment = _default_experiment()
        stack, cache, inner = build_client(experiment, client)
        judge = cls(stack, progress=progress)
        judge._owned = (cache, inner)
        return judge

    async def aclose(self) -> None:
        if self._owned is None:
            return
        cache, inner = self._owned
        self._owned = None
        close = getattr(inner, "aclose", None)
        if close is not None:
            await close()
        if cache is not None:
            cache.close()

    async def ask(self, model_spec: ModelConfig | str | Mapping[str, Any],
                  messages: list[dict[str, str]], params: Mapping[str, Any] | None = None,
                  *, epoch: int = 0, judge: str | None = None) -> Completion:
        """One judge call. ``epoch`` separates the answers of a sampled judge (temperature
        above 0) in the cache; ``judge`` names whose usage it counts under (default: the
        model's label). Raises what the stack raises (``ModelCallError`` after retries)."""
        model = judge_model(model_spec)
        usage = self.usage.setdefault(judge or model.label, JudgeUsage(model=model.model))
        usage.calls += 1
        try:
            completion = await self.stack.complete(model, list(messages),
                                                   judge_params(model, params), epoch=epoch)
        except Exception:
            usage.errors += 1
            self._tell(cost=0.0, cached=False, error=True)
            raise
        usage.input_tokens += completion.input_tokens or 0
        usage.output_tokens += completion.output_tokens or 0
        spent = 0.0
        if completion.cached:
            usage.cached += 1
        elif completion.cost_usd is None:
            usage.unpriced += 1
        else:
            spent = completion.cost_usd
            usage.cost_usd += spent
        self._tell(cost=spent, cached=completion.cached, error=False)
        return completion

    def _tell(self, *, cost: float, cached: bool, error: bool) -> None:
        tell = getattr(self.progress, "judge_update", None)
        if tell is not None:
            tell(cost=cost, cached=cached, error=error)

    def summary(self) -> dict[str, dict[str, Any]]:
        """Usage per judge, for the manifest (``judge_usage``) and the report."""
        return {name: usage.as_dict() for name, usage in sorted(self.usage.items())}

    @property
    def cost_usd(self) -> float:
        return sum(u.cost_usd for u in self.usage.values())


def _default_experiment() -> ExperimentConfig:
    from harness.config import ExperimentConfig

    return ExperimentConfig.model_validate(
        {"tasks": ["none"], "variants": ["none"], "models": ["none/none"]})


async def ask(model_spec: ModelConfig | str | Mapping[str, Any],
              messages: list[dict[str, str]], params: Mapping[str, Any] | None = None,
              *, epoch: int = 0) -> Completion:
    """One judge call on a client stack of its own (default settings: the response cache in
    ``$HARNESS_CACHE_DIR``, retries, limits), opened and closed around the call. For many
    calls, open one :class:`JudgeClient` and call its ``ask``."""
    client = JudgeClient.open()
    try:
        return await client.ask(model_spec, messages, params, epoch=epoch)
    finally:
        await client.aclose()
