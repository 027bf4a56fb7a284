"""The response cache: an embedded SQLite database, so nobody pays twice for one answer, and a
re-run from it is the run it replays, sample for sample.

The key is a hash of everything that determines the answer (``harness.models.identity``): the
model's identity (resolved API base; for a local model its absolute source, a digest of its
files, device and dtype), the parameters LiteLLM actually sends (after ``drop_params``), the
messages and, when the answers are sampled (a temperature above 0, or none sent), the epoch.
API keys travel in call arguments, never in what is hashed or stored. Each answer keeps the
model the provider said answered it and its ``finish_reason``.

Within a run, identical requests share one call: a request whose answer is on its way waits
for it, and answers not yet written to the file are served from memory. A stored answer is
never replaced (the first writer wins), so a replay returns what the original run recorded.

Why not LiteLLM's own cache (``litellm.cache``)? It sits inside ``acompletion``, so a hit
would still wait for the harness's rate limits and retries, which wrap the call; it has no
notion of the epoch of a sampled run; its disk backend needs another dependency; and setting
it moves every call onto LiteLLM's slower generic path. This one is outside the limits, keyed
on exactly what the harness sends, and costs one indexed SELECT per sample.

Several harness processes may share one file: WAL mode lets readers run beside a writer, a
busy timeout makes writers queue instead of failing, and each batch of answers is written in
one short transaction. Answers are written in batches (at most ``flush_every`` answers or
``flush_interval`` seconds apart) because each commit releases the GIL and, beside LiteLLM's
worker threads, costs the event loop far more than the write itself. An answer that a kill
catches in the batch is simply asked again; nothing half-written is ever read.

A cache that cannot be opened (a corrupt file, a read-only folder) is reported once and the
run goes on without it: losing the cache costs money, losing the run costs more.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.config import ModelConfig
from harness.models.client import Completion
from harness.models.identity import is_sampled, model_identity
from harness.redaction import redact

# Part of every key: bump it when the meaning of a stored answer changes.
KEY_VERSION = "v2"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    text TEXT NOT NULL,
    input_tokens INTEGER,
    output_tokens INTEGER,
    cost_usd REAL,
    latency_s REAL,
    created REAL NOT NULL,
    finish_reason TEXT,
    response_model TEXT
)
"""
# Added after the first version of the file: older files get them on opening.
_ADDED_COLUMNS = {"finish_reason": "TEXT", "response_model": "TEXT"}
_COLUMNS = ("key, model, text, input_tokens, output_tokens, cost_usd, latency_s, created, "
            "finish_reason, response_model")
# What LiteLLM sends for a requested parameter set, remembered so a cached run need not
# import LiteLLM to work it out again (see ``harness.models.identity.sent_params``).
_SENT_SCHEMA = "CREATE TABLE IF NOT EXISTS sent_params (key TEXT PRIMARY KEY, sent TEXT NOT NULL)"


def identity_text(identity: dict[str, Any]) -> str:
    return json.dumps(identity, sort_keys=True, ensure_ascii=False, default=str)


