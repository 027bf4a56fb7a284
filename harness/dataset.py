"""Rows from JSONL, CSV or Parquet files, turned into the items a task evaluates.

Every row keeps the file line it came from, so a bad row is reported as ``file:line``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.config.task import TaskConfig
from harness.datafiles import read_rows
from harness.errors import ConfigError
from harness.templating import (
    MissingValue,
    RenderErrors,
    describe,
    render_session,
    render_string,
)

__all__ = ["Item", "load_items", "read_rows"]


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


class _Null:
    """Stands in for a null field while ``input``/``target`` render: false in ``{% if %}`` and
    ``or``, but printing it (or computing with it) is an error, never the text "None"."""

    __slots__ = ("_field",)  # underscored: the sandbox hides it from templates

    def __init__(self, field: str) -> None:
        self._field = field

    def __bool__(self) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        return other is None or isinstance(other, _Null)

    def __hash__(self) -> int:
        return hash(None)

    def _fail(self, *_: Any) -> Any:
        raise MissingValue(f"'{self._field}' has no value (null) in this row")

    __str__ = __format__ = __len__ = __iter__ = _fail
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _fail
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = _fail
    __lt__ = __le__ = __gt__ = __ge__ = __neg__ = __float__ = __int__ = _fail


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _context(row: dict[str, Any]) -> dict[str, Any]:
    return {k: _Null(k) if _is_null(v) else v for k, v in row.items()}


def _render(task: TaskConfig, key: str, source: str, row: dict[str, Any], where: Path,
            line: int) -> str:
    try:
        text = render_string(source, row).strip()
    except RenderErrors as exc:
        raise ConfigError(f"{describe(exc)}, rendering the task's {key}: ({task.source}); fix "
                          "this row or that template", file=where, line=line) from None
    if key == "target" and not text:
        raise ConfigError(f"the task's target: ({task.source}) renders empty for this row, so "
                          "no answer could match it; fill in the row or fix that template",
                          file=where, line=line)
    return text


def load_items(task: TaskConfig, split: str) -> list[Item]:
    """Load one split of a task as items, rendering ``input``/``target`` for every row."""
    with render_session():  # thousands of small renders share one armed timer
        return _load_items(task, split)


def _load_items(task: TaskConfig, split: str) -> list[Item]:
    path = task.data_path(split)
    if not path.exists():
        raise ConfigError(f"data file {path} not found; fix the path (it is relative to the "
                          "task's folder)", **task.locate("data", split))
    items: list[Item] = []
    seen: dict[str, int] = {}
    for line, raw in read_rows(path):
        row = _context(raw)
        if task.id_field not in raw or _is_null(raw[task.id_field]) or raw[task.id_field] == "":
            raise ConfigError(f"row has no '{task.id_field}' (the task's id_field); give every "
                              "row an id, or set id_field to the column that holds one",
                              file=path, line=line)
        if isinstance(raw[task.id_field], (bool, list, tuple, dict)) or not str(
                raw[task.id_field]).strip():
            shown = json.dumps(raw[task.id_field], default=str)[:60]
            raise ConfigError(f"'{task.id_field}' (the task's id_field) is {shown}; an id is "
                              "a string or a whole number, unique in the file", file=path,
                              line=line)
        item_id = str(raw[task.id_field])
        if item_id in seen:
            raise ConfigError(f"duplicate id '{item_id}' (first at line {seen[item_id]}); ids "
                              "must be unique", file=path, line=line)
        seen[item_id] = line
        rationale = None
        if task.rationale and split == task.fewshot_split and split != task.eval_split:
            # A worked example that silently loses its reasoning changes what a reasoning
            # variant shows the model ("The answer is 7." instead of the steps): say so.
            rationale = _render(task, "rationale", task.rationale, row, path, line) or None
        elif task.rationale:
            try:
                rationale = render_string(task.rationale, row).strip() or None
            except RenderErrors:
                rationale = None  # eval rows need no worked solution
        gold = raw.get(task.gold_docs_field) if task.gold_docs_field else None
        cluster = raw.get(task.cluster_field) if task.cluster_field else None
        items.append(
            Item(
                id=item_id,
                input=_render(task, "input", task.input, row, path, line),
                target=_render(task, "target", task.target, row, path, line),
                fields=raw,
                rationale=rationale,
                cluster=None if cluster is None else str(cluster),
                gold_docs=tuple(str(g) for g in gold) if isinstance(gold, list) else (),
                line=line,
            )
        )
    return items
