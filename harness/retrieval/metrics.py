"""Retrieval quality measures over document ids.

Both take the document ids of the hits in rank order, as a retriever returns them
(``[h.doc_id for h in hits]``). Positions are hit positions: when one document supplies two
chunks it occupies two positions, exactly as it occupies two of the k slots in the prompt, so
recall@k says what a prompt built from the top k hits could see.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence


def recall_at_k(retrieved_doc_ids: Sequence[str], gold_doc_ids: Collection[str], k: int) -> float:
    """Fraction of the gold documents that appear among the first ``k`` hits.

    With several gold documents each counts equally: a question that needs two documents
    scores 0.5 when only one of them is retrieved (averaged over questions this is macro recall,
    not "any gold document found"). With no gold documents the recall is 1.0, as nothing was
    missed; leave such questions out of an average if that would flatter it.
    """
    if k < 0:
        raise ValueError("k must be non-negative")
    gold = set(gold_doc_ids)
    if not gold:
        return 1.0
    return len(gold.intersection(retrieved_doc_ids[:k])) / len(gold)


def reciprocal_rank(retrieved_doc_ids: Sequence[str], gold_doc_ids: Collection[str]) -> float:
    """1 / (1-based position of the first hit from a gold document); 0.0 when there is none."""
    gold = set(gold_doc_ids)
    for rank, doc_id in enumerate(retrieved_doc_ids, start=1):
        if doc_id in gold:
            return 1.0 / rank
    return 0.0
