"""Replicas behind one model name (``deployments``): every sample finishes when one replica
fails half its requests and another is slow, the failing one gets less traffic, per-replica
limits hold, retries are counted once per sample whichever replica each attempt went to, and
the cache does not care which replica answered."""

from __future__ import annotations

from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import pytest
from loopback_models import adder
from run_helpers import KEY_ENV

import harness
from harness.errors import ConfigError
from harness.testing.loopback import Faults, LoopbackServer


def write_replicas(tmp_path: Path, urls: list[str], *, extra: str = "",
                   deployment_extra: str = "", model_extra: str = "", limit: int = 12,
                   name: str = "replicas") -> Path:
    deployments = ", ".join(
        f"{{api_base: '{url}/v1'{', ' + deployment_extra if deployment_extra else ''}}}"
        for url in urls)
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"name: {name}\n"
        "tasks: [add]\n"
        "variants: [zero-shot, {name: few-shot, shots: 2}]\n"
        "models:\n"
        f"  - {{model: hosted_vllm/served, name: served, api_key_env: {KEY_ENV}, "
        f"max_tokens: 32, deployments: [{deployments}]"
        f"{', ' + model_extra if model_extra else ''}}}\n"
        f"limit: {limit}\n"
        f"{extra}",
        encoding="utf-8")
    return path


def per_sample(*servers: LoopbackServer) -> Counter[str]:
    """How often each conversation (one sample) reached any of the servers."""
    total: Counter[str] = Counter()
    for server in servers:
        total.update(server.counts)
    return total


RETRIES = 3


def more_items(add_task: Path, n: int) -> None:
    """The shared ``add`` task with ``n`` items instead of 12 (distinct questions)."""
    import json

    rows = [{"id": f"t{i}", "a": i, "b": 2 * i + 1} for i in range(n)]
    (add_task / "data" / "test.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_three_replicas_one_failing_half_one_slow(tmp_path: Path, add_task: Path,
                                                  key: str) -> None:
    more_items(add_task, 30)
    with ExitStack() as stack:
        good = stack.enter_context(LoopbackServer(adder, latency=0.02))
        failing = stack.enter_context(LoopbackServer(
            adder, latency=0.02, faults=Faults(server_error=0.5, seed=5)))
        slow = stack.enter_context(LoopbackServer(adder, latency=0.4))
        exp = write_replicas(tmp_path, [good.url, failing.url, slow.url], limit=30,
                             model_extra="cooldown_time: 1",
                             extra=f"retries: {RETRIES}\ncache: false\nconcurrency: 6\n")
        samples = harness.run(exp, results_dir=tmp_path / "results", reports_dir=None,
                              quiet=True)
    assert len(samples) == 60
    assert samples["error"].isna().all(), samples["error"].dropna().head()
    assert (samples["score_numeric"] == 1.0).all()
    assert set(samples["model"]) == {"served"}
    sent = {"good": sum(good.counts.values()), "failing": sum(failing.counts.values()),
            "slow": sum(slow.counts.values())}
    assert failing.statuses[500] > 0, sent  # the faults happened and were absorbed
    assert sent["failing"] < sent["good"], sent
    assert sent["slow"] < sent["good"], sent
    counts = per_sample(good, failing, slow)
    assert len(counts) == 60
    assert max(counts.values()) <= RETRIES + 1
    # Every request beyond the first of a sample answered a failure: nothing was sent twice
    # for a sample that had already been answered.
    assert sum(counts.values()) == 60 + failing.statuses[500]


def test_retries_do_not_multiply_over_replicas(tmp_path: Path, add_task: Path,
                                               key: str) -> None:
    """Every replica fails every request: each sample is sent exactly retries + 1 times in
    all, never (retries + 1) per replica."""
    retries = 2
    with ExitStack() as stack:
        servers = [stack.enter_context(LoopbackServer(adder, faults=Faults(server_error=1.0)))
                   for _ in range(3)]
        exp = write_replicas(tmp_path, [s.url for s in servers], limit=3,
                             model_extra="cooldown_time: 0.2",
                             extra=f"retries: {retries}\ncache: false\nmax_error_rate: 1\n")
        samples = harness.run(exp, results_dir=tmp_path / "results", reports_dir=None,
                              quiet=True)
    assert samples["error"].notna().all()
    assert samples["error"].str.contains("after 3 attempts").all()
    counts = per_sample(*servers)
    assert len(counts) == 6
    assert set(counts.values()) == {retries + 1}
    # The attempts were spread: a failed replica is left out and the retry goes elsewhere.
    assert all(sum(s.counts.values()) > 0 for s in servers)


