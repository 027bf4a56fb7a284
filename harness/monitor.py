"""Watching a run's paired differences as samples finish, to stop it once it is decided.

The runner hands every finished record to a monitor (``harness.runner.execute``); the monitor
feeds whole items, in the planned (seeded random) order, to anytime-valid confidence
sequences (``harness.stats.sequential``) and says when to stop. An item counts once every
sample of it has finished, and only when every item planned before it has too: the order the
sequences see is then fixed before any answer arrives, so a slow (say, long chain-of-thought)
answer cannot reorder what is tested.

``harness run --until-decided`` uses :class:`PairwiseMonitor`: every pair of variants, per
task and model. A pair is *decided* when its confidence sequence excludes 0 (one variant is
better) or lies inside (-margin, +margin) (equivalent within the margin). For pass/fail
scores with one epoch, "one variant is better" is decided by the discordant-pair mixture test
(``DiscordantMixture``), which needs fewer items for the same error rate. The run stops when
every pair is decided, or at its planned size. Multiplicity: Bonferroni, each of the k pairs'
tests at alpha / k (alpha / 2k per side), which keeps the chance of any false claim among all
pairs, at any stopping time, at or below alpha.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.stats.sequential import BettingCS, DiscordantMixture, grid_with


@dataclass
class StopDecision:
    """Why a monitor stopped the run: a sentence, and the items it had seen."""

    reason: str
    items: int
    outcome: str = "decided"  # decided | fail | pass
    details: list[str] = field(default_factory=list)


class ItemStream:
    """Collects records and releases complete items in the planned order."""

    def __init__(self, samples: Sequence[Any], metric_of: dict[str, str]) -> None:
        self.order: list[tuple[str, str]] = []
        self.expected: dict[tuple[str, str], int] = {}
        for sample in samples:
            key = (sample.task, sample.item.id)
            if key not in self.expected:
                self.order.append(key)
                self.expected[key] = 0
            self.expected[key] += 1
        self.metric_of = metric_of
        self._scores: dict[tuple[str, str], dict[tuple[str, str], list[float]]] = {}
        self._seen: dict[tuple[str, str], int] = {}
        self._next = 0

    def add(self, record: dict[str, Any]) -> None:
        key = (str(record["task"]), str(record["item_id"]))
        if key not in self.expected:
            return
        self._seen[key] = self._seen.get(key, 0) + 1
        metric = self.metric_of.get(key[0])
        value = (record.get("scores") or {}).get(metric) if metric else None
        if record.get("error") is None and value is not None and math.isfinite(float(value)):
            cell = (str(record["variant"]), str(record["model"]))
            self._scores.setdefault(key, {}).setdefault(cell, []).append(float(value))

    def ready(self) -> Iterable[tuple[tuple[str, str], dict[tuple[str, str], float]]]:
        """Complete items not yet released, in order: (task, item id) and the mean score per
        (variant, model) over its epochs (cells whose samples all failed are left out)."""
        while self._next < len(self.order):
            key = self.order[self._next]
            if self._seen.get(key, 0) < self.expected[key]:
                return
            self._next += 1
            scores = self._scores.pop(key, {})
            yield key, {cell: float(np.mean(v)) for cell, v in scores.items()}

    @property
    def released(self) -> int:
        return self._next

    @property
    def total(self) -> int:
        return len(self.order)


def primary_metrics(plan: Any) -> dict[str, str]:
    """The first scorer of each task: the metric every comparison is made on."""
    return {name: task.scorers[0].name for name, task in plan.tasks.items() if task.scorers}


class PairwiseMonitor:
    """``run --until-decided``: stop once every pair of variants (per task x model) is decided."""

    def __init__(self, plan: Any, *, alpha: float = 0.05, margin: float = 0.02,
                 skip: Iterable[dict[str, Any]] = ()) -> None:
        if not 0.0 < alpha < 0.5:
            raise ValueError(f"alpha must be between 0 and 0.5; got {alpha}")
        if not 0.0 <= margin < 1.0:
            raise ValueError(f"margin is a fraction of the score scale; got {margin}")
        self.alpha, self.margin = alpha, margin
        self.stream = ItemStream(plan.samples, primary_metrics(plan))
        variants = list(plan.variants)
        self.pairs = [(task, model, a, b) for task in plan.tasks for model in plan.models
                      for a, b in itertools.combinations(variants, 2)]
        k = max(1, len(self.pairs))
        per_side = alpha / (2 * k)
        self.cs = BettingCS(len(self.pairs), per_side, per_side, grid_with([0.0, margin,
                                                                           -margin]))
        self._index = {p: n for n, p in enumerate(self.pairs)}
        kinds = {name: task.scorers[0].kind for name, task in plan.tasks.items()
                 if task.scorers}
        one_epoch = int(getattr(plan.experiment, "epochs", 1)) == 1
        self.binary = np.array([one_epoch and kinds.get(p[0]) == "binary" for p in self.pairs],
                               dtype=bool)
        self.mixture = DiscordantMixture(len(self.pairs), per_side)
        self.items = 0
        for record in skip:  # a resumed run: what finished before counts, in the same order
            self.stream.add(record)
        self._consume()

    def _consume(self) -> None:
        for (task, _item), cells in self.stream.ready():
            self.items += 1
            values = np.full(len(self.pairs), np.nan)
            for (t, model, a, b), n in self._index.items():
                if t == task and (a, model) in cells and (b, model) in cells:
                    values[n] = cells[(a, model)] - cells[(b, model)]
            self.cs.update(values)
            self.mixture.update(values, self.binary & np.isin(values, (-1.0, 0.0, 1.0)))

    def better(self) -> tuple[np.ndarray, np.ndarray]:
        """Per pair: shown that the first variant is better, that the second is."""
        cs, mix = self.cs, self.mixture
        return (np.where(self.binary, mix.above, cs.excludes_above(0.0)),
                np.where(self.binary, mix.below, cs.excludes_below(0.0)))

    def decided(self) -> np.ndarray:
        cs = self.cs
        first, second = self.better()
        different = first | second
        if self.margin > 0:
            equivalent = cs.excludes_above(-self.margin) & cs.excludes_below(self.margin)
        else:
            equivalent = np.zeros(len(self.pairs), dtype=bool)
        return different | equivalent

    def update(self, record: dict[str, Any]) -> StopDecision | None:
        self.stream.add(record)
        before = self.items
        self._consume()
        if self.items == before or not self.pairs or not self.decided().all():
            return None
        if self.items >= self.stream.total:
            return None  # the run is complete anyway: nothing stopped early
        return StopDecision(
            reason="every comparison was decided",
            items=self.items, details=self.describe())

    def describe(self) -> list[str]:
        """One line per pair: its difference, confidence sequence, and what was decided."""
        lines = []
        level = 100 * (1 - self.alpha)
        for n, (task, model, a, b) in enumerate(self.pairs):
            cs = self.cs
            lo, hi, mean = cs.lower[n], cs.upper[n], cs.mean[n]
            first, second = self.better()
            if first[n]:
                verdict = f"{a} better"
            elif second[n]:
                verdict = f"{b} better"
            elif self.margin > 0 and cs.excludes_above(-self.margin)[n] \
                    and cs.excludes_below(self.margin)[n]:
                verdict = f"equivalent within ±{100 * self.margin:g} points"
            else:
                verdict = "undecided"
            lines.append(
                f"{task} / {model}: {a} - {b} = {100 * mean:+.1f} points over "
                f"{int(cs.n[n])} items, {level:g}% confidence sequence "
                f"[{100 * lo:.1f}, {100 * hi:.1f}] (Bonferroni over {len(self.pairs)}): "
                f"{verdict}")
        return lines
