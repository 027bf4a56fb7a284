"""Turning scored candidates into the final hit list: de-duplication and rank fusion."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from harness.retrieval.types import Chunk, Hit


def hit_of(chunk: Chunk, score: float) -> Hit:
    """A search result for ``chunk``."""
    return Hit(doc_id=chunk.doc_id, chunk_id=chunk.chunk_id, text=chunk.text, score=score)


def _text_key(text: str) -> str:
    return " ".join(text.split())


def distinct_hits(candidates: Iterable[Hit], k: int) -> list[Hit]:
    """The first ``k`` candidates that are distinct chunks.

    A chunk is a repeat if its id was seen, or if its text (whitespace-normalised) was: a corpus
    with duplicated documents or boilerplate would otherwise spend several of the prompt's k
    slots on the same words. Chunks of one document differ in text, so a document may
    contribute several hits.
    """
    out: list[Hit] = []
    seen_ids: set[str] = set()
    seen_texts: set[str] = set()
    for hit in candidates:
        if len(out) >= k:
            break
        key = _text_key(hit.text)
        if hit.chunk_id in seen_ids or key in seen_texts:
            continue
        seen_ids.add(hit.chunk_id)
        seen_texts.add(key)
        out.append(hit)
    return out


def rrf_fuse(rankings: Sequence[Sequence[Hit]], k: int, rrf_k: int = 60) -> list[Hit]:
    """Reciprocal rank fusion of several best-first hit lists into one.

    A chunk's fused score is the sum over lists of ``1 / (rrf_k + rank)`` with 1-based ranks;
    chunks missing from a list get nothing from it. Only ranks are used, so BM25 scores and
    cosine similarities never need to be put on one scale. Ties go to the chunk with the better
    single rank, then to the earlier list (the dense one, as the hybrid retriever passes them),
    so the order is deterministic.
    """
    score: dict[str, float] = {}
    best_rank: dict[str, tuple[int, int]] = {}
    first: dict[str, Hit] = {}
    for list_index, ranking in enumerate(rankings):
        for rank, hit in enumerate(ranking, start=1):
            cid = hit.chunk_id
            score[cid] = score.get(cid, 0.0) + 1.0 / (rrf_k + rank)
            candidate = (rank, list_index)
            if cid not in best_rank or candidate < best_rank[cid]:
                best_rank[cid] = candidate
            first.setdefault(cid, hit)
    order = sorted(score, key=lambda cid: (-score[cid], best_rank[cid]))
    fused = (
        Hit(doc_id=first[c].doc_id, chunk_id=c, text=first[c].text, score=score[c]) for c in order
    )
    return distinct_hits(fused, k)
