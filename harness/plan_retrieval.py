"""Retrieval for a plan: each RAG variant's passages per item, searched once per setting.

Kept apart from :mod:`harness.plan`, which holds the expansion of tasks x variants x models x
epochs. The retrieval libraries themselves are imported only when a RAG variant searches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.config import VariantConfig
from harness.errors import ConfigError

if TYPE_CHECKING:
    from harness.plan import Plan, TaskPlan


@dataclass(frozen=True)
class Retrieved:
    """One retrieved chunk, as recorded with the sample."""

    doc_id: str
    chunk_id: str
    score: float
    text: str = field(repr=False, default="")


def format_context(hits: Sequence[Retrieved], titles: dict[str, str]) -> str:
    lines = []
    for n, hit in enumerate(hits, start=1):
        title = titles.get(hit.doc_id)
        lines.append(f"[{n}] {title}: {hit.text}" if title else f"[{n}] {hit.text}")
    return "\n\n".join(lines)


def _read_corpus(task: TaskPlan) -> tuple[list[Any], dict[str, str]]:
    """The task's documents and their titles (read once per task, however many RAG variants)."""
    from harness.dataset import read_rows
    from harness.retrieval import Document

    corpus = task.config.corpus
    assert corpus is not None
    path = task.config.resolve(corpus.path)
    if not path.exists():
        raise ConfigError(f"corpus file {path} not found; fix the path (it is relative to the "
                          "task's folder)", **task.config.locate("corpus", "path"))
    docs, titles = [], {}
    for line, row in read_rows(path):
        if corpus.id_field not in row or corpus.text_field not in row:
            raise ConfigError(
                f"corpus row needs '{corpus.id_field}' and '{corpus.text_field}'", file=path,
                line=line,
            )
        title = str(row[corpus.title_field]) if corpus.title_field and row.get(
            corpus.title_field) else None
        docs.append(Document(id=str(row[corpus.id_field]), text=str(row[corpus.text_field]),
                             title=title))
        if title:
            titles[str(row[corpus.id_field])] = title
    return docs, titles


def retrieve(
    task: TaskPlan, variant: VariantConfig, index_dir: Path,
    corpora: dict[str, tuple[list[Any], dict[str, str]]],
    searches: dict[tuple[Any, ...], tuple[dict[str, list[Retrieved]], dict[str, str]]],
) -> tuple[dict[str, list[Retrieved]], dict[str, str]]:
    """Every item's passages under the variant's retrieval settings. Variants that differ only
    in template or shots share one search (``searches``), and each task's corpus is read once
    (``corpora``)."""
    key = (task.config.name, variant.retriever, variant.k, variant.chunk_size,
           variant.chunk_overlap, variant.store, variant.store_url)
    if key not in searches:
        searches[key] = _search(task, variant, index_dir, corpora)
    return searches[key]


def _search(
    task: TaskPlan, variant: VariantConfig, index_dir: Path,
    corpora: dict[str, tuple[list[Any], dict[str, str]]],
) -> tuple[dict[str, list[Retrieved]], dict[str, str]]:
    if task.config.corpus is None:
        raise ConfigError(
            f"variant '{variant.name}' has rag: on but task '{task.config.name}' has no corpus",
            file=task.config.source,
        )
    from harness.retrieval import RetrievalConfig, open_retriever

    if task.config.name not in corpora:
        corpora[task.config.name] = _read_corpus(task)
    docs, titles = corpora[task.config.name]
    retriever = open_retriever(
        docs,
        RetrievalConfig(kind=variant.retriever, k=variant.k, chunk_size=variant.chunk_size,
                        chunk_overlap=variant.chunk_overlap, store=variant.store,
                        store_url=variant.store_url),
        index_dir=index_dir,
    )
    try:
        results = retriever.search_many([item.input for item in task.items], variant.k)
    finally:
        close = getattr(retriever, "close", None)
        if close is not None:
            close()
    hits = {
        item.id: [Retrieved(h.doc_id, h.chunk_id, float(h.score), h.text) for h in found]
        for item, found in zip(task.items, results, strict=True)
    }
    return hits, titles


def empty_contexts(plan: Plan) -> list[tuple[str, str, int, int]]:
    """``(task, variant, items without a passage, items)`` for each RAG variant whose search
    found nothing for some item. BM25 returns no chunk that shares no word with the query, so
    such an item's prompt goes out with an empty context and the variant's score quietly mixes
    answers with and without retrieval: a "RAG does not help" that is partly closed-book."""
    empty: dict[tuple[str, str], set[str]] = {}
    items: dict[tuple[str, str], set[str]] = {}
    for sample in plan.samples:
        variant = plan.variants.get(sample.variant)
        if variant is None or not variant.config.rag:
            continue
        key = (sample.task, sample.variant)
        items.setdefault(key, set()).add(sample.item.id)
        if not sample.retrieved:
            empty.setdefault(key, set()).add(sample.item.id)
    return [(task, variant, len(ids), len(items[(task, variant)]))
            for (task, variant), ids in empty.items()]


def warn_empty_contexts(plan: Plan) -> None:
    """One stderr line per RAG variant with items its search found nothing for."""
    import sys

    for task, variant, none, total in empty_contexts(plan):
        print(f"harness: warning: variant '{variant}' retrieved no passage for {none} of "
              f"{total} items of task '{task}' (no indexed chunk matches their input); those "
              "prompts go out with an empty context, so its score mixes answers with and "
              "without retrieval", file=sys.stderr)
