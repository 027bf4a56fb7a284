"""Calling a model: one async function from (model, messages, params) to a Completion.

Every provider goes through ``litellm.acompletion``, hosted or local, so a test against a
loopback server exercises exactly the code path production uses. Retries, rate limits and the
response cache are layers around this client (``harness.models.retry``, ``harness.cache``).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from typing import Any, Protocol

from harness.config import ModelConfig
from harness.errors import ConfigError


@dataclass(frozen=True)
class Completion:
    """A model's answer and what it cost."""

    text: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    latency_s: float = 0.0
    cached: bool = False


class ModelCallError(Exception):
    """A call that failed; ``retryable`` says whether trying again could help."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status


class Client(Protocol):
    async def complete(
        self,
        model: ModelConfig,
        messages: list[dict[str, str]],
        params: dict[str, Any],
        *,
        epoch: int = 0,
    ) -> Completion: ...


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    for name in ("retry-after-ms", "retry-after"):
        value = headers.get(name) if hasattr(headers, "get") else None
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            from email.utils import parsedate_to_datetime

            try:
                seconds = parsedate_to_datetime(value).timestamp() - time.time()
            except (TypeError, ValueError):
                continue
        return seconds / 1000 if name.endswith("-ms") else max(0.0, seconds)
    return None


def classify(exc: BaseException) -> ModelCallError:
    """Map a provider exception to a retryable-or-not error with the server's Retry-After."""
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int):
        status = getattr(getattr(exc, "response", None), "status_code", None)
    name = type(exc).__name__
    transient_names = ("Timeout", "APIConnectionError", "ServiceUnavailable", "RateLimit",
                       "InternalServerError", "BadGatewayError")
    retryable = (
        (isinstance(status, int) and (status == 429 or status == 408 or status >= 500))
        or any(t in name for t in transient_names)
        or isinstance(exc, (TimeoutError, ConnectionError))
    )
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else name
    return ModelCallError(
        f"{name}: {message}"[:500],
        retryable=retryable,
        retry_after=_retry_after(exc),
        status=status if isinstance(status, int) else None,
    )


class LiteLLMClient:
    """The production client: LiteLLM for every provider, the local one included."""

    def __init__(self) -> None:
        self._litellm: Any = None
        self._prices: dict[str, tuple[float, float] | None] = {}

    def _lib(self) -> Any:
        if self._litellm is None:
            from harness.models._litellm import import_litellm

            self._litellm = import_litellm()
        return self._litellm

    def _price(self, model: str) -> tuple[float, float] | None:
        """Per-token prices looked up once per model, not recomputed on every response."""
        if model not in self._prices:
            table = self._lib().model_cost
            entry = table.get(model) or table.get(model.split("/", 1)[-1])
            price = None
            if entry and "input_cost_per_token" in entry:
                price = (float(entry.get("input_cost_per_token") or 0.0),
                         float(entry.get("output_cost_per_token") or 0.0))
            self._prices[model] = price
        return self._prices[model]

    def kwargs(self, model: ModelConfig, params: dict[str, Any]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"timeout": model.timeout, "num_retries": 0, **params}
        if model.api_base:
            kwargs["api_base"] = model.api_base
        if model.api_key_env:
            key = os.environ.get(model.api_key_env)
            if not key:
                raise ConfigError(
                    f"model {model.label}: environment variable {model.api_key_env} "
                    "(api_key_env) is not set"
                )
            kwargs["api_key"] = key
        return kwargs

    async def complete(
        self,
        model: ModelConfig,
        messages: list[dict[str, str]],
        params: dict[str, Any],
        *,
        epoch: int = 0,
    ) -> Completion:
        litellm = self._lib()
        if model.model.startswith("hf/"):
            from harness.models.local_hf import register_local_provider

            register_local_provider()
        kwargs = self.kwargs(model, params)
        started = time.perf_counter()
        try:
            response = await litellm.acompletion(model=model.model, messages=messages, **kwargs)
        except ConfigError:
            raise
        except Exception as exc:
            raise classify(exc) from exc
        latency = time.perf_counter() - started
        choice = response.choices[0]
        text = getattr(choice.message, "content", None) or ""
        usage = getattr(response, "usage", None)
        tokens_in = getattr(usage, "prompt_tokens", None) if usage else None
        tokens_out = getattr(usage, "completion_tokens", None) if usage else None
        price = self._price(model.model)
        cost = None
        if price is not None and tokens_in is not None and tokens_out is not None:
            cost = tokens_in * price[0] + tokens_out * price[1]
        return Completion(
            text=text,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            cost_usd=cost if cost is None or math.isfinite(cost) else None,
            latency_s=latency,
        )
