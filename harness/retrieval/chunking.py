"""Cutting documents into overlapping word windows.

Sizes are in whitespace-separated words (see ``RetrievalConfig``). Every chunk of a long
document is exactly ``size`` words: the fewest windows that cover the document while sharing at
least ``overlap`` words with their neighbour are spread evenly from its first word to its last.
So there is no short tail chunk (which embeds poorly and carries mostly repeated words), and no
near-copy of the previous chunk pulled back to the end; the price is that neighbours may share
a few more words than ``overlap``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from harness.retrieval.types import Chunk, Document

#: Bumped whenever the chunking rule changes, so that indexes built under the old rule are not
#: reused (the version is part of the index key).
CHUNKER_VERSION = 1


def window_starts(n_words: int, size: int, overlap: int) -> list[int]:
    """Start offsets of the windows covering ``n_words`` words.

    A document of at most ``size`` words is one window, because splitting it would only
    duplicate words across chunks.
    """
    if size < 1:
        raise ValueError("chunk size must be at least 1 word")
    if not 0 <= overlap < size:
        raise ValueError("chunk overlap must be at least 0 and smaller than the chunk size")
    if n_words <= size:
        return [0]
    stride = size - overlap
    n_windows = -(
        -(n_words - overlap) // stride
    )  # ceil: fewest windows with stride <= size-overlap
    last = n_words - size
    # Integer spacing rounded down keeps every gap <= stride, so every overlap >= ``overlap``.
    return [i * last // (n_windows - 1) for i in range(n_windows)]


def chunk_document(doc: Document, size: int, overlap: int) -> list[Chunk]:
    """The chunks of one document; each carries the title, to be indexed with it."""
    words = doc.text.split()
    title = doc.title.strip() if doc.title and doc.title.strip() else None
    chunks = []
    for position, start in enumerate(window_starts(len(words), size, overlap)):
        body = " ".join(words[start : start + size])
        chunks.append(
            Chunk(
                chunk_id=f"{doc.id}#{position}",
                doc_id=doc.id,
                position=position,
                text=body,
                title=title,
            )
        )
    return chunks


def iter_chunks(docs: Iterable[Document], size: int, overlap: int) -> Iterator[Chunk]:
    """All chunks of all documents, in corpus order."""
    for doc in docs:
        yield from chunk_document(doc, size, overlap)
