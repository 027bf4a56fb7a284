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
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from harness.dataset import Item, load_items
from harness.errors import ConfigError
from harness.scorers import normalize

if TYPE_CHECKING:
    from harness.config import ExperimentConfig, VariantConfig
    from harness.plan import TaskPlan

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


class ShotPlanner:
    """Few-shot selection for one task, with the pool and similarity index built once."""

    def __init__(self, task: TaskPlan, seed: int, embed: Callable[[], Embed],
                 experiment: ExperimentConfig) -> None:
        self.task = task
        self.experiment = experiment
        self.seed = seed
        self._embed = embed
        self._pool: list[Item] | None = None
        self._nearest: NearestShots | None = None

    def _where(self, variant: VariantConfig, key: str) -> dict[str, Any]:
        index = [v.name for v in self.experiment.variants].index(variant.name)
        return self.experiment.locate("variants", index, key)

    def pool(self, variant: VariantConfig) -> list[Item]:
        if self._pool is None:
            split = self.task.config.fewshot_split
            if split is None:
                raise ConfigError(
                    f"{variant.shots} shots asked for, but task '{self.task.config.name}' "
                    f"({self.task.config.source}) names no fewshot_split to take them from; "
                    "add one to the task, or set shots: 0",
                    **self._where(variant, "shots"),
                )
            self._pool = load_items(self.task.config, split)
        return self._pool

    def for_items(self, variant: VariantConfig) -> dict[str, list[Item]]:
        """Every item's shots: exactly ``shots`` of them, or a ConfigError saying why not."""
        items = self.task.items
        if variant.shots == 0:
            return {item.id: [] for item in items}
        pool = self.pool(variant)
        split = self.task.config.fewshot_split
        if variant.shots > len(pool):
            raise ConfigError(
                f"{variant.shots} shots asked for, but the few-shot split '{split}' of task "
                f"'{self.task.config.name}' has {len(pool)} example(s) "
                f"({self.task.config.data_path(str(split))}); lower shots to at most "
                f"{len(pool)} or add examples", **self._where(variant, "shots"))
        try:
            return self._select(variant, items, pool)
        except NotEnoughShots as short:
            raise ConfigError(
                f"{variant.shots} shots asked for, but item '{short.item.id}' can be shown only "
                f"{short.available}: an item never sees itself or a copy of its own input, and "
                f"the few-shot split '{split}' has {len(pool)} example(s); lower shots to "
                f"{short.available} or add examples", **self._where(variant, "shots")) from None
        except ConfigError as exc:
            if exc.file is not None:
                raise
            raise ConfigError(exc.message, **self._where(variant, "fewshot_ids")) from None

    def _select(self, variant: VariantConfig, items: list[Item],
                pool: list[Item]) -> dict[str, list[Item]]:
        if variant.fewshot == "fixed":
            ids = variant.fewshot_ids or []
            return {item.id: fixed_shots(item, pool, ids, variant.shots) for item in items}
        if variant.fewshot == "random":
            return {item.id: random_shots(item, pool, variant.shots, self.seed) for item in items}
        if self._nearest is None:
            self._nearest = NearestShots(pool, self._embed())
        return self._nearest.select(items, variant.shots)
