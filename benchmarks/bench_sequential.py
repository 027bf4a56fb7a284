"""Sequential vs fixed-size: expected items and cost saved at the same power.

    .venv/bin/python benchmarks/bench_sequential.py            # 4,000 simulated runs per case
    .venv/bin/python benchmarks/bench_sequential.py --runs 1000

Two pass/fail variants compared item by item (discordance q = 0.30: on 30% of the items
exactly one of them is right), true differences of 0, 5 and 10 points.

* fixed-size: the exact McNemar test the report runs, at the number of items that gives 80%
  power for the design effect (``harness.stats.power.mcnemar_items_needed``);
* sequential (``run --until-decided``): what it runs for pass/fail pairs, the discordant-pair
  mixture test of ``harness.stats.sequential`` at the same alpha, looked at after every item,
  stopping as soon as it decides, or at a maximum size. Two designs: "same power" (the maximum
  chosen by simulation so that it too has 80% power for the design effect) and "same maximum"
  (never more items than the fixed run; less power). The betting confidence sequence (graded
  scores, the gate's margin) is shown for the same-power design too.

Printed per design effect and true effect: the fixed size, the sequential maximum, the mean
number of items the sequential run used, the share of the fixed run's cost that saves (cost is
proportional to items: every item costs the same calls), and the rejection rate (power, or
the false-positive rate at effect 0).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.stats.power import mcnemar_items_needed, mcnemar_power
from harness.stats.sequential import BettingCS, DiscordantMixture

ALPHA = 0.05
POWER = 0.8
DISCORDANCE = 0.30


def stopping_times(effect: float, runs: int, horizon: int, rng: np.random.Generator,
                   method: str = "mixture") -> np.ndarray:
    """Items until the test decides a difference (horizon + 1 where it never does)."""
    test: BettingCS | DiscordantMixture
    if method == "mixture":
        test = DiscordantMixture(runs, ALPHA / 2)
    else:
        test = BettingCS(runs, ALPHA / 2, ALPHA / 2, np.array([0.0]))
    stop = np.full(runs, horizon + 1)
    up, down = (DISCORDANCE + effect) / 2, (DISCORDANCE - effect) / 2
    for t in range(1, horizon + 1):
        u = rng.random(runs)
        test.update(np.where(u < up, 1.0, np.where(u < up + down, -1.0, 0.0)))
        above, below = (test.above, test.below) if method == "mixture" else \
            (test.above[:, 0], test.below[:, 0])
        stop = np.where((above | below) & (stop > horizon), t, stop)
    return stop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4000, help="simulated runs per case")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    rows = []
    for method, designs in (("mixture", ("same power", "same maximum")),
                            ("betting", ("same power",))):
        for design in (0.05, 0.10):
            fixed = int(mcnemar_items_needed(design, DISCORDANCE, ALPHA, POWER))
            at_design = stopping_times(design, args.runs, 4 * fixed, rng, method)
            for kind in designs:
                # same power: 80% of the runs decide by n_max; same maximum: n_max = fixed
                n_max = int(np.quantile(at_design, POWER)) if kind == "same power" else fixed
                for effect in (0.0, 0.05, 0.10):
                    stop = at_design if effect == design else \
                        stopping_times(effect, args.runs, n_max, rng, method)
                    used = np.minimum(stop, n_max)
                    rows.append((method, kind, design, effect, fixed, n_max, float(used.mean()),
                                 1 - float(used.mean()) / fixed, float((stop <= n_max).mean()),
                                 mcnemar_power(fixed, DISCORDANCE, effect, ALPHA)))
    print(f"{args.runs} simulated runs per case, alpha {ALPHA}, discordance {DISCORDANCE}, "
          f"{time.perf_counter() - started:.1f} s\n")
    print("| test | design | design effect | true effect | fixed n (80% power) | "
          "sequential max n | sequential mean items | cost saved vs fixed | "
          "sequential rejects | fixed rejects |")
    print("| :-- | :-- | --: | --: | --: | --: | --: | --: | --: | --: |")
    for method, kind, design, effect, fixed, n_max, mean, saved, p_seq, p_fixed in rows:
        print(f"| {method} | {kind} | {100 * design:g} pts | {100 * effect:g} pts | {fixed} | "
              f"{n_max} | {mean:.0f} | {100 * saved:+.0f}% | {p_seq:.3f} | {p_fixed:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
