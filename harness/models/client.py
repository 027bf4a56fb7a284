"""Calling a model: one async function from (model, messages, params) to a Completion.

Every provider goes through LiteLLM, hosted or local, with one exception made for start-up:
OpenAI-compatible models (``openai/``, ``hosted_vllm/``) whose requests are proven equal to
LiteLLM's are sent without importing it, their bodies built by the ``openai`` SDK's transform
(``harness.models.openai_wire``, checked by ``tests/run/test_direct_route.py``). Such a model's
other calls take LiteLLM's own request and response translation over the harness's HTTP
session (``harness.models.provider_http``); every other provider ``litellm.acompletion``.
Retries, rate limits and the response cache are layers around this client
(``harness.models.retry``, ``harness.cache``).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from typing import Any, Protocol

from harness.config import ModelConfig
from harness.errors import ConfigError
from harness.models.pricing import Price, cached_prompt_tokens, lookup_price

__all__ = ["Client", "Completion", "LiteLLMClient", "ModelCallError", "Price", "lookup_price"]


@dataclass(frozen=True)
class Completion:
    """A model's answer and what it cost."""

    text: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    latency_s: float = 0.0
    cached: bool = False
    # Why the model stopped, as LiteLLM normalises it ("stop", "length", "content_filter"...),
    # and the model the provider says answered (it may differ from the one asked for).
    finish_reason: str | None = None
    response_model: str | None = None


class ModelCallError(Exception):
    """A call that failed; ``retryable`` says whether trying again could help, ``failover``
    that another replica of the model can take the retry at once (``harness.models.replicas``).
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        status: int | None = None,
        failover: bool = False,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status
        self.failover = failover


class Client(Protocol):
    async def complete(
        self,
        model: ModelConfig,
        messages: list[dict[str, str]],
        params: dict[str, Any],
        *,
        epoch: int = 0,
    ) -> Completion: ...


def retry_after_from_headers(headers: Any) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms`` or ``retry-after``), if any."""
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


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = (getattr(response, "headers", None)
               or getattr(exc, "litellm_response_headers", None) or {})
    return retry_after_from_headers(headers)


def retryable_status(status: int | None) -> bool:
    """Statuses worth sending again: rate limits, request timeouts, server errors."""
    return isinstance(status, int) and (status in (408, 429) or status >= 500)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text, or its type name when it has none."""
    text = str(exc).strip()
    # Some LiteLLM errors carry a whole traceback after their message ("Invalid response
    # object Traceback (most recent call last): ..."): the user's error line keeps the message.
    text = text.split("Traceback (most recent call last)")[0].strip()
    return text.splitlines()[0] if text else type(exc).__name__


def classify(exc: BaseException) -> ModelCallError:
    """Map a provider exception to a retryable-or-not error with the server's Retry-After."""
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int):
        status = getattr(getattr(exc, "response", None), "status_code", None)
    name = type(exc).__name__
    transient_names = ("Timeout", "APIConnectionError", "ServiceUnavailable", "RateLimit",
                       "InternalServerError", "BadGatewayError")
    retryable = (
        retryable_status(status)
        or any(t in name for t in transient_names)
        or isinstance(exc, (TimeoutError, ConnectionError))
    )
    return ModelCallError(
        f"{name}: {first_line(exc)}"[:500],
        retryable=retryable,
        retry_after=_retry_after(exc),
        status=status if isinstance(status, int) else None,
    )


# Per-call LiteLLM arguments that skip work the harness does not use: "no-log" keeps LiteLLM's
# logging callbacks from running. It is a LiteLLM argument, never sent to the provider. Its
# measured effect on LiteLLM's CPU per call is within noise (the logging payload is built all
# the same); see benchmarks/README.md for what else was tried and why none of it is enough.
_QUIET_CALL: dict[str, Any] = {"no-log": True}


