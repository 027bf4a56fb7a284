"""A run on disk: ``results/<run-id>/manifest.json`` and ``samples.jsonl``.

Samples are appended one JSON line at a time and flushed as each finishes, so a run killed at
any moment (even with SIGKILL) leaves every finished sample readable; a torn last line is
ignored on reading. When a sample appears twice (an errored sample retried on resume), the
later line wins. Text is stored losslessly, lone surrogates included (see ``JSON_ERRORS``).

A record's ``error`` says its call failed; ``scoring_error`` says the call answered but parsing
or scoring the answer raised (``Type: message``). Either keeps the sample out of every score.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from harness.errors import ConfigError
from harness.redaction import redact

if TYPE_CHECKING:
    import pandas as pd

SAMPLES = "samples.jsonl"
MANIFEST = "manifest.json"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def new_run_id(name: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{name}-{stamp}-{os.urandom(2).hex()}"


# How JSON text is written: UTF-8, except for a lone surrogate ("\ud800", which a model can
# send and UTF-8 cannot encode). ``json.dumps`` leaves non-ASCII characters only inside string
# literals, so writing such a character as its backslash escape writes exactly JSON's own
# escape for it, and ``json.loads`` reads back the identical string: lossless, at no cost.
JSON_ERRORS = "backslashreplace"


def write_json_atomic(path: Path, data: Any) -> None:
    """Write via a temporary file and rename, so readers never see half a manifest."""
    path.parent.mkdir(parents=True, exist_ok=True)
    from harness.redaction import redact_data

    data = redact_data(json.loads(json.dumps(data, default=str)))  # no key ever lands on disk
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8", errors=JSON_ERRORS) as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False, default=str)
        fh.write("\n")
    os.replace(tmp, path)


def versions() -> dict[str, str]:
    """Versions of what shaped the results, read from metadata without importing anything."""
    out = {"python": sys.version.split()[0]}
    for dist in ("prompt-harness", "litellm", "transformers", "torch", "jinja2", "scipy",
                 "pandas", "numpy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out


def git_commit(folder: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


class RunWriter:
    """Appends finished samples to a run folder, one flushed JSON line each."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        _drop_torn_tail(run_dir / SAMPLES)
        self._fh: IO[str] = (run_dir / SAMPLES).open("a", encoding="utf-8",
                                                     errors=JSON_ERRORS)

    def append(self, record: dict[str, Any], *, flush: bool = True) -> None:
        """Write one sample; ``flush=False`` leaves it buffered until :meth:`flush`."""
        line = redact(json.dumps(record, ensure_ascii=False, default=_jsonable))
        self._fh.write(line + "\n")
        if flush:
            self._fh.flush()

    def flush(self) -> None:
        self._fh.flush()

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        write_json_atomic(self.run_dir / MANIFEST, manifest)

    def close(self) -> None:
        self._fh.close()


def _drop_torn_tail(path: Path) -> None:
    """Cut a half-written last line (a kill mid-write) before appending after it.

    Otherwise the next record would be glued onto the torn one, and both lost on reading.
    """
    try:
        with path.open("rb+") as fh:
            size = fh.seek(0, os.SEEK_END)
            if size == 0:
                return
            fh.seek(size - 1)
            if fh.read(1) == b"\n":
                return
            # Walk back to the last newline; the torn line is rarely more than a few KiB.
            end = size
            while end > 0:
                start = max(0, end - 65536)
                fh.seek(start)
                chunk = fh.read(end - start)
                cut = chunk.rfind(b"\n")
                if cut >= 0:
                    fh.truncate(start + cut + 1)
                    return
                end = start
            fh.truncate(0)
    except FileNotFoundError:
        return


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def read_records(run_dir: Path) -> list[dict[str, Any]]:
    """Every complete sample line, the latest per sample id, in first-seen order."""
    path = run_dir / SAMPLES
    if not path.exists():
        return []
    latest: dict[str, dict[str, Any]] = {}
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.endswith(b"\n"):
                break  # torn write from a killed process
            try:
                record = json.loads(raw.decode("utf-8"))
            except json.JSONDecodeError:
                continue
            except ValueError:  # bytes that are not UTF-8: not written by the harness
                raise ConfigError(f"{path}:{number}: not a sample record (not valid UTF-8); the "
                                  "file was damaged: run the experiment again") from None
            if not isinstance(record, dict) or not isinstance(record.get("sample_id"), str):
                raise ConfigError(f"{path}:{number}: not a sample record (no sample_id); the "
                                  "file was damaged: run the experiment again")
            bad = _bad_score(record.get("scores"))
            if bad is not None:
                raise ConfigError(f"{path}:{number}: not a sample record (score {bad}); the "
                                  "file was damaged: run the experiment again")
            latest[record["sample_id"]] = record
    return list(latest.values())


def _bad_score(scores: Any) -> str | None:
    """What is wrong with a record's scores (a mapping of scorer name to a number or null),
    or None: a hand-edited "high" would otherwise crash the report, or be read as a number."""
    if scores is None:
        return None
    if not isinstance(scores, dict):
        return f"field is {type(scores).__name__}, not a mapping"
    for name, value in scores.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            return f"'{name}' is {json.dumps(value)[:40]}, not a number"
    return None


