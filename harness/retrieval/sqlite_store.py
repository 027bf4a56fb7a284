"""The embedded store: one SQLite file with a sqlite-vec ``vec0`` table.

One file per index key, so a user can copy, delete or inspect an index with any SQLite tool:
``meta`` and ``chunks`` are plain tables; ``chunk_vectors`` needs the sqlite-vec extension
(``.load vec0`` in the sqlite3 shell). Search is an exact (brute-force) cosine KNN, which is fast
enough for the tens of thousands of chunks a prompt experiment's knowledge base holds.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from harness.retrieval.types import Chunk

#: vec0 refuses a larger ``k`` in one KNN query.
MAX_KNN = 4096


def connect(path: str | Path) -> Any:
    """A SQLite connection with sqlite-vec loaded.

    Many Python builds (these machines' included) compile ``sqlite3`` without extension
    loading; ``pysqlite3-binary`` ships its own SQLite that allows it, so it is the fallback.
    """
    import sqlite3

    import sqlite_vec

    conn = sqlite3.connect(str(path), check_same_thread=False)
    try:
        conn.enable_load_extension(True)
        sqlite_vec.load(conn)
        conn.enable_load_extension(False)
        return conn
    except (AttributeError, sqlite3.OperationalError):
        conn.close()
    try:
        from pysqlite3 import dbapi2 as sqlite3_ext
    except ImportError as exc:
        raise RuntimeError(
            "this Python's sqlite3 cannot load extensions, and pysqlite3 is not installed; "
            "install pysqlite3-binary (pip install 'prompt-harness[rag]')"
        ) from exc
    conn = sqlite3_ext.connect(str(path), check_same_thread=False)
    conn.enable_load_extension(True)
    sqlite_vec.load(conn)
    conn.enable_load_extension(False)
    return conn


class SqliteVecStore:
    """A ``VectorStore`` in one SQLite file, built under a temporary name and renamed into place.

    The rename makes a build atomic: an interrupted build leaves only a stray temporary file,
    and two processes building the same index both end with a complete file.
    """

    def __init__(self, path: Path, *, key: str, dimension: int) -> None:
        self.path = Path(path)
        self.key = key
        self.dimension = dimension
        self.location = str(self.path)
        self._conn: Any = None
        self._lock = threading.Lock()

    def is_built(self) -> bool:
        if not self.path.is_file():
            return False
        try:
            conn = self._connection()
            rows = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except Exception:  # a foreign or corrupt file: rebuild over it
            self.close()
            return False
        if rows.get("index_key") == self.key and rows.get("complete") == "1":
            return True
        self.close()
        return False

    def build(
        self, batches: Iterable[tuple[Sequence[Chunk], np.ndarray]], meta: dict[str, str]
    ) -> None:
        self.close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{self.path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
        tmp.unlink(missing_ok=True)
        conn = connect(tmp)
        try:
            conn.executescript(
                f"""
                PRAGMA journal_mode = OFF;
                PRAGMA synchronous = OFF;
                CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE chunks (
                    id INTEGER PRIMARY KEY,
                    chunk_id TEXT NOT NULL UNIQUE,
                    doc_id TEXT NOT NULL,
                    position INTEGER NOT NULL,
                    title TEXT,
                    text TEXT NOT NULL
                );
                CREATE INDEX chunks_doc_id ON chunks (doc_id);
                CREATE VIRTUAL TABLE chunk_vectors USING vec0 (
                    embedding float[{int(self.dimension)}] distance_metric=cosine
                );
                """
            )
            n = 0
            for chunks, vectors in batches:
                vectors = np.ascontiguousarray(vectors, dtype=np.float32)
                if vectors.shape != (len(chunks), self.dimension):
                    raise ValueError(f"expected {len(chunks)} vectors of {self.dimension}")
                ids = range(n + 1, n + 1 + len(chunks))
                conn.executemany(
                    "INSERT INTO chunks (id, chunk_id, doc_id, position, title, text)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (i, c.chunk_id, c.doc_id, c.position, c.title, c.text)
                        for i, c in zip(ids, chunks, strict=True)
                    ],
                )
                conn.executemany(
                    "INSERT INTO chunk_vectors (rowid, embedding) VALUES (?, ?)",
                    [(i, v.tobytes()) for i, v in zip(ids, vectors, strict=True)],
                )
                n += len(chunks)
            info = {
                **meta,
                "index_key": self.key,
                "n_chunks": str(n),
                "dimension": str(self.dimension),
                "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "complete": "1",
            }
            conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", sorted(info.items()))
            conn.commit()
        except BaseException:
            conn.close()
            tmp.unlink(missing_ok=True)
            raise
        conn.close()
        os.replace(tmp, self.path)

    def search(self, vector: np.ndarray, k: int) -> list[tuple[Chunk, float]]:
        k = min(int(k), MAX_KNN)
        if k < 1:
            return []
        query = np.ascontiguousarray(vector, dtype=np.float32).tobytes()
        with self._lock:
            rows = (
                self._connection()
                .execute(
                    """
                WITH knn AS (
                    SELECT rowid, distance FROM chunk_vectors
                    WHERE embedding MATCH ? AND k = ?
                )
                SELECT c.chunk_id, c.doc_id, c.position, c.text, knn.distance, c.title
                FROM knn JOIN chunks AS c ON c.id = knn.rowid
                ORDER BY knn.distance, c.id
                """,
                    (query, k),
                )
                .fetchall()
            )
        return [
            (
                Chunk(chunk_id=r[0], doc_id=r[1], position=r[2], text=r[3], title=r[5]),
                1.0 - float(r[4]),
            )
            for r in rows
        ]

    def count(self) -> int:
        with self._lock:
            return int(self._connection().execute("SELECT count(*) FROM chunks").fetchone()[0])

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    def _connection(self) -> Any:
        if self._conn is None:
            self._conn = connect(self.path)
        return self._conn
