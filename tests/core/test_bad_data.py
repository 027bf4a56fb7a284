"""Data files as they arrive from spreadsheets and scripts: nothing becomes a traceback, and
nothing is silently filled in (a missing cell is an error, never the target "None")."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from hostile_helpers import assert_bad_input, experiment, harness_cli

from harness.config import load_task
from harness.dataset import load_items
from harness.errors import ConfigError, HarnessError
from harness.testing.loopback import LoopbackServer


def _task(tmp_path: Path, data: str) -> Path:
    path = tmp_path / "task.yaml"
    path.write_text(f"name: t\ndata: {{test: {data}}}\ninput: 'What is {{{{ q }}}}?'\n"
                    "target: '{{ ans }}'\nscorers: [numeric]\n")
    return path


def _load(tmp_path: Path, name: str, content: bytes) -> list:
    data = tmp_path / name
    data.write_bytes(content)
    return load_items(load_task(_task(tmp_path, name)), "test")


def _fails(tmp_path: Path, name: str, content: bytes, pattern: str) -> str:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, name, content)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{tmp_path / name}"), message
    assert re.search(pattern, message), message
    return message


@pytest.mark.parametrize(("name", "content", "pattern"), [
    # A short row: its missing cell used to become the target "None".
    ("rows.csv", b"id,q,ans\na,1 + 1,2\nb,2 + 2\n",
     r":3: row has 2 cells but the header has 3 columns \(no cell for ans\)"),
    # An unquoted comma: used to be "TypeError: keywords must be strings".
    ("rows.csv", b"id,q,ans\na,1 + 1,2\nb,2, + 2,4\n",
     r":3: row has 4 cells but the header has 3 columns; quote a cell that contains a comma"),
    ("rows.csv", b"id,q,q\na,1,2\n", r":1: column 'q' appears twice in the header"),
    # A quote never closed used to swallow every row after it into one cell.
    ("rows.csv", b'id,q,ans\na,"1 + 1,2\nb,2 + 2,4\n', r":2: invalid CSV: unexpected end of data"),
    ("rows.csv", b'id,q,ans\na,"1 + 1"x,2\n', r":2: invalid CSV: ',' expected after"),
    ("rows.csv", b"id,q,ans\na,1 + 1,2\nb,caf\xe9,4\n",
     r":3: not valid UTF-8 \(byte 0xe9 at column 6\); save the file as UTF-8 \(in Excel"),
    ("rows.jsonl", b'{"id": "a", "q": "1", "ans": 2}\n{"id": "b", "q": "\xff", "ans": 2}\n',
     r":2: not valid UTF-8 \(byte 0xff"),
    ("rows.jsonl", b'{"id": "a", "q": "1", "ans": 2}\n[1, 2]\n', r":2: each line must be a JSON"),
    # JSON keeps the last of two equal keys, silently: the first answer would be lost.
    ("rows.jsonl", b'{"id": "a", "q": "1", "ans": 2, "ans": 3}\n', r":1: key 'ans' appears twice"),
    ("rows.jsonl", b'{"id": "a", "q": "1", "ans": ' + b"9" * 5000 + b"}\n", r":1: invalid JSON"),
    ("rows.jsonl", b'{"id": "a", "q": ' + b"[" * 100000 + b"]" * 100000 + b', "ans": 1}\n',
     r":1: invalid JSON: nested too deeply"),
    # A JSON null printed by the target: an error naming the field, never "None".
    ("rows.jsonl", b'{"id": "a", "q": "1", "ans": 2}\n{"id": "b", "q": "2", "ans": null}\n',
     r":2: 'ans' has no value \(null\) in this row, rendering the task's target"),
    # An empty cell where the target comes from: no answer could ever match it.
    ("rows.csv", b"id,q,ans\na,1 + 1,2\nb,2 + 2,\n", r":3: the task's target: .* renders empty"),
    ("rows.parquet", b"PAR1 this is not parquet", r"not a readable Parquet file"),
])
def test_bad_rows_are_one_line_errors(tmp_path: Path, name: str, content: bytes,
                                      pattern: str) -> None:
    _fails(tmp_path, name, content, pattern)


def test_a_csv_written_by_excel_reads(tmp_path: Path) -> None:
    """Excel's "CSV UTF-8" starts with a byte-order mark and ends lines with CRLF; trailing
    empty cells past the header carry no data."""
    items = _load(tmp_path, "rows.csv", b"\xef\xbb\xbfid,q,ans\r\na,1 + 1,2\r\nb,\"3,\n3\",6,,\r\n")
    assert [(i.id, i.input, i.target, i.line) for i in items] == [
        ("a", "What is 1 + 1?", "2", 2), ("b", "What is 3,\n3?", "6", 3)]


def test_a_jsonl_with_a_bom_reads(tmp_path: Path) -> None:
    items = _load(tmp_path, "rows.jsonl", b'\xef\xbb\xbf{"id": "a", "q": "1", "ans": 2}\n')
    assert [(i.id, i.target) for i in items] == [("a", "2")]


def test_parquet_nulls_are_errors_not_nan(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": ["a", "b"], "q": ["1", "2"], "ans": [2.0, None]})
    frame.to_parquet(tmp_path / "rows.parquet")
    with pytest.raises(ConfigError, match=r"rows.parquet:2: 'ans' has no value"):
        load_items(load_task(_task(tmp_path, "rows.parquet")), "test")


def test_a_null_field_can_still_be_tested_in_a_template(tmp_path: Path) -> None:
    path = tmp_path / "task.yaml"
    path.write_text("name: t\ndata: {test: rows.jsonl}\n"
                    "input: '{{ q }}{% if hint %} (hint: {{ hint }}){% endif %}'\n"
                    "target: '{{ ans }}'\n")
    (tmp_path / "rows.jsonl").write_text('{"id": "a", "q": "x", "hint": null, "ans": 1}\n'
                                         '{"id": "b", "q": "y", "hint": "z", "ans": 2}\n')
    items = load_items(load_task(path), "test")
    assert [i.input for i in items] == ["x", "y (hint: z)"]


def test_bad_data_stops_the_cli_before_any_call(tmp_path: Path, add_task: Path) -> None:
    data = add_task / "data" / "test.jsonl"
    data.write_bytes(data.read_bytes() + b'{"id": "t99", "a": 1, "b": "\xe9"}\n')
    with LoopbackServer() as server:
        path = experiment(tmp_path, server.url)
        done, _ = harness_cli(tmp_path, "run", str(path))
        assert server.stats()["requests"] == 0
    assert_bad_input(done, f"{data}:13: not valid UTF-8", results=tmp_path / "results")


@pytest.mark.parametrize(("content", "words"), [
    (b"\xff\xfe{}", ["not valid UTF-8"]),
    (b'{"format": "prompt-harness-baseline", ', ["not a valid baseline file (invalid JSON"]),
    (b"[" * 100000 + b"]" * 100000, ["nested too deeply"]),
    (json.dumps({"format": "prompt-harness-baseline", "format_version": 1, "metrics": {},
                 "cells": [{"task": "x", "variant": "v", "model": "m", "items": {}}]}).encode(),
     ["malformed baseline", "no metric for task x"]),
])
def test_a_corrupt_baseline_is_bad_input(tmp_path: Path, add_task: Path, content: bytes,
                                         words: list[str]) -> None:
    from harness.gate.baseline import Baseline

    baseline = tmp_path / "baseline.json"
    baseline.write_bytes(content)
    with pytest.raises(HarnessError) as info:
        Baseline.load(baseline)
    assert info.value.exit_code == 2
    assert all(w in str(info.value) for w in words), str(info.value)
    with LoopbackServer() as server:
        path = experiment(tmp_path, server.url)
        done, _ = harness_cli(tmp_path, "check", str(path), "--baseline", str(baseline))
        assert server.stats()["requests"] == 0
    assert_bad_input(done, str(baseline), *words, results=tmp_path / "results")


@pytest.mark.parametrize(("line", "words"), [
    (b"\xff\xfe not text\n", "samples.jsonl:2: not a sample record (not valid UTF-8)"),
    (b"[1, 2]\n", "samples.jsonl:2: not a sample record (no sample_id)"),
])
def test_a_damaged_run_folder_is_bad_input(tmp_path: Path, line: bytes, words: str) -> None:
    run = tmp_path / "results" / "r1"
    run.mkdir(parents=True)
    (run / "manifest.json").write_text(json.dumps({"run_id": "r1", "status": "complete"}))
    (run / "samples.jsonl").write_bytes(b'{"sample_id": "s1"}\n' + line)
    for args in (["report", str(run)], ["baseline", "save", str(run), "--to", "b.json"]):
        done, _ = harness_cli(tmp_path, *args)
        assert_bad_input(done, words)
