"""The response cache: a re-run asks nothing, keys hold what decides the answer and nothing
secret, and several processes can share one file."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest
from loopback_models import adder
from run_helpers import by_sample, write_experiment

import harness
from harness.cache import ResponseCache, cache_key
from harness.config import ModelConfig
from harness.models.client import Completion
from harness.testing.loopback import LoopbackServer


def test_a_rerun_is_served_from_the_cache_without_a_single_request(
    tmp_path: Path, add_task: Path, key: str
) -> None:
    cache_dir = tmp_path / "cache"
    with LoopbackServer(adder) as server:
        exp = write_experiment(tmp_path, server.url, limit=8, extra=f"cache_dir: {cache_dir}\n")
        first = harness.run(exp, results_dir=tmp_path / "r1", reports_dir=None, quiet=True)
        assert len(server.received) == 16
        again = harness.run(exp, results_dir=tmp_path / "r2", reports_dir=None, quiet=True)
        assert len(server.received) == 16  # not one more
        assert again["cached"].all() and not first["cached"].any()
        assert by_sample(again) == by_sample(first)
        # --no-cache neither reads nor writes it.
        harness.run(exp, results_dir=tmp_path / "r3", reports_dir=None, quiet=True, cache=False)
        assert len(server.received) == 32
    assert (cache_dir / "responses.sqlite").exists()


def test_the_key_covers_what_decides_the_answer() -> None:
    model = ModelConfig(model="openai/gpt-4o-mini", api_key_env="SOME_KEY")
    messages = [{"role": "user", "content": "hi"}]
    greedy = {"temperature": 0.0, "max_tokens": 8}
    sampled = {"temperature": 0.7, "max_tokens": 8}
    base = cache_key(model, messages, greedy, 0)
    # Greedy answers are shared by the epochs; sampled ones are not.
    assert cache_key(model, messages, greedy, 1) == base
    assert cache_key(model, messages, sampled, 0) != cache_key(model, messages, sampled, 1)
    assert cache_key(model, [{"role": "user", "content": "hi!"}], greedy, 0) != base
    assert cache_key(model, messages, {**greedy, "max_tokens": 9}, 0) != base
    other = ModelConfig(model="openai/gpt-4o", api_key_env="SOME_KEY")
    assert cache_key(other, messages, greedy, 0) != base
    # Where the key comes from, the timeout and the limits do not change the answer.
    same = ModelConfig(model="openai/gpt-4o-mini", api_key_env="OTHER_KEY", timeout=5, rpm=10,
                       max_concurrency=2)
    assert cache_key(same, messages, greedy, 0) == base


def _writer(path: str, worker: int, count: int) -> None:
    cache = ResponseCache(Path(path), flush_every=7)
    for i in range(count):
        cache.put(f"{worker}-{i}", "m", Completion(text=f"answer {worker}-{i}", input_tokens=i))
        if i % 10 == 0:
            assert cache.get(f"{worker}-0") is not None or i == 0
    cache.close()


def test_processes_sharing_the_cache_do_not_corrupt_it(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_writer, args=(str(path), w, 300)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
        assert process.exitcode == 0
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert db.execute("SELECT count(*) FROM responses").fetchone() == (1200,)
    cache = ResponseCache(path)
    hit = cache.get("3-299")
    assert hit is not None and hit.text == "answer 3-299" and hit.cached


def test_an_unusable_cache_file_does_not_stop_the_run(
    tmp_path: Path, add_task: Path, key: str, capsys
) -> None:  # type: ignore[no-untyped-def]
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    (cache_dir / "responses.sqlite").write_bytes(b"this is not a database" * 100)
    with LoopbackServer(adder) as server:
        exp = write_experiment(tmp_path, server.url, limit=3, extra=f"cache_dir: {cache_dir}\n")
        samples = harness.run(exp, results_dir=tmp_path / "r", reports_dir=None, quiet=True)
    assert samples["error"].isna().all() and len(server.received) == 6
    assert "response cache" in capsys.readouterr().err


def _open_and_close(path: str) -> None:
    ResponseCache(Path(path)).close()


def test_processes_opening_a_new_cache_at_the_same_moment_all_get_it(tmp_path: Path) -> None:
    # Switching a new file to WAL can report "database is locked" without waiting: CI once lost
    # a worker that way. Every process must get a usable cache.
    ctx = multiprocessing.get_context("fork")
    for round_ in range(12):
        path = tmp_path / f"new-{round_}.sqlite"
        workers = [ctx.Process(target=_open_and_close, args=(str(path),)) for _ in range(8)]
        for process in workers:
            process.start()
        for process in workers:
            process.join(60)
        assert [process.exitcode for process in workers] == [0] * 8


def test_cache_set_up_waits_out_a_busy_file_instead_of_failing() -> None:
    from harness.cache import _retry_while_locked

    attempts = []

    def step() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise sqlite3.OperationalError("database is locked")
        return "done"

    assert _retry_while_locked(step) == "done"
    assert len(attempts) == 3

    def broken() -> None:
        raise sqlite3.OperationalError("no such table: x")

    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        _retry_while_locked(broken)


def test_stored_says_which_keys_have_an_answer_as_get_does(tmp_path: Path) -> None:
    """The cost estimate counts cached samples with ``stored`` (one query per 500 keys); it
    must agree with reading each answer: written, held back and absent keys, over 500 keys."""
    cache = ResponseCache(tmp_path / "c.sqlite", flush_every=10_000, flush_interval=1e9)
    written = [f"w{i}" for i in range(700)]
    for k in written:
        cache.put(k, "m", Completion(text=k))
    cache.flush()
    cache.put("held-back", "m", Completion(text="not yet in the file"))
    asked = [*written[::3], "held-back", *[f"absent{i}" for i in range(600)], written[5]]
    found = cache.stored(asked)
    assert found == {k for k in asked if cache.get(k) is not None}
    assert "held-back" in found and "absent0" not in found and len(found) == 236
    cache.close()
    assert cache.stored(["w1"]) == set()  # a closed (or disabled) cache holds nothing
