"""Start-up and peak memory of a hosted run, whole process, against their targets (issue 15).

One command::

    nice .venv/bin/python benchmarks/bench_startup.py
    nice .venv/bin/python benchmarks/bench_startup.py --repeat 5 --memory-items 1000

Uses ``bench_hosted.py``'s workload and loopback server (0 ms latency, a process of its own).
Every figure is a fresh subprocess, interpreter start-up and exit included:

- start-up: ``harness run exp.yaml --no-cache --quiet`` on 10 items (30 requests, the report
  written) against a bare aiohttp loop over the same 30 request bodies; target 1.5 s;
- peak memory: the resident-set high-water mark (``ru_maxrss`` of the child) of the same
  command on ``--memory-items`` items (default 1,000, i.e. 3,000 requests) against the bare
  client's; target 250 MB;
- where start-up goes: ``python -X importtime`` of the 10-item run, the five largest imports.

It prints each figure, its ratio to the target and the load average before and after, since
the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_hosted import KEY_ENV, PYTHON, start_server, write_requests, write_workload

STARTUP_TARGET_S = 1.5
MEMORY_TARGET_MB = 250.0


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB and stderr of one fresh process (its own wait4 rusage)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    stderr = process.stderr.read() if process.stderr else ""
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{stderr[-3000:]}")
    return wall, usage.ru_maxrss / 1024.0, stderr


def _commands(experiment: Path, requests: Path, url: str) -> dict[str, list[str]]:
    work = experiment.parent
    harness = [PYTHON, "-m", "harness", "run", str(experiment), "--no-cache", "--quiet",
               "--results-dir", str(work / "results"), "--reports-dir", str(work / "reports")]
    bare = [PYTHON, str(Path(__file__).resolve().parent / "bench_hosted.py"), "--bare",
            "aiohttp", url, str(requests), "16"]
    return {"aiohttp": bare, "harness": harness}


def _top_imports(stderr: str, n: int = 5) -> list[tuple[float, str]]:
    """The largest top-level imports (cumulative) in a ``-X importtime`` log."""
    rows = []
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\s*)(\S+)", line)
        if match and not match.group(2):
            rows.append((int(match.group(1)) / 1e6, match.group(3)))
    return sorted(rows, reverse=True)[:n]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10, help="items of the start-up run")
    parser.add_argument("--memory-items", type=int, default=1000,
                        help="items of the peak-memory run (0: skip)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, KEY_ENV: "sk-bench-not-a-real-key"}
    env.pop("HARNESS_CACHE_DIR", None)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    server, url = start_server(0.0)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
            work = Path(tmp) / "small"
            experiment = write_workload(work, url, args.items, 16)
            requests = work / "requests.jsonl"
            count = write_requests(experiment, requests)
            walls: dict[str, list[float]] = {"aiohttp": [], "harness": []}
            for _ in range(args.repeat):
                for name, command in _commands(experiment, requests, url).items():
                    walls[name].append(_run(command, work, env)[0])
            bare, ours = min(walls["aiohttp"]), min(walls["harness"])
            print(f"\nstart-up, {count} requests, best of {args.repeat} (median):")
            print(f"  aiohttp  {bare:6.2f} s ({statistics.median(walls['aiohttp']):.2f})")
            print(f"  harness  {ours:6.2f} s ({statistics.median(walls['harness']):.2f})  "
                  f"target {STARTUP_TARGET_S} s, ratio to target {ours / STARTUP_TARGET_S:.2f} "
                  f"({'met' if ours < STARTUP_TARGET_S else 'not met'})")
            command = _commands(experiment, requests, url)["harness"]
            profile = _run([command[0], "-X", "importtime", *command[1:]], work, env)[2]
            print("  largest imports (s, cumulative, inflated by -X importtime): " + ", ".join(
                f"{name} {seconds:.2f}" for seconds, name in _top_imports(profile)))
            if args.memory_items:
                work = Path(tmp) / "large"
                experiment = write_workload(work, url, args.memory_items, 16)
                requests = work / "requests.jsonl"
                count = write_requests(experiment, requests)
                peaks = {name: _run(command, work, env)[1]
                         for name, command in _commands(experiment, requests, url).items()}
                print(f"\npeak memory, {count} requests (max RSS):")
                print(f"  aiohttp  {peaks['aiohttp']:6.0f} MB")
                print(f"  harness  {peaks['harness']:6.0f} MB  target {MEMORY_TARGET_MB:.0f} MB, "
                      f"ratio to target {peaks['harness'] / MEMORY_TARGET_MB:.2f} "
                      f"({'met' if peaks['harness'] < MEMORY_TARGET_MB else 'not met'})")
    finally:
        server.terminate()
        server.wait(10)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
