"""The in-process HuggingFace model as a LiteLLM provider: ``model="hf/<alias|folder|hub id>"``.

The runner talks to every model through ``litellm.acompletion``; registering a CustomLLM under
``hf`` lets a local model take part in the same experiments with no special case in the runner,
and offline (CI has no API keys and no network).

Usage::

    from harness.models.local_hf import register_local_provider
    register_local_provider()
    await litellm.acompletion(model="hf/smollm2-135m-instruct", messages=[...],
                              max_tokens=64, temperature=0)

Extra parameters (pass them like any other ``acompletion`` keyword):
``batch_size`` (default ``$HARNESS_HF_BATCH_SIZE`` or 16), ``prefix_cache`` (default on;
``HARNESS_HF_PREFIX_CACHE=0`` turns it off), ``prompt_format="completion"`` (the message text
as it is, without the chat template: for base models) and ``adapter="<LoRA folder>"``.
Seeded sampling runs unbatched, so a seed gives the same text however many requests are in
flight.

This module is imported by the CLI at start-up: LiteLLM, torch and transformers are imported
inside functions only.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from harness.models._litellm import import_litellm

PROVIDER = "hf"
DEFAULT_BATCH_SIZE = 16


def register_local_provider() -> None:
    """Make ``hf/...`` models available through LiteLLM; calling it again changes nothing."""
    litellm = import_litellm()
    handler = _handler()
    current = list(litellm.custom_provider_map)
    if any(item.get("provider") == PROVIDER for item in current):
        return
    litellm.custom_provider_map = [*current, {"provider": PROVIDER, "custom_handler": handler}]


def _provider_error(status: int, message: str) -> Exception:
    from litellm.llms.custom_llm import CustomLLMError

    return CustomLLMError(status_code=status, message=message)


def parse_params(optional_params: dict[str, Any]) -> Any:
    """OpenAI-style request parameters to GenParams; bad values are the caller's error (400)."""
    from harness.models.hf_generation import DEFAULT_MAX_TOKENS, GenParams

    opt = optional_params
    try:
        max_tokens = opt.get("max_tokens") or opt.get("max_completion_tokens") or DEFAULT_MAX_TOKENS
        temperature = opt.get("temperature")
        # OpenAI's default temperature is 1; pass temperature=0 for greedy decoding.
        temperature = 1.0 if temperature is None else float(temperature)
        top_p = None if opt.get("top_p") is None else float(opt["top_p"])
        seed = None if opt.get("seed") is None else int(opt["seed"])
        stop = opt.get("stop") or ()
        stop = (stop,) if isinstance(stop, str) else tuple(str(s) for s in stop)
        batch_size = int(
            opt.get("batch_size") or os.environ.get("HARNESS_HF_BATCH_SIZE") or DEFAULT_BATCH_SIZE
        )
        prefix = opt.get("prefix_cache")
        if prefix is None:
            prefix = os.environ.get("HARNESS_HF_PREFIX_CACHE", "1").lower() not in ("0", "false")
        n = int(opt.get("n") or 1)
    except (TypeError, ValueError) as exc:
        raise _provider_error(400, f"hf: bad generation parameter: {exc}") from exc
    if n != 1:
        raise _provider_error(400, "hf: n > 1 is not supported; send n separate requests")
    if int(max_tokens) < 1 or batch_size < 1 or temperature < 0:
        raise _provider_error(400, "hf: max_tokens and batch_size must be >= 1, temperature >= 0")
    if temperature > 0 and seed is not None:
        batch_size = 1  # torch's RNG is per process: only an unbatched run is reproducible
    return GenParams(
        max_tokens=int(max_tokens),
        temperature=temperature,
        top_p=top_p,
        seed=seed,
        stop=stop,
        batch_size=batch_size,
        prefix_cache=bool(prefix),
    )


def get_loaded(name: str, adapter: str | None = None) -> Any:
    """The shared LoadedModel for ``name`` (with ``adapter`` over it, when given); a missing
    model is a one-line 404, an unloadable one a 400, so the runner does not retry either."""
    from harness.models.hf_loading import ModelNotFoundError, load_model

    try:
        if adapter:
            from harness.models.hf_adapters import load_with_adapter

            return load_with_adapter(name, adapter)
        return load_model(name)
    except ModelNotFoundError as exc:
        raise _provider_error(404, str(exc)) from exc
    except Exception as exc:  # e.g. a folder holding something that is not a causal LM
        from harness.models.client import first_line

        what = f"hf/{name} with adapter {adapter}" if adapter else f"hf/{name}"
        raise _provider_error(
            400, f"{what}: cannot load it as a causal LM: {first_line(exc)}"
        ) from exc


