"""Chunking: window sizes, overlap, short documents, and the config rules that guard them."""

from __future__ import annotations

import itertools

import pytest
from pydantic import ValidationError

from harness.retrieval import Document, RetrievalConfig
from harness.retrieval.chunking import chunk_document, iter_chunks, window_starts


def words(n: int) -> str:
    return " ".join(f"w{i}" for i in range(n))


def test_windows_are_spread_evenly_from_first_to_last_word() -> None:
    # 24 words, size 10, overlap 3: stride 7 fits exactly -> 0, 7, 14.
    assert window_starts(24, 10, 3) == [0, 7, 14]
    # 25 words need four windows; spread evenly they overlap by 5 (>= 3), none is a stub.
    assert window_starts(25, 10, 3) == [0, 5, 10, 15]
    assert window_starts(1000, 200, 40) == [0, 160, 320, 480, 640, 800]


@pytest.mark.parametrize("n", [11, 57, 199, 200, 201, 999, 1000, 1001])
def test_windows_cover_everything_with_at_least_the_overlap(n: int) -> None:
    starts = window_starts(n, 200 if n > 300 else 20, 5)
    size = 200 if n > 300 else 20
    assert starts[0] == 0 and starts[-1] == max(0, n - size)
    assert all(0 < b - a <= size - 5 for a, b in itertools.pairwise(starts))


def test_chunks_have_the_configured_size_and_overlap() -> None:
    doc = Document(id="d", text=words(100))
    chunks = chunk_document(doc, size=30, overlap=10)
    bodies = [c.text.split() for c in chunks]
    assert all(len(b) == 30 for b in bodies)
    # 100 words, size 30, overlap 10: ceil(90 / 20) = 5 windows spread over starts 0..70.
    assert [int(b[0][1:]) for b in bodies] == [0, 17, 35, 52, 70]
    for prev, nxt in itertools.pairwise(bodies):
        assert set(prev[-10:]) <= set(nxt)  # neighbours share at least `overlap` words
    # Every word is covered, in order, and the last chunk ends with the last word.
    assert bodies[0][0] == "w0" and bodies[-1][-1] == "w99"
    covered = {w for b in bodies for w in b}
    assert covered == set(words(100).split())


def test_short_document_is_one_chunk() -> None:
    doc = Document(id="short", text="only a few words here", title="T")
    (chunk,) = chunk_document(doc, size=200, overlap=40)
    assert chunk.chunk_id == "short#0" and chunk.doc_id == "short" and chunk.position == 0
    assert chunk.text == "only a few words here" and chunk.title == "T"
    assert chunk.indexed_text == "T\nonly a few words here"
    # A document of exactly chunk_size words is still one chunk.
    assert len(chunk_document(Document(id="x", text=words(200)), 200, 40)) == 1


def test_title_is_indexed_with_every_chunk_and_ids_are_positional() -> None:
    doc = Document(id="long", text=words(50), title="Manual")
    chunks = chunk_document(doc, size=20, overlap=5)
    assert [c.chunk_id for c in chunks] == [f"long#{i}" for i in range(len(chunks))]
    assert all(c.indexed_text == f"Manual\n{c.text}" for c in chunks)
    assert all(len(c.text.split()) == 20 for c in chunks)
    untitled = chunk_document(Document(id="u", text="x y", title="  "), 20, 5)[0]
    assert untitled.title is None and untitled.indexed_text == "x y"


def test_iter_chunks_keeps_corpus_order() -> None:
    docs = [Document(id="a", text=words(5)), Document(id="b", text=words(50))]
    ids = [c.doc_id for c in iter_chunks(docs, 20, 5)]
    assert ids[0] == "a" and set(ids[1:]) == {"b"}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"chunk_size": 10, "chunk_overlap": 10},
        {"chunk_size": 0},
        {"store": "faiss"},
        {"store": "pgvector"},  # no store_url
        {"kind": "sparse"},
        {"bogus": 1},
    ],
)
def test_config_rejects_settings_that_cannot_work(kwargs: dict) -> None:
    with pytest.raises(ValidationError):
        RetrievalConfig(**kwargs)


def test_config_defaults_match_the_documented_interface() -> None:
    cfg = RetrievalConfig()
    assert (cfg.kind, cfg.k, cfg.chunk_size, cfg.chunk_overlap) == ("dense", 3, 200, 40)
    assert (cfg.store, cfg.store_url, cfg.rrf_k) == ("sqlite-vec", None, 60)
    assert RetrievalConfig(store="pgvector", store_url="postgresql://u@h/db").store == "pgvector"
