"""Baselines: the small file a team commits so CI can tell whether a prompt edit hurt.

A baseline keeps, for each task x variant x model of a run, every item's score on the task's
primary metric (one number per epoch) and one output per item (truncated), so a later check can
pair items and show "before" outputs of the items that flipped. It also records what produced
those scores (each item's sample fingerprint and the short hashes of its ingredients, each
template's sha256, the models, the package version), so the check can say which prompts changed
since, and why. Ingredients shared by a whole cell (its template, parameters...) are written
once per cell. Items are written one per line, so a baseline update reads as
a readable diff in review.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError

if TYPE_CHECKING:
    import pandas as pd

FORMAT = "prompt-harness-baseline"
FORMAT_VERSION = 1
DEFAULT_OUTPUT_CHARS = 400
TRUNCATED = "…[truncated]"
CELL_KEYS = ("task", "variant", "model")


class GateInputError(HarnessError):
    """The gate's input cannot be compared (bad baseline, no shared items): exit code 2."""

    exit_code = 2


class GateRunError(HarnessError):
    """The run did not finish, or too much of it failed, to be judged or kept: exit code 3."""

    exit_code = 3


def require_finished(manifest: dict[str, Any], run_dir: str | Path | None = None) -> None:
    """Refuse a run that stopped, was interrupted or is still running: it cannot be judged."""
    status = manifest.get("status")
    if status in (None, "complete"):
        return
    run_id = manifest.get("run_id", "?")
    source = manifest.get("experiment_file") or "<experiment.yaml>"
    where = f" ({run_dir})" if run_dir else ""
    raise GateRunError(f"run {run_id}{where} did not finish (status: {status}); finish it with "
                       f"'harness run {source} --resume {run_id}', then try again")


def truncate(text: str | None, limit: int) -> str | None:
    """Keep baselines small: long outputs are cut, with a visible marker."""
    if text is None or limit <= 0 or len(text) <= limit:
        return text
    return text[:limit] + TRUNCATED


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


@dataclass
class Baseline:
    """A baseline in memory; ``cells`` maps (task, variant, model) to ``{item_id: entry}``.

    An entry holds ``score`` (a number, or a list with one number per epoch; None where the
    sample errored), ``output`` and, when set, ``cluster`` and ``error``.
    """

    meta: dict[str, Any]
    metrics: dict[str, dict[str, str]]
    cells: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = field(default_factory=dict)
    source: str = ""
    # Per cell: the fingerprint parts (harness.fingerprint) its items share, kept out of items.
    cell_parts: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return str(self.meta.get("run_id", "?"))

    @classmethod
    def from_run(cls, samples: pd.DataFrame, *, max_output_chars: int = DEFAULT_OUTPUT_CHARS,
                 source: str = "", max_error_rate: float | None = None) -> Baseline:
        """Build a baseline from a run's samples (``harness.results.load_run``).

        A run that did not finish, or with a cell whose share of failed samples is above
        ``max_error_rate`` (default: the run's own, else 10%), is refused (exit 3): its cells
        could never be judged against.
        """
        from harness.results import versions
        from harness.stats.samples import resolve_metric

        manifest = samples.attrs.get("manifest") or {}
        require_finished(manifest, samples.attrs.get("run_dir") or source or None)
        if samples.empty:
            raise GateInputError(f"run {manifest.get('run_id', '?')} has no finished samples")
        metrics: dict[str, dict[str, str]] = {}
        cells: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}
        for task in sorted(samples["task"].astype(str).unique()):
            info = resolve_metric(samples, task)
            if info is None:  # pragma: no cover - only with an explicit metric argument
                continue
            metrics[task] = {"name": info.name, "kind": info.kind}
            rows = samples[samples["task"].astype(str) == task]
            _refuse_errors(rows, info.column, manifest, max_error_rate)
            rows = rows.sort_values(["variant", "model", "item_id", "epoch"], kind="stable")
            for (variant, model, item_id), group in rows.groupby(
                    ["variant", "model", "item_id"], sort=False):
                cells.setdefault((task, str(variant), str(model)), {})[str(item_id)] = \
                    _entry(group, info.column, max_output_chars)
        cell_parts = {key: _hoist_parts(items) for key, items in cells.items()}
        meta = {
            "run_id": manifest.get("run_id"),
            "experiment": manifest.get("experiment"),
            "created_from": manifest.get("experiment_file"),
            "config_hash": manifest.get("config_hash"),
            "templates": {name: t.get("sha256") for name, t in
                          (manifest.get("templates") or {}).items()},
            "models": manifest.get("models") or {},
            "package_version": (manifest.get("versions") or {}).get("prompt-harness"),
            "saved_with": versions().get("prompt-harness"),
            "epochs": (manifest.get("config") or {}).get("epochs"),
        }
        return cls(meta=meta, metrics=metrics, cells=cells, source=source,
                   cell_parts={k: v for k, v in cell_parts.items() if v})

    def prompt(self, key: tuple[str, str, str], item_id: str) -> tuple[str | None, dict]:
        """An item's sample fingerprint and its full parts (the cell's shared ones merged in)."""
        entry = self.cells.get(key, {}).get(item_id) or {}
        return entry.get("fp"), {**self.cell_parts.get(key, {}), **(entry.get("parts") or {})}

    @property
    def has_fingerprints(self) -> bool:
        return any("fp" in e for items in self.cells.values() for e in items.values())

    @classmethod
    def load(cls, path: str | Path, *, max_error_rate: float | None = None) -> Baseline:
        """Read a baseline file; a run folder (or run id) works too, as an ad-hoc baseline."""
        path = Path(path)
        if path.is_dir() or (not path.exists() and not path.suffix):
            from harness.results import load_run

            return cls.from_run(load_run(path), source=str(path), max_error_rate=max_error_rate)
        return cls.from_dict(_read_json(path), source=str(path))

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "") -> Baseline:
        where = source or "baseline"
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise GateInputError(f"{where}: not a prompt-harness baseline (no \"format\": "
                                 f"\"{FORMAT}\")")
        if data.get("format_version") != FORMAT_VERSION:
            raise GateInputError(f"{where}: baseline format version {data.get('format_version')}"
                                 f" is not supported (expected {FORMAT_VERSION}); save it again")
        cells: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}
        cell_parts: dict[tuple[str, str, str], dict[str, Any]] = {}
        try:
            for cell in data["cells"]:
                key = (str(cell["task"]), str(cell["variant"]), str(cell["model"]))
                cells[key] = {str(i): dict(e) for i, e in cell["items"].items()}
                if cell.get("parts"):
                    cell_parts[key] = dict(cell["parts"])
            metrics = {str(t): {"name": str(m["name"]), "kind": str(m["kind"])}
                       for t, m in data["metrics"].items()}
            unscored = sorted({task for task, _, _ in cells if task not in metrics})
            if unscored:
                raise ValueError(f"no metric for task {unscored[0]}")
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise GateInputError(f"{where}: malformed baseline ({type(exc).__name__}: {exc})") \
                from None
        meta = {k: v for k, v in data.items()
                if k not in ("format", "format_version", "metrics", "cells")}
        return cls(meta=meta, metrics=metrics, cells=cells, source=source,
                   cell_parts=cell_parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "format_version": FORMAT_VERSION, **self.meta,
            "metrics": self.metrics,
            "cells": [{"task": t, "variant": v, "model": m,
                       **({"parts": self.cell_parts[(t, v, m)]}
                          if self.cell_parts.get((t, v, m)) else {}),
                       "items": items}
                      for (t, v, m), items in self.cells.items()],
        }

    def dumps(self) -> str:
        """JSON with one item per line: compact, and readable as a diff when it changes."""
        data = self.to_dict()
        cells = data.pop("cells")
        lines = ["{"]
        lines += [f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False, sort_keys=True)},"
                  for k, v in data.items()]
        lines.append('  "cells": [')
        for n, cell in enumerate(cells):
            head = {k: cell[k] for k in (*CELL_KEYS, "parts") if k in cell}
            lines.append("    " + json.dumps(head, ensure_ascii=False)[:-1] + ', "items": {')
            entries = list(cell["items"].items())
            for m, (item_id, entry) in enumerate(entries):
                comma = "," if m < len(entries) - 1 else ""
                lines.append(f"      {json.dumps(item_id, ensure_ascii=False)}: "
                             f"{json.dumps(entry, ensure_ascii=False)}{comma}")
            lines.append("    }}" + ("," if n < len(cells) - 1 else ""))
        lines += ["  ]", "}", ""]
        return "\n".join(lines)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        # lossless, as harness.results.JSON_ERRORS: a lone surrogate becomes its JSON escape
        tmp.write_text(self.dumps(), encoding="utf-8", errors="backslashreplace")
        tmp.replace(path)
        return path

    def samples_frame(self) -> pd.DataFrame:
        """The baseline as pseudo-samples, so it goes through the same item reduction as a run."""
        import pandas as pd

        rows = []
        for (task, variant, model), items in self.cells.items():
            column = "score_" + self.metrics[task]["name"]
            for item_id, entry in items.items():
                scores = entry.get("score")
                scores = scores if isinstance(scores, list) else [scores]
                for epoch, score in enumerate(scores):
                    value = _finite(score)
                    error = entry.get("error") if value is None else None
                    rows.append({"task": task, "variant": variant, "model": model,
                                 "item_id": item_id, "epoch": epoch,
                                 "cluster": entry.get("cluster"), "error": error,
                                 "output": entry.get("output"),
                                 column: math.nan if value is None else value})
        frame = pd.DataFrame(rows)
        frame.attrs["manifest"] = {
            "run_id": self.run_id,
            "scorers": {t: [{"name": m["name"], "kind": m["kind"]}] for t, m in
                        self.metrics.items()},
        }
        return frame

    def output(self, key: tuple[str, str, str], item_id: str) -> str | None:
        entry = self.cells.get(key, {}).get(item_id) or {}
        return entry.get("output") if entry.get("output") is not None else entry.get("error")


