"""The OpenAI chat-completions wire format without LiteLLM: requests LiteLLM would send, built
by the ``openai`` SDK's own transform, and the common answers read as LiteLLM reads them.

Importing LiteLLM costs 2-4 s and ~190 MB before the first request (``benchmarks/README.md``);
for ``openai/`` and ``hosted_vllm/`` models what LiteLLM sends is, for a well-defined class of
models and parameters, ``{"model", "messages", **params}`` passed through the SDK's
``chat.completions.create`` transform (which LiteLLM's OpenAI handler also applies last). This
module takes exactly that class and declines everything else, which then goes through LiteLLM
as before (``harness.models.provider_http``, else ``acompletion``):

- models: an ``openai/`` model LiteLLM reads with its plain GPT config, i.e. not an o-series
  or GPT-5/6 reasoning model (those rename ``max_tokens`` and drop ``temperature``) nor a
  price-map alias (LiteLLM sends the row's own name); any ``hosted_vllm/`` model;
- parameters: :data:`TAKEN_PARAMS`, which every such config passes on unchanged;
- messages: plain ``{"role", "content"}`` turns of text;
- setup: no LiteLLM global settings in play, no ``USE_LITELLM_PROXY``, no OpenAI organisation
  or project in the environment (the SDK would add headers), an API base LiteLLM would join
  ``/chat/completions`` to as given.

Answers are read here when they are plain (text, a finish reason LiteLLM keeps as is, integer
usage); anything else (tool calls, ``<think>`` blocks, a provider's own usage fields) is handed
to LiteLLM's reader by the caller. ``tests/run/test_direct_route.py`` checks bodies, paths,
headers and read answers against LiteLLM's over many model names and parameter sets.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any

from harness.models.provider_http import (
    DEFAULT_BASES,
    DIRECT_PROVIDERS,
    KEY_ENVS,
    SDK_HEADER_ENVS,
    proxy_for,
)

# Generation parameters every OpenAI GPT config and vLLM's pass on as they are (LiteLLM's
# get_supported_openai_params for both, minus those whose support depends on the model, like
# response_format and user, or that LiteLLM rewrites, like tools and reasoning_effort).
TAKEN_PARAMS = frozenset({
    "temperature", "max_tokens", "max_completion_tokens", "top_p", "stop", "seed",
    "presence_penalty", "frequency_penalty", "n", "logit_bias", "logprobs", "top_logprobs",
})

# Model names LiteLLM gives a config of their own (o1/o3/o4..., gpt-5/gpt-6 markers), and a
# margin around them: such a model is declined, never guessed.
_REASONING = re.compile(r"(^|/)o\d|gpt-[5-9]|codex|reason", re.IGNORECASE)
_ROLES = frozenset({"system", "user", "assistant"})
_FINISH = frozenset({"stop", "length", "content_filter", "tool_calls", "function_call"})
_USAGE_KEYS = frozenset({"prompt_tokens", "completion_tokens", "total_tokens",
                         "prompt_tokens_details", "completion_tokens_details"})
# LiteLLM globals that change what it sends when a process has set them.
_LITELLM_SETTINGS = ("api_base", "api_key", "openai_key", "organization", "headers",
                     "model_alias_map", "modify_params")


@dataclass(frozen=True)
class Answer:
    """What the harness keeps of a chat completion."""

    text: str
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    finish_reason: str
    model: str | None


@dataclass
class DirectRoute:
    """One model's direct route: where to send, with which headers, under which name."""

    name: str
    provider: str
    url: str
    headers: dict[str, str]
    api_key: str | None
    proxy: str | None = None
    _params: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    # Shape of a body -> whether the SDK's transform leaves such a body as it is.
    _identity: dict[Any, bool] = field(default_factory=dict)

    def optional_params(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """The parameters sent for ``params`` (LiteLLM leaves out those set to None), or None
        when this route does not take them."""
        key = json.dumps(params, sort_keys=True, default=repr)
        if key not in self._params:
            taken = set(params) <= TAKEN_PARAMS and all(_plain(v) for v in params.values())
            self._params[key] = ({k: v for k, v in params.items() if v is not None}
                                 if taken else None)
        return self._params[key]

    def body(self, messages: list[dict[str, Any]], optional: dict[str, Any]) -> dict[str, Any]:
        """The JSON body, as the SDK's ``chat.completions.create`` transform builds it.

        The transform renames and formats by key and type only (a string is never changed),
        costing ~1.3 ms per call; it runs once per shape of body, and a shape it leaves as is
        is sent as is from then on, in this run and, through ``harness.models.sdk_shapes``,
        in later runs under the same SDK release.
        """
        request = {"messages": messages, "model": self.name, **optional}
        shape = (tuple((m["role"], type(m["content"])) for m in messages),
                 tuple((k, _shape(v)) for k, v in optional.items()))
        same = self._identity.get(shape)
        if same is None:
            from harness.models.sdk_shapes import memo, shape_key

            key = shape_key(shape)
            if memo().known(key):
                same = self._identity[shape] = True
                return request
            built = sdk_transform(request)
            same = self._identity[shape] = built == request
            if same:
                memo().add(key)
            return built
        return request if same else sdk_transform(request)


def _plain(value: Any) -> bool:
    """JSON scalars, lists of them and string-keyed dicts of them: what a config can hold."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, list):
        return all(_plain(v) and not isinstance(v, (list, dict)) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and isinstance(v, (int, float)) for k, v in value.items())
    return False


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return ("dict", tuple((k, _shape(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("list", tuple(_shape(v) for v in value))
    return type(value)


def sdk_transform(request: dict[str, Any]) -> dict[str, Any]:
    """The body ``AsyncOpenAI().chat.completions.create(**request)`` sends (non-streamed)."""
    from openai._utils import maybe_transform
    from openai.types.chat import completion_create_params

    return dict(maybe_transform(request,
                                completion_create_params.CompletionCreateParamsNonStreaming))


def plain_messages(messages: list[dict[str, Any]]) -> bool:
    """Text turns only: what the direct route sends unchanged, as LiteLLM does."""
    for message in messages:
        role = message.get("role")
        if (len(message) != 2 or not isinstance(role, str) or role not in _ROLES
                or not isinstance(message.get("content"), str)):
            return False
    return True


def declines_model(provider: str, name: str, aliases: frozenset[str]) -> bool:
    """Whether LiteLLM may send this model differently from the plain OpenAI format."""
    if provider not in DIRECT_PROVIDERS or not name:
        return True
    if name in aliases or f"{provider}/{name}" in aliases:
        return True  # LiteLLM sends the aliased row's own name
    return provider == "openai" and bool(_REASONING.search(name))


def _litellm_configured() -> bool:
    """Whether a LiteLLM this process imported has settings that change requests."""
    litellm = sys.modules.get("litellm")
    if litellm is None:
        return False
    return any(getattr(litellm, name, None) for name in _LITELLM_SETTINGS)


def resolve_direct(model: str, api_base: str | None, api_key: str | None,
                   aliases: frozenset[str]) -> DirectRoute | None:
    """The route of ``model`` (``openai/...``), or None when LiteLLM must take its calls."""
    provider, _, name = model.partition("/")
    if declines_model(provider, name, aliases) or _litellm_configured():
        return None
    env = os.environ
    if env.get("USE_LITELLM_PROXY"):
        return None
    if provider == "openai" and any(env.get(e) for e in SDK_HEADER_ENVS):
        return None  # the SDK would add organisation/project headers
    envs, fallback = DEFAULT_BASES[provider]  # where LiteLLM looks, in its order
    base = api_base or next((env[e] for e in envs if env.get(e)), None) or fallback
    key = api_key or env.get(KEY_ENVS[provider])
    if not key:
        if provider == "openai":
            return None  # LiteLLM raises its own error for a missing key
        key = "fake-api-key"  # what LiteLLM sends to a keyless vLLM server
    if not base or "chat/completions" in base or "?" in base or "#" in base:
        return None
    url = base.rstrip("/") + "/chat/completions"
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    return DirectRoute(name=name, provider=provider, url=url, headers=headers, api_key=key,
                       proxy=proxy_for(url))


def read_answer(content: bytes) -> Answer | None:
    """A plain answer as LiteLLM reads it, or None when LiteLLM's reader must read it."""
    try:
        data = json.loads(content)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    choices = data.get("choices")
    usage = data.get("usage")
    if not isinstance(choices, list) or not choices or not isinstance(usage, dict):
        return None
    choice = choices[0]
    message = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(message, dict):
        return None
    text = message.get("content")
    reason = choice.get("finish_reason")
    if text is not None and (not isinstance(text, str) or text.startswith("<")):
        return None  # LiteLLM splits a leading <think> block off the text
    if not isinstance(reason, str) or reason not in _FINISH or any(
            v not in (None, []) for k, v in message.items()
            if k not in ("role", "content", "refusal")):
        return None
    if not set(usage) <= _USAGE_KEYS:
        return None
    tokens_in, tokens_out = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if type(tokens_in) is not int or type(tokens_out) is not int:
        return None
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    model = data.get("model")
    if model is not None and not isinstance(model, str):
        return None
    return Answer(text=text or "", input_tokens=tokens_in, output_tokens=tokens_out,
                  cached_tokens=cached if type(cached) is int else 0, finish_reason=reason,
                  model=model or None)
