"""The dense index is persisted, keyed by corpus, chunking and model, and reused."""

from __future__ import annotations

import dataclasses

import pytest

from harness.retrieval import RetrievalConfig, open_retriever
from harness.retrieval.chunking import iter_chunks

pytestmark = pytest.mark.slow  # embeds with the real model


def n_chunks(docs, cfg: RetrievalConfig) -> int:
    return sum(1 for _ in iter_chunks(docs, cfg.chunk_size, cfg.chunk_overlap))


def test_second_open_reuses_the_index_and_a_change_rebuilds_it(
    small_corpus, tmp_path, embedder, capfd
) -> None:
    cfg = RetrievalConfig(kind="dense")
    start = embedder.texts_embedded
    first = open_retriever(small_corpus, cfg, index_dir=tmp_path)
    assert embedder.texts_embedded - start == n_chunks(small_corpus, cfg)
    (index_file,) = tmp_path.glob("*.sqlite")
    err = capfd.readouterr().err  # the build announces itself and shows progress
    assert f"building dense index {index_file}" in err
    assert "Embedding 4 chunks of 4 documents" in err and "4/4 (100%)" in err
    assert index_file.name.startswith("dense_all-MiniLM-L6-v2_c200-o40_")
    assert first.index_key[:16] in index_file.name

    # Same corpus and config: nothing embedded but the query; same answers.
    mark = embedder.texts_embedded
    again = open_retriever(small_corpus, cfg, index_dir=tmp_path)
    assert embedder.texts_embedded == mark
    assert capfd.readouterr().err == ""
    assert again.search("capital of France", 1) == first.search("capital of France", 1)
    assert embedder.texts_embedded - mark == 2  # the two queries only

    # Hybrid shares the dense index: still no corpus embedding.
    mark = embedder.texts_embedded
    open_retriever(small_corpus, RetrievalConfig(kind="hybrid"), index_dir=tmp_path)
    assert embedder.texts_embedded == mark

    # A changed document: a new index, fully embedded, beside the old one.
    changed = [*small_corpus[:-1], dataclasses.replace(small_corpus[-1], text="Black tea.")]
    mark = embedder.texts_embedded
    open_retriever(changed, cfg, index_dir=tmp_path)
    assert embedder.texts_embedded - mark == n_chunks(changed, cfg)
    assert len(list(tmp_path.glob("*.sqlite"))) == 2

    # Changed chunking: again a new index.
    chunked = RetrievalConfig(kind="dense", chunk_size=5, chunk_overlap=1)
    mark = embedder.texts_embedded
    open_retriever(small_corpus, chunked, index_dir=tmp_path)
    assert embedder.texts_embedded - mark == n_chunks(small_corpus, chunked) > 4
    assert len(list(tmp_path.glob("*.sqlite"))) == 3

    # k and kind are search-time settings: they never trigger a rebuild.
    mark = embedder.texts_embedded
    open_retriever(small_corpus, RetrievalConfig(kind="dense", k=7, rrf_k=1), index_dir=tmp_path)
    assert embedder.texts_embedded == mark


def test_an_interrupted_or_foreign_file_is_rebuilt_not_trusted(
    small_corpus, tmp_path, embedder
) -> None:
    cfg = RetrievalConfig(kind="dense")
    open_retriever(small_corpus, cfg, index_dir=tmp_path)
    (index_file,) = tmp_path.glob("*.sqlite")
    index_file.write_bytes(b"not a database")  # e.g. truncated by a crash or a bad copy
    mark = embedder.texts_embedded
    retriever = open_retriever(small_corpus, cfg, index_dir=tmp_path)
    assert embedder.texts_embedded - mark == 4
    assert retriever.search("Eiffel Tower", 1)[0].doc_id == "paris"
    assert sorted(p.name for p in tmp_path.iterdir()) == [index_file.name]  # no temp files left


def test_a_failed_build_leaves_no_index(small_corpus, tmp_path) -> None:
    class Exploding:
        def embed(self, texts):
            raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError, match="out of memory"):
        open_retriever(small_corpus, RetrievalConfig(), index_dir=tmp_path, embedder=Exploding())  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []
