"""recall@k and reciprocal rank on hand-computed cases."""

from __future__ import annotations

import pytest

from harness.retrieval import recall_at_k, reciprocal_rank


def test_recall_single_gold() -> None:
    assert recall_at_k(["a", "b", "c"], ["b"], k=3) == 1.0
    assert recall_at_k(["a", "b", "c"], ["c"], k=2) == 0.0


def test_recall_multi_gold_counts_each_gold_document_equally() -> None:
    assert recall_at_k(["a", "x", "y"], ["a", "b"], k=3) == 0.5
    assert recall_at_k(["b", "a"], ["a", "b"], k=2) == 1.0


def test_recall_counts_positions_so_repeated_documents_use_up_slots() -> None:
    # Two chunks of "a" fill the top two positions, as they would fill two prompt slots.
    assert recall_at_k(["a", "a", "b"], ["b"], k=2) == 0.0
    assert recall_at_k(["a", "a", "b"], ["a"], k=1) == 1.0


def test_recall_edge_cases() -> None:
    assert recall_at_k([], ["a"], k=5) == 0.0
    assert recall_at_k(["a"], [], k=5) == 1.0
    with pytest.raises(ValueError):
        recall_at_k(["a"], ["a"], k=-1)


def test_reciprocal_rank() -> None:
    assert reciprocal_rank(["x", "g", "y"], ["g"]) == 0.5
    assert reciprocal_rank(["g"], ["g", "h"]) == 1.0
    assert reciprocal_rank(["x", "y", "z", "h"], ["g", "h"]) == 0.25
    assert reciprocal_rank(["x", "y"], ["g"]) == 0.0
    assert reciprocal_rank([], ["g"]) == 0.0
