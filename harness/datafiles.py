"""Reading a data file (JSONL, CSV or Parquet) into rows, each with the line it came from.

Data comes from spreadsheets, exports and scripts, so every way a file can be malformed is a
one-line ConfigError naming the file and the line (the row's index for Parquet): a byte that is
not UTF-8, a CSV row with more or fewer cells than the header, a header naming a column twice,
an unreadable Parquet file. A UTF-8 byte-order mark (Excel writes one) is skipped. Nothing is
filled in silently: a short CSV row is an error, not a row whose missing cells read "None".
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.textfiles import read_text

Rows = list[tuple[int, dict[str, Any]]]
FORMATS = (".jsonl", ".ndjson", ".csv", ".parquet")
# Python's csv default (128 KiB) is smaller than a long corpus document.
_CSV_FIELD_LIMIT = 64 * 1024 * 1024


def read_rows(path: Path) -> Rows:
    """Read a data file into (line, row) pairs; the format follows the file's suffix."""
    path = Path(path)
    if not path.exists():
        raise ConfigError("data file not found", file=path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ConfigError(f"unsupported data format '{suffix}' (use .jsonl, .csv or .parquet)",
                          file=path)
    if suffix == ".parquet":
        return _parquet_rows(path)
    text = read_text(path, "data file")
    return _csv_rows(text, path) if suffix == ".csv" else _jsonl_rows(text, path)


class _DuplicateKey(Exception):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    row = dict(pairs)
    if len(row) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return row


def _jsonl_rows(text: str, path: Path) -> Rows:
    rows = []
    # Split on newlines only: JSON strings may hold U+2028 and other line separators.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line, object_pairs_hook=_no_duplicates)
        except _DuplicateKey as exc:
            raise ConfigError(f"key '{exc.args[0]}' appears twice in this row (JSON keeps the "
                              "last silently); keep one", file=path, line=number) from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"invalid JSON: {exc.msg} (column {exc.colno}); each line must "
                              "be one JSON object", file=path, line=number) from None
        except RecursionError:
            raise ConfigError("invalid JSON: nested too deeply", file=path, line=number) from None
        except ValueError as exc:  # e.g. an integer longer than Python converts
            raise ConfigError(f"invalid JSON: {exc}", file=path, line=number) from None
        if not isinstance(row, dict):
            raise ConfigError(f"each line must be a JSON object ({{...}}), not a "
                              f"{type(row).__name__}", file=path, line=number)
        rows.append((number, row))
    return rows


def _csv_rows(text: str, path: Path) -> Rows:
    csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_LIMIT))
    # strict: a quote never closed, or text after a closing quote ("a"b), is an error rather
    # than a cell that silently swallows the rows after it.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: Rows = []
    header: list[str] | None = None
    while True:
        # The line a row starts on, as an editor shows it: the one after the previous row
        # (blank lines are rows of no cells; quoted cells may span lines).
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            hint = "; a quoted cell is never closed (look for a stray \")" if "end of data" in \
                str(exc) else "; quote the whole cell and double any quote inside it (\"\")"
            raise ConfigError(f"invalid CSV: {exc}{hint}", file=path, line=line) from None
        if not cells:  # a blank line
            continue
        if header is None:
            header = _header(cells, path, line)
            continue
        rows.append((line, _csv_row(header, cells, path, line)))
    return rows


def _header(cells: list[str], path: Path, line: int) -> list[str]:
    names = [cell.strip() for cell in cells]
    for index, name in enumerate(names):
        if name and name in names[:index]:
            raise ConfigError(f"column '{name}' appears twice in the header (columns "
                              f"{names.index(name) + 1} and {index + 1}); rename one",
                              file=path, line=line)
    return names


def _csv_row(header: list[str], cells: list[str], path: Path, line: int) -> dict[str, Any]:
    if len(cells) < len(header):
        missing = ", ".join(header[len(cells):][:5])
        raise ConfigError(
            f"row has {len(cells)} cells but the header has {len(header)} columns (no cell for "
            f"{missing}); add the missing cells (an empty cell is written as ,,)",
            file=path, line=line)
    extra = cells[len(header):]
    if any(cell.strip() for cell in extra):
        raise ConfigError(
            f"row has {len(cells)} cells but the header has {len(header)} columns; quote a "
            "cell that contains a comma (\"a, b\"), or add a column name to the header",
            file=path, line=line)
    return dict(zip(header, cells, strict=False))


def _parquet_rows(path: Path) -> Rows:
    try:
        import pandas as pd

        frame = pd.read_parquet(path)
    except ImportError as exc:
        raise ConfigError(f"reading Parquet needs pyarrow ({exc}); pip install pyarrow",
                          file=path) from None
    except Exception as exc:  # pyarrow raises many types for a damaged file
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"not a readable Parquet file ({reason})", file=path) from None
    return [(i + 1, {str(k): _plain(v, pd.isna) for k, v in row.items()})
            for i, row in enumerate(frame.to_dict(orient="records"))]


def _plain(value: Any, isna: Any) -> Any:
    """Parquet's nulls arrive as None, NaN, NA or NaT; all mean "no value"."""
    try:
        if isna(value) is True:
            return None
    except (TypeError, ValueError):
        pass
    return value
