"""The server-backed store (PostgreSQL + pgvector), selected by configuration only.

Needs a server: set HARNESS_TEST_PGVECTOR_URL to a database where the ``vector`` extension can
be created, e.g. postgresql://postgres@/postgres?host=/tmp/pgdata. Without it the server tests
skip and say so. Every test uses a corpus unique to the run and drops what it created.
"""

from __future__ import annotations

import os
import uuid

import numpy as np
import pytest

from harness.retrieval import Document, RetrievalConfig, open_retriever
from harness.retrieval.pgvector_store import redact, vector_literal

URL_VAR = "HARNESS_TEST_PGVECTOR_URL"


def test_redact_hides_only_the_password() -> None:
    assert (
        redact("postgresql://u:secret@db.example:5433/rag")
        == "postgresql://u:***@db.example:5433/rag"
    )
    assert redact("postgresql://u@db/rag") == "postgresql://u@db/rag"


def test_vector_literal_round_trips_float32() -> None:
    v = np.array([0.1, -2.5, 3e-8], dtype=np.float32)
    parsed = np.array(vector_literal(v).strip("[]").split(","), dtype=np.float32)
    np.testing.assert_array_equal(parsed, v)


@pytest.fixture
def pg_url() -> str:
    url = os.environ.get(URL_VAR)
    if not url:
        pytest.skip(f"no PostgreSQL server with pgvector: set {URL_VAR}=postgresql://... to test")
    pytest.importorskip("psycopg", reason="the pgvector store needs psycopg 3")
    return url


@pytest.fixture
def unique_corpus(small_corpus) -> list[Document]:
    """The small corpus plus a document unique to this run, so its index key is new."""
    return [*small_corpus, Document(id="run", text=f"Run marker {uuid.uuid4().hex}.")]


@pytest.fixture
def cleanup(pg_url):
    created: list[str] = []
    yield created
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        for key in created:
            conn.execute(f"DROP TABLE IF EXISTS harness_chunks_{key[:16]}")
            conn.execute("DELETE FROM harness_indexes WHERE key = %s", (key,))


@pytest.mark.slow
def test_pgvector_store_builds_reuses_and_matches_sqlite_vec(
    pg_url, unique_corpus, cleanup, tmp_path, embedder
) -> None:
    pg_cfg = RetrievalConfig(kind="dense", store="pgvector", store_url=pg_url)
    mark = embedder.texts_embedded
    pg = open_retriever(unique_corpus, pg_cfg, index_dir=tmp_path)
    cleanup.append(pg.index_key)
    assert embedder.texts_embedded - mark == len(unique_corpus)
    assert list(tmp_path.iterdir()) == []  # nothing on local disk
    assert pg.location == f"{redact(pg_url)}#harness_chunks_{pg.index_key[:16]}"

    mark = embedder.texts_embedded
    again = open_retriever(unique_corpus, pg_cfg, index_dir=tmp_path)
    assert embedder.texts_embedded == mark  # reused from the server

    local = open_retriever(unique_corpus, RetrievalConfig(kind="dense"), index_dir=tmp_path)
    assert local.index_key == pg.index_key  # same key whichever store holds it
    queries = ["capital of France", "memory safety", "purring animals"]
    for pg_hits, local_hits in zip(
        again.search_many(queries, 5), local.search_many(queries, 5), strict=True
    ):
        assert [h.chunk_id for h in pg_hits] == [h.chunk_id for h in local_hits]
        np.testing.assert_allclose(
            [h.score for h in pg_hits], [h.score for h in local_hits], atol=1e-5
        )

    hybrid = open_retriever(
        unique_corpus, pg_cfg.model_copy(update={"kind": "hybrid"}), index_dir=tmp_path
    )
    assert hybrid.search("Eiffel Tower", 1)[0].doc_id == "paris"


@pytest.mark.slow
def test_pgvector_store_adds_an_hnsw_index_for_large_corpora(
    pg_url, unique_corpus, cleanup, tmp_path, embedder, monkeypatch
) -> None:
    import psycopg

    from harness.retrieval import pgvector_store

    monkeypatch.setattr(pgvector_store, "HNSW_MIN_ROWS", 1)  # "large" without embedding much
    cfg = RetrievalConfig(kind="dense", store="pgvector", store_url=pg_url)
    retriever = open_retriever(unique_corpus, cfg, index_dir=tmp_path)
    cleanup.append(retriever.index_key)
    with psycopg.connect(pg_url) as conn:
        (indexdef,) = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s",
            (f"harness_chunks_{retriever.index_key[:16]}", "%hnsw%"),
        ).fetchone()
    assert "vector_cosine_ops" in indexdef
    assert retriever.search("Which language has no garbage collector?", 1)[0].doc_id == "rust"
