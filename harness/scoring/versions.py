"""Score versions: which parser and scorer settings produced a run's scores.

A run's own scores sit in ``samples.jsonl``, written as the samples finished, under the
scoring the manifest names (``manifest["scoring"]``). ``harness score`` adds scorings beside
it, never touching the records: ``scores/<scoring-id>.jsonl`` (one line per sample:
``sample_id``, ``answer``, ``scores``, ``scoring_error``, ``score_details``) and
``scores/<scoring-id>.json`` (its settings, scorers and time), the manifest written last so a
half-written scoring is never read. The scoring id is a hash of the settings: every task's
scorer entries (with a user module's source digest) and every variant's parser chain, so the
same settings give the same id and any change gives a new one.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.errors import ConfigError

SCORES_DIR = "scores"
ORIGINAL = "run"  # what ``load_run(..., scoring=...)`` calls the run's own scoring


def scoring_settings(tasks: dict[str, Any], variants: dict[str, Any]) -> dict[str, Any]:
    """The settings that decide every score: per task, its scorers, choices and each
    variant's parser chain (``tasks``/``variants``: ``harness.plan`` TaskPlans/VariantPlans)."""
    from harness.scoring.registry import describe_spec

    out: dict[str, Any] = {}
    for name, task in tasks.items():
        source = Path(task.config.source)
        out[name] = {
            "scorers": [describe_spec(s, source) for s in task.scorers],
            "choices": list(task.config.choices or []),
            "parsers": {v: [[step, args] for step, args in plan.parser_steps.get(name, [])]
                        for v, plan in variants.items()},
        }
    return {"tasks": out}


