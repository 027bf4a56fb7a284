"""Looking after the response cache: ``harness cache info`` and ``harness cache prune``."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from loopback_models import adder
from run_helpers import write_experiment

import harness
from harness.cache import parse_age
from harness.cli import main
from harness.testing.loopback import LoopbackServer


def _fill(tmp_path: Path, server: LoopbackServer, cache_dir: Path) -> Path:
    exp = write_experiment(tmp_path, server.url, limit=5, extra=f"cache_dir: {cache_dir}\n")
    harness.run(exp, results_dir=tmp_path / "results", reports_dir=None, quiet=True)
    return exp


def test_info_counts_answers_per_model(
    tmp_path: Path, add_task: Path, key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cache_dir = tmp_path / "cache"
    assert main(["cache", "info", "--cache-dir", str(cache_dir)]) == 0
    assert "no cache yet" in capsys.readouterr().out
    with LoopbackServer(adder) as server:
        _fill(tmp_path, server, cache_dir)
    assert main(["cache", "info", "--cache-dir", str(cache_dir)]) == 0
    out = capsys.readouterr().out
    assert ": 10 answers," in out
    assert out.splitlines()[1].split() == ["10", "openai/test-model"]


def test_prune_by_age_deletes_only_old_answers_and_a_rerun_asks_only_for_those(
    tmp_path: Path, add_task: Path, key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cache_dir = tmp_path / "cache"
    db_path = cache_dir / "responses.sqlite"
    with LoopbackServer(adder) as server:
        exp = _fill(tmp_path, server, cache_dir)
        with sqlite3.connect(db_path) as db:  # age three answers by 40 days
            keys = [r[0] for r in db.execute("SELECT key FROM responses LIMIT 3")]
            db.executemany("UPDATE responses SET created = ? WHERE key = ?",
                           [(time.time() - 40 * 86400, k) for k in keys])
        for args in (["--model", "openai/other"], ["--older-than", "60d"]):
            assert main(["cache", "prune", *args, "--cache-dir", str(cache_dir)]) == 0
            assert "deleted 0 answers" in capsys.readouterr().out
        assert main(["cache", "prune", "--older-than", "30d", "--cache-dir",
                     str(cache_dir)]) == 0
        assert "deleted 3 answers" in capsys.readouterr().out
        with sqlite3.connect(db_path) as db:
            assert db.execute("SELECT count(*) FROM responses").fetchone()[0] == 7
        before = len(server.received)
        again = harness.run(exp, results_dir=tmp_path / "again", reports_dir=None, quiet=True)
        assert len(server.received) - before == 3
        assert int((~again["cached"]).sum()) == 3
        assert main(["cache", "prune", "--all", "--cache-dir", str(cache_dir)]) == 0
        assert "deleted 10 answers" in capsys.readouterr().out


def test_prune_beside_an_open_reader_does_not_fail(tmp_path: Path) -> None:
    from harness.cache import ResponseCache, prune_cache
    from harness.models.client import Completion

    path = tmp_path / "responses.sqlite"
    cache = ResponseCache(path)
    cache.put("k1", "openai/m", Completion(text="a"))
    cache.flush()
    reader = sqlite3.connect(path)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM responses").fetchone()  # holds a read snapshot
    assert prune_cache(path, model="openai/m") == 1
    reader.rollback()
    reader.close()
    assert cache.get("k1") is None
    cache.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [([], "say what to delete"), (["--older-than", "3x"], "'3x' is not an age")],
)
def test_a_prune_without_a_clear_target_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["cache", "prune", *args, "--cache-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("harness: error: ") and message in err and err.count("\n") == 1


def test_ages() -> None:
    assert parse_age("30d") == 30 * 86400 and parse_age("12h") == 43200
    assert parse_age("1.5m") == 90 and parse_age("45s") == 45
    with pytest.raises(ValueError):
        parse_age("-1d")


@pytest.mark.parametrize("action", [["info"], ["prune", "--all"]])
def test_a_damaged_cache_file_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], action: list[str]
) -> None:
    (tmp_path / "responses.sqlite").write_text("not a database, just text " * 200)
    assert main(["cache", *action, "--cache-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("harness: error: response cache ") and err.count("\n") == 1
    assert "delete the file to start a fresh cache" in err
