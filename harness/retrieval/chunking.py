"""Cutting documents into overlapping word windows.

Sizes are in whitespace-separated words (see ``RetrievalConfig``). Windows advance by
``size - overlap`` words and the last window ends at the document's end, so no chunk is wholly
contained in the one before it and no short tail chunk carries only the previous chunk's words.
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
    starts = list(range(0, n_words - size, stride))
    # The final window is aligned to the end so that it is full-sized rather than a stub.
    starts.append(n_words - size)
    return starts


def chunk_document(doc: Document, size: int, overlap: int) -> list[Chunk]:
    """The chunks of one document; the title, when present, heads every chunk."""
    words = doc.text.split()
    head = f"{doc.title.strip()}\n" if doc.title and doc.title.strip() else ""
    chunks = []
    for position, start in enumerate(window_starts(len(words), size, overlap)):
        body = " ".join(words[start : start + size])
        chunks.append(
            Chunk(
                chunk_id=f"{doc.id}#{position}",
                doc_id=doc.id,
                position=position,
                text=head + body,
            )
        )
    return chunks


def iter_chunks(docs: Iterable[Document], size: int, overlap: int) -> Iterator[Chunk]:
    """All chunks of all documents, in corpus order."""
    for doc in docs:
        yield from chunk_document(doc, size, overlap)
