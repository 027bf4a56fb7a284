"""Exit codes say what happened, and the process always exits: crashes, hangs and Ctrl-C.

These run the real ``harness`` command in a subprocess (``python -m harness``) against the
loopback model, and inject the failures from a small wrapper script, so nothing in the product
knows about the tests. No test kills a process by hand: each asserts the exit and its time.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gate_helpers import N_ITEMS, GateProject

# Runs `harness <argv>` after arranging a crash on the third record: by then other calls are
# in flight, an executor thread is stuck (as a local model's generate can be), a non-daemon
# thread never ends and an atexit hook blocks (as LiteLLM's shutdown can).
CRASHING = r'''
import asyncio, atexit, sys, threading, time
import harness.runner as runner

original = runner.build_record
calls = [0]

def build_record(*args, **kwargs):
    calls[0] += 1
    if calls[0] == 3:
        asyncio.get_running_loop().run_in_executor(None, time.sleep, 3600)
        raise RuntimeError("injected crash sk-test-" + "SECRETVALUE1234")
    return original(*args, **kwargs)

runner.build_record = build_record
atexit.register(time.sleep, 3600)
threading.Thread(target=time.sleep, args=(3600,)).start()
sys.argv = ["harness", *sys.argv[1:]]
from harness.cli import entry
entry()
'''


def _env(project: GateProject) -> dict[str, str]:
    env = dict(os.environ)
    env["HARNESS_CACHE_DIR"] = str(project.root / "hcache")
    env["OPENAI_API_KEY"] = "sk-test-SECRETVALUE1234"
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(Path(__file__).resolve().parents[2]),
                                                    env.get("PYTHONPATH", "")] if p)
    return env


def test_a_crash_exits_4_promptly_with_one_line_and_a_log(project: GateProject,
                                                          loopback: object) -> None:
    exp = project.experiment(extra="concurrency: 4\n")
    loopback.latency = 0.3  # type: ignore[attr-defined]
    try:
        # A process kept alive by LiteLLM's worker threads after the crash would never exit:
        # the timeout fails the test then. No tighter clock: a busy machine is slow, not hung.
        proc = subprocess.run([sys.executable, "-c", CRASHING, "run", str(exp), "--quiet",
                               "--no-cache"], capture_output=True, text=True, timeout=180,
                              env=_env(project), cwd=project.root)
    finally:
        loopback.latency = 0.0  # type: ignore[attr-defined]
    assert proc.returncode == 4, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("harness: internal error") and "injected crash" in lines[0]
    assert "SECRETVALUE1234" not in proc.stderr
    log = Path(lines[0].rsplit("traceback in ", 1)[1])
    assert log.parent == project.root / "hcache" / "logs"
    text = log.read_text()
    assert "Traceback" in text and "RuntimeError: injected crash" in text
    assert "SECRETVALUE1234" not in text and "<redacted>" in text
    run_dir = next((project.root / "results").iterdir())
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "failed"
    assert len((run_dir / "samples.jsonl").read_text().splitlines()) >= 2  # kept what arrived


def test_ctrl_c_saves_the_calls_in_flight_and_exits_130(project: GateProject,
                                                        loopback: object) -> None:
    exp = project.experiment(extra="concurrency: 8\n")
    loopback.latency = 1.5  # type: ignore[attr-defined]
    before = len(loopback.received)  # type: ignore[attr-defined]
    try:
        proc = subprocess.Popen([sys.executable, "-m", "harness", "run", str(exp), "--quiet",
                                 "--no-cache"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=_env(project), cwd=project.root)
        deadline = time.monotonic() + 60
        while len(loopback.received) - before < 8 and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.05)
        assert len(loopback.received) - before == 8  # type: ignore[attr-defined]
        time.sleep(0.3)  # the loopback logs a call as it answers: 8 answered, 8 in flight
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    finally:
        loopback.latency = 0.0  # type: ignore[attr-defined]
    assert proc.returncode == 130, err
    assert "saving the 8 call(s) in flight" in err and "--resume" in err
    run_dir = next((project.root / "results").iterdir())
    records = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    answered = len(loopback.received) - before  # type: ignore[attr-defined]
    assert answered == 16  # the 8 in flight finished; no new call started after Ctrl-C
    assert len(records) == answered and all(r["error"] is None for r in records)
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "interrupted"


@pytest.mark.parametrize(("argv", "code"), [
    (["check", "--baseline", "missing.json", "--run", "nowhere"], 2),
    (["check"], 2),
])
def test_bad_input_exits_2(argv: list[str], code: int, project: GateProject) -> None:
    proc = subprocess.run([sys.executable, "-m", "harness", *argv], capture_output=True,
                          text=True, timeout=60, env=_env(project), cwd=project.root)
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr


def test_harness_run_exits_3_when_too_many_calls_fail(project: GateProject,
                                                      loopback: object) -> None:
    exp = project.experiment(extra="retries: 0\n")
    loopback.status_for = (  # type: ignore[attr-defined]
        lambda messages: 400 if "Review 00" in messages[-1]["content"] else None)
    try:
        proc = subprocess.run([sys.executable, "-m", "harness", "run", str(exp), "--quiet",
                               "--no-cache"], capture_output=True, text=True, timeout=120,
                              env=_env(project), cwd=project.root)
    finally:
        loopback.status_for = None  # type: ignore[attr-defined]
    assert proc.returncode == 3, proc.stderr
    assert f"{20 / (2 * N_ITEMS):.1%} of samples failed" in proc.stderr
