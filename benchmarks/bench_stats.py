"""Benchmark: every pairwise comparison of 10 variants on 10,000 items, 10,000 bootstrap resamples.

Target (issue 3): under 5 s on 2 cores. Run with ``.venv/bin/python benchmarks/bench_stats.py``;
``--variants``, ``--items`` and ``--boot`` change the size, ``--graded`` uses graded scores with
3 epochs (Wilcoxon instead of McNemar).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

TARGET_S = 5.0


def make_run(n_variants: int, n_items: int, *, graded: bool, seed: int = 0) -> pd.DataFrame:
    """A run shaped like ``load_run``'s output, with correlated variants like real prompts."""
    rng = np.random.default_rng(seed)
    epochs = 3 if graded else 1
    difficulty = rng.normal(0, 1.5, n_items)
    frames = []
    for v in range(n_variants):
        for e in range(epochs):
            logit = difficulty + 0.05 * v
            if graded:
                score = np.clip(1 / (1 + np.exp(-logit)) + rng.normal(0, 0.1, n_items), 0, 1)
            else:
                score = (rng.random(n_items) < 1 / (1 + np.exp(-logit))).astype(float)
            frames.append(pd.DataFrame({
                "task": "bench", "model": "m", "variant": f"v{v:02d}",
                "item_id": [f"q{i:05d}" for i in range(n_items)], "epoch": e, "cluster": None,
                "error": None, "answer": None, "score_exact": score,
            }))
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--variants", type=int, default=10)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--boot", type=int, default=10_000)
    parser.add_argument("--graded", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="report the best of N runs")
    args = parser.parse_args()

    from harness.analysis import compare

    run = make_run(args.variants, args.items, graded=args.graded)
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        table = compare(run, n_boot=args.boot, seed=0)
        times.append(time.perf_counter() - start)
    best = min(times)
    print(f"compare(): {len(table)} pairs, {args.variants} variants x {args.items:,} items, "
          f"{args.boot:,} bootstrap resamples, test {table['test'].iloc[0]!r}")
    print(f"cpus available: {len(os.sched_getaffinity(0))}")
    print(f"time: {best:.2f} s (best of {args.repeat}; all: "
          f"{', '.join(f'{t:.2f}' for t in times)})")
    print(f"ratio to the {TARGET_S:.0f} s target: {best / TARGET_S:.2f} "
          f"({'within' if best <= TARGET_S else 'OVER'} target)")


if __name__ == "__main__":
    main()
