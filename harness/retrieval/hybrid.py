"""Hybrid retrieval: dense and BM25 candidates merged by reciprocal rank fusion."""

from __future__ import annotations

from collections.abc import Sequence

from harness.retrieval.dense import DenseRetriever
from harness.retrieval.lexical import BM25Retriever
from harness.retrieval.ranking import rrf_fuse
from harness.retrieval.types import Hit

#: Each side contributes at least this many candidates: fusing only the top k of each would let
#: a chunk ranked k+1 by both retrievers lose to one ranked k by only one of them.
MIN_CANDIDATES = 50


class HybridRetriever:
    """RRF over dense and BM25 rankings; hit scores are fused RRF scores."""

    def __init__(self, dense: DenseRetriever, lexical: BM25Retriever, *, rrf_k: int = 60) -> None:
        self.dense = dense
        self.lexical = lexical
        self.rrf_k = rrf_k
        self.index_key = dense.index_key
        self.location = dense.location

    def search(self, query: str, k: int) -> list[Hit]:
        return self.search_many([query], k)[0]

    def search_many(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
        if not queries:
            return []
        depth = max(MIN_CANDIDATES, 4 * k)
        dense = self.dense.search_many(queries, depth)
        lexical = self.lexical.search_many(queries, depth)
        return [rrf_fuse([d, x], k, self.rrf_k) for d, x in zip(dense, lexical, strict=True)]

    def close(self) -> None:
        self.dense.close()