class LiteLLMClient:
    """The production client: LiteLLM for every provider, the local one included.

    OpenAI-compatible models take the LiteLLM-free route where it is proven equal
    (``harness.models.openai_wire``), else LiteLLM's provider translation over the harness's
    own HTTP session (``harness.models.provider_http``); everything else calls
    ``litellm.acompletion``.
    """

    def __init__(self) -> None:
        self._litellm: Any = None
        self._prices: dict[str, Price | None] = {}
        self._routes: dict[tuple[str, str | None, str | None, str], Any] = {}
        self._direct: dict[tuple[str, str | None, str | None, str], Any] = {}
        self._sessions: Any = None

    def _lib(self) -> Any:
        if self._litellm is None:
            from harness.models._litellm import import_litellm

            self._litellm = import_litellm()
        return self._litellm

    def price(self, model: str) -> Price | None:
        """Per-token prices looked up once per model, not recomputed on every response."""
        if model not in self._prices:
            from harness.models.pricing import price_of

            self._prices[model] = price_of(model)
        return self._prices[model]

    def _direct_route(self, model: ModelConfig) -> Any:
        """The model's LiteLLM-free route (``harness.models.openai_wire``), resolved once, or
        None when LiteLLM must build its requests."""
        key = (model.model, model.api_base, model.api_key_env, model.transport)
        if key in self._direct:
            return self._direct[key]
        from harness.models.openai_wire import DIRECT_PROVIDERS

        route = None
        if model.transport == "auto" and model.model.partition("/")[0] in DIRECT_PROVIDERS \
                and not model.adapter:
            from harness.models import price_map
            from harness.models.openai_wire import resolve_direct
            from harness.models.pricing import price_from
            from harness.redaction import register_model

            register_model(model)
            table = price_map.price_table()
            try:
                key_value = api_key(model)
            except ConfigError:  # the call raises it, through LiteLLM's path
                table = None
            if table is not None:
                route = resolve_direct(model.model, model.api_base, key_value,
                                       table.aliases)
            if route is not None and model.model not in self._prices:
                found = (price_map.json_price(model.model, table) if price_map.usable()
                         else price_map.UNSURE)
                self._prices[model.model] = price_from(model.model, found)
            if route is not None and self._sessions is None:
                from harness.models.provider_http import Sessions

                self._sessions = Sessions()
        self._direct[key] = route
        return route

    def kwargs(self, model: ModelConfig, params: dict[str, Any]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"timeout": model.timeout, "num_retries": 0, **_QUIET_CALL,
                                  **params}
        if model.api_base:
            kwargs["api_base"] = model.api_base
        if model.adapter:  # the local provider loads it over the base (hf_adapters)
            from harness.models.hf_adapters import adapter_path

            kwargs["adapter"] = str(adapter_path(model.adapter))
        key = api_key(model)
        if key:
            kwargs["api_key"] = key
        return kwargs

    def sent_params(self, model: ModelConfig, params: dict[str, Any]) -> dict[str, Any]:
        """The parameters a call with ``params`` really sends (LiteLLM's mapping and drops)."""
        from harness.models.identity import sent_params

        direct = self._direct_route(model)
        taken = direct.optional_params(params) if direct is not None else None
        if taken is not None:
            return dict(taken)

        if model.model.startswith("hf/"):
            from harness.models.local_hf import register_local_provider

            register_local_provider()
        return sent_params(self._lib(), model, params)

    def _route(self, model: ModelConfig) -> Any:
        """The model's direct route (resolved once), or None for ``acompletion``."""
        key = (model.model, model.api_base, model.api_key_env, model.transport)
        if key not in self._routes:
            from harness.models.provider_http import Sessions, resolve_route

            if model.model.startswith("hf/"):  # once per model, before its first call
                from harness.models.local_hf import register_local_provider

                register_local_provider()
            from harness.redaction import register_model

            register_model(model)
            self._routes[key] = resolve_route(self._lib(), model, api_key(model))
            if self._routes[key] is not None and self._sessions is None:
                self._sessions = Sessions()
        return self._routes[key]

    async def aclose(self) -> None:
        """Close the HTTP session of the running event loop (call it before the loop ends)."""
        if self._sessions is not None:
            await self._sessions.aclose()

    async def complete(
        self,
        model: ModelConfig,
        messages: list[dict[str, str]],
        params: dict[str, Any],
        *,
        epoch: int = 0,
    ) -> Completion:
        direct = self._direct_route(model)
        if direct is not None:
            from harness.models.openai_wire import plain_messages

            taken = direct.optional_params(params)
            if taken is not None and plain_messages(messages):
                return await self._call_direct(model, direct, messages, taken)
        litellm = self._lib()
        route = self._route(model)
        optional = route.optional_params(params) if route is not None else None
        started = time.perf_counter()
        if route is not None and optional is not None:
            from harness.models.provider_http import post

            try:
                response = await post(self._sessions, route, messages, optional, model.timeout)
            except ModelCallError as error:
                raise redact(error, route.api_key) from None
        else:
            kwargs = self.kwargs(model, params)
            try:
                response = await litellm.acompletion(model=model.model, messages=messages,
                                                     **kwargs)
            except ConfigError:
                raise
            except Exception as exc:
                error = classify(exc)
                raise redact(error, kwargs.get("api_key")) from None
        latency = time.perf_counter() - started
        return self._completion(model, response, latency)

    async def _call_direct(self, model: ModelConfig, route: Any, messages: list[dict[str, str]],
                           optional: dict[str, Any]) -> Completion:
        """One call built and read without LiteLLM; an answer of a kind only LiteLLM's reader
        is known to read right (tool calls, a leading <think> block...) goes to that reader."""
        from harness.models.openai_wire import read_answer
        from harness.models.provider_http import read_response, send

        started = time.perf_counter()
        body = route.body(messages, optional)
        try:
            status, headers, content = await send(self._sessions, route.url, route.headers,
                                                  route.proxy, body, model.timeout)
        except ModelCallError as error:
            raise redact(error, route.api_key) from None
        latency = time.perf_counter() - started
        answer = read_answer(content)
        if answer is None:
            self._lib()
            reader = self._route(model)
            if reader is None:
                raise ModelCallError("APIError: unreadable answer", retryable=False)
            try:
                response = read_response(reader, status, headers, content, body, messages,
                                         optional)
            except ModelCallError as error:
                raise redact(error, route.api_key) from None
            return self._completion(model, response, latency)
        return Completion(
            text=answer.text, input_tokens=answer.input_tokens,
            output_tokens=answer.output_tokens,
            cost_usd=_cost(self.price(model.model), answer.input_tokens, answer.output_tokens,
                           answer.cached_tokens),
            latency_s=latency, finish_reason=answer.finish_reason, response_model=answer.model)

    def _completion(self, model: ModelConfig, response: Any, latency: float) -> Completion:
        choices = getattr(response, "choices", None)
        if not choices:  # a 200 with "choices": [] is an answer-less reply, not an IndexError
            raise ModelCallError("APIError: unreadable answer: the provider returned no "
                                 "choices", retryable=False)
        choice = choices[0]
        text = getattr(choice.message, "content", None) or ""
        # The local provider reports the time its batch took to generate: the model's service
        # time, not the time this request waited in the batch queue.
        hidden = getattr(response, "_hidden_params", None)
        service = hidden.get("harness_service_s") if isinstance(hidden, dict) else None
        if isinstance(service, (int, float)):
            latency = float(service)
        usage = getattr(response, "usage", None)
        tokens_in = getattr(usage, "prompt_tokens", None) if usage else None
        tokens_out = getattr(usage, "completion_tokens", None) if usage else None
        return Completion(
            text=text,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            cost_usd=_cost(self.price(model.model), tokens_in, tokens_out,
                           cached_prompt_tokens(usage)),
            latency_s=latency,
            finish_reason=_text_or_none(getattr(choice, "finish_reason", None)),
            response_model=_text_or_none(getattr(response, "model", None)),
        )


