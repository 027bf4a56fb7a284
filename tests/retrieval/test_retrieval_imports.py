"""Importing the retrieval API must stay cheap: the CLI imports it on every start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness.retrieval import Retriever
from harness.retrieval.dense import DenseRetriever
from harness.retrieval.hybrid import HybridRetriever
from harness.retrieval.lexical import BM25Retriever

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "transformers", "sqlite_vec", "bm25s", "psycopg", "pysqlite3")


def test_import_loads_no_heavy_dependency() -> None:
    code = (
        "import sys, harness.retrieval, harness.retrieval.store, harness.retrieval.hybrid\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


def test_every_retriever_satisfies_the_protocol() -> None:
    for cls in (DenseRetriever, BM25Retriever, HybridRetriever):
        assert callable(cls.search) and callable(cls.search_many)
    assert isinstance(BM25Retriever([]), Retriever)
    assert BM25Retriever([]).search_many(["anything"], 3) == [[]]
