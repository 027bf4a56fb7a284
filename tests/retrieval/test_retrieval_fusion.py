"""BM25 ranking, reciprocal rank fusion and de-duplication, on hand-checked examples.

None of these load the embedding model: the hybrid wiring is checked with stand-in retrievers.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from harness.retrieval import Document, Hit, RetrievalConfig, open_retriever
from harness.retrieval.chunking import iter_chunks
from harness.retrieval.hybrid import HybridRetriever
from harness.retrieval.lexical import BM25Retriever
from harness.retrieval.ranking import distinct_hits, rrf_fuse


def hit(chunk_id: str, text: str | None = None) -> Hit:
    return Hit(doc_id=chunk_id.split("#")[0], chunk_id=chunk_id, text=text or chunk_id, score=0.0)


def test_rrf_fusion_order_hand_checked() -> None:
    # rrf_k = 60. Dense ranks A B C D, BM25 ranks C A E:
    #   A: 1/61 + 1/62 = 0.032522   C: 1/63 + 1/61 = 0.032266
    #   B: 1/62        = 0.016129   E: 1/63        = 0.015873   D: 1/64 = 0.015625
    dense = [hit("A#0"), hit("B#0"), hit("C#0"), hit("D#0")]
    bm25 = [hit("C#0"), hit("A#0"), hit("E#0")]
    fused = rrf_fuse([dense, bm25], k=5, rrf_k=60)
    assert [h.chunk_id for h in fused] == ["A#0", "C#0", "B#0", "E#0", "D#0"]
    assert fused[0].score == pytest.approx(1 / 61 + 1 / 62)
    assert fused[1].score == pytest.approx(1 / 63 + 1 / 61)
    assert [h.chunk_id for h in rrf_fuse([dense, bm25], k=2, rrf_k=60)] == ["A#0", "C#0"]


def test_rrf_small_constant_rewards_top_ranks_more() -> None:
    # With rrf_k = 0, X = 1/1 (dense only), Z = 1/1 (BM25 only) and Y = 1/2 + 1/2 (second in
    # both) all score 1.0; ties go to the better single rank, then to the dense list: X, Z, Y.
    dense = [hit("X#0"), hit("Y#0")]
    bm25 = [hit("Z#0"), hit("Y#0")]
    assert [h.chunk_id for h in rrf_fuse([dense, bm25], k=3, rrf_k=0)] == ["X#0", "Z#0", "Y#0"]
    # With rrf_k = 60, agreement wins: Y = 2/62 > X = 1/61.
    assert next(h.chunk_id for h in rrf_fuse([dense, bm25], k=3, rrf_k=60)) == "Y#0"


def test_distinct_hits_drops_repeated_chunks_and_repeated_texts() -> None:
    hits = [
        hit("a#0", "same words"),
        hit("a#0", "same words"),
        hit("b#0", "same  words"),
        hit("a#1", "other words"),
        hit("c#0", "third"),
    ]
    out = distinct_hits(hits, k=3)
    assert [h.chunk_id for h in out] == ["a#0", "a#1", "c#0"]  # doc "a" may repeat: chunks differ


def test_bm25_ranks_by_term_overlap_and_skips_non_matching(small_corpus) -> None:
    bm25 = BM25Retriever(list(iter_chunks(small_corpus, 200, 40)))
    hits = bm25.search("memory safety without a garbage collector", k=3)
    assert [h.doc_id for h in hits] == ["rust"]  # no other chunk shares a content word
    assert hits[0].score > 0 and hits[0].chunk_id == "rust#0"
    assert bm25.search("the of and", k=3) == []  # only stopwords
    assert bm25.search("zeppelin", k=3) == []  # unknown word
    many = bm25.search_many(["capital of France", "tea leaves", "purr"], k=2)
    assert [[h.doc_id for h in hs] for hs in many] == [["paris"], ["tea"], ["cats"]]


def test_bm25_prefers_the_chunk_with_more_query_terms() -> None:
    docs = [
        Document(id="one", text="apple banana cherry"),
        Document(id="two", text="apple banana"),
        Document(id="three", text="apple"),
        Document(id="four", text="durian"),
    ]
    bm25 = BM25Retriever(list(iter_chunks(docs, 200, 40)))
    assert [h.doc_id for h in bm25.search("apple banana cherry", k=4)] == ["one", "two", "three"]


def test_bm25_matches_titles_but_hits_show_the_passage_only(small_corpus) -> None:
    bm25 = BM25Retriever(list(iter_chunks(small_corpus, 200, 40)))
    (hit,) = bm25.search("domestic", k=3)  # the word is only in the title "Domestic cats"
    assert hit.doc_id == "cats" and hit.text.startswith("Cats are small")


def test_open_retriever_bm25_needs_no_index_dir_or_model(small_corpus, tmp_path) -> None:
    retriever = open_retriever(small_corpus, RetrievalConfig(kind="bm25"), index_dir=tmp_path)
    assert retriever.search("Eiffel Tower", k=1)[0].doc_id == "paris"
    assert list(tmp_path.iterdir()) == []  # BM25 writes nothing


class _Fixed:
    """A stand-in retriever returning fixed rankings and recording the depth it was asked for."""

    def __init__(self, ranking: list[Hit]) -> None:
        self.ranking = ranking
        self.index_key = "k"
        self.location = "memory"
        self.asked: list[int] = []

    def search_many(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
        self.asked.append(k)
        return [self.ranking[:k] for _ in queries]


def test_hybrid_fuses_dense_and_bm25_rankings() -> None:
    dense = _Fixed([hit("A#0"), hit("B#0"), hit("C#0"), hit("D#0")])
    bm25 = _Fixed([hit("C#0"), hit("A#0"), hit("E#0")])
    hybrid = HybridRetriever(dense, bm25, rrf_k=60)  # type: ignore[arg-type]
    results = hybrid.search_many(["q1", "q2"], k=3)
    assert [[h.chunk_id for h in r] for r in results] == [["A#0", "C#0", "B#0"]] * 2
    # Both sides are asked for more than k, so a chunk ranked k+1 by both can still win.
    assert dense.asked == bm25.asked == [50]


def test_duplicate_document_ids_are_rejected(tmp_path) -> None:
    docs = [Document(id="a", text="x"), Document(id="a", text="y")]
    with pytest.raises(ValueError, match="duplicate document id"):
        open_retriever(docs, RetrievalConfig(kind="bm25"), index_dir=tmp_path)
