"""Per-model limits: requests in flight, requests per minute and tokens per minute.

Hosted APIs rate-limit per model; staying under the limit is cheaper than being told 429 and
backing off. Limits are token buckets refilled continuously. A bucket holds one second's worth
(at least one unit), not a minute's: providers enforce "per minute" limits over shorter windows,
so a run that fired a whole minute's quota at once would be answered 429 anyway.

The token cost of a request is estimated before the call (prompt characters / 4 plus
max_tokens), since the true count is only known afterwards; the difference is given back (or
taken) once the answer reports its usage.

Requests in flight are capped by an adaptive limit (``harness.models.adaptive``): the cap is
the model's ``max_concurrency``, else the run's ``concurrency``, and the limit inside it backs
off when the provider answers 429 and grows again while calls succeed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from harness.config import ModelConfig
from harness.models.adaptive import AdaptiveLimit
from harness.models.client import Client, Completion, ModelCallError


class TokenBucket:
    """``rate_per_minute`` units a minute, bursting to one second's worth.

    A request larger than the burst is admitted once the bucket is full and leaves it in debt,
    so the long-run rate holds whatever the request sizes. ``clock`` and ``sleep`` are
    injectable so tests can run it on a fake clock.
    """

    def __init__(
        self,
        rate_per_minute: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.rate = rate_per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self.level = self.capacity
        self.clock = clock
        self.sleep = sleep
        self.updated = clock()
        self.lock = asyncio.Lock()

    def _refill(self) -> None:
        current = self.clock()
        self.level = min(self.capacity, self.level + (current - self.updated) * self.rate)
        self.updated = current

    async def take(self, amount: float) -> None:
        """Wait until ``amount`` may be spent, then spend it (first come, first served)."""
        need = min(amount, self.capacity)
        async with self.lock:
            while True:
                self._refill()
                if self.level >= need:
                    self.level -= amount
                    return
                await self.sleep((need - self.level) / self.rate)

    def give_back(self, amount: float) -> None:
        """Correct an estimate: positive gives units back, negative takes more."""
        self._refill()
        self.level = min(self.capacity, self.level + amount)


class ModelLimits:
    """The gate every call to one model passes through."""

    def __init__(
        self, max_concurrency: int | None, rpm: float | None, tpm: float | None, **clock: Any
    ) -> None:
        self.slots = AdaptiveLimit(max_concurrency) if max_concurrency else None
        self.requests = TokenBucket(rpm, **clock) if rpm else None
        self.tokens = TokenBucket(tpm, **clock) if tpm else None

    @asynccontextmanager
    async def acquire(self, estimated_tokens: float) -> AsyncIterator[None]:
        # The in-flight slot is taken first, so a request waiting for a slot does not hold
        # rate budget that others could use meanwhile.
        generation = await self.slots.acquire() if self.slots else 0
        try:
            await self.take(estimated_tokens)
            yield
        finally:
            if self.slots:
                self.slots.release(generation, "failed")

    async def take(self, estimated_tokens: float) -> None:
        if self.requests:
            await self.requests.take(1)
        if self.tokens:
            await self.tokens.take(estimated_tokens)

    def settle(self, estimated_tokens: float, completion: Completion) -> None:
        """Replace the estimate by the usage the answer reported."""
        if self.tokens is None or completion.input_tokens is None:
            return
        used = completion.input_tokens + (completion.output_tokens or 0)
        self.tokens.give_back(estimated_tokens - used)


def estimate_tokens(messages: list[dict[str, str]], max_tokens: int) -> float:
    return sum(len(m.get("content", "")) for m in messages) / 4 + max_tokens


def congested(error: ModelCallError) -> bool:
    """A refusal that says "too much": 429, or any retryable answer with a Retry-After."""
    return error.status == 429 or (error.retryable and error.retry_after is not None)


class LimitedClient:
    """Applies each model's limits to every attempt (retries included).

    ``default_cap`` (the run's ``concurrency``) caps the adaptive limit of a model that sets
    no ``max_concurrency``; without it such a model has no limit on requests in flight.
    """

    def __init__(self, inner: Client, default_cap: int | None = None) -> None:
        self.inner = inner
        self.default_cap = default_cap
        self._limits: dict[str, ModelLimits] = {}

    def limits(self, model: ModelConfig) -> ModelLimits:
        if model.label not in self._limits:
            self._limits[model.label] = ModelLimits(
                model.max_concurrency or self.default_cap, model.rpm, model.tpm)
        return self._limits[model.label]

    def describe(self) -> str:
        """The current limit on requests in flight of each model called so far: ``5/32``
        alone, or ``name 5/32, other 8/8``."""
        shown = [(label, limits.slots.describe()) for label, limits in self._limits.items()
                 if limits.slots is not None]
        if len(shown) == 1:
            return shown[0][1]
        return ", ".join(f"{label} {text}" for label, text in shown)

    async def complete(
        self,
        model: ModelConfig,
        messages: list[dict[str, str]],
        params: dict[str, Any],
        *,
        epoch: int = 0,
    ) -> Completion:
        limits = self.limits(model)
        if limits.slots is None and limits.requests is None and limits.tokens is None:
            return await self.inner.complete(model, messages, params, epoch=epoch)
        estimate = estimate_tokens(messages, int(params.get("max_tokens") or 256))
        # The in-flight slot is taken first, so a request waiting for a slot does not hold
        # rate budget that others could use meanwhile.
        slots = limits.slots
        generation = await slots.acquire() if slots else 0
        outcome = "failed"
        try:
            await limits.take(estimate)
            completion = await self.inner.complete(model, messages, params, epoch=epoch)
            outcome = "ok"
        except ModelCallError as error:
            if congested(error):
                outcome = "congested"
            raise
        finally:
            if slots:
                slots.release(generation, outcome)
        limits.settle(estimate, completion)
        return completion
