"""The judge client: judge calls through the run's client stack (cache, retries, limits),
their usage counted per judge and in the progress line, apart from the samples."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from judge_helpers import judge

from harness.judges.client import JudgeClient, ask
from harness.progress import Progress
from harness.testing.loopback import Faults, LoopbackServer

MESSAGES = [{"role": "user", "content": "[Reference answer]\n4\n\n[Response]\nIt is 4.\n\n"
                                         "End with VERDICT: PASS or VERDICT: FAIL."}]


def test_ask_goes_through_the_cache_retries_and_counts_usage(tmp_path: Path, key: str) -> None:
    progress = Progress(10, quiet=True)

    async def main(url: str) -> tuple:
        client = JudgeClient.open(progress=progress)
        try:
            spec = {"model": "openai/gpt-4o", "api_base": f"{url}/v1"}
            first = await client.ask(spec, MESSAGES, {"max_tokens": 64}, judge="j")
            again = await client.ask(spec, MESSAGES, {"max_tokens": 64}, judge="j")
            return first, again, client.summary()
        finally:
            await client.aclose()

    # Every conversation fails once with a 500 first: the stack's retries absorb it.
    with LoopbackServer(judge, faults=Faults(server_error=1.0, max_failures=1)) as server:
        first, again, usage = asyncio.run(main(server.url))
        assert server.stats()["statuses"] == {"200": 1, "500": 1}
        assert server.received[-1].body["max_tokens"] == 64
        assert server.received[-1].body["temperature"] == 0  # a judge is greedy by default
    assert first.text.endswith("VERDICT: PASS") and not first.cached
    assert again.text == first.text and again.cached
    assert usage["j"]["calls"] == 2 and usage["j"]["cached"] == 1
    assert usage["j"]["cost_usd"] > 0 and usage["j"]["model"] == "openai/gpt-4o"
    assert progress.judge_calls == 2 and progress.judge_cost == pytest.approx(
        usage["j"]["cost_usd"])
    assert progress.done == 0 and progress.cost == 0  # no sample, no cost of a model under test


def test_the_progress_line_shows_judge_calls_apart() -> None:
    stream = io.StringIO()
    progress = Progress(4, stream=stream, tty=False)
    progress.update(error=False, cost=0.5, cached=False)
    progress.judge_update(cost=0.25, cached=False, error=False)
    assert progress.line().endswith("errors=0 cost=$0.5000 judge=1 calls $0.2500")


def test_module_level_ask_opens_and_closes_its_own_stack(key: str) -> None:
    with LoopbackServer(judge) as server:
        completion = asyncio.run(ask({"model": "anthropic/claude-haiku-4-5",
                                      "api_base": server.url}, MESSAGES))
        assert server.received[0].protocol == "anthropic"
    assert completion.text.endswith("VERDICT: PASS")


def test_a_failed_judge_call_is_counted_and_raised(key: str) -> None:
    async def main(url: str) -> dict:
        client = JudgeClient.open()
        try:
            with pytest.raises(Exception, match="400"):
                await client.ask({"model": "openai/gpt-4o", "api_base": f"{url}/v1"}, MESSAGES)
            return client.summary()
        finally:
            await client.aclose()

    with LoopbackServer(judge, status_for=lambda messages: 400) as server:
        usage = asyncio.run(main(server.url))
    assert usage["openai/gpt-4o"]["errors"] == 1


@pytest.mark.slow
def test_the_embedded_local_model_can_judge() -> None:
    """hf/ models go through the same stack: a judge needs nothing hosted. (What a 135M judge's
    verdicts are worth is measured by its calibration, not here.)"""
    async def main() -> tuple:
        client = JudgeClient.open()
        try:
            completion = await client.ask("hf/smollm2-135m-instruct", MESSAGES,
                                          {"max_tokens": 8}, judge="local")
            return completion, client.summary()
        finally:
            await client.aclose()

    completion, usage = asyncio.run(main())
    assert isinstance(completion.text, str) and completion.output_tokens
    assert usage["local"]["calls"] == 1 and usage["local"]["errors"] == 0
    assert usage["local"]["cost_usd"] == 0
