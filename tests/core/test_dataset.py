"""Users bring their own data as JSONL, CSV or Parquet: each loads to the same items."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from harness.config import load_task
from harness.dataset import load_items
from harness.errors import ConfigError

ROWS = [{"id": "a", "q": "2 + 2", "ans": 4}, {"id": "b", "q": "3 + 3", "ans": 6}]


def _task(tmp_path: Path, data: str) -> Path:
    path = tmp_path / "task.yaml"
    path.write_text(f"name: t\ndata: {{test: {data}}}\ninput: 'What is {{{{ q }}}}?'\n"
                    "target: '{{ ans }}'\nscorers: [numeric]\n")
    return path


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_each_format_loads_the_same_items(tmp_path: Path, suffix: str) -> None:
    data = tmp_path / f"rows{suffix}"
    frame = pd.DataFrame(ROWS)
    if suffix == ".jsonl":
        data.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    elif suffix == ".csv":
        frame.to_csv(data, index=False)
    else:
        frame.to_parquet(data)
    items = load_items(load_task(_task(tmp_path, data.name)), "test")
    assert [(i.id, i.input, i.target) for i in items] == [
        ("a", "What is 2 + 2?", "4"), ("b", "What is 3 + 3?", "6")]


def test_csv_errors_name_the_editor_line(tmp_path: Path) -> None:
    data = tmp_path / "rows.csv"
    data.write_text("id,q,ans\na,1 + 1,2\na,2 + 2,4\n")
    with pytest.raises(ConfigError, match=rf"{data}:3: duplicate id 'a' \(first at line 2\)"):
        load_items(load_task(_task(tmp_path, data.name)), "test")


def test_csv_lines_count_quoted_line_breaks_and_blank_lines(tmp_path: Path) -> None:
    data = tmp_path / "rows.csv"
    data.write_text('id,q,ans\na,"1 +\n1",2\n\nb,2 + 2,4\nb,3 + 3,6\n')
    with pytest.raises(ConfigError, match=rf"{data}:6: duplicate id 'b' \(first at line 5\)"):
        load_items(load_task(_task(tmp_path, data.name)), "test")


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    (tmp_path / "rows.xlsx").write_text("x")
    with pytest.raises(ConfigError, match=r"unsupported data format '.xlsx'"):
        load_items(load_task(_task(tmp_path, "rows.xlsx")), "test")
