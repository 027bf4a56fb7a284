"""Resume: a run killed at any moment (SIGKILL, Ctrl-C) is finished by ``--resume`` without
asking the model again for any sample that had finished, and ends equal to an uninterrupted
run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from loopback_models import adder
from run_helpers import KEY_ENV, by_sample, write_experiment

import harness
from harness.errors import HarnessError
from harness.results import read_manifest, read_records
from harness.testing.loopback import LoopbackServer


def _start(exp: Path, results: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "harness", "run", str(exp), "--results-dir", str(results),
         "--reports-dir", str(results.parent / "reports"), "--quiet", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
    )


def _wait_for_lines(results: Path, at_least: int, process: subprocess.Popen[str]) -> Path:
    """The run folder once its samples file holds ``at_least`` lines (the run is mid-way)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for path in results.glob("*/samples.jsonl"):
            if path.read_bytes().count(b"\n") >= at_least:
                return path.parent
        if process.poll() is not None:
            raise AssertionError(f"run ended early: {process.communicate()}")
        time.sleep(0.01)
    raise AssertionError("the run never got going")


def _conversation(record: dict) -> str:
    return json.dumps(record["messages"], sort_keys=True)


@pytest.mark.parametrize("how", ["SIGKILL", "SIGINT", "SIGTERM"])
def test_a_killed_run_resumes_without_asking_again(
    tmp_path: Path, add_task: Path, key: str, how: str
) -> None:
    results = tmp_path / "results"
    with LoopbackServer(adder, latency=0.05) as server:
        # No cache: only the results file can save the finished samples from being asked again.
        exp = write_experiment(tmp_path, server.url, limit=12,
                               extra="cache: false\nconcurrency: 2\n")
        process = _start(exp, results)
        run_dir = _wait_for_lines(results, 8, process)
        process.send_signal(getattr(signal, how))
        _, err = process.communicate(timeout=60)
        if how == "SIGKILL":
            assert process.returncode == -signal.SIGKILL
        elif how == "SIGTERM":
            # A clean stop: what was in flight is saved, and the hint says how to go on.
            assert process.returncode == 3  # the run did not finish (harness.errors.RunError)
            assert "terminated by SIGTERM" in err and f"--resume {run_dir.name}" in err
            assert read_manifest(run_dir)["status"] == "stopped"
        else:
            assert process.returncode == 130
            assert f"--resume {run_dir.name}" in err
            assert read_manifest(run_dir)["status"] == "interrupted"

        finished = read_records(run_dir)
        assert 8 <= len(finished) < 24
        sent_before = sum(server.counts.values())

        samples = harness.run(exp, resume=run_dir.name, results_dir=results, reports_dir=None,
                              quiet=True)
        # Every finished sample was asked exactly once, in the killed run.
        for record in finished:
            assert server.counts[_conversation(record)] == 1
        assert sum(server.counts.values()) <= 24 + (sent_before - len(finished))

    assert read_manifest(run_dir)["status"] == "complete"
    assert len(samples) == 24
    with LoopbackServer(adder) as fresh_server:
        fresh = harness.run(write_experiment(tmp_path, fresh_server.url, limit=12,
                                             extra="cache: false\n", name="exp"),
                            results_dir=tmp_path / "fresh", reports_dir=None, quiet=True)
    assert by_sample(samples) == by_sample(fresh)


def test_resume_refuses_a_changed_experiment_but_accepts_new_limits(
    tmp_path: Path, add_task: Path, key: str
) -> None:
    with LoopbackServer(adder) as server:
        exp = write_experiment(tmp_path, server.url, limit=4, extra="cache: false\n")
        done = harness.run(exp, results_dir=tmp_path / "results", reports_dir=None, quiet=True)
        run_id = done.attrs["manifest"]["run_id"]
        # Operational settings may change on resume...
        again = harness.run(exp, resume=run_id, results_dir=tmp_path / "results",
                            reports_dir=None, quiet=True, concurrency=3, max_cost_usd=5.0)
        assert len(again) == 8 and len(server.received) == 8
        # ... what the samples ask may not.
        write_experiment(tmp_path, server.url, limit=4, extra="cache: false\ntemperature: 0.5\n")
        with pytest.raises(HarnessError, match="changed since"):
            harness.run(exp, resume=run_id, results_dir=tmp_path / "results", reports_dir=None,
                        quiet=True)
    assert os.environ[KEY_ENV] == key
