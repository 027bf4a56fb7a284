"""Dense retrieval: embed the query, take the nearest chunks from a vector store."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from harness.retrieval.chunking import iter_chunks
from harness.retrieval.progress import Progress
from harness.retrieval.ranking import distinct_hits, hit_of
from harness.retrieval.store import VectorStore
from harness.retrieval.types import Document, Hit

#: Chunks embedded per call while building: big enough to batch well, small enough that the
#: progress line moves and memory stays flat.
BUILD_BATCH = 128


class SupportsEmbed(Protocol):
    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def ensure_index(
    store: VectorStore,
    docs: Sequence[Document],
    *,
    chunk_size: int,
    chunk_overlap: int,
    embedder: SupportsEmbed,
    meta: dict[str, str],
) -> bool:
    """Builds the index unless the store already holds it; returns whether it built.

    Reuse is decided by the store from the index key alone, so a second run with the same corpus,
    chunking and model embeds nothing but its queries.
    """
    if store.is_built():
        return False
    chunks = list(iter_chunks(docs, chunk_size, chunk_overlap))
    print(f"retrieval: building dense index {store.location}", file=sys.stderr, flush=True)
    progress = Progress(f"Embedding {len(chunks)} chunks of {len(docs)} documents", len(chunks))

    def batches():
        for start in range(0, len(chunks), BUILD_BATCH):
            batch = chunks[start : start + BUILD_BATCH]
            vectors = embedder.embed([c.indexed_text for c in batch])
            progress.advance(len(batch))
            yield batch, vectors

    store.build(batches(), meta)
    progress.close()
    return True


class DenseRetriever:
    """Cosine-similarity search over a built ``VectorStore``; hit scores are cosine similarity."""

    def __init__(self, store: VectorStore, embedder: SupportsEmbed, *, index_key: str) -> None:
        self.store = store
        self.embedder = embedder
        self.index_key = index_key
        self.location = store.location
        self._size = store.count()

    def search(self, query: str, k: int) -> list[Hit]:
        return self.search_many([query], k)[0]

    def search_many(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
        if not queries:
            return []
        vectors = self.embedder.embed(list(queries))
        return [self._nearest(vector, k) for vector in vectors]

    def _nearest(self, vector: np.ndarray, k: int) -> list[Hit]:
        if k < 1 or self._size == 0:
            return []
        # Over-fetch so that dropping duplicate texts still leaves k hits; widen if it did not.
        fetch = min(self._size, k + max(4, k))
        while True:
            candidates = self.store.search(vector, fetch)
            hits = distinct_hits((hit_of(c, s) for c, s in candidates), k)
            if len(hits) >= k or fetch >= self._size or len(candidates) < fetch:
                return hits
            fetch = min(self._size, fetch * 4)

    def close(self) -> None:
        self.store.close()

