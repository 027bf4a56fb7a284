"""Rows from JSONL, CSV or Parquet files, turned into the items a task evaluates.

Every row keeps the file line it came from, so a bad row is reported as ``file:line``.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.config.task import TaskConfig
from harness.errors import ConfigError
from harness.templating import RenderErrors, describe, render_string


@dataclass(frozen=True)
class Item:
    """One example: what the model is asked, what counts as right, and its provenance."""

    id: str
    input: str
    target: str
    fields: dict[str, Any] = field(repr=False)
    rationale: str | None = None
    cluster: str | None = None
    gold_docs: tuple[str, ...] = ()
    line: int = 0


def read_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Read a data file into (line, row) pairs; the format follows the file's suffix."""
    if not path.exists():
        raise ConfigError("data file not found", file=path)
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".ndjson"}:
        rows = []
        with path.open(encoding="utf-8") as fh:
            for number, text in enumerate(fh, start=1):
                if not text.strip():
                    continue
                try:
                    row = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise ConfigError(f"invalid JSON: {exc.msg}", file=path, line=number) from None
                if not isinstance(row, dict):
                    raise ConfigError("each line must be a JSON object", file=path, line=number)
                rows.append((number, row))
        return rows
    if suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as fh:
            # The line a row starts on, as an editor shows it: the reader's count is where the
            # row ends, after any blank lines it skipped and any line breaks inside quotes.
            reader = csv.DictReader(fh)
            return [(reader.line_num - sum(v.count("\n") for v in row.values()
                                           if isinstance(v, str)), dict(row))
                    for row in reader]
    if suffix == ".parquet":
        import pandas as pd

        frame = pd.read_parquet(path)
        return [(i + 1, row) for i, row in enumerate(frame.to_dict(orient="records"))]
    raise ConfigError(
        f"unsupported data format '{suffix}' (use .jsonl, .csv or .parquet)", file=path
    )


def _render(task: TaskConfig, key: str, source: str, row: dict[str, Any], where: Path, line: int):
    try:
        return render_string(source, row).strip()
    except RenderErrors as exc:
        raise ConfigError(
            f"{describe(exc)}; row at {where}:{line}", file=task.source, key=key
        ) from None


def load_items(task: TaskConfig, split: str) -> list[Item]:
    """Load one split of a task as items, rendering ``input``/``target`` for every row."""
    path = task.data_path(split)
    items: list[Item] = []
    seen: dict[str, int] = {}
    for line, row in read_rows(path):
        if task.id_field not in row or row[task.id_field] in (None, ""):
            raise ConfigError(f"row has no '{task.id_field}' (the task's id_field)", file=path,
                              line=line)
        item_id = str(row[task.id_field])
        if item_id in seen:
            raise ConfigError(f"duplicate id '{item_id}' (first at line {seen[item_id]})",
                              file=path, line=line)
        seen[item_id] = line
        rationale = None
        if task.rationale:
            try:
                rationale = render_string(task.rationale, row).strip() or None
            except RenderErrors:
                rationale = None  # eval rows need no worked solution
        gold = row.get(task.gold_docs_field) if task.gold_docs_field else None
        cluster = row.get(task.cluster_field) if task.cluster_field else None
        items.append(
            Item(
                id=item_id,
                input=_render(task, "input", task.input, row, path, line),
                target=_render(task, "target", task.target, row, path, line),
                fields=row,
                rationale=rationale,
                cluster=None if cluster is None else str(cluster),
                gold_docs=tuple(str(g) for g in gold) if isinstance(gold, list) else (),
                line=line,
            )
        )
    return items
