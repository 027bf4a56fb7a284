"""How much shared-prefix reuse the local model keeps under each sample order.

    .venv/bin/python benchmarks/bench_schedule.py                       # quickstart, 40 items
    .venv/bin/python benchmarks/bench_schedule.py experiments/sentiment.yaml --limit 200
    nice .venv/bin/python benchmarks/bench_schedule.py --time --limit 16   # also run the model

The local model batches the requests in flight (``harness.models.hf_batching``: same
generation parameters, at most ``batch size`` together, sorted by length) and computes the
key/value cache of the prefix a whole batch shares once (``hf_prefix_cache``). Which requests
are in flight together depends on the order the runner sends them. This replays that for
three orders of the same plan, without a model: ``concurrency`` requests in flight, grouped
by parameters into batches, and counts the share of prompt tokens (the model's own tokenizer
and chat template) inside the prefix each batch shares, i.e. prefill the cache saves:

* variant-major: the order before item interleaving (task, variant, item);
* item-interleaved: every sample of an item together, items in a seeded order (window 1);
* windowed: items in windows of ``batch size``, grouped by variant inside a window (what the
  harness does for local models).

``--time`` also runs each order through the real local model (response cache off) and prints
wall time; on a shared 2-core machine keep ``--limit`` small.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.config import load_experiment
from harness.plan import build_plan
from harness.schedule import interleave


def orders(samples: list[Any], seed: int, batch: int) -> dict[str, list[Any]]:
    old = sorted(samples, key=lambda s: (s.task, s.variant, s.model, s.item.id, s.epoch))
    return {"variant-major": old, "item-interleaved": interleave(old, seed=seed, window=1),
            f"windowed ({batch} items)": interleave(old, seed=seed, window=batch)}


def reuse(order: list[Any], tokens: dict[str, list[int]], concurrency: int,
          batch: int) -> tuple[float, int]:
    """Share of prompt tokens in the batch's shared prefix, and the number of batches."""
    from harness.models.hf_prefix_cache import common_prefix_len

    shared = total = batches = 0
    for start in range(0, len(order), concurrency):
        flight = order[start:start + concurrency]
        groups: dict[str, list[list[int]]] = {}
        for s in flight:
            groups.setdefault(repr(sorted(s.params.items())), []).append(tokens[s.sample_id])
        for group in groups.values():
            group.sort(key=len)
            for b in range(0, len(group), batch):
                rows = group[b:b + batch]
                k = common_prefix_len(rows) if len(rows) > 1 else 0
                shared += k * len(rows)
                total += sum(len(r) for r in rows)
                batches += 1
    return shared / max(total, 1), batches


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", nargs="?", default="experiments/quickstart.yaml")
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--time", action="store_true", help="also run each order on the model")
    args = parser.parse_args()
    experiment = load_experiment(Path(args.experiment)).model_copy(update={"limit": args.limit})
    plan = build_plan(experiment)
    batch = int(os.environ.get("HARNESS_HF_BATCH_SIZE") or 16)
    from harness.models.hf_generation import encode_chat
    from harness.models.hf_loading import load_model

    model = next(iter(plan.models.values()))
    lm = load_model(model.model.removeprefix("hf/"))
    tokens = {s.sample_id: encode_chat(lm, s.messages) for s in plan.samples}
    print(f"{args.experiment}: {len(plan.samples)} samples, {len(plan.variants)} variants, "
          f"concurrency {experiment.concurrency}, batch {batch}\n")
    print("| order | prompt tokens in a shared prefix | batches |" +
          (" wall time |" if args.time else ""))
    print("| :-- | --: | --: |" + (" --: |" if args.time else ""))
    for name, order in orders(plan.samples, experiment.seed, batch).items():
        share, batches = reuse(order, tokens, experiment.concurrency, batch)
        wall = ""
        if args.time:
            wall = f" {timed(plan, order):.1f} s |"
        print(f"| {name} | {100 * share:.1f}% | {batches} |{wall}")
    return 0


def timed(plan: Any, order: list[Any]) -> float:
    """Run the samples in ``order`` through the real stack (no response cache)."""
    import asyncio
    import tempfile

    from harness.client_stack import build_client
    from harness.progress import Progress
    from harness.results import RunWriter
    from harness.runner import execute

    plan.samples = order
    experiment = plan.experiment.model_copy(update={"cache": False})
    plan.experiment = experiment
    with tempfile.TemporaryDirectory() as folder:
        writer = RunWriter(Path(folder))
        stack, _, _ = build_client(experiment)
        started = time.perf_counter()
        asyncio.run(execute(plan, stack, writer, run_id="bench", skip=set(),
                            progress=Progress(len(order), quiet=True)))
        writer.close()
    return time.perf_counter() - started


if __name__ == "__main__":
    raise SystemExit(main())
