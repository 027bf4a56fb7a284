"""Adaptive (AIMD) concurrency: backs off on 429, grows on success, stays within the cap.

The speed target (within 20% of a client told the right concurrency) is measured in
``benchmarks/bench_adaptive.py``; here: the limiter's rules, and convergence without a failed
sample against a server with a secret limit.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
from pathlib import Path

import pytest
from run_helpers import KEY_ENV

import harness
from harness.config import ModelConfig
from harness.models.adaptive import AdaptiveLimit
from harness.models.client import Completion, ModelCallError
from harness.models.limits import LimitedClient
from harness.progress import Progress
from harness.testing.loopback import Faults, LoopbackServer


def test_a_burst_of_429s_from_one_congestion_event_cuts_the_limit_once() -> None:
    limit = AdaptiveLimit(32)

    async def go() -> None:
        tickets = [await limit.acquire() for _ in range(32)]
        assert limit.in_flight == 32
        for ticket in tickets:  # all 32 refused: one event
            limit.release(ticket, "congested")

    asyncio.run(go())
    assert limit.limit == 24 and limit.cuts == 1 and limit.in_flight == 0


def test_grows_by_one_per_window_of_successes_never_above_the_cap() -> None:
    limit = AdaptiveLimit(6, start=2)

    async def go() -> list[int]:
        seen = []
        for _ in range(40):
            ticket = await limit.acquire()
            limit.release(ticket, "ok")
            seen.append(limit.limit)
        return seen

    seen = asyncio.run(go())
    assert seen[:5] == [2, 3, 3, 3, 4]  # 2 successes at 2, then 3 at 3
    assert max(seen) == 6 and seen[-1] == 6


def test_floor_is_one_and_other_failures_do_not_cut() -> None:
    limit = AdaptiveLimit(4)

    async def go() -> None:
        for _ in range(10):
            limit.release(await limit.acquire(), "congested")
        limit.release(await limit.acquire(), "failed")

    asyncio.run(go())
    assert limit.limit == 1 and limit.lowest == 1


def test_waiters_are_admitted_as_the_limit_allows_and_cancellation_frees_slots() -> None:
    limit = AdaptiveLimit(2)

    async def go() -> None:
        first, second = await limit.acquire(), await limit.acquire()
        waiting = [asyncio.create_task(limit.acquire()) for _ in range(3)]
        await asyncio.sleep(0)
        assert not any(t.done() for t in waiting)
        waiting[0].cancel()
        await asyncio.sleep(0)
        limit.release(first, "ok")
        await asyncio.sleep(0)
        assert waiting[1].done() and not waiting[2].done()
        assert limit.in_flight == 2
        limit.release(second, "ok")
        limit.release(await waiting[1], "ok")
        limit.release(await waiting[2], "ok")
        assert limit.in_flight == 0

    asyncio.run(go())


class Refusing:
    """A client that answers 429 to any call beyond ``secret`` in flight."""

    def __init__(self, secret: int) -> None:
        self.secret = secret
        self.in_flight = 0
        self.most = 0

    async def complete(self, model, messages, params, *, epoch=0):  # type: ignore[no-untyped-def]
        if self.in_flight >= self.secret:
            raise ModelCallError("429", retryable=True, retry_after=0.0, status=429)
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            await asyncio.sleep(0.001)
        finally:
            self.in_flight -= 1
        return Completion(text="ok")


def test_limited_client_reads_429_as_congestion_and_keeps_within_the_cap() -> None:
    inner = Refusing(secret=3)
    client = LimitedClient(inner, default_cap=16)  # type: ignore[arg-type]
    model = ModelConfig(model="openai/x")

    async def call() -> None:
        while True:
            try:
                await client.complete(model, [{"role": "user", "content": "q"}], {})
                return
            except ModelCallError:
                await asyncio.sleep(0)

    async def go() -> None:
        await asyncio.gather(*(call() for _ in range(300)))

    asyncio.run(go())
    slots = client.limits(model).slots
    assert slots is not None and slots.cap == 16 and slots.cuts >= 1
    assert 1 <= slots.limit <= 6
    assert client.describe() == slots.describe()


def _big_add_task(root: Path, items: int) -> None:
    task = root / "tasks" / "add"
    (task / "data").mkdir(parents=True)
    (task / "data" / "test.jsonl").write_text("".join(
        json.dumps({"id": f"t{i}", "a": i, "b": 2 * i + 1}) + "\n" for i in range(items)))
    (task / "task.yaml").write_text(
        "name: add\ndata: {test: data/test.jsonl}\n"
        "input: 'What is {{ a }} + {{ b }}?'\ntarget: '{{ a + b }}'\n"
        "instructions: Add the two numbers.\nanswer_format: Reply with the number only.\n"
        "parser: [last_number]\nscorers: [numeric]\n")


def test_run_converges_to_a_secret_server_limit_without_failing_a_sample(
    tmp_path: Path, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loopback_models import adder

    secret = 5
    _big_add_task(tmp_path, 200)
    lines = io.StringIO()
    original = Progress.__init__

    def to_lines(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.update(stream=lines, quiet=False, tty=False, interval=3600.0)
        original(self, *args, **kwargs)

    monkeypatch.setattr(Progress, "__init__", to_lines)
    with LoopbackServer(adder, latency=0.03, concurrency_limit=secret,
                        faults=Faults(retry_after=0.02)) as server:
        exp = tmp_path / "exp.yaml"
        exp.write_text(
            "name: exp\ntasks: [add]\nvariants: [zero-shot]\n"
            f"models:\n  - {{model: openai/test-model, api_base: '{server.url}/v1', "
            f"api_key_env: {KEY_ENV}, max_tokens: 16, max_concurrency: 32}}\n"
            "concurrency: 32\ncache: false\n")  # default retries (6)
        samples = harness.run(exp, results_dir=tmp_path / "results", reports_dir=None)
        refused = server.statuses[429]
        most = server.max_in_flight
    assert len(samples) == 200
    assert samples["error"].isna().all()  # every refusal was retried, none became a failure
    assert (samples["score_numeric"] == 1.0).all()
    assert refused > 0 and most <= secret  # it was pushed back, and never got past the limit
    final = re.findall(r"conc=(\d+)/32", lines.getvalue())
    assert final, lines.getvalue()
    assert secret / 2 <= int(final[-1]) <= 2 * secret
    # It did not settle for the floor either: far fewer refusals than samples.
    assert refused < len(samples)


def test_after_a_cut_it_lingers_just_under_the_refused_level_before_probing_it() -> None:
    from harness.models.adaptive import PLATEAU

    limit = AdaptiveLimit(32, start=8)

    async def successes_until_growth() -> int:
        start, count = limit.limit, 0
        while limit.limit == start:
            limit.release(await limit.acquire(), "ok")
            count += 1
        return count

    async def go() -> list[int]:
        limit.release(await limit.acquire(), "congested")  # refused at 8: cut to 6
        assert limit.limit == 6
        return [await successes_until_growth() for _ in range(3)]

    # 6 -> 7 takes one window; 7 is just under the refused 8, so 7 -> 8 takes PLATEAU
    # windows; past the old ceiling, growth is one window again.
    assert asyncio.run(go()) == [6, 7 * PLATEAU, 8]
