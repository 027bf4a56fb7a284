"""Lexical retrieval: BM25 over the same chunks the dense index holds, with ``bm25s``.

The BM25 index is rebuilt in memory on each open rather than persisted: it takes well under a
second for tens of thousands of chunks, far less than reading it back would save, and it keeps
the on-disk state to one file per corpus.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.retrieval.ranking import distinct_hits, hit_of
from harness.retrieval.types import Chunk, Hit

#: English stopwords are dropped on both sides: they carry no topical signal for BM25.
STOPWORDS = "en"


def _tokenize(texts: Sequence[str]) -> list[list[str]]:
    import bm25s

    return bm25s.tokenize(list(texts), stopwords=STOPWORDS, return_ids=False, show_progress=False)


class BM25Retriever:
    """BM25 (Lucene variant, bm25s defaults k1=1.5, b=0.75); hit scores are BM25 scores.

    Chunks sharing no term with the query score 0 and are never returned, so a query may get
    fewer than k hits: padding with arbitrary zero-score chunks would only add noise, to the
    prompt and to rank fusion.
    """

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        self.chunks = list(chunks)
        self._bm25: Any = None
        self._vocab: dict[str, int] = {}
        if self.chunks:
            import bm25s

            bm25 = bm25s.BM25()
            bm25.index(_tokenize([c.indexed_text for c in self.chunks]), show_progress=False)
            self._bm25 = bm25
            self._vocab = bm25.vocab_dict

    def search(self, query: str, k: int) -> list[Hit]:
        return self.search_many([query], k)[0]

    def search_many(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
        if not queries:
            return []
        return [self._best(tokens, k) for tokens in _tokenize(queries)]

    def _best(self, tokens: list[str], k: int) -> list[Hit]:
        known = [t for t in tokens if t and t in self._vocab]
        if self._bm25 is None or k < 1 or not known:
            return []
        scores = np.asarray(self._bm25.get_scores(known), dtype=np.float64)
        positive = np.flatnonzero(scores > 0)
        # Best score first; ties in corpus order (stable sort), so results are reproducible.
        order = positive[np.argsort(-scores[positive], kind="stable")]
        candidates = (hit_of(self.chunks[i], float(scores[i])) for i in order)
        return distinct_hits(candidates, k)
