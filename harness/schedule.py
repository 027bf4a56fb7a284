"""The order samples are sent in: item by item, items in a seeded random order.

All the samples of an item (every variant, model and epoch) are scheduled together, so a run
stopped at any moment has scored the same items under every variant: a balanced, paired
sample of the task, and the paired analysis of a partial run is valid. The seeded permutation
matters as much: a dataset sorted by difficulty or topic would otherwise make the first items
an unrepresentative sample, and a sequential test (``harness.stats.sequential``) that looks at
the items as they finish needs them in an order that owes nothing to their content.

The local model batches the requests in flight and reuses the key/value cache of the prefix a
batch shares (``harness.models.hf_prefix_cache``). Strictly item-by-item order mixes templates
in every batch, and the prefix the whole batch shares shrinks to the system prompt. For local
models the items are therefore taken in windows of ``batch size`` items, and within a window
the samples are grouped by variant and model: batches stay one template wide, and the run is
balanced at every window boundary (``benchmarks/README.md`` has the measurement).
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol


class _Scheduled(Protocol):
    task: str
    variant: str
    model: str
    epoch: int

    @property
    def item(self) -> Any: ...


def item_order(keys: Sequence[tuple[str, str]], seed: int) -> list[tuple[str, str]]:
    """The (task, item id) keys in a seeded random order (the same for the same seed)."""
    order = sorted(set(keys))
    random.Random(f"harness-schedule:{seed}").shuffle(order)
    return order


def schedule_window(models: Mapping[str, Any]) -> int:
    """Items per window: the local model's batch size when a local model is run, else 1."""
    local = any(str(getattr(m, "model", m)).startswith("hf/") for m in models.values())
    if not local:
        return 1
    try:
        return max(1, int(os.environ.get("HARNESS_HF_BATCH_SIZE") or 16))
    except ValueError:
        return 16


def interleave(samples: Iterable[_Scheduled], *, seed: int, window: int = 1) -> list[Any]:
    """Samples item by item in a seeded random order of items; ``window`` items at a time,
    grouped by variant and model inside the window (the planned order is kept within a group)."""
    samples = list(samples)
    by_item: dict[tuple[str, str], list[Any]] = {}
    for sample in samples:
        by_item.setdefault((sample.task, sample.item.id), []).append(sample)
    order = item_order(list(by_item), seed)
    window = max(1, window)
    out: list[Any] = []
    for start in range(0, len(order), window):
        chunk = [s for key in order[start:start + window] for s in by_item[key]]
        if window > 1:
            groups: dict[tuple[str, str, str, int], list[Any]] = {}
            for sample in chunk:
                groups.setdefault((sample.task, sample.variant, sample.model, sample.epoch),
                                  []).append(sample)
            chunk = [s for group in groups.values() for s in group]
        out.extend(chunk)
    return out
