"""Per-model limits: requests in flight, requests per minute and tokens per minute.

Hosted APIs rate-limit per model; staying under the limit is cheaper than being told 429 and
backing off. Limits are token buckets refilled continuously; the token cost of a request is
estimated before the call (prompt characters / 4 plus max_tokens) since the true count is only
known afterwards.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from harness.config import ModelConfig
from harness.models.client import Client, Completion


class TokenBucket:
    """``rate_per_minute`` units a minute, bursting to one minute's worth."""

    def __init__(self, rate_per_minute: float) -> None:
        self.rate = rate_per_minute / 60.0
        self.capacity = rate_per_minute
        self.level = rate_per_minute
        self.updated = time.monotonic()
        self.lock = asyncio.Lock()

    async def take(self, amount: float) -> None:
        amount = min(amount, self.capacity)
        async with self.lock:
            while True:
                current = time.monotonic()
                self.level = min(self.capacity, self.level + (current - self.updated) * self.rate)
                self.updated = current
                if self.level >= amount:
                    self.level -= amount
                    return
                await asyncio.sleep((amount - self.level) / self.rate)


class ModelLimits:
    """The gate every call to one model passes through."""

    def __init__(
        self, max_concurrency: int | None, rpm: float | None, tpm: float | None
    ) -> None:
        self.slots = asyncio.Semaphore(max_concurrency) if max_concurrency else None
        self.requests = TokenBucket(rpm) if rpm else None
        self.tokens = TokenBucket(tpm) if tpm else None

    @asynccontextmanager
    async def acquire(self, estimated_tokens: float) -> AsyncIterator[None]:
        if self.requests:
            await self.requests.take(1)
        if self.tokens:
            await self.tokens.take(estimated_tokens)
        if self.slots is None:
            yield
            return
        async with self.slots:
            yield


def estimate_tokens(messages: list[dict[str, str]], max_tokens: int) -> float:
    return sum(len(m.get("content", "")) for m in messages) / 4 + max_tokens


class LimitedClient:
    """Applies each model's limits to every attempt (retries included)."""

    def __init__(self, inner: Client) -> None:
        self.inner = inner
        self._limits: dict[str, ModelLimits] = {}

    def limits(self, model: ModelConfig) -> ModelLimits:
        if model.label not in self._limits:
            self._limits[model.label] = ModelLimits(model.max_concurrency, model.rpm, model.tpm)
        return self._limits[model.label]

    async def complete(
        self,
        model: ModelConfig,
        messages: list[dict[str, str]],
        params: dict[str, Any],
        *,
        epoch: int = 0,
    ) -> Completion:
        estimate = estimate_tokens(messages, int(params.get("max_tokens") or 256))
        async with self.limits(model).acquire(estimate):
            return await self.inner.complete(model, messages, params, epoch=epoch)
