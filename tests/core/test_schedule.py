"""Item-interleaved scheduling: any prefix of a run is a balanced, paired sample of the task."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from harness.monitor import ItemStream
from harness.schedule import interleave, item_order, schedule_window


@dataclass(frozen=True)
class _Item:
    id: str


@dataclass(frozen=True)
class _S:
    task: str
    variant: str
    model: str
    epoch: int
    item: Any


def _plan(n_items: int = 40) -> list[_S]:
    """The old order: task, variant, item, model, epoch."""
    return [_S(t, v, m, e, _Item(f"i{i:02d}")) for t in ("a", "b") for v in ("x", "y", "z")
            for i in range(n_items) for m in ("m1", "m2") for e in range(2)]


def _items_in(prefix: list[_S]) -> dict[tuple[str, str], set[tuple[str, str, int]]]:
    seen: dict[tuple[str, str], set[tuple[str, str, int]]] = {}
    for s in prefix:
        seen.setdefault((s.task, s.item.id), set()).add((s.variant, s.model, s.epoch))
    return seen


def test_every_item_boundary_is_balanced_and_order_is_seeded() -> None:
    samples = _plan()
    out = interleave(samples, seed=1)
    assert sorted(map(id, out)) == sorted(map(id, samples))  # same samples, nothing lost
    per_item = 3 * 2 * 2
    for cut in range(0, len(out) + 1, per_item):  # stopped after any whole item
        assert all(len(cells) == per_item for cells in _items_in(out[:cut]).values())
    first = [(s.task, s.item.id) for s in out[::per_item]]
    assert first != sorted(first)  # a random order of items, not the file's
    assert [s.item.id for s in interleave(samples, seed=1)] == [s.item.id for s in out]
    assert [s.item.id for s in interleave(samples, seed=2)] != [s.item.id for s in out]


def test_windows_group_variants_for_batching_and_balance_at_boundaries() -> None:
    samples = _plan()
    out = interleave(samples, seed=1, window=16)
    per_window = 16 * 12
    for cut in range(0, len(out), per_window):
        assert all(len(c) == 12 for c in _items_in(out[:cut]).values())
    window = out[:per_window]
    runs = sum(1 for a, b in itertools.pairwise(window) if a.variant != b.variant)
    assert runs <= 2 * 2 * 3  # one run per (task, variant, model, epoch) group at most
    assert [s.variant for s in window[:16]] == ["x"] * 16  # a batch is one template wide


def test_window_follows_the_local_models_batch_size(monkeypatch: Any) -> None:
    @dataclass
    class M:
        model: str

    assert schedule_window({"a": M("openai/gpt-4o-mini")}) == 1
    monkeypatch.setenv("HARNESS_HF_BATCH_SIZE", "8")
    assert schedule_window({"a": M("hf/smollm2-135m-instruct")}) == 8


def test_item_order_is_independent_of_the_input_order() -> None:
    keys = [("t", f"i{i}") for i in range(30)]
    assert item_order(keys, 5) == item_order(list(reversed(keys)), 5)


def test_stream_releases_items_only_in_planned_order_and_when_complete() -> None:
    samples = interleave(_plan(4), seed=3)
    stream = ItemStream(samples, {"a": "em", "b": "em"})
    order = stream.order
    first, second = order[0], order[1]
    for s in samples:  # every sample of the second item finishes first
        if (s.task, s.item.id) == second:
            stream.add({"task": s.task, "item_id": s.item.id, "variant": s.variant,
                        "model": s.model, "scores": {"em": 1.0}, "error": None})
    assert list(stream.ready()) == []  # waits for the first
    for s in samples:
        if (s.task, s.item.id) == first:
            failed = s.variant == "x"
            stream.add({"task": s.task, "item_id": s.item.id, "variant": s.variant,
                        "model": s.model, "scores": {} if failed else {"em": 0.5},
                        "error": "boom" if failed else None})
    released = list(stream.ready())
    assert [k for k, _ in released] == [first, second]
    assert ("x", "m1") not in released[0][1] and released[0][1][("y", "m1")] == 0.5