def test_each_replica_keeps_its_own_limit(tmp_path: Path, add_task: Path, key: str) -> None:
    with ExitStack() as stack:
        servers = [stack.enter_context(LoopbackServer(adder, latency=0.1)) for _ in range(3)]
        exp = write_replicas(tmp_path, [s.url for s in servers], limit=12,
                             deployment_extra="max_concurrency: 2",
                             extra="cache: false\nconcurrency: 12\n")
        samples = harness.run(exp, results_dir=tmp_path / "results", reports_dir=None,
                              quiet=True)
    assert samples["error"].isna().all()
    assert [s.max_in_flight for s in servers] == [2, 2, 2]  # used to the full, never beyond
    assert sum(sum(s.counts.values()) for s in servers) == 24


def test_the_cache_does_not_depend_on_which_replica_answered(tmp_path: Path, add_task: Path,
                                                              key: str) -> None:
    with LoopbackServer(adder) as first, LoopbackServer(adder) as second:
        exp = write_replicas(tmp_path, [first.url, second.url], limit=6)
        before = harness.run(exp, results_dir=tmp_path / "results", reports_dir=None,
                             quiet=True)
    assert sum(first.counts.values()) > 0 and sum(second.counts.values()) > 0
    with LoopbackServer(lambda m, b: "a different model") as other:
        exp = write_replicas(tmp_path, [other.url], limit=6)
        after = harness.run(exp, results_dir=tmp_path / "results", reports_dir=None,
                            quiet=True)
    assert sum(other.counts.values()) == 0
    assert after["cached"].all()
    assert sorted(after["output"]) == sorted(before["output"])


def test_a_replica_model_is_not_the_same_as_one_server(tmp_path: Path, add_task: Path,
                                                       key: str) -> None:
    """The replicas' identity names what they serve; a single entry keeps its api_base in
    its identity, so answers of some other server are not served to it."""
    from harness.config import ModelConfig
    from harness.models.identity import model_identity

    replicas = ModelConfig.model_validate({"model": "hosted_vllm/m", "deployments": [
        {"api_base": "http://a:1/v1"}, {"api_base": "http://b:1/v1"}]})
    swapped = ModelConfig.model_validate({"model": "hosted_vllm/m", "deployments": [
        {"api_base": "http://c:1/v1"}]})
    single = ModelConfig.model_validate({"model": "hosted_vllm/m", "api_base": "http://a:1/v1"})
    assert model_identity(replicas) == model_identity(swapped)
    assert model_identity(replicas) != model_identity(single)


