"""The retrieval settings an experiment file can vary."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: Stores that ``open_retriever`` knows how to open; a new server-backed store adds its name here
#: and a branch in ``harness.retrieval.store.open_vector_store``, and nothing else changes.
KNOWN_STORES = ("sqlite-vec", "pgvector")


class RetrievalConfig(BaseModel):
    """How to retrieve context for a prompt.

    ``chunk_size`` and ``chunk_overlap`` count whitespace-separated words, not model tokens:
    words keep the chunking independent of any one tokenizer, so BM25 and dense retrieval see
    the same chunks and the index key does not depend on tokenizer internals. all-MiniLM-L6-v2
    reads at most 256 word pieces (roughly 180-200 English words), so for dense retrieval the
    tail of a chunk much longer than that is not represented in its embedding.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["dense", "bm25", "hybrid"] = "dense"
    k: int = Field(default=3, ge=1)
    chunk_size: int = Field(default=200, ge=1)
    chunk_overlap: int = Field(default=40, ge=0)
    store: str = "sqlite-vec"
    store_url: str | None = None
    rrf_k: int = Field(default=60, ge=0)

    @field_validator("store")
    @classmethod
    def _known_store(cls, value: str) -> str:
        if value not in KNOWN_STORES:
            raise ValueError(f"unknown store {value!r}; expected one of {', '.join(KNOWN_STORES)}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> RetrievalConfig:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than "
                f"chunk_size ({self.chunk_size}), or chunking would never advance"
            )
        if self.store == "pgvector" and not self.store_url:
            raise ValueError("store 'pgvector' needs store_url, e.g. postgresql://user@host/db")
        return self
