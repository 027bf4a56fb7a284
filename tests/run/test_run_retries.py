"""Retries: transient faults are retried within bounds, a bad request is not, and too many
failed samples make the run exit non-zero."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
from loopback_models import adder
from run_helpers import write_experiment

import harness
from harness.cli import main as cli_main
from harness.config import ModelConfig
from harness.errors import RunError
from harness.models.client import Completion, ModelCallError
from harness.models.retry import RetryingClient
from harness.testing.loopback import Faults, LoopbackServer

RETRIES = 3


@pytest.mark.parametrize("transport", ["auto", "litellm"])
def test_429_and_500_are_retried_until_every_sample_succeeds(
    tmp_path: Path, add_task: Path, key: str, transport: str
) -> None:
    faults = Faults(rate_limit=0.3, server_error=0.2, retry_after=0.01, seed=3,
                    max_failures=RETRIES)
    with LoopbackServer(adder, faults=faults) as server:
        exp = write_experiment(tmp_path, server.url, limit=10,
                               model_extra=f"transport: {transport}",
                               extra=f"retries: {RETRIES}\ncache: false\n")
        samples = harness.run(exp, results_dir=tmp_path / "results", reports_dir=None,
                              quiet=True)
    assert len(samples) == 20
    assert samples["error"].isna().all()
    assert (samples["score_numeric"] == 1.0).all()
    # Faults really happened, of both kinds, and were absorbed.
    assert server.statuses[429] > 0 and server.statuses[500] > 0
    # No conversation was sent more often than one first try plus its retries.
    assert len(server.counts) == 20
    assert max(server.counts.values()) <= RETRIES + 1
    assert sum(server.counts.values()) == 20 + server.statuses[429] + server.statuses[500]


def test_a_bad_request_is_not_retried_and_is_kept_out_of_scores(
    tmp_path: Path, add_task: Path, key: str
) -> None:
    def reject_three(messages: list[dict[str, str]]) -> int | None:
        return 400 if "What is 3 + 7?" in messages[-1]["content"] else None

    with LoopbackServer(adder, status_for=reject_three) as server:
        exp = write_experiment(tmp_path, server.url, limit=6,
                               extra="cache: false\nmax_error_rate: 0.5\n")
        samples = harness.run(exp, results_dir=tmp_path / "results", reports_dir=None,
                              quiet=True)
    failed = samples[samples["error"].notna()]
    assert len(failed) == 2  # item 3 in both variants
    assert failed["error"].str.contains("BadRequest").all()
    assert failed["score_numeric"].isna().all()
    bad = [r for r in server.received if "What is 3 + 7?" in r.messages[-1]["content"]]
    assert len(bad) == 2  # once per variant: never retried


def test_error_rate_over_the_threshold_exits_non_zero(
    tmp_path: Path, add_task: Path, key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    def reject_some(messages: list[dict[str, str]]) -> int | None:
        last = messages[-1]["content"]
        return 400 if any(f"What is {i} + " in last for i in (0, 1, 2)) else None

    with LoopbackServer(adder, status_for=reject_some) as server:
        exp = write_experiment(tmp_path, server.url, limit=10, extra="cache: false\n")
        args = ["run", str(exp), "--results-dir", str(tmp_path / "results"),
                "--reports-dir", str(tmp_path / "reports"), "--quiet"]
        # 6 of 20 samples fail: 30% is over the default 10%...
        assert cli_main(args) == 3  # the run could not be trusted: harness.errors.RunError
        assert "30.0% of samples failed" in capsys.readouterr().err
        # ... and under a threshold the user raised.
        assert cli_main([*args, "--max-error-rate", "0.4"]) == 0


def test_a_run_whose_first_samples_all_fail_stops_early(
    tmp_path: Path, add_task: Path, key: str
) -> None:
    with LoopbackServer(adder, status_for=lambda m: 401) as server:
        exp = write_experiment(tmp_path, server.url, limit=40,
                               extra="cache: false\nconcurrency: 4\n")
        with pytest.raises(RunError, match="first 20 samples all failed"):
            harness.run(exp, results_dir=tmp_path / "results", reports_dir=None, quiet=True)
    assert len(server.received) < 40


def test_cached_answers_do_not_hide_a_model_that_now_fails_every_call(
    tmp_path: Path, add_task: Path, key: str
) -> None:
    variants = "[zero-shot, cot, {name: few-shot, shots: 2}]"
    broken = [False]  # the key is revoked between the two runs
    with LoopbackServer(adder, status_for=lambda m: 401 if broken[0] else None) as server:
        warm = write_experiment(tmp_path, server.url, limit=2, variants=variants, name="warm")
        harness.run(warm, results_dir=tmp_path / "results", reports_dir=None, quiet=True)
        broken[0] = True
        asked_before = len(server.received)
        exp = write_experiment(tmp_path, server.url, limit=12, variants=variants,
                               extra="concurrency: 1\n")
        # 6 of the 36 samples come from the cache; of the other 30, the first 20 all fail:
        # stop there rather than ask for the last 10.
        with pytest.raises(RunError, match="first 20 samples all failed"):
            harness.run(exp, results_dir=tmp_path / "results", reports_dir=None, quiet=True)
    assert len(server.received) - asked_before == 20


class _Flaky:
    """Fails ``failures`` times with the given error, then answers."""

    def __init__(self, failures: int, error: ModelCallError) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    async def complete(self, model, messages, params, *, epoch=0):  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return Completion(text="ok")


def _retrying(inner: _Flaky, retries: int) -> tuple[RetryingClient, list[float]]:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    return RetryingClient(inner, retries=retries, base_delay=0.5, max_delay=8.0, sleep=sleep,
                          rng=random.Random(0)), waits


MODEL = ModelConfig(model="openai/test-model")


def test_backoff_is_exponential_with_full_jitter() -> None:
    inner = _Flaky(5, ModelCallError("503", retryable=True, status=503))
    client, waits = _retrying(inner, retries=6)
    assert asyncio.run(client.complete(MODEL, [], {})).text == "ok"
    assert len(waits) == 5 and inner.calls == 6
    for attempt, wait in enumerate(waits):
        assert 0 <= wait <= min(8.0, 0.5 * 2**attempt)
    assert len(set(waits)) == 5  # jittered, not in lockstep


def test_retry_after_is_honoured() -> None:
    inner = _Flaky(2, ModelCallError("429", retryable=True, retry_after=3.0, status=429))
    client, waits = _retrying(inner, retries=6)
    asyncio.run(client.complete(MODEL, [], {}))
    assert all(3.0 <= w <= 3.3 for w in waits) and waits[0] != waits[1]


def test_after_the_last_retry_the_error_says_how_many_attempts() -> None:
    inner = _Flaky(10, ModelCallError("500 boom", retryable=True, status=500))
    client, waits = _retrying(inner, retries=2)
    with pytest.raises(ModelCallError, match=r"after 3 attempts") as caught:
        asyncio.run(client.complete(MODEL, [], {}))
    assert inner.calls == 3 and len(waits) == 2
    assert not caught.value.retryable


def test_timeouts_and_refused_connections_are_retried_then_recorded(
    tmp_path: Path, add_task: Path, key: str
) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    exp = write_experiment(tmp_path, closed, limit=1,
                           extra="cache: false\nretries: 1\nmax_error_rate: 1\n")
    refused = harness.run(exp, results_dir=tmp_path / "r1", reports_dir=None, quiet=True)
    assert refused["error"].str.contains("Connection").all()
    assert refused["error"].str.contains("after 2 attempts").all()

    with LoopbackServer(adder, latency=2.0) as server:
        exp = write_experiment(tmp_path, server.url, limit=1, model_extra="timeout: 0.3",
                               extra="cache: false\nretries: 1\nmax_error_rate: 1\n")
        slow = harness.run(exp, results_dir=tmp_path / "r2", reports_dir=None, quiet=True)
        assert slow["error"].str.contains("Timeout").all()
        assert slow["error"].str.contains("after 2 attempts").all()
        assert len(server.received) == 0 or max(server.counts.values()) == 2


@pytest.mark.parametrize("status", [429, 500])
def test_a_sample_that_always_fails_is_sent_exactly_retries_plus_one_times(
    tmp_path: Path, add_task: Path, key: str, status: int
) -> None:
    def always(messages: list[dict[str, str]]) -> int | None:
        return status if "What is 0 + " in messages[-1]["content"] else None

    with LoopbackServer(adder, status_for=always, faults=Faults(retry_after=0.01)) as server:
        exp = write_experiment(tmp_path, server.url, limit=2, variants="[zero-shot]",
                               extra="cache: false\nretries: 2\nmax_error_rate: 1\n")
        samples = harness.run(exp, results_dir=tmp_path / "r", reports_dir=None, quiet=True)
    failing = [r for r in server.received if "What is 0 + " in r.messages[-1]["content"]]
    # Nobody under the harness (LiteLLM, the OpenAI SDK) retries on its own.
    assert len(failing) == 3
    assert samples["error"].notna().sum() == 1
    assert samples["error"].dropna().str.contains("after 3 attempts").all()