def test_preflight_checks_each_deployments_key(tmp_path: Path, add_task: Path, key: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARNESS_REPLICA_KEY_2", raising=False)
    path = tmp_path / "keys.yaml"
    path.write_text(
        "tasks: [add]\n"
        "variants: [zero-shot]\n"
        "models:\n"
        "  - model: openai/gpt-4o-mini\n"
        "    deployments:\n"
        f"      - {{api_base: 'https://one.example/v1', api_key_env: {KEY_ENV}}}\n"
        "      - api_base: https://two.example/v1\n"
        "        api_key_env: HARNESS_REPLICA_KEY_2\n",
        encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        harness.run(path, results_dir=tmp_path / "results", reports_dir=None, quiet=True)
    text = str(info.value)
    assert "HARNESS_REPLICA_KEY_2" in text
    assert "keys.yaml:8" in text and "deployments[1].api_key_env" in text
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(("deployments", "where", "says"), [
    ("[{api_base: 'ftp://x/v1'}]", "models[0].deployments[0].api_base", "http(s) URL"),
    ("[]", "models[0].deployments", "at least one"),
    ("[{api_base: 'http://x/v1', rpm: yes}]", "models[0].deployments[0].rpm", "number"),
    ("[{api_base: 'http://x/v1', api_key: sk-abcdefgh12345678}]",
     "models[0].deployments[0].api_key", "unknown key"),
])
def test_bad_deployments_are_one_line_errors(tmp_path: Path, add_task: Path, deployments: str,
                                             where: str, says: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("tasks: [add]\nvariants: [zero-shot]\nmodels:\n"
                    f"  - {{model: hosted_vllm/m, deployments: {deployments}}}\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        harness.run(path, results_dir=tmp_path / "results", reports_dir=None, quiet=True)
    assert where in str(info.value) and says in str(info.value)
    assert "sk-abcdefgh" not in str(info.value)


def test_api_base_beside_deployments_is_refused(tmp_path: Path, add_task: Path) -> None:
    path = tmp_path / "both.yaml"
    path.write_text("tasks: [add]\nvariants: [zero-shot]\nmodels:\n"
                    "  - model: hosted_vllm/m\n"
                    "    api_base: http://x/v1\n"
                    "    deployments: [{api_base: 'http://y/v1'}]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        harness.run(path, results_dir=tmp_path / "results", reports_dir=None, quiet=True)
    assert "both.yaml:5" in str(info.value) and "move this api_base" in str(info.value)


def _pool(**extra: object) -> tuple[object, list[float]]:
    from harness.config import ModelConfig
    from harness.models.replicas import ReplicaPool

    now = [0.0]
    model = ModelConfig.model_validate({"model": "hosted_vllm/m", "deployments": [
        {"api_base": "http://a:1/v1"}, {"api_base": "http://b:1/v1"},
        {"api_base": "http://c:1/v1"}], **extra})
    return ReplicaPool(model, default_cap=4, clock=lambda: now[0]), now


def test_a_failed_replica_is_left_out_for_its_cooldown_then_comes_back() -> None:
    import asyncio

    from harness.models.client import ModelCallError

    pool, now = _pool(cooldown_time=10, allowed_fails=1)
    boom = ModelCallError("InternalServerError: x", retryable=True, status=500)

    async def spread() -> None:
        first = await pool.acquire()
        await pool.release(first, boom)
        await pool.release(await pool.acquire(), None)
        await pool.release(await pool.acquire(), None)
        assert pool.healthy(first, now[0])  # allowed_fails: 1
        picked = await pool.acquire()
        assert picked is first
        await pool.release(picked, boom)  # the second failure within 10 s: out
        assert not pool.healthy(first, now[0])
        for _ in range(6):
            other = await pool.acquire()
            assert other is not first
            await pool.release(other, None)
        now[0] += 10.5
        assert pool.healthy(first, now[0])
        # Back in, and the least used: it takes the next call.
        assert await pool.acquire() is first

    asyncio.run(spread())


def test_when_every_replica_is_out_the_one_out_longest_is_tried() -> None:
    import asyncio

    from harness.models.client import ModelCallError

    pool, now = _pool(cooldown_time=30)
    boom = ModelCallError("Timeout: no answer", retryable=True)

    async def go() -> None:
        order = []
        for _ in range(3):
            replica = await pool.acquire()
            order.append(replica)
            now[0] += 1
            await pool.release(replica, boom)
        assert all(not pool.healthy(r, now[0]) for r in pool.replicas)
        assert await pool.acquire() is order[0]

    asyncio.run(asyncio.wait_for(go(), 5))


def test_a_bad_request_does_not_count_against_a_replica() -> None:
    import asyncio

    from harness.models.client import ModelCallError

    pool, now = _pool()

    async def go() -> None:
        replica = await pool.acquire()
        await pool.release(replica, ModelCallError("BadRequestError: no", retryable=False,
                                                    status=400))
        assert pool.healthy(replica, now[0]) and replica.failed == 0

    asyncio.run(go())


def test_a_retry_that_can_fail_over_does_not_wait() -> None:
    import asyncio

    from harness.config import ModelConfig
    from harness.models.client import Completion, ModelCallError
    from harness.models.retry import RetryingClient

    waits: list[float] = []
    errors = [ModelCallError("x", retryable=True, status=500, failover=True),
              ModelCallError("y", retryable=True, status=500)]

    class Flaky:
        async def complete(self, *args: object, **kwargs: object) -> Completion:
            if errors:
                raise errors.pop(0)
            return Completion("ok")

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    client = RetryingClient(Flaky(), retries=3, sleep=sleep)
    model = ModelConfig(model="openai/m")
    assert asyncio.run(client.complete(model, [], {})).text == "ok"
    assert waits[0] == 0.0 and waits[1] > 0.0


def test_the_estimate_counts_the_replicas_rates_together() -> None:
    from harness.config import ModelConfig
    from harness.estimate import ModelEstimate, _seconds

    def seconds(**entry: object) -> float:
        model = ModelConfig.model_validate({"model": "hosted_vllm/m", **entry})
        row = ModelEstimate(label="m", model="hosted_vllm/m", samples=600, calls=600,
                            latency_s=0.0)
        return _seconds(row, model, concurrency=16)

    two = [{"api_base": "http://a:1/v1", "rpm": 60}, {"api_base": "http://b:1/v1", "rpm": 60}]
    assert seconds(deployments=two) == pytest.approx(300)  # 600 calls at 120 a minute
    assert seconds(deployments=two, rpm=30) == pytest.approx(1200)  # the entry's own cap
    unlimited = [{"api_base": "http://a:1/v1", "rpm": 60}, {"api_base": "http://b:1/v1"}]
    assert seconds(deployments=unlimited) == pytest.approx(0)
