"""The response cache: an embedded SQLite database, so nobody pays twice for one answer.

The key is a hash of everything that determines the answer: the model string, its API base,
the generation parameters, the messages and, for sampled runs (temperature > 0), the epoch.
API keys travel in call arguments, never in what is hashed or stored. WAL mode plus a busy
timeout lets several harness processes share one cache file safely.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from harness.config import ModelConfig
from harness.models.client import Client, Completion

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    text TEXT NOT NULL,
    input_tokens INTEGER,
    output_tokens INTEGER,
    cost_usd REAL,
    latency_s REAL,
    created REAL NOT NULL
)
"""


def cache_key(
    model: ModelConfig, messages: list[dict[str, str]], params: dict[str, Any], epoch: int
) -> str:
    sampled = float(params.get("temperature") or 0) > 0
    payload = {
        "model": model.model,
        "api_base": model.api_base,
        "params": params,
        "messages": messages,
        "epoch": epoch if sampled else None,
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class ResponseCache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=30000")
        self.db.execute(_SCHEMA)
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> Completion | None:
        row = self.db.execute(
            "SELECT text, input_tokens, output_tokens, cost_usd, latency_s FROM responses "
            "WHERE key = ?",
            (key,),
        ).fetchone()
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        return Completion(text=row[0], input_tokens=row[1], output_tokens=row[2],
                          cost_usd=row[3], latency_s=row[4] or 0.0, cached=True)

    def put(self, key: str, model: str, completion: Completion) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (key, model, completion.text, completion.input_tokens, completion.output_tokens,
             completion.cost_usd, completion.latency_s, time.time()),
        )

    def close(self) -> None:
        self.db.close()


class CachedClient:
    """Serves a call from the cache when it can; stores every fresh success."""

    def __init__(self, inner: Client, cache: ResponseCache) -> None:
        self.inner = inner
        self.cache = cache

    async def complete(
        self,
        model: ModelConfig,
        messages: list[dict[str, str]],
        params: dict[str, Any],
        *,
        epoch: int = 0,
    ) -> Completion:
        key = cache_key(model, messages, params, epoch)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        completion = await self.inner.complete(model, messages, params, epoch=epoch)
        self.cache.put(key, model.model, completion)
        return completion
