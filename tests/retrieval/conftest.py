"""Shared fixtures: one embedder and small hand-made corpora, so the model loads once a session."""

from __future__ import annotations

import pytest

from harness.retrieval import Document, Embedder, get_embedder


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The process-wide embedder, as the runner uses it; tests compare its counters' deltas."""
    return get_embedder()


@pytest.fixture
def small_corpus() -> list[Document]:
    """Four documents on unrelated topics: for each question, one answer is obviously right."""
    return [
        Document(
            id="cats",
            title="Domestic cats",
            text="Cats are small domesticated felines. They purr when content and hunt mice.",
        ),
        Document(
            id="rust",
            title="The Rust language",
            text="Rust is a systems programming language that guarantees memory safety "
            "without a garbage collector, using ownership and borrowing.",
        ),
        Document(
            id="paris",
            title="Paris",
            text="Paris is the capital and largest city of France, home of the Eiffel Tower.",
        ),
        Document(
            id="tea",
            title="Green tea",
            text="Green tea is brewed from unoxidised leaves of the Camellia sinensis plant.",
        ),
    ]
