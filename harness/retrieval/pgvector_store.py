"""The server-backed store: PostgreSQL with the pgvector extension, through psycopg 3.

Selected by ``store: pgvector`` and ``store_url: postgresql://user:pass@host:5432/db``. Each index
key gets its own table ``harness_chunks_<key prefix>``; ``harness_indexes`` records which keys
are complete, so several users and runs can share one database and reuse each other's indexes.

The database needs the extension installed on the server; the store runs
``CREATE EXTENSION IF NOT EXISTS vector``, which needs the right privileges the first time.
Search is exact below ``HNSW_MIN_ROWS`` chunks; above it an HNSW index is created (pgvector
0.5+), trading a little recall for speed, as a server deployment with large corpora wants.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from harness.retrieval.types import Chunk

HNSW_MIN_ROWS = 50_000
REGISTRY = "harness_indexes"
COLUMNS = "id, chunk_id, doc_id, position, title, text, embedding"


def redact(url: str) -> str:
    """The URL without its password, for logs and manifests."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ""
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def vector_literal(vector: np.ndarray) -> str:
    """pgvector's text form; it avoids depending on the ``pgvector`` Python package."""
    return "[" + ",".join(repr(float(x)) for x in np.asarray(vector, dtype=np.float32)) + "]"


class PgVectorStore:
    """A ``VectorStore`` in a PostgreSQL table; builds are one transaction, so atomic."""

    def __init__(self, url: str, *, key: str, dimension: int) -> None:
        self.url = url
        self.key = key
        self.dimension = dimension
        self.table = f"harness_chunks_{key[:16]}"
        self.location = f"{redact(url)}#{self.table}"
        self._conn: Any = None
        self._lock = threading.Lock()

    def _connection(self) -> Any:
        if self._conn is None:
            try:
                import psycopg
            except ImportError as exc:
                raise RuntimeError(
                    "store 'pgvector' needs psycopg 3: pip install 'psycopg[binary]'"
                ) from exc
            conn = psycopg.connect(self.url, autocommit=True)
            try:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            except psycopg.Error as exc:
                conn.close()
                raise RuntimeError(
                    f"cannot enable pgvector in {redact(self.url)}: {exc}. Install the pgvector "
                    "extension on the server, or have an administrator run "
                    "'CREATE EXTENSION vector' in that database."
                ) from exc
            conn.execute(
                f"""CREATE TABLE IF NOT EXISTS {REGISTRY} (
                    key TEXT PRIMARY KEY, table_name TEXT NOT NULL, meta JSONB NOT NULL,
                    built_at TIMESTAMPTZ NOT NULL DEFAULT now())"""
            )
            self._conn = conn
        return self._conn

    def is_built(self) -> bool:
        with self._lock:
            row = (
                self._connection()
                .execute(f"SELECT 1 FROM {REGISTRY} WHERE key = %s", (self.key,))
                .fetchone()
            )
        return row is not None

    def build(
        self, batches: Iterable[tuple[Sequence[Chunk], np.ndarray]], meta: dict[str, str]
    ) -> None:
        conn = self._connection()
        with self._lock, conn.transaction():
            # Serialises concurrent builds of the same key; the loser finds it built and stops.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.key,))
            done = conn.execute(f"SELECT 1 FROM {REGISTRY} WHERE key = %s", (self.key,))
            if done.fetchone() is not None:
                return  # another process built it meanwhile; the batches are never embedded
            conn.execute(f"DROP TABLE IF EXISTS {self.table}")
            conn.execute(
                f"""CREATE TABLE {self.table} (
                    id INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL UNIQUE, doc_id TEXT NOT NULL,
                    position INTEGER NOT NULL, title TEXT, text TEXT NOT NULL,
                    embedding vector({int(self.dimension)}) NOT NULL)"""
            )
            n = 0
            with (
                conn.cursor() as cur,
                cur.copy(f"COPY {self.table} ({COLUMNS}) FROM STDIN") as copy,
            ):
                for chunks, vectors in batches:
                    if np.shape(vectors) != (len(chunks), self.dimension):
                        raise ValueError(f"expected {len(chunks)} vectors of {self.dimension}")
                    for chunk, vector in zip(chunks, vectors, strict=True):
                        n += 1
                        copy.write_row(
                            (
                                n,
                                chunk.chunk_id,
                                chunk.doc_id,
                                chunk.position,
                                chunk.title,
                                chunk.text,
                                vector_literal(vector),
                            )
                        )
            if n >= HNSW_MIN_ROWS:
                self._try_hnsw(conn)
            info = {**meta, "index_key": self.key, "n_chunks": str(n)}
            conn.execute(
                f"INSERT INTO {REGISTRY} (key, table_name, meta) VALUES (%s, %s, %s)",
                (self.key, self.table, json.dumps(info)),
            )

    def _try_hnsw(self, conn: Any) -> None:
        import psycopg

        try:
            with conn.transaction():
                conn.execute(
                    f"CREATE INDEX ON {self.table} USING hnsw (embedding vector_cosine_ops)"
                )
        except psycopg.Error as exc:  # pgvector < 0.5: exact search still works
            print(f"pgvector: no HNSW index ({exc}); searching exactly", file=sys.stderr)

    def search(self, vector: np.ndarray, k: int) -> list[tuple[Chunk, float]]:
        if k < 1:
            return []
        literal = vector_literal(vector)
        with self._lock:
            rows = (
                self._connection()
                .execute(
                    # ORDER BY the bare distance expression so an HNSW index can serve it.
                    f"""SELECT chunk_id, doc_id, position, text, embedding <=> %s::vector, id, title
                    FROM {self.table} ORDER BY embedding <=> %s::vector LIMIT %s""",
                    (literal, literal, int(k)),
                )
                .fetchall()
            )
        rows.sort(key=lambda r: (r[4], r[5]))  # ties in insertion order, like sqlite-vec
        return [
            (
                Chunk(chunk_id=r[0], doc_id=r[1], position=r[2], text=r[3], title=r[6]),
                1.0 - float(r[4]),
            )
            for r in rows
        ]

    def count(self) -> int:
        with self._lock:
            row = self._connection().execute(f"SELECT count(*) FROM {self.table}").fetchone()
        return int(row[0])

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