def cache_key(
    model: ModelConfig, messages: list[dict[str, str]], params: dict[str, Any], epoch: int,
    *, identity: str | None = None,
) -> str:
    """A hash of what determines the answer; never the key, timeout or limits of the model.

    ``params`` are the parameters actually sent (``harness.models.identity.sent_params``);
    ``identity`` is ``identity_text(model_identity(model))``, computed here when not given.
    """
    if identity is None:
        identity = identity_text(model_identity(model))
    payload = {
        "v": KEY_VERSION,
        "model": identity,
        "params": params,
        "messages": messages,
        "epoch": epoch if is_sampled(params) else None,
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _text_to_db(text: str) -> str | bytes:
    """An answer as SQLite can store it. SQLite text is UTF-8, which a lone surrogate (a model
    can send "\\ud800") is not: such an answer is stored as its bytes with the surrogates
    kept (``surrogatepass``) and read back identical by :func:`_text_from_db`."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")
    return text


def _text_from_db(value: str | bytes) -> str:
    return value.decode("utf-8", "surrogatepass") if isinstance(value, bytes) else value


def _retry_while_locked(step: Any, *, patience: float = 30.0) -> Any:
    """Run one set-up statement, waiting while another process holds the file.

    SQLite does not call its busy handler for every lock taken while a connection switches the
    file to WAL or creates the tables, so several processes opening a new cache at the same
    moment can see "database is locked" at once: the set-up is retried for ``patience``
    seconds instead of giving up on a cache that is only busy."""
    deadline = time.monotonic() + patience
    delay = 0.01
    while True:
        try:
            return step()
        except sqlite3.OperationalError as exc:
            busy = "locked" in str(exc) or "busy" in str(exc)
            if not busy or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


class ResponseCache:
    def __init__(
        self, path: Path, *, flush_every: int = 64, flush_interval: float = 0.5
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.flush_every = flush_every
        self.flush_interval = flush_interval
        self._pending: dict[str, tuple[Any, ...]] = {}
        # Answers of this process that another process stored first under the same key: this
        # process keeps serving its own, so its run stays consistent with itself.
        self._kept: dict[str, tuple[Any, ...]] = {}
        self._flushed_at = time.monotonic()
        self.db: sqlite3.Connection | None = sqlite3.connect(
            path, timeout=30, isolation_level=None, check_same_thread=False
        )
        try:
            self.db.execute("PRAGMA busy_timeout=30000")
            _retry_while_locked(lambda: self.db.execute("PRAGMA journal_mode=WAL"))
            self.db.execute("PRAGMA synchronous=NORMAL")
            _retry_while_locked(lambda: self.db.execute(_SCHEMA))
            _retry_while_locked(lambda: self.db.execute(_SENT_SCHEMA))
            have = {row[1] for row in self.db.execute("PRAGMA table_info(responses)")}
            for column, kind in _ADDED_COLUMNS.items():
                if column not in have:
                    with contextlib.suppress(sqlite3.OperationalError):  # added by another
                        self.db.execute(f"ALTER TABLE responses ADD COLUMN {column} {kind}")
        except sqlite3.DatabaseError:
            self.db.close()
            raise

    @classmethod
    def open(cls, path: Path, **options: Any) -> ResponseCache | None:
        """The cache at ``path``, or None (with a warning) when it cannot be used."""
        try:
            return cls(path, **options)
        except (sqlite3.Error, OSError) as exc:
            print(f"harness: warning: response cache {path} unusable ({exc}); running without "
                  "it. Delete the file to start a fresh cache.", file=sys.stderr)
            return None

    def get(self, key: str) -> Completion | None:
        """The stored answer, including those of this process not yet written to the file."""
        row = self._pending.get(key) or self._kept.get(key)
        if row is not None:
            return _completion(row[2:])
        if self.db is not None:
            try:
                row = self.db.execute(
                    f"SELECT {_COLUMNS} FROM responses WHERE key = ?", (key,)).fetchone()
            except sqlite3.Error as exc:
                self._disable(exc)
        return None if row is None else _completion(row[2:])

    def stored(self, keys: Iterable[str]) -> set[str]:
        """Which of ``keys`` have an answer: one query per 500 keys instead of a read of each
        answer (the cost estimate asks for every sample of a run before it starts)."""
        wanted = list(dict.fromkeys(keys))
        found = {k for k in wanted if k in self._pending or k in self._kept}
        for start in range(0, len(wanted), 500):
            if self.db is None:
                break
            chunk = wanted[start:start + 500]
            try:
                rows = self.db.execute(
                    f"SELECT key FROM responses WHERE key IN ({', '.join('?' * len(chunk))})",
                    chunk).fetchall()
            except sqlite3.Error as exc:
                self._disable(exc)
                break
            found.update(row[0] for row in rows)
        return found

    def put(self, key: str, model: str, completion: Completion) -> None:
        """Store an answer unless one is stored already: the first answer to a key stays.

        Its text is stored without credentials (a model may repeat a key it was shown)."""
        if key in self._pending or key in self._kept:
            return
        self._pending[key] = (key, model, _text_to_db(redact(completion.text)),
                              completion.input_tokens, completion.output_tokens,
                              completion.cost_usd, completion.latency_s, time.time(),
                              completion.finish_reason,
                              completion.response_model)
        if (len(self._pending) >= self.flush_every
                or time.monotonic() - self._flushed_at >= self.flush_interval):
            self.flush()

    def flush(self) -> None:
        """Write the answers held back, in one transaction; keys already stored keep theirs."""
        self._flushed_at = time.monotonic()
        if not self._pending or self.db is None:
            return
        rows = list(self._pending.values())
        try:
            self.db.execute("BEGIN IMMEDIATE")
            lost = [row for row in rows if self.db.execute(
                f"INSERT OR IGNORE INTO responses ({_COLUMNS}) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row).rowcount == 0]
            self.db.execute("COMMIT")
        except Exception as exc:  # never leave the transaction open, whatever failed
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
            self._disable(exc)
            return
        self._kept.update((row[0], row) for row in lost)
        self._pending.clear()

    def get_sent(self, key: str) -> dict[str, Any] | None:
        """A remembered mapping of requested to sent parameters (see ``_SENT_SCHEMA``)."""
        if self.db is None:
            return None
        try:
            row = self.db.execute("SELECT sent FROM sent_params WHERE key = ?",
                                  (key,)).fetchone()
        except sqlite3.Error as exc:
            self._disable(exc)
            return None
        return None if row is None else json.loads(row[0])

    def put_sent(self, key: str, sent: dict[str, Any]) -> None:
        if self.db is None:
            return
        try:
            self.db.execute("INSERT OR IGNORE INTO sent_params VALUES (?, ?)",
                            (key, json.dumps(sent, sort_keys=True, default=str)))
        except sqlite3.Error as exc:
            self._disable(exc)

    def _disable(self, exc: Exception) -> None:
        print(f"harness: warning: response cache {self.path} failed ({exc}); going on "
              "without it", file=sys.stderr)
        if self.db is not None:
            self.db.close()
        self.db = None

    def close(self) -> None:
        self.flush()
        if self.db is not None:
            self.db.close()
            self.db = None


def _completion(row: tuple[Any, ...]) -> Completion:
    """A stored row from ``text`` on (see ``_COLUMNS``) as a cached Completion."""
    return Completion(text=_text_from_db(row[0]), input_tokens=row[1], output_tokens=row[2],
                      cost_usd=row[3], latency_s=row[4] or 0.0, cached=True,
                      finish_reason=row[6], response_model=row[7])


# --- looking after the cache file (``harness cache info|prune``) ---------------------------

def cache_file(cache_dir: str | Path | None = None) -> Path:
    """Where the response cache lives for this setting (see ``harness.paths.cache_root``)."""
    from harness.paths import cache_root

    return cache_root(cache_dir) / "responses.sqlite"


def cache_info(path: Path) -> dict[str, Any]:
    """Answers per model, the file's size and the age of its oldest and newest answers."""
    if not path.exists():
        return {"path": str(path), "exists": False, "answers": 0, "models": {}, "bytes": 0}
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as db:
        rows = db.execute("SELECT model, count(*), min(created), max(created) FROM responses "
                          "GROUP BY model ORDER BY count(*) DESC").fetchall()
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())
    return {
        "path": str(path), "exists": True, "answers": sum(r[1] for r in rows),
        "models": {r[0]: r[1] for r in rows}, "bytes": size,
        "oldest": min((r[2] for r in rows), default=None),
        "newest": max((r[3] for r in rows), default=None),
    }


