"""The resume command a stopped run prints works as printed, whatever overrides started it,
and one run folder is run by one process at a time."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from loopback_models import adder
from run_helpers import write_experiment

from harness.results import read_manifest, read_records
from harness.runlock import RunBusyError, RunLock
from harness.testing.loopback import LoopbackServer


def _harness(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "harness", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_lines(results: Path, at_least: int, process: subprocess.Popen[str]) -> Path:
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


def _env(url: str) -> dict[str, str]:
    # A bare --model string has no api_base: LiteLLM then reads OPENAI_API_BASE.
    return {**os.environ, "OPENAI_API_BASE": f"{url}/v1", "OPENAI_API_KEY": "sk-loopback"}


def _interrupted_run(tmp_path: Path, server: LoopbackServer, flags: list[str],
                     lines: int) -> tuple[Path, str]:
    """Start a run with ``flags``, stop it with Ctrl-C mid-way; its folder and the hint."""
    exp = write_experiment(tmp_path, server.url, limit=6,
                           extra="cache: false\nconcurrency: 1\n")
    results = tmp_path / "results"
    process = _harness("run", str(exp), "--results-dir", str(results), "--quiet", *flags,
                       cwd=tmp_path, env=_env(server.url))
    run_dir = _wait_for_lines(results, lines, process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    found = re.search(r"continue with: (harness run .*)$", err, re.MULTILINE)
    assert found, err
    return run_dir, found.group(1)


@pytest.mark.parametrize(("flags", "expected"), [
    (["--limit", "3"], 3 * 2),                              # 3 items x 2 variants
    (["--epochs", "2"], 6 * 2 * 2),                         # 6 items x 2 variants x 2 epochs
    (["--seed", "7"], 6 * 2),                               # other few-shot examples
    (["--model", "openai/other-model"], 6 * 2),             # another model, from the env
])
def test_the_printed_resume_command_finishes_the_run_as_started(
    tmp_path: Path, add_task: Path, key: str, flags: list[str], expected: int
) -> None:
    with LoopbackServer(adder, latency=0.03) as server:
        run_dir, hint = _interrupted_run(tmp_path, server, flags, lines=2)
        finished = read_records(run_dir)
        in_flight = sum(server.counts.values()) - len(finished)  # cut off by the Ctrl-C
        assert read_manifest(run_dir)["overrides"]
        # Run the hint literally, from another folder: it needs nothing the shell had.
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        argv = shlex.split(hint)
        assert argv[:2] == ["harness", "run"]
        done = subprocess.run([sys.executable, "-m", *argv], cwd=elsewhere, env=_env(server.url),
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        asked = dict(server.counts)
    assert read_manifest(run_dir)["status"] == "complete"
    records = read_records(run_dir)
    assert len(records) == expected and all(r["error"] is None for r in records)
    # Samples finished before the stop were not asked again.
    assert sum(asked.values()) <= expected + in_flight
    per_conversation = Counter(_conversation(r) for r in records)  # epochs share one
    assert all(asked[_conversation(r)] <= per_conversation[_conversation(r)] + in_flight
               for r in finished)
    if "--seed" in flags:
        assert read_manifest(run_dir)["config"]["seed"] == 7
    if "--model" in flags:
        assert {r["model_id"] for r in records} == {"openai/other-model"}


def test_a_second_resume_of_a_running_run_is_refused_at_once(
    tmp_path: Path, add_task: Path, key: str
) -> None:
    with LoopbackServer(adder, latency=0.03) as server:
        run_dir, hint = _interrupted_run(tmp_path, server, [], lines=2)
        before = sum(server.counts.values())
        server.latency = 0.2  # the first resume takes a few seconds
        argv = shlex.split(hint)[1:]
        first = _harness(*argv, cwd=tmp_path, env=_env(server.url))
        lock = run_dir / ".lock"
        deadline = time.monotonic() + 60
        while not (lock.exists() and lock.read_text().strip() == str(first.pid)):
            assert time.monotonic() < deadline and first.poll() is None, first.communicate()
            time.sleep(0.01)
        second = subprocess.run([sys.executable, "-m", "harness", *argv], cwd=tmp_path,
                                env=_env(server.url), capture_output=True, text=True,
                                timeout=60)
        assert first.poll() is None  # refused while the first was still running
        _, err = first.communicate(timeout=120)
        assert first.returncode == 0, err
        asked = dict(server.counts)
    assert second.returncode == 3
    assert second.stderr.count("\n") == 1 and "already running" in second.stderr
    assert f"process {first.pid}" in second.stderr
    assert len(read_records(run_dir)) == 12
    # The unfinished samples were asked once, by the first resume only (two resumes at once
    # used to ask each of them twice).
    assert sum(asked.values()) - before <= 12


def test_the_lock_is_per_folder_and_released(tmp_path: Path) -> None:
    held = RunLock.acquire(tmp_path / "run")
    with pytest.raises(RunBusyError, match="already running"):
        RunLock.acquire(tmp_path / "run")
    other = RunLock.acquire(tmp_path / "other-run")
    held.release()
    RunLock.acquire(tmp_path / "run").release()
    other.release()
