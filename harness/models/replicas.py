"""Spreading one model's calls over its replicas (``deployments``), with failover.

Why the harness routes itself rather than through ``litellm.Router``: measured with LiteLLM
1.110 against three loopback replicas, the Router's per-deployment limits refuse instead of
waiting. A deployment whose ``max_parallel_requests`` are in use answers a local 429 even when
another deployment has free slots (24 of 60 requests refused with the caps adding up to the
concurrency; the Router's own retries did not place them either), the refusal counts as that
deployment's failure towards its cooldown, and ``rpm`` is turned into a cap on requests in
flight rather than a rate. Each of those would either fail samples or spend their retries
on refusals no server ever saw. So the pool below does what the Router is for, with the
harness's own limits, which wait:

- **spreading**: each attempt goes to the replica with the most room (fewest requests in
  flight for its cap, then the fewest sent), so a slow replica, whose calls hold their slots
  longer, gets fewer of them, as LiteLLM's ``least-busy`` strategy does;
- **limits**: a replica's ``max_concurrency`` is never exceeded (an attempt waits for a slot
  when every replica is full) and its ``rpm``/``tpm`` are token buckets that wait
  (``harness.models.limits``);
- **failover**: a replica that fails (a retryable error: 5xx, 429, timeout, dropped
  connection) more than ``allowed_fails`` times within ``cooldown_time`` seconds is left out
  for ``cooldown_time`` seconds (LiteLLM's names and meaning); when every replica is cooling
  down the one that has been out longest is tried, so a run never stalls.

Retries are not this layer's: each call here is one attempt on one replica. The harness's
``RetryingClient`` above it decides whether to try again, so a sample is sent at most
``retries + 1`` times whatever the number of replicas; an error from a replica while another
healthy one is free is marked ``failover`` and retried there at once, without back-off.

A call is made by the inner client with the deployment's own ``ModelConfig``
(``harness.config.deployments.expand``), so each replica takes the same code path (and the
same LiteLLM translation) as a model entry of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.config import ModelConfig
from harness.config.deployments import expand
from harness.models.client import Client, Completion, ModelCallError
from harness.models.limits import TokenBucket, estimate_tokens

DEFAULT_ALLOWED_FAILS = 0
DEFAULT_COOLDOWN_S = 5.0


@dataclass
class Replica:
    """One deployment and what the pool knows of it."""

    config: ModelConfig
    cap: int
    requests: TokenBucket | None = None
    tokens: TokenBucket | None = None
    in_flight: int = 0
    sent: int = 0
    failed: int = 0
    failures: deque[float] = field(default_factory=deque)
    out_until: float = 0.0

    def room(self) -> float:
        return self.in_flight / self.cap


class ReplicaPool:
    """The replicas of one model entry, shared by every call of a run to that entry."""

    def __init__(self, model: ModelConfig, default_cap: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.allowed_fails = (model.allowed_fails if model.allowed_fails is not None
                              else DEFAULT_ALLOWED_FAILS)
        self.cooldown = (model.cooldown_time if model.cooldown_time is not None
                         else DEFAULT_COOLDOWN_S)
        self.replicas = [
            Replica(config=c, cap=c.max_concurrency or default_cap,
                    requests=TokenBucket(c.rpm) if c.rpm else None,
                    tokens=TokenBucket(c.tpm) if c.tpm else None)
            for c in expand(model)]
        self._changed: asyncio.Condition | None = None

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    def healthy(self, replica: Replica, now: float) -> bool:
        return replica.out_until <= now

    def _choose(self, now: float) -> Replica | None:
        free = [r for r in self.replicas if r.in_flight < r.cap]
        if not free:
            return None
        healthy = [r for r in free if self.healthy(r, now)]
        if healthy:
            return min(healthy, key=lambda r: (r.room(), not _ready(r.requests), r.sent))
        if any(self.healthy(r, now) for r in self.replicas):
            return None  # a healthy replica is only full: wait for it rather than a failed one
        return min(free, key=lambda r: (r.out_until, r.room()))

    async def acquire(self) -> Replica:
        changed = self._condition()
        async with changed:
            while True:
                replica = self._choose(self.clock())
                if replica is not None:
                    replica.in_flight += 1
                    replica.sent += 1
                    return replica
                # Woken when a slot frees; a timeout as well, for a cooldown that ends.
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(changed.wait(), timeout=max(0.05, self.cooldown))

    async def release(self, replica: Replica, error: ModelCallError | None) -> None:
        now = self.clock()
        if error is not None and error.retryable:
            replica.failed += 1
            replica.failures.append(now)
            while replica.failures and replica.failures[0] < now - self.cooldown:
                replica.failures.popleft()
            if len(replica.failures) > self.allowed_fails:
                replica.out_until = now + self.cooldown
                replica.failures.clear()
        changed = self._condition()
        async with changed:
            replica.in_flight -= 1
            changed.notify_all()

    def another_ready(self, replica: Replica) -> bool:
        """Whether a retry could go at once to another healthy replica with a free slot."""
        now = self.clock()
        return any(r is not replica and self.healthy(r, now) and r.in_flight < r.cap
                   for r in self.replicas)

    def counts(self) -> dict[str, dict[str, int]]:
        """Attempts sent and failed per replica (its ``label@index``)."""
        return {r.config.label: {"sent": r.sent, "failed": r.failed} for r in self.replicas}


def _ready(bucket: TokenBucket | None) -> bool:
    if bucket is None:
        return True
    bucket._refill()
    return bucket.level >= 1


class ReplicaClient:
    """Sends each call of a model with ``deployments`` to one of its replicas; passes every
    other call through. ``default_cap`` (the run's ``concurrency``) is a replica's cap on
    requests in flight when its deployment sets no ``max_concurrency``."""

    def __init__(self, inner: Client, default_cap: int = 16) -> None:
        self.inner = inner
        self.default_cap = default_cap
        self.pools: dict[str, ReplicaPool] = {}

    def pool(self, model: ModelConfig) -> ReplicaPool:
        if model.label not in self.pools:
            self.pools[model.label] = ReplicaPool(model, self.default_cap)
        return self.pools[model.label]

    async def complete(
        self,
        model: ModelConfig,
        messages: list[dict[str, str]],
        params: dict[str, Any],
        *,
        epoch: int = 0,
    ) -> Completion:
        if not model.deployments:
            return await self.inner.complete(model, messages, params, epoch=epoch)
        pool = self.pool(model)
        replica = await pool.acquire()
        error: ModelCallError | None = None
        estimate = estimate_tokens(messages, int(params.get("max_tokens") or 256))
        try:
            if replica.requests is not None:
                await replica.requests.take(1)
            if replica.tokens is not None:
                await replica.tokens.take(estimate)
            completion = await self.inner.complete(replica.config, messages, params,
                                                   epoch=epoch)
        except ModelCallError as exc:
            error = exc
            raise _failover(exc, pool, replica) from None
        finally:
            await pool.release(replica, error)
        if replica.tokens is not None and completion.input_tokens is not None:
            replica.tokens.give_back(
                estimate - completion.input_tokens - (completion.output_tokens or 0))
        return completion


def _failover(error: ModelCallError, pool: ReplicaPool, replica: Replica) -> ModelCallError:
    """The error, named after its replica, and marked for an immediate retry elsewhere when
    another healthy replica has room (a 429 keeps its back-off: the model may be saturated)."""
    message = f"{error} (replica {replica.config.label})"
    failover = (error.retryable and error.status != 429 and error.retry_after is None
                and pool.another_ready(replica))
    return ModelCallError(message, retryable=error.retryable, retry_after=error.retry_after,
                          status=error.status, failover=failover)