def prune_cache(path: Path, *, older_than_s: float | None = None,
                model: str | None = None) -> int:
    """Delete the answers older than ``older_than_s`` and/or of ``model`` (both None: all).

    Returns how many were deleted. Safe beside running harness processes: the delete is one
    short transaction, and the file is compacted only when no one else holds it open.
    """
    if not path.exists():
        return 0
    where, args = [], []
    if older_than_s is not None:
        where.append("created < ?")
        args.append(time.time() - older_than_s)
    if model is not None:
        where.append("model = ?")
        args.append(model)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    with contextlib.closing(sqlite3.connect(path, timeout=30, isolation_level=None)) as db:
        db.execute("PRAGMA busy_timeout=30000")
        deleted = db.execute(f"DELETE FROM responses{clause}", args).rowcount
        if deleted:
            # Compacting needs the file to itself: wait a moment, not the 30 s a write may.
            db.execute("PRAGMA busy_timeout=500")
            with contextlib.suppress(sqlite3.Error):  # busy: another run has it open
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                db.execute("VACUUM")
    return max(deleted, 0)


def parse_age(text: str) -> float:
    """``30d``, ``12h``, ``90m`` or ``45s`` in seconds; ValueError with what is expected."""
    units = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
    value, unit = text[:-1], text[-1:].lower()
    try:
        seconds = float(value) * units[unit]
    except (KeyError, ValueError):
        raise ValueError(
            f"'{text}' is not an age: write a number and d, h, m or s, e.g. 30d") from None
    if seconds < 0:
        raise ValueError(f"'{text}': an age cannot be negative")
    return seconds
