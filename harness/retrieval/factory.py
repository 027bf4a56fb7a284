"""``open_retriever``: the one entry point that turns a corpus and a config into a retriever."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from harness.retrieval.chunking import iter_chunks
from harness.retrieval.config import RetrievalConfig
from harness.retrieval.dense import DenseRetriever, ensure_index
from harness.retrieval.embedder import DIMENSION, MODEL_NAME, Embedder, get_embedder
from harness.retrieval.lexical import BM25Retriever
from harness.retrieval.types import Document, Retriever


def default_index_dir() -> Path:
    """``$HARNESS_CACHE_DIR/indexes``, else ``~/.cache/prompt-harness/indexes``."""
    base = os.environ.get("HARNESS_CACHE_DIR")
    root = Path(base) if base else Path.home() / ".cache" / "prompt-harness"
    return root / "indexes"


def open_retriever(
    docs: Sequence[Document],
    config: RetrievalConfig,
    *,
    index_dir: Path,
    embedder: Embedder | None = None,
) -> Retriever:
    """A retriever over ``docs`` as ``config`` describes, building the dense index if needed.

    The dense index is looked up by its key (corpus, chunking, model) in the configured store
    and built only when absent, so repeated runs and the hybrid kind share one index. ``embedder``
    defaults to the process-wide one; pass another only to isolate its counters (tests).
    """
    docs = list(docs)
    seen: set[str] = set()
    for doc in docs:
        if doc.id in seen:
            raise ValueError(f"duplicate document id {doc.id!r}: hits could not name their source")
        seen.add(doc.id)

    if config.kind == "bm25":
        return BM25Retriever(list(iter_chunks(docs, config.chunk_size, config.chunk_overlap)))

    dense = _open_dense(docs, config, Path(index_dir), embedder or get_embedder())
    if config.kind == "dense":
        return dense
    from harness.retrieval.hybrid import HybridRetriever

    lexical = BM25Retriever(list(iter_chunks(docs, config.chunk_size, config.chunk_overlap)))
    return HybridRetriever(dense, lexical, rrf_k=config.rrf_k)


def _open_dense(
    docs: list[Document], config: RetrievalConfig, index_dir: Path, embedder: Embedder
) -> DenseRetriever:
    from harness.retrieval.embedder import model_fingerprint
    from harness.retrieval.store import index_key, open_vector_store

    fingerprint = model_fingerprint()
    key = index_key(docs, config.chunk_size, config.chunk_overlap, fingerprint)
    store = open_vector_store(
        config, index_dir=index_dir, key=key, model_name=MODEL_NAME, dimension=DIMENSION
    )
    meta = {
        "model": fingerprint,
        "chunk_size": str(config.chunk_size),
        "chunk_overlap": str(config.chunk_overlap),
        "chunk_unit": "words",
        "n_documents": str(len(docs)),
    }
    ensure_index(
        store,
        docs,
        chunk_size=config.chunk_size,
        chunk_overlap=config.chunk_overlap,
        embedder=embedder,
        meta=meta,
    )
    return DenseRetriever(store, embedder, index_key=key)
