"""A full re-run served from the response cache: 3,000 samples, no model call.

One command::

    .venv/bin/python benchmarks/bench_cache.py

It writes the same workload as ``bench_hosted.py`` (1,000 items x 3 variants), fills a fresh
cache with one ``harness run`` against the loopback server (in a process of its own, 0 ms
latency), then times, each as a fresh subprocess (start-up included):

- ``rerun``: ``harness run exp.yaml --quiet``, everything from the cache: plan and render every
  prompt, 3,000 cache look-ups, parse, score, append every sample, the report and the summary;
- ``rerun, no report``: the same through ``harness.api.run(..., reports_dir=None)``;
- ``report``: ``harness report <run>`` alone, which the first includes.

Each is also measured for its peak resident memory (``ru_maxrss`` of that one process). The
server's request count before and after the re-runs shows they made no model call.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_hosted import KEY_ENV, PYTHON, start_server, write_workload

HARNESS = str(Path(PYTHON).parent / "harness")


def _timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Whole-process wall seconds and peak resident MB of one fresh process (its own wait4)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    stderr = process.stderr.read() if process.stderr else ""
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{stderr[-3000:]}")
    return wall, usage.ru_maxrss / 1024.0


def _requests(url: str) -> int:
    with urllib.request.urlopen(f"{url}/_stats", timeout=10) as reply:
        return int(json.load(reply)["requests"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="timed re-runs of each kind")
    args = parser.parse_args()

    server, url = start_server(0.0)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-cache-") as tmp:
            work = Path(tmp)
            experiment = write_workload(work, url, args.items, 16)
            env = {**os.environ, KEY_ENV: "sk-bench-not-a-real-key",
                   "HARNESS_CACHE_DIR": str(work / "cache")}
            run = [HARNESS, "run", str(experiment), "--quiet", "--results-dir",
                   str(work / "results"), "--reports-dir", str(work / "reports")]
            fill = _timed(run, work, env)[0]
            asked = _requests(url)
            load = os.getloadavg()
            no_report = [PYTHON, "-c",
                         "import sys; from harness.api import run; "
                         "run(sys.argv[1], results_dir=sys.argv[2], reports_dir=None, quiet=True)",
                         str(experiment), str(work / "results")]
            times: dict[str, list[tuple[float, float]]] = {
                "rerun": [], "rerun, no report": [], "report": []}
            for _ in range(args.repeat):
                times["rerun"].append(_timed(run, work, env))
                times["rerun, no report"].append(_timed(no_report, work, env))
                last = sorted((work / "results").iterdir())[-1]
                times["report"].append(_timed([HARNESS, "report", str(last), "--reports-dir",
                                               str(work / "reports")], work, env))
            after = _requests(url)
    finally:
        server.terminate()
        server.wait(10)

    samples = 3 * args.items
    print(f"\n{samples} samples; cache filled by a first run in {fill:.1f} s ({asked} requests)")
    print(f"requests during the re-runs: {after - asked}\n")
    print(f"load average before the timed runs: {load[0]:.2f}, after: {os.getloadavg()[0]:.2f}")
    print(f"{'what':>18} {'best s':>7} {'median s':>9} {'peak MB':>8}")
    for name, values in times.items():
        walls = sorted(v[0] for v in values)
        peak = max(v[1] for v in values)
        print(f"{name:>18} {walls[0]:>7.2f} {walls[len(walls) // 2]:>9.2f} {peak:>8.0f}")
    return 0 if after == asked else 1


if __name__ == "__main__":
    sys.exit(main())
