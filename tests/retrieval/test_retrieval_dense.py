"""Dense retrieval with the real all-MiniLM-L6-v2 model over the sqlite-vec store."""

from __future__ import annotations

import numpy as np
import pytest

from harness.retrieval import Document, RetrievalConfig, get_embedder, open_retriever
from harness.retrieval.chunking import iter_chunks
from harness.retrieval.sqlite_store import connect

pytestmark = pytest.mark.slow  # loads the embedding model (a few seconds, once a session)


def test_embedder_gives_unit_float32_vectors_and_counts_texts(embedder) -> None:
    before = embedder.texts_embedded
    vectors = embedder.embed(["A cat sat on the mat.", "Cats sit on mats.", "Stock prices fell."])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.texts_embedded - before == 3
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2]  # paraphrases are closer than unrelated text
    assert embedder.embed([]).shape == (0, 384)
    assert get_embedder() is embedder  # one process-wide instance


def test_embedder_batching_does_not_change_vectors(embedder) -> None:
    texts = ["short", "a somewhat longer sentence about retrieval", "mid length text"] * 3
    together = embedder.embed(texts)
    alone = np.stack([embedder.embed([t])[0] for t in texts[:3]])
    np.testing.assert_allclose(together[:3], alone, atol=1e-5)


def test_obviously_relevant_document_ranks_first(small_corpus, tmp_path, embedder) -> None:
    retriever = open_retriever(small_corpus, RetrievalConfig(kind="dense"), index_dir=tmp_path)
    questions = {
        "Which programming language is memory safe without garbage collection?": "rust",
        "What is the capital of France?": "paris",
        "Why does my kitten purr?": "cats",
        "Which plant are green tea leaves picked from?": "tea",
    }
    results = retriever.search_many(list(questions), k=2)
    assert [hits[0].doc_id for hits in results] == list(questions.values())
    for hits in results:
        assert len(hits) == 2 and hits[0].score > hits[1].score
        assert len({h.chunk_id for h in hits}) == 2


def test_titles_are_embedded_but_hits_show_the_passage_only(tmp_path, embedder) -> None:
    docs = [
        Document(id="a", title="Volcanoes of Iceland", text="Eruptions happen every few years."),
        Document(id="b", title="Tax deadlines", text="Forms are due at the end of April."),
    ]
    retriever = open_retriever(docs, RetrievalConfig(kind="dense"), index_dir=tmp_path)
    hit = retriever.search("volcanic activity in Iceland", k=1)[0]
    assert (hit.doc_id, hit.text) == ("a", "Eruptions happen every few years.")


def test_sqlite_vec_knn_agrees_with_brute_force_cosine(small_corpus, tmp_path, embedder) -> None:
    docs = [
        *small_corpus,
        Document(id="long", title="Notes", text=" ".join(f"topic{i} word" for i in range(60))),
    ]
    retriever = open_retriever(
        docs, RetrievalConfig(kind="dense", chunk_size=30, chunk_overlap=5), index_dir=tmp_path
    )
    (path,) = tmp_path.glob("*.sqlite")
    conn = connect(path)
    rows = conn.execute(
        "SELECT c.chunk_id, v.embedding FROM chunk_vectors AS v JOIN chunks AS c ON c.id = v.rowid"
    ).fetchall()
    conn.close()
    ids = [r[0] for r in rows]
    stored = np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
    # The stored vectors are the embeddings of the chunk texts...
    texts = {c.chunk_id: c.indexed_text for c in iter_chunks(docs, 30, 5)}
    assert sorted(ids) == sorted(texts)
    np.testing.assert_allclose(stored, embedder.embed([texts[i] for i in ids]), atol=1e-5)
    # ...and the KNN order and scores are brute-force cosine over them.
    for query in ["capital city of France", "topic7 notes", "a language without GC"]:
        q = embedder.embed([query])[0]
        cosine = stored @ q / (np.linalg.norm(stored, axis=1) * np.linalg.norm(q))
        expected = [ids[i] for i in np.argsort(-cosine, kind="stable")]
        hits = retriever.search(query, k=len(ids))
        assert [h.chunk_id for h in hits] == expected
        np.testing.assert_allclose([h.score for h in hits], np.sort(cosine)[::-1], atol=1e-5)


def test_hits_are_distinct_chunks_even_with_duplicate_documents(tmp_path, embedder) -> None:
    text = "The warranty covers manufacturing defects for two years from purchase."
    docs = [
        Document(id="w1", text=text),
        Document(id="w2", text=text),  # a verbatim copy under another id
        Document(id="r", text="Returns are accepted within thirty days with a receipt."),
        Document(id="s", text="Shipping is free on orders above fifty euros."),
    ]
    retriever = open_retriever(docs, RetrievalConfig(kind="dense"), index_dir=tmp_path)
    hits = retriever.search("How long is the warranty?", k=3)
    assert len(hits) == 3
    assert hits[0].doc_id == "w1"  # the first copy wins the tie
    assert [h.doc_id for h in hits].count("w2") == 0
    assert len({h.text for h in hits}) == 3


def test_long_document_hits_carry_its_id_and_distinct_chunk_ids(tmp_path, embedder) -> None:
    filler = " ".join(["The committee met and discussed the budget at length."] * 12)
    docs = [
        Document(id="minutes", text=filler + " The fire exit is behind the kitchen. " + filler),
        Document(id="menu", text="Soup of the day is tomato; dessert is apple pie."),
    ]
    cfg = RetrievalConfig(kind="dense", chunk_size=40, chunk_overlap=10)
    retriever = open_retriever(docs, cfg, index_dir=tmp_path)
    hits = retriever.search("Where is the fire exit?", k=3)
    assert hits[0].doc_id == "minutes" and "fire exit" in hits[0].text
    assert len({h.chunk_id for h in hits}) == 3
    assert all(h.chunk_id.startswith(f"{h.doc_id}#") for h in hits)
