"""Retries with exponential back-off and full jitter, honouring the server's Retry-After.

Only transient failures are retried (429, 408, 5xx, timeouts, dropped connections); a 400 or
an authentication error fails at once, since sending it again cannot help and costs money.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

from harness.config import ModelConfig
from harness.models.client import Client, Completion, ModelCallError


class RetryingClient:
    def __init__(
        self,
        inner: Client,
        *,
        retries: int,
        base_delay: float = 0.5,
        max_delay: float = 60.0,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.inner = inner
        self.retries = retries
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = sleep
        self.rng = rng or random.Random()

    def delay(self, attempt: int, error: ModelCallError) -> float:
        """Seconds to wait before attempt ``attempt + 1``: none when another replica of the
        model is ready to take it (the failed one is left out, ``harness.models.replicas``)."""
        if error.failover:
            return 0.0
        if error.retry_after is not None:
            # The server said when; jitter of up to a tenth of the wait (at least 50 ms) keeps
            # the workers it told the same thing from all coming back at the same instant.
            wait = min(self.max_delay, error.retry_after)
            return wait + self.rng.uniform(0, max(0.05, 0.1 * wait))
        return self.rng.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))

    async def complete(
        self,
        model: ModelConfig,
        messages: list[dict[str, str]],
        params: dict[str, Any],
        *,
        epoch: int = 0,
    ) -> Completion:
        attempt = 0
        while True:
            try:
                return await self.inner.complete(model, messages, params, epoch=epoch)
            except ModelCallError as error:
                if not error.retryable or attempt >= self.retries:
                    if attempt:
                        raise ModelCallError(
                            f"{error} (after {attempt + 1} attempts)",
                            retryable=False,
                            status=error.status,
                        ) from error
                    raise
                await self.sleep(self.delay(attempt, error))
                attempt += 1