def _cost(price: Price | None, tokens_in: int | None, tokens_out: int | None,
          cached_in: int) -> float | None:
    """A call's cost in USD, or None when it cannot be counted (no price, no token counts, or
    counts so large the product is not finite): never a made-up zero."""
    if price is None or tokens_in is None or tokens_out is None:
        return None
    cost = price.cost(tokens_in, tokens_out, cached_in)
    return cost if math.isfinite(cost) else None


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def api_key(model: ModelConfig) -> str | None:
    """The key named by ``api_key_env``; a ConfigError (before any call) when it is unset."""
    if not model.api_key_env:
        return None
    key = os.environ.get(model.api_key_env)
    if not key:
        raise ConfigError(
            f"model {model.label}: environment variable {model.api_key_env} "
            "(api_key_env) is not set"
        )
    return key


def redact(error: ModelCallError, secret: str | None) -> ModelCallError:
    """The same error with every credential blanked out of its message.

    Error texts end up in results, reports and logs; some providers echo the key they were
    sent (or part of it) back in an authentication error, or the URL with its ``?key=``.
    ``secret``: the key this call used, blanked whatever variable it came from.
    """
    from harness.redaction import redact as redact_text
    from harness.redaction import register

    register([secret])
    text = redact_text(str(error))
    if text == str(error):
        return error
    return ModelCallError(text, retryable=error.retryable, retry_after=error.retry_after,
                          status=error.status, failover=error.failover)
