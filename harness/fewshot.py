"""Choosing the solved examples a few-shot prompt shows.

Three methods, chosen per variant: ``fixed`` (listed ids), ``random`` (seeded per item, so an
item's shots do not depend on which other items are in the run) and ``similar`` (the item's
nearest neighbours by sentence embedding). Whatever the method, an item never sees itself or
an exact duplicate of its own input among its shots: that would leak the answer.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

from harness.dataset import Item
from harness.errors import ConfigError
from harness.scorers import normalize

Embed = Callable[[Sequence[str]], np.ndarray]


# Each pool input is normalised once however many items choose from the pool.
_normalized = functools.lru_cache(maxsize=65_536)(normalize)


class NotEnoughShots(Exception):
    """An item would be shown fewer examples than the variant's ``shots`` (the pool is short
    once the item's own copies are left out). Planning turns it into a ConfigError naming the
    variant: a prompt silently shorter than the config says would misreport the experiment."""

    def __init__(self, item: Item, available: int, wanted: int) -> None:
        super().__init__(f"item {item.id}: {available} of {wanted} shots available")
        self.item = item
        self.available = available
        self.wanted = wanted


T = TypeVar("T")


def _enough(item: Item, shots: list[T], k: int) -> list[T]:
    if len(shots) < k:
        raise NotEnoughShots(item, len(shots), k)
    return shots


def _leaks(item: Item, shot: Item) -> bool:
    """Showing ``shot`` would give ``item`` its own answer: same id, or the same input."""
    return shot.id == item.id or _normalized(shot.input) == _normalized(item.input)


def _allowed(item: Item, pool: Sequence[Item]) -> list[Item]:
    return [shot for shot in pool if not _leaks(item, shot)]


def fixed_shots(item: Item, pool: Sequence[Item], ids: Sequence[str], k: int) -> list[Item]:
    """The listed examples in the listed order, minus any that would leak this item."""
    by_id = {shot.id: shot for shot in pool}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise ConfigError(f"fewshot_ids not in the few-shot split: {', '.join(missing[:5])}")
    return _enough(item, _allowed(item, [by_id[i] for i in ids])[:k], k)


def random_shots(item: Item, pool: Sequence[Item], k: int, seed: int) -> list[Item]:
    """k examples drawn with a generator seeded by (seed, item id): stable across runs."""
    candidates = _enough(item, _allowed(item, pool), k)
    rng = random.Random(f"{seed}:{item.id}")
    return rng.sample(candidates, k)


class NearestShots:
    """Nearest few-shot examples by cosine similarity of sentence embeddings.

    The pool is embedded once; queries are embedded in one batch per call, which is what keeps
    similarity selection cheap for a whole run.
    """

    def __init__(self, pool: Sequence[Item], embed: Embed) -> None:
        self.pool = list(pool)
        self.embed = embed
        vectors = np.asarray(embed([shot.input for shot in self.pool]), dtype=np.float32)
        self.vectors = _unit(vectors)

    def select(self, items: Sequence[Item], k: int) -> dict[str, list[Item]]:
        """Each item's k nearest allowed examples, the most similar last (next to the question)."""
        if not items or not self.pool:
            return {item.id: [] for item in items}
        queries = _unit(np.asarray(self.embed([item.input for item in items]), dtype=np.float32))
        similarity = queries @ self.vectors.T
        out: dict[str, list[Item]] = {}
        for row, item in enumerate(items):
            banned = {i for i, shot in enumerate(self.pool) if _leaks(item, shot)}
            # Stable sort on negated similarity: ties keep the pool's order.
            order = np.argsort(-similarity[row], kind="stable")
            chosen = _enough(item, [int(i) for i in order if int(i) not in banned][:k], k)
            out[item.id] = [self.pool[i] for i in reversed(chosen)]
        return out


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)