def escape_surrogates(value: Any) -> Any:
    """``value`` with every lone surrogate in its strings written as its escape ("\\ud800").

    For the DataFrame of a run only: pandas stores text as UTF-8 and refuses a lone surrogate,
    so :func:`load_run` shows it escaped, while ``samples.jsonl`` (and :func:`read_records`)
    keep the exact text.
    """
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {k: escape_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [escape_surrogates(v) for v in value]
    return value


def read_manifest(run_dir: Path) -> dict[str, Any]:
    path = run_dir / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{run_dir}: not a run folder (no {MANIFEST})") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: manifest is not valid JSON: {exc.msg}") from None
    except ValueError:
        raise ConfigError(f"{path}: manifest is not valid UTF-8; the run folder was damaged") \
            from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("run_id"), str):
        raise ConfigError(f"{path}: not a run manifest (no run_id); the run folder was damaged: "
                          "run the experiment again")
    return manifest


def resolve_run_dir(path: str | Path, results_dir: str | Path = "results") -> Path:
    """Accept a run folder, or a run id under the results folder."""
    candidate = Path(path)
    if (candidate / MANIFEST).exists():
        return candidate
    under = Path(results_dir) / str(path)
    if (under / MANIFEST).exists():
        return under
    raise ConfigError(f"{path}: no run found (expected a run folder holding {MANIFEST}, "
                      f"or a run id under {results_dir}/)")


def records_frame(records: list[dict[str, Any]], manifest: dict[str, Any]) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for record in records:
        row = {k: v for k, v in record.items() if k != "scores"}
        for name, value in (record.get("scores") or {}).items():
            row[f"score_{name}"] = math.nan if value is None else float(value)
        rows.append(row)
    try:
        frame = pd.DataFrame(rows)
    except UnicodeEncodeError:  # a lone surrogate: pandas' strings must be valid UTF-8
        frame = pd.DataFrame([escape_surrogates(row) for row in rows])
    if frame.empty:
        frame = pd.DataFrame(columns=["sample_id", "task", "variant", "model", "item_id",
                                      "epoch", "error", "scoring_error"])
    for scorers in (manifest.get("scorers") or {}).values():
        for scorer in scorers:
            if f"score_{scorer['name']}" not in frame.columns:
                frame[f"score_{scorer['name']}"] = math.nan
    if "scoring_error" not in frame.columns:  # runs written before scoring errors existed
        frame["scoring_error"] = None
    score_cols = [c for c in frame.columns if c.startswith("score_") and c != "score_details"]
    if score_cols:  # a failed call has no score, whatever was written; a scoring error
        # keeps the scores of the scorers that gave them (harness.scoring.stage)
        frame.loc[frame["error"].notna(), score_cols] = math.nan
    if len(records) == len(frame) and frame["scoring_error"].notna().any():
        # Which scores each scoring error took: a name absent from the record's scores
        # (its scorer raised, or the parser did), unlike a name held as None (the scorer did
        # not apply). The statistics count a sample against a metric only for the first.
        names = [c.removeprefix("score_") for c in score_cols]
        frame["scoring_failed"] = [
            tuple(n for n in names if n not in (r.get("scores") or {}))
            if r.get("scoring_error") is not None else None for r in records]
    frame.attrs["manifest"] = manifest
    return frame


def _infer_kinds(frame: pd.DataFrame, manifest: dict[str, Any]) -> None:
    """A scorer whose kind its config did not say (a user's) is pass/fail when every value it
    gave in that task is 0 or 1, else graded: what the statistics would infer anyway, written
    down so the report can say it."""
    from harness.stats.samples import infer_kind

    for task, entries in (manifest.get("scorers") or {}).items():
        for entry in entries if isinstance(entries, list) else []:
            column = f"score_{entry.get('name')}"
            if isinstance(entry, dict) and entry.get("kind") not in ("binary", "graded") \
                    and column in frame.columns:
                entry["kind"] = infer_kind(frame.loc[frame["task"] == task, column])


def load_run(path: str | Path, scoring: str | None = None) -> pd.DataFrame:
    """The samples of a run as a DataFrame, one row per sample, scores as ``score_<name>``.

    The scores are the latest scoring of the run (``harness score`` stores each beside the
    records, ``harness.scoring.versions``), else the run's own; ``scoring`` picks one by id
    (or a unique prefix), ``"run"`` the run's own. ``df.attrs["manifest"]`` holds the run's
    manifest (config, versions, scorer kinds), its ``scoring`` saying which scoring this is.
    """
    from harness.scoring.versions import apply_scoring, expand_scorers

    run_dir = resolve_run_dir(path)
    manifest = read_manifest(run_dir)
    records, manifest = apply_scoring(run_dir, read_records(run_dir), manifest, scoring)
    manifest["scorers"] = expand_scorers(manifest.get("scorers") or {}, records)
    frame = records_frame(records, manifest)
    _infer_kinds(frame, manifest)
    frame.attrs["run_dir"] = str(run_dir)
    return frame
