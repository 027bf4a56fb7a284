"""Calibration rows: human-labelled examples that each judge grades, to measure the judge.

A task names them with ``calibration: <file>.jsonl`` (path relative to the task file), rows
``{id, input, output, target?, context?, label}`` with ``label`` pass/fail (or 1/0, true/
false). Each judge of the task grades every row with its rubric, as if the row were a sample
(its extra fields are the rubric's ``item``), and the run folder gets ``calibration.jsonl``,
one row per judge, row and judge epoch::

    {task, judge, id, judge_epoch, verdict (0/1 or 0-1), label (0/1), explanation, raw,
     cached, error}

``verdict`` is null, and ``error`` says why, when the judge's answer held no readable
verdict: agreement statistics (``harness.stats``) must skip such rows, never count them as a
disagreement or an agreement.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.judges.grader import RubricJudge
from harness.judges.verdicts import VerdictError, parse_verdict
from harness.scoring.record import Passage, SampleRecord

CALIBRATION_FILE = "calibration.jsonl"
_PASS = {"pass": 1, "fail": 0, "1": 1, "0": 0, "true": 1, "false": 0, "yes": 1, "no": 0}
_REQUIRED = ("id", "input", "output", "label")


@dataclass(frozen=True)
class CalibrationRow:
    task: str
    id: str
    label: int
    record: SampleRecord


def label_of(value: Any) -> int | None:
    """1 (pass) or 0 (fail), or None when ``value`` is neither."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)) and value in (0, 1):
        return int(value)
    if isinstance(value, str):
        return _PASS.get(value.strip().lower())
    return None


def load_calibration(task: str, path: Path) -> list[CalibrationRow]:
    """The rows of a calibration file; a ConfigError naming its line for a bad row."""
    from harness.datafiles import read_rows

    rows: list[CalibrationRow] = []
    seen: dict[str, int] = {}
    for line, row in read_rows(path):
        missing = [k for k in _REQUIRED if row.get(k) is None or row.get(k) == ""]
        if missing:
            raise ConfigError(f"calibration row has no {missing[0]} (each row needs "
                              f"{', '.join(_REQUIRED)}; target and context are optional)",
                              file=path, line=line)
        label = label_of(row["label"])
        if label is None:
            raise ConfigError(f"label {row['label']!r} is not pass/fail (or 1/0)", file=path,
                              line=line)
        item_id = str(row["id"])
        if item_id in seen:
            raise ConfigError(f"id {item_id!r} is used twice (first on line {seen[item_id]})",
                              file=path, line=line)
        seen[item_id] = line
        context = row.get("context")
        passages = (Passage(doc_id="context", chunk_id="context", score=1.0,
                            text=str(context)),) if context else ()
        fields = {k: v for k, v in row.items() if k != "label"}
        record = SampleRecord(
            run_id="", sample_id=f"calibration/{task}/{item_id}", task=task,
            variant="calibration", model="calibration", model_id="calibration",
            item_id=item_id, epoch=0, input=str(row["input"]),
            target="" if row.get("target") is None else str(row["target"]),
            output=str(row["output"]), answer=str(row["output"]), retrieved=passages,
            fields=fields)
        rows.append(CalibrationRow(task=task, id=item_id, label=label, record=record))
    return rows


async def grade_rows(judge: RubricJudge, rows: Sequence[CalibrationRow],
                     concurrency: int) -> list[dict[str, Any]]:
    """``judge``'s verdicts on every row: one output row per row and judge epoch."""
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(row: CalibrationRow) -> list[dict[str, Any]]:
        async with gate:
            messages = judge.messages(row.record)
            answers = await asyncio.gather(*(
                judge.ask(judge.model, messages, None, epoch=e, judge=judge.name)
                for e in range(judge.epochs)), return_exceptions=True)
        return [_row(judge, row, epoch, answer) for epoch, answer in enumerate(answers)]

    done = await asyncio.gather(*(one(r) for r in rows))
    return [out for rows_ in done for out in rows_]


def _row(judge: RubricJudge, row: CalibrationRow, epoch: int, answer: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"task": row.task, "judge": judge.name, "judge_model": judge.model.model,
                           "id": row.id, "judge_epoch": epoch, "verdict": None,
                           "label": row.label, "explanation": None, "raw": None,
                           "grade": judge.grade.label, "cached": None, "error": None}
    if isinstance(answer, BaseException):
        if not isinstance(answer, Exception):
            raise answer
        from harness.runner import short_error

        out["error"] = short_error(answer)
        return out
    out["cached"] = answer.cached
    try:
        verdict = parse_verdict(answer.text, judge.grade)
    except VerdictError as exc:
        out.update(error=f"VerdictError: {exc}", explanation=answer.text)
        return out
    out.update(verdict=verdict.value, explanation=verdict.explanation, raw=verdict.raw)
    return out