def encode(lm: Any, messages: list, optional_params: dict[str, Any]) -> list[int]:
    """Chat messages through the model's chat template, or a completion prompt as it is."""
    from harness.models.hf_generation import encode_chat, encode_text

    if optional_params.get("prompt_format") == "completion":
        return encode_text(lm, messages)
    return encode_chat(lm, messages)


def _loaded_name(model: str, adapter: str | None) -> str:
    """The key under which requests for ``model`` (with ``adapter``) are counted on their way."""
    return f"{model}\0{adapter}" if adapter else model


def batcher_for(lm: Any, key: str | None = None) -> Any:
    """The model's batcher, created on first use; it lives as long as the loaded model.
    ``key``: the name the provider counts its requests on their way under (``on_the_way``)."""
    from harness.models.hf_batching import Batcher
    from harness.models.hf_generation import generate_batch

    with lm.attach_lock:
        if lm.batcher is None:
            lm.batcher = Batcher(functools.partial(generate_batch, lm), name=lm.name,
                                 incoming=functools.partial(_INCOMING.get, key or lm.name, 0))
        return lm.batcher


# Requests per model name between entering the provider and reaching the batcher's queue.
_INCOMING: dict[str, int] = {}
_INCOMING_LOCK = threading.Lock()


@contextlib.contextmanager
def on_the_way(name: str) -> Iterator[None]:
    """Counts a request as coming while it loads the model and encodes its prompt, so that the
    batcher waits for it instead of closing a batch without it (see Batcher)."""
    with _INCOMING_LOCK:
        _INCOMING[name] = _INCOMING.get(name, 0) + 1
    try:
        yield
    finally:
        with _INCOMING_LOCK:
            _INCOMING[name] -= 1


def check_fits(lm: Any, model: str, prompt: list[int]) -> None:
    """A prompt past the model's context fails alone and says so, instead of failing (or
    silently degrading) inside a batch."""
    limit = lm.context_length
    if limit is not None and len(prompt) >= limit:
        raise _provider_error(
            400, f"hf/{model}: prompt is {len(prompt)} tokens, the model's context is {limit}"
        )


def _fill(model_response: Any, model: str, result: Any) -> Any:
    from litellm.types.utils import Usage

    choice = model_response.choices[0]
    choice.message.content = result.text
    choice.finish_reason = result.finish_reason
    model_response.model = f"{PROVIDER}/{model}"
    # Read by the harness's client as the call's latency (see GenResult.service_s).
    model_response._hidden_params["harness_service_s"] = result.service_s
    model_response.created = int(time.time())
    usage = Usage(
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        total_tokens=result.prompt_tokens + result.completion_tokens,
    )
    setattr(model_response, "usage", usage)  # noqa: B010 - ModelResponse declares no usage field
    return model_response


@functools.cache
def _handler() -> Any:
    """One handler per process; built lazily because its base class comes from LiteLLM."""
    import_litellm()
    from litellm import CustomLLM

    class LocalHFLLM(CustomLLM):
        """Serves ``hf/...`` requests from the in-process model registry."""

        async def acompletion(  # type: ignore[override]
            self, model: str, messages: list, *args: Any, **kwargs: Any
        ) -> Any:
            optional = kwargs.get("optional_params") or {}
            params = parse_params(optional)
            adapter = optional.get("adapter")
            key = _loaded_name(model, adapter)
            with on_the_way(key):
                lm = await asyncio.to_thread(get_loaded, model, adapter)
                prompt = encode(lm, messages, optional)
                check_fits(lm, model, prompt)
                future = batcher_for(lm, key).submit(prompt, params)
            result = await asyncio.wrap_future(future)
            return _fill(kwargs["model_response"], model, result)

        def completion(  # type: ignore[override]
            self, model: str, messages: list, *args: Any, **kwargs: Any
        ) -> Any:
            optional = kwargs.get("optional_params") or {}
            params = parse_params(optional)
            adapter = optional.get("adapter")
            key = _loaded_name(model, adapter)
            with on_the_way(key):
                lm = get_loaded(model, adapter)
                prompt = encode(lm, messages, optional)
                check_fits(lm, model, prompt)
                future = batcher_for(lm, key).submit(prompt, params)
            result = future.result()
            return _fill(kwargs["model_response"], model, result)

    return LocalHFLLM()
