"""Turning concurrent requests into batched ``generate`` calls.

On a CPU, decoding one sequence leaves most of each step's cost (reading every weight) unshared;
16 sequences per step cost little more than one. The runner sends requests concurrently, so we
queue them and let one worker thread per model take them in batches.

The worker is a plain thread fed through ``concurrent.futures.Future`` rather than an asyncio
task: it keeps the event loop free while the model runs, and it serves any number of event loops
(each ``asyncio.run`` in tests, LiteLLM's sync path) without being bound to one.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from harness.models.hf_generation import GenParams, GenResult

RunBatch = Callable[[Sequence[Sequence[int]], GenParams], list[GenResult]]


def _env_ms(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default)) / 1000.0
    except ValueError:
        return default / 1000.0


@dataclass
class _Request:
    prompt: Sequence[int]
    params: GenParams
    seq: int
    arrived: float
    future: Future = field(default_factory=Future)


class Batcher:
    """Collects requests and runs them in batches of equal parameters on a worker thread.

    A batch closes when it is full (``params.batch_size``), when no request arrived for
    ``gap_s``, or ``max_wait_s`` after its oldest request arrived, unless requests are known to
    be on their way (``incoming``: the provider counts those loading the model or encoding
    their prompt; the runner's first 16 requests reached the queue one by one, more than
    ``max_wait_s`` apart, and the first ran alone in a batch of 1). While a batch runs, new
    requests queue up, so under load batches fill without any waiting at all. Within a group the
    requests are sorted by prompt length, so a batch pads little.

    Right after a batch is answered the gap rule is suspended: the callers of that batch (the
    runner's concurrent samples) score their answers and send their next requests one by one,
    and on a busy CPU that trickle has gaps longer than ``gap_s``. Closing on such a gap split
    16 requests in flight into 1 + 15 (and the two halves then answered, and came back, apart,
    so the split persisted: 35 ``generate`` calls for 300 items instead of 19). So the next batch
    waits until as many requests are queued as were in circulation (the batch just answered
    plus those already waiting), or until ``refill`` of the answered batch's own run time has
    passed (at most 5 s: at most 10% of a batch's time is spent waiting at the end of a run).
    """

    def __init__(
        self,
        run: RunBatch,
        *,
        max_wait_s: float | None = None,
        gap_s: float | None = None,
        name: str = "hf",
        incoming: Callable[[], int] | None = None,
    ) -> None:
        self._run = run
        # How many requests are on their way (loading the model, encoding): while any are,
        # a partial batch waits for them, up to ``incoming_wait_s`` after its oldest request.
        self._incoming = incoming
        self.incoming_wait_s = 1.0
        self.max_wait_s = (
            max_wait_s if max_wait_s is not None else _env_ms("HARNESS_HF_BATCH_WAIT_MS", 20)
        )
        self.gap_s = gap_s if gap_s is not None else min(0.005, self.max_wait_s)
        self.name = name
        self._cond = threading.Condition()
        self._pending: list[_Request] = []
        self._counter = itertools.count()
        self._thread: threading.Thread | None = None
        self._last_arrival = 0.0
        # Set when a batch is answered: how many requests to wait for, and until when.
        self._refill_target = 0
        self._refill_until = 0.0
        self.refill = 0.1
        self.refill_max_s = 5.0
        self.batches = 0  # batches run (``generate`` calls, retries of a failed batch aside)

    def submit(self, prompt: Sequence[int], params: GenParams) -> Future:
        """Queue one prompt; the future resolves to its GenResult or the error that hit it."""
        now = time.monotonic()
        request = _Request(prompt, params, next(self._counter), now)
        with self._cond:
            self._pending.append(request)
            self._last_arrival = now
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name=f"harness-{self.name}-batcher", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()
        return request.future

    def _loop(self) -> None:
        while True:
            batch, params = self._next_batch()
            live = [r for r in batch if r.future.set_running_or_notify_cancel()]
            if live:
                self._execute(live, params)

    def _execute(self, live: list[_Request], params: GenParams) -> None:
        self.batches += 1
        started = time.monotonic()
        try:
            self._execute_batch(live, params)
        finally:
            took = time.monotonic() - started
            with self._cond:
                self._refill_target = len(live) + len(self._pending)
                self._refill_until = time.monotonic() + min(
                    self.refill_max_s, max(self.max_wait_s, self.refill * took))

    def _execute_batch(self, live: list[_Request], params: GenParams) -> None:
        try:
            results = self._run([r.prompt for r in live], params)
        except Exception as exc:
            if len(live) == 1:
                live[0].future.set_exception(exc)
                return
            # One bad prompt (say, longer than the context) must not fail its batch-mates.
            for request in live:
                self._execute_one(request, params)
            return
        for request, result in zip(live, results, strict=True):
            request.future.set_result(result)

    def _execute_one(self, request: _Request, params: GenParams) -> None:
        try:
            result = self._run([request.prompt], params)[0]
        except Exception as exc:
            request.future.set_exception(exc)
        else:
            request.future.set_result(result)

    def _next_batch(self) -> tuple[list[_Request], GenParams]:
        with self._cond:
            while not self._pending:
                self._cond.wait()
            oldest = self._pending[0]
            params = oldest.params
            while True:
                group = [r for r in self._pending if r.params == params]
                if len(group) >= params.batch_size:
                    break
                now = time.monotonic()
                # The last batch's callers are coming back (a refill window that has passed
                # is stale: a later burst must not close on it at its first request).
                if self._refill_target and now < self._refill_until:
                    if len(self._pending) >= self._refill_target:
                        break
                    until = self._refill_until
                else:
                    until = min(oldest.arrived + self.max_wait_s,
                                self._last_arrival + self.gap_s)
                    if self._incoming is not None and self._incoming() > 0:
                        # Not notified when one gives up on its way: look again shortly.
                        until = min(max(until, now + 0.005),
                                    oldest.arrived + self.incoming_wait_s)
                if until <= now:
                    break
                self._cond.wait(until - now)
            group.sort(key=lambda r: (len(r.prompt), r.seq))
            size = max(1, params.batch_size)
            first = min(group.index(oldest), max(0, len(group) - size))
            chosen = group[first : first + size]
            self._refill_target = 0
            taken = {r.seq for r in chosen}
            self._pending = [r for r in self._pending if r.seq not in taken]
            return chosen, params
