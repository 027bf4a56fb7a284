"""The response cache as a client layer: a stored answer when there is one, one call per
distinct request otherwise (see ``harness.cache`` for what the key holds and why).

The hit path is what a re-run spends its time in (3,000 cached samples in about a second),
so everything about the model is worked out once: its identity once per model and run, the
parameters LiteLLM sends once per distinct parameter set (and remembered in the cache file,
so a run served from the cache never imports LiteLLM). Per call: one JSON dump and hash for
the key, a dictionary look-up for answers not yet written, and one indexed SELECT.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
from importlib import metadata
from typing import Any, Protocol

from harness.cache import ResponseCache, cache_key, identity_text
from harness.config import ModelConfig
from harness.models.client import Client, Completion
from harness.models.identity import model_identity


class ParamsMapper(Protocol):
    def sent_params(self, model: ModelConfig, params: dict[str, Any]) -> dict[str, Any]: ...


def _litellm_version() -> str:
    try:
        return metadata.version("litellm")
    except metadata.PackageNotFoundError:
        return "none"


class CachedClient:
    """Serves a call from the cache when it can; shares one call among identical requests in
    flight; stores every fresh success (never over an answer already stored).

    ``mapper`` (the LiteLLM client) says which parameters a call really sends; without one
    (a custom client) the requested parameters are what is sent.
    """

    def __init__(self, inner: Client, cache: ResponseCache,
                 mapper: ParamsMapper | None = None) -> None:
        self.inner = inner
        self.cache = cache
        self.mapper = mapper
        self._identities: dict[str, str] = {}
        self._sent: dict[tuple[str, str], dict[str, Any]] = {}
        self._in_flight: dict[str, asyncio.Future[Completion]] = {}

    def identity(self, model: ModelConfig) -> str:
        """The model's identity, worked out on its first call of this run."""
        found = self._identities.get(model.label)
        if found is None:
            # A client whose calls run elsewhere (Ray workers) says what a local model is
            # there: its device and dtype decide the answers, not this machine's.
            remote = getattr(self.mapper, "model_identity", None)
            found = identity_text(remote(model) if remote is not None
                                  and model.model.startswith("hf/")
                                  else model_identity(model, self.cache.path.parent))
            self._identities[model.label] = found
        return found

    def sent_params(self, model: ModelConfig, params: dict[str, Any]) -> dict[str, Any]:
        requested = json.dumps(params, sort_keys=True, default=str)
        memo = (model.label, requested)
        sent = self._sent.get(memo)
        if sent is not None:
            return sent
        if self.mapper is None:
            sent = params
        else:
            stored_as = hashlib.sha256(json.dumps(
                [model.model, model.api_base, model.transport, _litellm_version(), requested]
            ).encode()).hexdigest()
            sent = self.cache.get_sent(stored_as)
            if sent is None:
                sent = self.mapper.sent_params(model, params)
                self.cache.put_sent(stored_as, sent)
        self._sent[memo] = sent
        return sent

    def key(self, model: ModelConfig, messages: list[dict[str, str]], params: dict[str, Any],
            epoch: int) -> str:
        return cache_key(model, messages, self.sent_params(model, params), epoch,
                         identity=self.identity(model))

    async def complete(
        self,
        model: ModelConfig,
        messages: list[dict[str, str]],
        params: dict[str, Any],
        *,
        epoch: int = 0,
    ) -> Completion:
        key = self.key(model, messages, params, epoch)
        while True:
            hit = self.cache.get(key)
            if hit is not None:
                return hit
            shared = self._in_flight.get(key)
            if shared is None:
                break
            try:
                answer = await asyncio.shield(shared)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not shared.cancelled() or (task is not None and task.cancelling()):
                    raise
                continue  # the call it waited on was cancelled, not this request: ask again
            return dataclasses.replace(answer, cached=True)
        return await self._call(key, model, messages, params, epoch)

    async def _call(self, key: str, model: ModelConfig, messages: list[dict[str, str]],
                    params: dict[str, Any], epoch: int) -> Completion:
        future: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            completion = await self.inner.complete(model, messages, params, epoch=epoch)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # the waiters, if any, get it; none is not an unread error
            raise
        else:
            self.cache.put(key, model.model, completion)
            future.set_result(completion)
            return completion
        finally:
            del self._in_flight[key]
