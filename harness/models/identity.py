"""What identifies a model's answers, for the response cache: which model, and what it is sent.

A model string names a model; it does not identify one. ``openai/gpt-4o-mini`` answers from
wherever ``OPENAI_BASE_URL`` points when the config names no ``api_base``; ``hf/ckpt`` is
whatever folder ``ckpt`` is in the current directory, with whatever weights it holds today,
run on whatever device and dtype this machine picks. And what reaches the model is not what
the config asks for: LiteLLM maps parameters per provider and, with ``drop_params`` (which the
harness turns on), silently drops those a model does not take, such as ``temperature`` for
OpenAI's reasoning models, which then sample at their default temperature.

So the cache keys on :func:`model_identity` (computed once per model and run) and on
:func:`sent_params` (computed once per distinct parameter set, and remembered in the cache
file so that a run served entirely from the cache never imports LiteLLM).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

from harness.config import ModelConfig

# Where LiteLLM looks for an API base when the model names none, in its order of precedence;
# any other provider: ``<PROVIDER>_API_BASE`` then ``<PROVIDER>_BASE_URL``.
_BASE_ENVS = {
    "openai": ("OPENAI_BASE_URL", "OPENAI_API_BASE"),
    "text-completion-openai": ("OPENAI_BASE_URL", "OPENAI_API_BASE"),
    "hosted_vllm": ("HOSTED_VLLM_API_BASE",),
    "anthropic": ("ANTHROPIC_API_BASE", "ANTHROPIC_BASE_URL"),
    "gemini": ("GEMINI_API_BASE",),
    "azure": ("AZURE_API_BASE",),
    "ollama": ("OLLAMA_API_BASE",),
    "ollama_chat": ("OLLAMA_API_BASE",),
}


def provider_of(model: ModelConfig) -> str:
    return model.model.split("/", 1)[0]


def resolved_api_base(model: ModelConfig) -> str | None:
    """The API base the call goes to: the config's, LiteLLM's global one, or the environment's."""
    if model.api_base:
        return model.api_base.rstrip("/")
    litellm = sys.modules.get("litellm")
    base = getattr(litellm, "api_base", None) if litellm is not None else None
    if isinstance(base, str) and base:
        return base.rstrip("/")
    provider = provider_of(model)
    upper = re.sub(r"[^A-Z0-9]", "_", provider.upper())
    names = _BASE_ENVS.get(provider, (f"{upper}_API_BASE", f"{upper}_BASE_URL"))
    for name in names:
        value = os.environ.get(name)
        if value:
            return value.rstrip("/")
    return None


def model_identity(model: ModelConfig, cache_dir: Path | None = None) -> dict[str, Any]:
    """Everything about the model itself that decides its answers (never a key or a limit).

    Hosted: the model string and the resolved API base. Local (``hf/...``): the resolved
    absolute source, a content digest of its files (and of its LoRA adapter's), the device and
    the dtype. ``cache_dir``
    holds the digests of local weights, so each file is hashed once, not once per run.
    """
    if model.deployments:
        # Replicas serve one model: the answer must not depend on which one gave it, so the
        # identity names what they serve, not where (harness.config.deployments).
        served = sorted({d.model or model.model for d in model.deployments})
        return {"model": model.model, "replicas_of": served}
    if provider_of(model) == "hf":
        from harness.models.hf_identity import local_identity

        found = {"model": model.model, **local_identity(model.model[3:], cache_dir)}
        if model.adapter:  # a LoRA adapter's weights are part of the model (hf_adapters)
            from harness.models.hf_adapters import adapter_identity

            found["adapter"] = adapter_identity(model.adapter, cache_dir)
        return found
    return {"model": model.model, "api_base": resolved_api_base(model)}


def sent_params(litellm: Any, model: ModelConfig, params: dict[str, Any]) -> dict[str, Any]:
    """The generation parameters LiteLLM actually sends for ``params``: mapped to the
    provider's names, with the ones it drops (``drop_params``) gone and provider extras
    (``extra_body``) merged in. Falls back to ``params`` when LiteLLM cannot map them (the
    call then fails the same way, and nothing is cached)."""
    try:
        name, provider, _, _ = litellm.get_llm_provider(model.model, api_base=model.api_base)
        mapped = dict(litellm.get_optional_params(model=name, custom_llm_provider=provider,
                                                  **params))
    except Exception:
        return dict(params)
    mapped.pop("stream", None)
    mapped.pop("json_mode", None)
    extra = mapped.pop("extra_body", None)
    sent = {k: v for k, v in mapped.items() if v is not None}
    if isinstance(extra, dict):
        sent.update(extra)
    return sent


def is_sampled(sent: dict[str, Any]) -> bool:
    """Whether answers vary from call to call: a temperature above 0, or none sent at all
    (providers then sample at their default, 1 for OpenAI's API and for the local model)."""
    temperature = sent.get("temperature")
    if temperature is None:
        return True
    try:
        return float(temperature) > 0
    except (TypeError, ValueError):
        return True
