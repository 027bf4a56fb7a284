"""A judged run, end to end, to the report's judge sections: harness.run with a judge, a
labelled calibration set and pairwise preferences on loopback servers -> write_report. The
judge is perfect (it checks the sum), so every number the sections give is known."""

from __future__ import annotations

import json
from pathlib import Path

from judge_helpers import student, write_experiment

import harness
from harness.report import write_report
from harness.testing.loopback import LoopbackServer


def _calibration(add_task: Path, *, with_labels: bool) -> None:
    rows = []
    for i in range(12):
        rows.append({"id": f"p{i}", "input": f"What is {i} + 1?", "output": f"It is {i + 1}.",
                     "target": str(i + 1), "label": "pass"})
        rows.append({"id": f"f{i}", "input": f"What is {i} + 1?", "output": f"It is {i + 2}.",
                     "target": str(i + 1), "label": "fail"})
    rows.append({"id": "bad", "input": "What is 1 + 1?", "output": "MALFORMED", "target": "2",
                 "label": "pass"})
    if with_labels:
        (add_task / "data" / "calibration.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in rows))
        task = add_task / "task.yaml"
        task.write_text(task.read_text() + "calibration: data/calibration.jsonl\n")


def _report(tmp_path: Path, add_task: Path, *, with_labels: bool) -> str:
    _calibration(add_task, with_labels=with_labels)
    with LoopbackServer(student) as loop:
        judge = f"{{model: openai/gpt-4o, api_base: '{loop.url}/v1'}}"
        exp = write_experiment(tmp_path, loop.url, limit=12, judges=(
            f"judges:\n  - {{name: j, model: {judge}, rubric: correctness}}\n"),
            extra=f"pairwise: {{model: {judge}}}\n")
        harness.run(exp, results_dir=tmp_path / "results", reports_dir=None, quiet=True)
    run_dir = next((tmp_path / "results").iterdir())
    return write_report(run_dir, tmp_path / "reports").read_text()


def test_a_perfect_judge_with_labels_in_the_report(tmp_path: Path, add_task: Path,
                                                   key: str) -> None:
    md = _report(tmp_path, add_task, with_labels=True)
    assert "### Judge `j`: how far to trust it" in md
    assert "against 24 labelled items" in md
    assert "agrees with the label on 100.0%" in md and "Cohen's kappa 1.00" in md
    assert "1 unreadable verdict(s) on labelled items were left out" in md
    # Se = Sp = 1: the corrected rates are the judged ones; sloppy is wrong on odd items
    assert "with Se = 100.0% and Sp = 100.0% measured on 12 labelled passes and 12" in md
    assert "| openai/gpt-4o-mini | good | 100.0 |" in md
    assert "| openai/gpt-4o-mini | sloppy | 50.0 |" in md
    assert "| openai/gpt-4o-mini | good vs sloppy | +50.0" in md
    assert "graded each sample once, so its repeatability is not measured" in md
    # pairwise: good wins the 6 odd items, the 6 even ones are ties -> 75% for good
    assert "| good vs sloppy | 75.0 |" in md
    assert "12 / 0 / 12" in md
    assert "in 50.0% [50.0, 50.0] of 12 decided comparisons" in md
    assert "no position bias detected" in md


def test_without_labels_the_report_says_the_judge_error_is_unmeasured(
        tmp_path: Path, add_task: Path, key: str) -> None:
    md = _report(tmp_path, add_task, with_labels=False)
    assert "The scores of judge `j` carry judge error that this run did not measure" in md
    assert "95% CI (items and judge)" not in md