def _read_json(path: Path) -> Any:
    """A baseline file's JSON; anything unreadable is a GateInputError naming the file."""
    from harness.textfiles import decode

    again = "save it again with 'harness baseline save results/<run-id> --to " + f"{path}'"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise GateInputError(f"{path}: baseline not found; create one with "
                             f"'harness baseline save results/<run-id> --to {path}'") from None
    except OSError as exc:
        raise GateInputError(f"{path}: cannot read the baseline ({exc.strerror or exc})") \
            from None
    try:
        return json.loads(decode(raw, path))
    except HarnessError as exc:  # not UTF-8
        raise GateInputError(f"{exc.args[0]}; a baseline is JSON written by harness: {again}") \
            from None
    except json.JSONDecodeError as exc:
        raise GateInputError(f"{path}:{exc.lineno}: not a valid baseline file (invalid JSON: "
                             f"{exc.msg}); {again}") from None
    except (ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise GateInputError(f"{path}: not a valid baseline file ({reason}); {again}") from None


def _refuse_errors(rows: pd.DataFrame, column: str, manifest: dict[str, Any],
                   limit: float | None) -> None:
    from harness.gate.decide import not_scored

    if limit is None:
        configured = (manifest.get("config") or {}).get("max_error_rate")
        limit = float(configured) if configured is not None else 0.1
    bad = not_scored(rows, column)
    rates = bad.groupby([rows["variant"].astype(str), rows["model"].astype(str)]).mean()
    worst = rates[rates > limit]
    if len(worst):
        (variant, model), rate = next(iter(worst.items()))
        raise GateRunError(
            f"run {manifest.get('run_id', '?')}: {100 * rate:.0f}% of the samples of "
            f"{rows['task'].iloc[0]} / {variant} / {model} failed (above max_error_rate "
            f"{100 * limit:g}%); a baseline must be scored: fix the errors and run again, or "
            "pass --max-error-rate to accept it")


def _entry(group: pd.DataFrame, column: str, max_output_chars: int) -> dict[str, Any]:
    """One item of one cell: its score per epoch, one output, its cluster and any error."""
    errors = [_text(e) for e in group["error"]] if "error" in group else [None] * len(group)
    if "scoring_error" in group:  # an answer with no score here is excluded the same way; a
        # scoring error of another scorer leaves this score standing (harness.scoring.stage)
        errors = [e or (_text(s) if _finite(v) is None else None)
                  for e, s, v in zip(errors, group["scoring_error"], group[column], strict=True)]
    scores = [None if err else _finite(s) for s, err in zip(group[column], errors, strict=True)]
    entry: dict[str, Any] = {"score": scores[0] if len(scores) == 1 else scores}
    outputs = [_text(o) for o, err in zip(group.get("output", [None] * len(group)), errors,
                                         strict=True) if not err]
    entry["output"] = truncate(next((o for o in outputs if o is not None), None),
                               max_output_chars)
    cluster = next((_text(c) for c in group.get("cluster", []) if _text(c)), None)
    if cluster is not None:
        entry["cluster"] = cluster
    first_error = next((e for e in errors if e), None)
    if first_error:
        entry["error"] = truncate(first_error, 200)
    # What the item's prompt was (the same for every epoch): the gate names changed prompts.
    fingerprint = next((_text(f) for f in group.get("fingerprint", []) if _text(f)), None)
    if fingerprint is not None:
        entry["fp"] = fingerprint
        parts = next((p for p in group.get("prompt_parts", []) if isinstance(p, dict)), None)
        if parts:
            entry["parts"] = dict(parts)
    return entry


def _hoist_parts(items: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Move the parts every item of a cell shares (template, parameters...) to the cell."""
    parts = [e.get("parts") for e in items.values()]
    if not parts or not all(parts):
        return {}
    shared = {k: v for k, v in parts[0].items()
              if k != "fields" and all(p.get(k) == v for p in parts[1:])}
    for entry in items.values():
        entry["parts"] = {k: v for k, v in entry["parts"].items() if k not in shared}
        if not entry["parts"]:
            del entry["parts"]
    return shared


def save_baseline(run: str | Path, to: str | Path, *,
                  max_output_chars: int = DEFAULT_OUTPUT_CHARS,
                  max_error_rate: float | None = None) -> Path:
    """``harness baseline save``: a run folder (or id) to a baseline file."""
    from harness.results import load_run

    samples = load_run(run)
    return Baseline.from_run(samples, max_output_chars=max_output_chars, source=str(run),
                             max_error_rate=max_error_rate).save(to)
