"""Adaptive concurrency per model: additive increase, multiplicative decrease (AIMD).

A provider's real limit on requests in flight is rarely published and changes with load, so a
fixed ``max_concurrency`` is either too low (the run is slower than it could be) or too high
(every request beyond the limit is answered 429 and waits). The limiter starts at the user's
cap, so a provider that never pushes back is driven exactly as before; on a 429 (or another
retryable refusal carrying ``Retry-After``) it cuts the limit, and every window of successes
as long as the limit raises it by one, as TCP's congestion control does.

Why start at the cap rather than low: most runs never see a 429, and a slow start would make
all of them slower; a run that does is cut to its level in a few halvings (32 -> 16 -> 8 -> 4:
four round trips), and a refused request is retried, never a failed sample.

One congestion event cuts the limit once: the requests that were already in flight when the
limit was cut were sent under the old limit, so their 429s say nothing new and are ignored
(each request remembers the *generation* of the limit it was sent under).

The cut is to ``decrease`` times the limit (default 0.75, not TCP's 0.5): against a server
that refuses above K in flight, plain AIMD saw-tooths between ``decrease * K`` and K + 1, so
its mean concurrency is about ``(1 + decrease) / 2`` of K: 0.875 at 0.75, 0.75 at 0.5. And
having grown back to just under the limit that was refused, it stays there ``PLATEAU``
windows before probing again (as TCP CUBIC does around its last maximum), so most of the
time is spent at K itself (see ``benchmarks/bench_adaptive.py``).
"""

from __future__ import annotations

import asyncio
from collections import deque

PLATEAU = 8


class AdaptiveLimit:
    """A semaphore whose size moves between 1 and ``cap`` with the answers it gets.

    ``acquire`` returns the generation the request is sent under; pass it back to ``release``
    with whether the answer was a success, congestion (429), or another failure.
    """

    def __init__(self, cap: int, *, start: int | None = None, decrease: float = 0.75) -> None:
        if cap < 1:
            raise ValueError("cap must be at least 1")
        self.cap = cap
        self.limit = max(1, min(cap, start or cap))
        self.decrease = decrease
        self.in_flight = 0
        self.generation = 0
        self.cuts = 0  # congestion events seen (for the progress line and tests)
        self.lowest = self.limit
        self._successes = 0
        self._ceiling: int | None = None  # the limit the last congestion event happened at
        self._waiters: deque[asyncio.Future[int]] = deque()

    async def acquire(self) -> int:
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            return self.generation
        waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._free()  # the slot was handed over just as the request was cancelled
            else:
                waiter.cancel()
            raise

    def release(self, generation: int, outcome: str) -> None:
        """``outcome``: ``"ok"``, ``"congested"`` (429 / Retry-After) or ``"failed"``."""
        if outcome == "congested":
            if generation == self.generation:
                self._ceiling = self.limit
                self.limit = max(1, int(self.limit * self.decrease))
                self.generation += 1
                self.cuts += 1
                self.lowest = min(self.lowest, self.limit)
                self._successes = 0
        elif outcome == "ok" and self.limit < self.cap:
            self._successes += 1
            # Just under the level that was refused last time, wait PLATEAU windows before
            # trying it again: most of the time is spent at the highest limit that works.
            near = self._ceiling == self.limit + 1
            if self._successes >= self.limit * (PLATEAU if near else 1):
                self.limit += 1
                self._successes = 0
        self._free()

    def _free(self) -> None:
        self.in_flight -= 1
        while self._waiters and self.in_flight < self.limit:
            waiter = self._waiters.popleft()
            if waiter.done():  # cancelled while waiting
                continue
            self.in_flight += 1
            waiter.set_result(self.generation)

    def describe(self) -> str:
        return f"{self.limit}/{self.cap}"