def scoring_id(settings: dict[str, Any]) -> str:
    text = json.dumps(settings, sort_keys=True, default=str, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def manifest_scorers(tasks: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Per task, its scorers as the statistics read them: name, kind (binary, graded, or None
    to be inferred from the values) and type."""
    return {name: [{"name": s.name, "kind": s.kind, "type": s.type} for s in task.scorers]
            for name, task in tasks.items()}


def describe(tasks: dict[str, Any], variants: dict[str, Any]) -> dict[str, Any]:
    """The manifest entry of a scoring: its id and the settings it hashes."""
    settings = scoring_settings(tasks, variants)
    return {"id": scoring_id(settings), "settings": settings}


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
        fh.write(text)
    os.replace(tmp, path)


def write_scoring(run_dir: Path, scoring: dict[str, Any], scorers: dict[str, Any],
                  rows: list[dict[str, Any]], *, note: str = "harness score",
                  extra: dict[str, Any] | None = None) -> Path:
    """Store one scoring of a run beside its records; returns the scores file. ``extra``
    adds keys to its manifest (the judges' usage, ``judge_usage``)."""
    from harness.redaction import redact
    from harness.results import _jsonable, now, write_json_atomic

    folder = run_dir / SCORES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{scoring['id']}.jsonl"
    lines = [redact(json.dumps(row, ensure_ascii=False, default=_jsonable)) for row in rows]
    _write_atomic(path, "".join(line + "\n" for line in lines))
    write_json_atomic(folder / f"{scoring['id']}.json", {
        "id": scoring["id"], "created_at": now(), "created_ns": time.time_ns(), "by": note,
        "settings": scoring.get("settings"), "scorers": scorers, "samples": len(rows),
        "scored": sum(1 for r in rows if r.get("scores") and r.get("scoring_error") is None),
        "scoring_errors": sum(1 for r in rows if r.get("scoring_error") is not None),
        **(extra or {}),
    })
    return path


def list_scorings(run_dir: Path) -> list[dict[str, Any]]:
    """The stored scorings of a run, oldest first (a scoring whose manifest is unreadable is
    skipped: it was never finished)."""
    folder = run_dir / SCORES_DIR
    found = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(meta, dict) and isinstance(meta.get("id"), str) and \
                (folder / f"{meta['id']}.jsonl").is_file():
            found.append(meta)
    return sorted(found, key=lambda m: (int(m.get("created_ns") or 0), m["id"]))


def choose(run_dir: Path, manifest: dict[str, Any], which: str | None) -> dict[str, Any] | None:
    """The stored scoring ``which`` names (an id or a unique prefix of one; ``run`` for the
    run's own scores), the latest when None; None means the run's own scores."""
    stored = list_scorings(run_dir)
    if which is None:
        return stored[-1] if stored else None
    own = (manifest.get("scoring") or {}).get("id")
    if which in (ORIGINAL, "original"):
        return None
    matches = [m for m in stored if m["id"].startswith(which)]
    if len(matches) == 1:
        return matches[0]
    if not matches and own and own.startswith(which):
        return None
    ids = [ORIGINAL + (f" ({own})" if own else "")] + [m["id"] for m in stored]
    problem = "matches several" if matches else "is not one"
    raise ConfigError(f"{run_dir}: scoring '{which}' {problem} of this run's scorings "
                      f"({', '.join(ids)}); give one of them")


def read_rows(run_dir: Path, scoring_id_: str) -> dict[str, dict[str, Any]]:
    path = run_dir / SCORES_DIR / f"{scoring_id_}.jsonl"
    rows: dict[str, dict[str, Any]] = {}
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                row = json.loads(raw.decode("utf-8"))
            except ValueError:
                raise ConfigError(f"{path}:{number}: not a score row; the file was damaged: "
                                  "run harness score again") from None
            if isinstance(row, dict) and isinstance(row.get("sample_id"), str):
                rows[row["sample_id"]] = row
    return rows


SCORED_FIELDS = ("answer", "scores", "scoring_error", "score_details")


def apply_scoring(run_dir: Path, records: list[dict[str, Any]], manifest: dict[str, Any],
                  which: str | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``records`` with the chosen scoring's answers and scores in place of their own, and a
    manifest whose ``scorers`` and ``scoring`` say which scoring that is (the report prints
    it). A sample that finished after that scoring was made (a resumed run) is not in it: it
    gets a scoring error saying so, rather than mixing two scorings in one table."""
    meta = choose(run_dir, manifest, which)
    manifest = dict(manifest)
    own = dict(manifest.get("scoring") or {})
    if meta is None:
        manifest["scoring"] = {"id": own.get("id") or ORIGINAL, "by": "harness run",
                               "created_at": manifest.get("started_at"),
                               "source": "samples.jsonl"}
        return records, manifest
    rows = read_rows(run_dir, meta["id"])
    out = []
    for record in records:
        row = rows.get(record["sample_id"])
        merged = {k: v for k, v in record.items() if k not in SCORED_FIELDS}
        if row is not None:
            merged.update({k: row.get(k) for k in SCORED_FIELDS if k in row})
            merged.setdefault("scores", {})
        else:
            merged.update(answer=None, scores={}, scoring_error=(
                f"not in scoring {meta['id']} (the sample finished after it was made); run "
                "harness score again"))
        out.append(merged)
    manifest["scorers"] = meta.get("scorers") or manifest.get("scorers") or {}
    manifest["scoring"] = {"id": meta["id"], "by": meta.get("by", "harness score"),
                           "created_at": meta.get("created_at"),
                           "source": f"{SCORES_DIR}/{meta['id']}.jsonl",
                           "run_scoring": own.get("id") or ORIGINAL,
                           **({"judge_usage": meta["judge_usage"]}
                              if meta.get("judge_usage") else {})}
    return out, manifest


def expand_scorers(scorers: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    """A user scorer that returns several named scores appears in the manifest under its own
    name, which no sample carries; put the names its samples do carry in its place (in the
    order first seen), so the statistics and the report find them."""
    seen: dict[str, list[str]] = {}
    for record in records:
        names = seen.setdefault(str(record.get("task")), [])
        for name in record.get("scores") or {}:
            if name not in names:
                names.append(name)
    out: dict[str, Any] = {}
    for task, entries in (scorers or {}).items():
        if not isinstance(entries, list):
            out[task] = entries
            continue
        observed = seen.get(task, [])
        claimed = {e.get("name") for e in entries if isinstance(e, dict)}
        unclaimed = [n for n in observed if n not in claimed]
        expanded: list[Any] = []
        for entry in entries:
            multi = (isinstance(entry, dict) and entry.get("type") not in (None, "string")
                     and entry.get("name") not in observed and unclaimed)
            if multi:
                expanded += [{"name": n, "kind": entry.get("kind"), "type": entry.get("type"),
                              "from": entry.get("name")} for n in unclaimed]
                unclaimed = []
            else:
                expanded.append(entry)
        out[task] = expanded
    return out
