"""Run every benchmark in turn (``make bench``); each prints its own figures and ratios.

``--quick`` passes each benchmark its smaller workload where it has one. The benchmarks are
CPU-heavy: run them on an otherwise idle machine, one at a time, as this script does.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# (script, arguments for a full run, arguments for a quick run)
BENCHMARKS = [
    ("bench_stats.py", [], []),
    ("bench_hosted.py", [], ["--items", "200"]),
    ("bench_cache.py", [], ["--items", "200", "--repeat", "1"]),
    ("bench_startup.py", [], ["--repeat", "1"]),
    ("bench_local_model.py", [], ["--quick"]),
    ("bench_quickstart.py", [], ["--repeat", "1"]),
    ("bench_sequential.py", [], ["--runs", "1000"]),
    ("bench_schedule.py", [], []),
    ("bench_adaptive.py", [], ["--repeat", "1"]),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller workloads where offered")
    parser.add_argument("only", nargs="*", help="benchmark file names to run (default: all)")
    args = parser.parse_args()
    failed = []
    for script, full, quick in BENCHMARKS:
        if args.only and script not in args.only:
            continue
        command = [sys.executable, str(HERE / script), *(quick if args.quick else full)]
        print(f"\n=== {script} {' '.join(command[2:])}", flush=True)
        started = time.perf_counter()
        done = subprocess.run(command, check=False)
        print(f"=== {script}: exit {done.returncode} after {time.perf_counter() - started:.0f} s")
        if done.returncode:
            failed.append(script)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
