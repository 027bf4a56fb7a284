"""The quickstart as a new user meets it: `make demo` with the model already cached (issue 15).

One command::

    nice .venv/bin/python benchmarks/bench_quickstart.py            # 3 runs
    nice .venv/bin/python benchmarks/bench_quickstart.py --repeat 1

Each run is what ``make demo`` runs on an installed clone (``.venv/bin/harness run
experiments/quickstart.yaml``; the Makefile's install step is a no-op once installed), as a
fresh process, with:

- the de-quantized model already in the cache (a new user's second command: the first
  de-quantization is a one-off, reported separately by ``--cold``);
- an empty response cache (the user has never run the quickstart), so every one of the 120
  samples calls the model;
- results and report written to a temporary folder, so the repository stays clean.

It prints each run's wall time, the time to the first answer (read from the progress line's
timestamp), the target (30 s on 2 cores) and the load average before and after, since the
machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 30.0
HARNESS = Path(sys.executable).with_name("harness")


def _model_cache() -> Path:
    """The de-quantized models the user's earlier run left (``~/.cache/prompt-harness/models``)."""
    root = os.environ.get("HARNESS_CACHE_DIR")
    return (Path(root) if root else Path.home() / ".cache" / "prompt-harness") / "models"


def _load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def _one_run(work: Path, cold: bool) -> tuple[float, float | None]:
    """Wall seconds of one quickstart run, and seconds until its first answer."""
    cache = work / "cache"
    cache.mkdir()
    if not cold:
        models = _model_cache()
        if not models.is_dir():
            raise SystemExit(f"no de-quantized model under {models}: run `make demo` once first")
        (cache / "models").symlink_to(models, target_is_directory=True)
    env = {**os.environ, "HARNESS_CACHE_DIR": str(cache)}
    command = [str(HARNESS), "run", "experiments/quickstart.yaml",
               "--results-dir", str(work / "results"), "--reports-dir", str(work / "reports")]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    first: float | None = None
    assert process.stderr is not None
    for line in process.stderr:  # progress lines go to stderr; the first says "1/120" or more
        if first is None and "samples (" in line and not line.startswith("[harness] 0/"):
            first = time.perf_counter() - started
    out = process.stdout.read() if process.stdout else ""
    code = process.wait()
    wall = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"{' '.join(command)} failed ({code}):\n{out[-3000:]}")
    if "best is" not in out and "no variant" not in out:
        raise SystemExit(f"the quickstart printed no verdict:\n{out[-3000:]}")
    return wall, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cold", action="store_true",
                        help="also time one run with no de-quantized model (the very first run)")
    args = parser.parse_args()
    if not HARNESS.exists():
        raise SystemExit(f"{HARNESS} not found: run `make install` first")
    print(f"load average before: {_load()}")
    walls: list[float] = []
    for index in range(args.repeat):
        work = Path(tempfile.mkdtemp(prefix="bench-quickstart-"))
        try:
            wall, first = _one_run(work, cold=False)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        walls.append(wall)
        first_text = f"{first:.1f} s" if first is not None else "?"
        print(f"  run {index + 1}: {wall:.1f} s wall, first answer after {first_text} "
              f"(load {_load()})", flush=True)
    if args.cold:
        work = Path(tempfile.mkdtemp(prefix="bench-quickstart-cold-"))
        try:
            wall, _ = _one_run(work, cold=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(f"  cold run (model de-quantized first): {wall:.1f} s")
    best, median = min(walls), statistics.median(walls)
    spread = (max(walls) - best) / best if best else 0.0
    met = "met" if median < TARGET_S else "not met"
    print(f"quickstart, model cached, {len(walls)} runs: best {best:.1f} s, median {median:.1f} s, "
          f"spread {100 * spread:.0f}%; target {TARGET_S:.0f} s, median/target "
          f"{median / TARGET_S:.2f} ({met})")
    print(f"load average after: {_load()}")


if __name__ == "__main__":
    main()
