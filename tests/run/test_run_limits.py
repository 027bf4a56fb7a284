"""Per-model limits: requests in flight, requests per minute, tokens per minute."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

from loopback_models import adder
from run_helpers import write_experiment

import harness
from harness.models.client import Completion
from harness.models.limits import ModelLimits, TokenBucket
from harness.testing.loopback import LoopbackServer


class FakeClock:
    """Time that passes only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


def test_rpm_spaces_requests_on_a_fake_clock() -> None:
    clock = FakeClock()
    bucket = TokenBucket(60, clock=clock, sleep=clock.sleep)  # one a second, burst of one

    async def go() -> list[float]:
        times = []
        for _ in range(5):
            await bucket.take(1)
            times.append(clock.now)
        return times

    times = asyncio.run(go())
    assert times[0] == 0.0
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(abs(g - 1.0) < 1e-9 for g in gaps)


def test_tpm_counts_large_requests_in_full_and_corrects_estimates() -> None:
    clock = FakeClock()
    limits = ModelLimits(None, None, 6000, clock=clock, sleep=clock.sleep)  # 100 tokens/s

    async def go() -> list[float]:
        times = []
        for _ in range(3):
            async with limits.acquire(300):  # bigger than the one-second burst
                times.append(clock.now)
        return times

    times = asyncio.run(go())
    # Each 300-token request leaves the bucket 200 in debt: 3 s between requests.
    assert [round(t, 6) for t in times] == [0.0, 3.0, 6.0]
    # Usage below the estimate is given back.
    assert limits.tokens is not None
    before = limits.tokens.level
    limits.settle(300, Completion(text="", input_tokens=40, output_tokens=10))
    assert limits.tokens.level > before


def test_rpm_and_max_concurrency_hold_against_a_real_server(
    tmp_path: Path, add_task: Path, key: str
) -> None:
    # This run also warms LiteLLM up: its first call in a process is slow, and calls admitted
    # on time meanwhile would reach the wire together.
    with LoopbackServer(adder, latency=0.05) as server:
        exp = write_experiment(tmp_path, server.url, limit=12, model_extra="max_concurrency: 3",
                               extra="cache: false\nconcurrency: 16\n")
        harness.run(exp, results_dir=tmp_path / "r2", reports_dir=None, quiet=True)
        assert server.max_in_flight == 3

    with LoopbackServer(adder, latency=0.1) as server:
        exp = write_experiment(tmp_path, server.url, limit=4, model_extra="rpm: 240",
                               extra="cache: false\n")
        harness.run(exp, results_dir=tmp_path / "r1", reports_dir=None, quiet=True)
        arrivals = sorted(r.at for r in server.received)
    # 240 a minute is 4 a second, bursting to 4: the last 4 of 8 requests come 1/4 s apart.
    assert len(arrivals) == 8
    assert arrivals[-1] - arrivals[0] >= 0.9
    assert all(b - a >= 0.15 for a, b in itertools.pairwise(arrivals[4:]))
