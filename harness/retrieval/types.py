"""The value types and the one protocol the runner sees.

They live apart from the implementations so that importing them costs nothing: the runner,
the few-shot selector and the tests can name these types without pulling in torch, bm25s or a
database driver.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Document:
    """One entry of a knowledge base, as the task ships it.

    ``title`` is optional because many corpora have none; when present it is indexed with every
    chunk of the document, since a passage cut out of the middle of a long text often no longer
    says what it is about.
    """

    id: str
    text: str
    title: str | None = None


@dataclass(frozen=True)
class Chunk:
    """A piece of one document: the unit that is embedded, indexed and returned.

    ``position`` is the chunk's index within its document, so a caller can put adjacent chunks
    back in order. ``text`` is the passage itself; what is embedded and BM25-indexed is
    ``indexed_text``, which puts the document title on a line above it.
    """

    chunk_id: str
    doc_id: str
    position: int
    text: str
    title: str | None = None

    @property
    def indexed_text(self) -> str:
        return f"{self.title}\n{self.text}" if self.title else self.text


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk.

    ``text`` is the passage without the document title (the caller decides how to show titles).
    ``score`` is comparable only within one retriever kind: cosine similarity for dense, the
    BM25 score for bm25, the reciprocal-rank-fusion score for hybrid. Higher is better in all
    three.
    """

    doc_id: str
    chunk_id: str
    text: str
    score: float


@runtime_checkable
class Retriever(Protocol):
    """What the runner calls; every retriever kind and store combination satisfies it."""

    def search(self, query: str, k: int) -> list[Hit]:
        """The best ``k`` distinct chunks for ``query``, best first (fewer if fewer match)."""
        ...

    def search_many(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
        """``search`` for many queries at once, so that the queries are embedded in batches."""
        ...
