"""The vector-store seam: what a store must do, how an index is named, and which store to open.

The dense retriever talks only to ``VectorStore``; the embedded SQLite file and a PostgreSQL
server are two implementations picked by ``RetrievalConfig.store``. Adding a server-backed
store means one new module and one branch in ``open_vector_store``; the runner never changes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from harness.retrieval.chunking import CHUNKER_VERSION
from harness.retrieval.config import RetrievalConfig
from harness.retrieval.types import Chunk, Document

#: Bumped when the stored layout changes, so older index files are rebuilt, not misread.
INDEX_FORMAT_VERSION = 2


class VectorStore(Protocol):
    """A persisted set of chunk embeddings for one index key, searchable by cosine similarity."""

    #: Where the index lives, for logs and result manifests (never carries a password).
    location: str

    def is_built(self) -> bool:
        """True when a complete index for this key exists and can be searched as is."""
        ...

    def build(
        self, batches: Iterable[tuple[Sequence[Chunk], np.ndarray]], meta: dict[str, str]
    ) -> None:
        """Stores all chunks with their unit-length vectors, atomically.

        Batches arrive as they are embedded so a large corpus never sits in memory twice; a
        reader must never see a half-built index, even if the build is interrupted.
        """
        ...

    def search(self, vector: np.ndarray, k: int) -> list[tuple[Chunk, float]]:
        """The ``k`` nearest chunks with their cosine similarity, most similar first; ties by
        insertion order, so results are reproducible."""
        ...

    def count(self) -> int:
        """Number of chunks stored."""
        ...

    def close(self) -> None: ...


def index_key(
    docs: Sequence[Document], chunk_size: int, chunk_overlap: int, model_fingerprint: str
) -> str:
    """A SHA-256 over everything that determines the index contents.

    The corpus (ids, titles and texts, in order), the chunking parameters and rule version, the
    embedding model and the stored format: change any of them and the key changes, so a stale
    index is never reused. JSON-encoding each field keeps the encoding unambiguous.
    """
    h = hashlib.sha256()
    header = {
        "format": INDEX_FORMAT_VERSION,
        "chunker": CHUNKER_VERSION,
        "chunk_size": chunk_size,
        "chunk_overlap": chunk_overlap,
        "model": model_fingerprint,
    }
    h.update(json.dumps(header, sort_keys=True).encode())
    for doc in docs:
        h.update(b"\n")
        h.update(json.dumps([doc.id, doc.title, doc.text], ensure_ascii=False).encode())
    return h.hexdigest()


def index_basename(key: str, config: RetrievalConfig, model_name: str) -> str:
    """A name a person can read in a directory listing: model, chunking, then the key.

    Sixteen hex digits of the key (64 bits) are plenty to tell corpora apart; the full key is
    stored inside the index and checked on open.
    """
    model = re.sub(r"[^A-Za-z0-9.-]+", "-", model_name.rsplit("/", 1)[-1])
    return f"dense_{model}_c{config.chunk_size}-o{config.chunk_overlap}_{key[:16]}"


def open_vector_store(
    config: RetrievalConfig, *, index_dir: Path, key: str, model_name: str, dimension: int
) -> VectorStore:
    """The store named by ``config.store``; drivers are imported only for the store chosen."""
    name = index_basename(key, config, model_name)
    if config.store == "sqlite-vec":
        from harness.retrieval.sqlite_store import SqliteVecStore

        return SqliteVecStore(Path(index_dir) / f"{name}.sqlite", key=key, dimension=dimension)
    if config.store == "pgvector":
        from harness.retrieval.pgvector_store import PgVectorStore

        assert config.store_url is not None  # enforced by RetrievalConfig
        return PgVectorStore(config.store_url, key=key, dimension=dimension)
    raise ValueError(f"unknown store {config.store!r}")
