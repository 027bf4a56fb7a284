"""What the judges left in a run folder beside the samples: ``calibration.jsonl`` (a judge's
verdicts on human-labelled items) and ``pairwise.jsonl`` (preferences between variants).

Both are optional; a run without judges has neither. A line that is not a JSON object is a
damaged file and is refused naming the file and line, like a damaged ``samples.jsonl``; a torn
last line (a process killed mid-write) is ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from harness.errors import ConfigError

CALIBRATION = "calibration.jsonl"
PAIRWISE = "pairwise.jsonl"


@dataclass(frozen=True)
class JudgeData:
    """A run's calibration and pairwise rows (None when the run has none)."""

    calibration: pd.DataFrame | None = None
    pairwise: pd.DataFrame | None = None


def read_rows(path: Path, needed: tuple[str, ...]) -> pd.DataFrame | None:
    """The rows of one judge file, or None when there is no such file or it is empty."""
    if not path.exists():
        return None
    rows = []
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            if not raw.endswith(b"\n"):
                break  # torn write from a killed process
            try:
                row = json.loads(raw.decode("utf-8"))
            except ValueError:
                raise ConfigError(f"{path}:{number}: not a JSON row; the file was damaged: "
                                  "judge the run again (harness score)") from None
            missing = [k for k in needed if not isinstance(row, dict) or k not in row]
            if missing:
                raise ConfigError(f"{path}:{number}: row has no {missing[0]}; the file was "
                                  "damaged: judge the run again (harness score)")
            rows.append(row)
    return pd.DataFrame(rows) if rows else None


def load_judge_data(run_dir: str | Path) -> JudgeData:
    run = Path(run_dir)
    return JudgeData(
        calibration=read_rows(run / CALIBRATION, ("task", "judge", "id", "verdict", "label")),
        pairwise=read_rows(run / PAIRWISE, ("task", "model", "item_id", "judge", "variant_a",
                                            "variant_b", "shown_first", "winner")))
