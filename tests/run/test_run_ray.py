"""``harness run --ray``: on a local Ray cluster started here (2 CPUs, so 2 workers), a sharded
run's samples equal a local run's, the cache is shared with local runs, and a worker killed
in the middle of its calls loses nothing and repeats no finished sample."""

from __future__ import annotations

import json
import os
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from loopback_models import adder
from run_helpers import by_sample

import harness
from harness.testing.loopback import LoopbackServer


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    ray = pytest.importorskip("ray")
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 logging_level="error")
    yield ray
    ray.shutdown()


def write_experiment(tmp_path: Path, url: str, *, extra: str = "", items: int = 12) -> Path:
    rows = [{"id": f"t{i}", "a": i, "b": 2 * i + 1} for i in range(items)]
    (tmp_path / "tasks" / "add" / "data" / "test.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    path = tmp_path / "ray.yaml"
    path.write_text(
        "name: sharded\n"
        "tasks: [add]\n"
        "variants: [zero-shot, {name: few-shot, shots: 2}]\n"
        "models:\n"
        f"  - {{model: hosted_vllm/served, api_base: '{url}/v1', max_tokens: 32}}\n"
        f"{extra}",
        encoding="utf-8")
    return path


def conversation(messages: list[dict[str, str]]) -> str:
    """A sample's key in the loopback server's request counts."""
    return json.dumps([{"role": m["role"], "content": m["content"]} for m in messages],
                      sort_keys=True)


@pytest.mark.ray
def test_a_sharded_run_equals_a_local_run_and_shares_its_cache(
        ray_cluster: Any, tmp_path: Path, add_task: Path) -> None:
    with LoopbackServer(adder) as server:
        exp = write_experiment(tmp_path, server.url,
                               extra=f"cache_dir: {tmp_path / 'cache'}\n")
        local = harness.run(exp, results_dir=tmp_path / "results", reports_dir=None,
                            quiet=True, cache=False)
        local_requests = sum(server.counts.values())
        local_peers = set(server.connections)
        sharded = harness.run(exp, results_dir=tmp_path / "results", reports_dir=None,
                              quiet=True, ray="")
        ray_peers = set(server.connections) - local_peers
        after = sum(server.counts.values())
        again = harness.run(exp, results_dir=tmp_path / "results", reports_dir=None,
                            quiet=True)
    assert len(local) == 24 and local["error"].isna().all()
    assert by_sample(sharded) == by_sample(local)  # ids, outputs, answers, scores, tokens
    assert sorted(sharded["sample_id"]) == sorted(local["sample_id"])
    assert not sharded["cached"].any() and after - local_requests == 24
    manifest = sharded.attrs["manifest"]
    assert manifest["ray"]["workers"] == 2 and manifest["status"] == "complete"
    # The calls came from the workers, not the driver's own connection pool.
    assert len(ray_peers) >= 2
    # The Ray run filled the same response cache a local run reads.
    assert again["cached"].all() and sum(server.counts.values()) == after
    assert by_sample(again) == by_sample(local)


class KillingServer(LoopbackServer):
    """Kills the worker process that sends the ``kill_at``-th request, as it arrives, and
    notes which samples the run had already recorded at that moment."""

    kill_at: int = 10
    run_root: Path | None = None
    killed_pid: int | None = None
    finished_at_kill: set[str]

    async def _handle(self, request: Any) -> Any:
        if self.killed_pid is None and sum(self.counts.values()) + 1 == self.kill_at:
            import psutil

            port = request.transport.get_extra_info("peername")[1]
            pid = next(c.pid for c in psutil.net_connections(kind="tcp")
                       if c.laddr and c.laddr.port == port and c.pid not in (None, os.getpid()))
            self.finished_at_kill = {
                json.loads(line)["sample_id"]
                for f in (self.run_root or Path()).glob("*/samples.jsonl")
                for line in f.read_text(encoding="utf-8").splitlines() if line.strip()}
            os.kill(pid, signal.SIGKILL)
            self.killed_pid = pid
        return await super()._handle(request)


@pytest.mark.ray
def test_a_killed_worker_loses_nothing_and_repeats_no_finished_sample(
        ray_cluster: Any, tmp_path: Path, add_task: Path) -> None:
    pytest.importorskip("psutil")
    results = tmp_path / "results"
    server = KillingServer(adder, latency=0.15)
    server.run_root = results
    with server:
        exp = write_experiment(tmp_path, server.url, items=15,
                               extra="cache: false\nconcurrency: 4\n")
        samples = harness.run(exp, results_dir=results, reports_dir=None, quiet=True, ray="")
    assert server.killed_pid is not None
    assert len(samples) == 30
    assert samples["error"].isna().all(), samples["error"].dropna().head()
    assert (samples["score_numeric"] == 1.0).all()
    lines = (Path(samples.attrs["run_dir"]) / "samples.jsonl").read_text().splitlines()
    ids = [json.loads(line)["sample_id"] for line in lines if line.strip()]
    assert len(ids) == len(set(ids)) == 30  # every sample recorded once
    keys = {row["sample_id"]: conversation(row["messages"])
            for row in samples.to_dict(orient="records")}
    assert set(keys.values()) == set(server.counts)
    finished = server.finished_at_kill
    assert finished, "the kill came before any sample finished"
    assert all(server.counts[keys[s]] == 1 for s in finished)
    # Only calls the dead worker had in flight were sent again, once.
    assert max(server.counts.values()) <= 2
    assert sum(server.counts.values()) <= 30 + 4


def test_without_ray_installed_ray_is_one_line_before_anything_runs(
        tmp_path: Path, add_task: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys

    exp = write_experiment(tmp_path, "http://127.0.0.1:9")
    blocker = tmp_path / "noray"
    blocker.mkdir()
    (blocker / "ray.py").write_text("raise ImportError('no ray here')\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(blocker), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, "-m", "harness", "run", str(exp), "--ray",
                           "--results-dir", str(tmp_path / "results")],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'prompt-harness[ray]'" in lines[0]
    assert not (tmp_path / "results").exists()


def test_ray_with_a_custom_client_is_refused(tmp_path: Path, add_task: Path) -> None:
    from harness.errors import ConfigError
    from harness.models.client import Completion

    class Fixed:
        async def complete(self, *args: object, **kwargs: object) -> Completion:
            return Completion("1")

    exp = write_experiment(tmp_path, "http://127.0.0.1:9")
    with pytest.raises(ConfigError, match="custom client"):
        harness.run(exp, results_dir=tmp_path / "results", reports_dir=None, quiet=True,
                    client=Fixed(), ray="")
    assert not (tmp_path / "results").exists()


class _Cluster:
    def __init__(self, resources: dict[str, float], nodes: int) -> None:
        self.resources, self.alive = resources, nodes

    def cluster_resources(self) -> dict[str, float]:
        return self.resources

    def nodes(self) -> list[dict[str, bool]]:
        return [{"Alive": True}] * self.alive + [{"Alive": False}]


@pytest.mark.parametrize(("resources", "nodes", "model", "workers", "expected"), [
    ({"CPU": 64, "GPU": 8}, 2, "hf/smollm2-135m-instruct", None,
     (8, {"num_gpus": 1.0, "num_cpus": 0})),  # local models: one worker per GPU
    ({"CPU": 64}, 3, "hf/smollm2-135m-instruct", None,
     (3, {"num_cpus": 1.0, "scheduling_strategy": "SPREAD"})),  # no GPU: one per machine
    ({"CPU": 64}, 3, "openai/gpt-4o-mini", None, (16, {"num_cpus": 1.0})),
    ({"CPU": 2}, 1, "openai/gpt-4o-mini", None, (2, {"num_cpus": 1.0})),
    # More workers than CPUs share them rather than waiting for CPUs that are not there.
    ({"CPU": 2}, 1, "openai/gpt-4o-mini", 4, (4, {"num_cpus": 0.5})),
    ({"CPU": 8, "GPU": 1}, 1, "hf/smollm2-135m-instruct", 2,
     (2, {"num_gpus": 0.5, "num_cpus": 0})),
])
def test_how_many_workers_and_what_each_holds(resources: dict[str, float], nodes: int,
                                              model: str, workers: int | None,
                                              expected: tuple[int, dict[str, Any]]) -> None:
    from harness.config import ModelConfig
    from harness.ray_run import worker_plan

    assert worker_plan(_Cluster(resources, nodes), [ModelConfig(model=model)],
                       workers) == expected


@pytest.mark.ray
def test_resuming_on_ray_sends_only_what_did_not_finish(
        ray_cluster: Any, tmp_path: Path, add_task: Path) -> None:
    broken = {"on": True}

    def reject_item_3(messages: list[dict[str, str]]) -> int | None:
        return 400 if broken["on"] and "What is 3 + 7?" in messages[-1]["content"] else None

    with LoopbackServer(adder, status_for=reject_item_3) as server:
        exp = write_experiment(tmp_path, server.url, extra="cache: false\n")
        first = harness.run(exp, results_dir=tmp_path / "results", reports_dir=None,
                            quiet=True)
        assert first["error"].notna().sum() == 2
        before = Counter(server.counts)
        broken["on"] = False
        resumed = harness.run(resume=first.attrs["manifest"]["run_id"],
                              results_dir=tmp_path / "results", reports_dir=None, quiet=True,
                              ray="")
        sent_again = Counter(server.counts) - before
    assert resumed["error"].isna().all() and len(resumed) == 24
    assert sum(sent_again.values()) == 2  # the two failed samples, nothing else
    assert all("What is 3 + 7?" in key for key in sent_again)
    assert resumed.attrs["manifest"]["ray"]["workers"] == 2


def test_ray_before_the_experiment_file_is_not_taken_for_an_address(
        tmp_path: Path, add_task: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``harness run --ray my.yaml`` runs my.yaml on a local Ray instance."""
    import harness.api
    from harness.cli import main

    seen: dict[str, Any] = {}

    def fake_run(experiment: Any, **kwargs: Any) -> Any:
        seen.update(experiment=experiment, ray=kwargs["ray"])
        raise SystemExit(0)

    monkeypatch.setattr(harness.api, "run", fake_run)
    exp = write_experiment(tmp_path, "http://127.0.0.1:9")
    with pytest.raises(SystemExit):
        main(["run", "--ray", str(exp)])
    assert seen == {"experiment": exp, "ray": ""}
