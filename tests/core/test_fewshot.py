"""Few-shot selection: seeded, stable, and never the item itself or a duplicate of it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from harness.dataset import Item
from harness.errors import ConfigError
from harness.fewshot import NearestShots, NotEnoughShots, fixed_shots, random_shots


def item(i: str, text: str) -> Item:
    return Item(id=i, input=text, target="t", fields={})


POOL = [item(f"p{i}", f"pool question {i}") for i in range(10)]
LEAKY = [*POOL, item("q1", "the eval question"), item("dup", "  The eval question. ")]
QUERY = item("q1", "the eval question")


def test_random_is_seeded_stable_and_independent_of_other_items() -> None:
    a = random_shots(QUERY, POOL, 4, seed=7)
    assert [s.id for s in a] == [s.id for s in random_shots(QUERY, POOL, 4, seed=7)]
    assert [s.id for s in a] != [s.id for s in random_shots(QUERY, POOL, 4, seed=8)]
    assert len({s.id for s in a}) == 4


@pytest.mark.parametrize("seed", range(20))
def test_no_method_leaks_the_item(seed: int) -> None:
    # 12 examples, two of them this item: 10 can be shown.
    for shots in (
        random_shots(QUERY, LEAKY, 10, seed=seed),
        fixed_shots(QUERY, LEAKY, ["q1", "dup", "p1", "p2"], 2),
        NearestShots(LEAKY, _bag_of_words).select([QUERY], 10)[QUERY.id],
    ):
        ids = {s.id for s in shots}
        assert "q1" not in ids and "dup" not in ids


@pytest.mark.parametrize("method", ["random", "fixed", "similar"])
def test_no_method_silently_shows_fewer_shots_than_asked(method: str) -> None:
    """Leaving the item's own copies out must not quietly shorten the prompt: the config (and
    the manifest and report that quote it) would then misstate what the model saw."""
    with pytest.raises(NotEnoughShots) as info:
        if method == "random":
            random_shots(QUERY, LEAKY, 11, seed=0)
        elif method == "fixed":
            fixed_shots(QUERY, LEAKY, ["q1", "dup", "p1", "p2"], 4)
        else:
            NearestShots(LEAKY, _bag_of_words).select([QUERY], 11)
    assert (info.value.available, info.value.wanted) == ((2, 4) if method == "fixed" else (10, 11))


def test_fixed_keeps_order_and_rejects_unknown_ids() -> None:
    assert [s.id for s in fixed_shots(QUERY, POOL, ["p3", "p1", "p2"], 2)] == ["p3", "p1"]
    with pytest.raises(ConfigError, match="not in the few-shot split: zzz"):
        fixed_shots(QUERY, POOL, ["p1", "zzz"], 2)


VOCAB = ["cat", "dog", "car", "road", "rain", "sun"]


def _bag_of_words(texts: Sequence[str]) -> np.ndarray:
    return np.array([[t.lower().count(w) for w in VOCAB] for t in texts], dtype=np.float32)


def test_similarity_returns_true_nearest_neighbours_hand_checked() -> None:
    pool = [
        item("a", "cat cat dog"),  # pets
        item("b", "car road road"),  # traffic
        item("c", "rain sun rain"),  # weather
        item("d", "dog cat"),  # pets, closest to the query
        item("e", "car car road"),  # traffic
    ]
    query = item("q", "cat dog")
    chosen = NearestShots(pool, _bag_of_words).select([query], 2)["q"]
    # cos(q, d) = 1.0, cos(q, a) = 3/sqrt(10)/sqrt(2) ~ 0.95; the rest 0. Most similar last.
    assert [s.id for s in chosen] == ["a", "d"]
    traffic = NearestShots(pool, _bag_of_words).select([item("r", "road car")], 2)["r"]
    assert {s.id for s in traffic} == {"b", "e"}
