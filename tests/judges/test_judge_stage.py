"""Judges in the scoring stage: a judge listed in a task file, and ``harness score`` adding
the experiment's judges to a finished run without calling its models again."""

from __future__ import annotations

from pathlib import Path

from judge_helpers import student, write_experiment

import harness
from harness.results import read_manifest
from harness.testing.loopback import LoopbackServer


def test_a_judge_listed_in_the_task_file(tmp_path: Path, add_task: Path, key: str) -> None:
    with LoopbackServer(student) as loop:
        task = add_task / "task.yaml"
        task.write_text(task.read_text().replace(
            "scorers: [numeric, exact_match]",
            f"scorers: [numeric, {{name: correct, judge: {{model: openai/gpt-4o, "
            f"api_base: '{loop.url}/v1'}}, rubric: correctness}}]"))
        exp = write_experiment(tmp_path, loop.url, judges="")
        samples = harness.run(exp, results_dir=tmp_path / "results", reports_dir=None,
                              quiet=True)
    assert samples["scoring_error"].isna().all()
    assert samples["score_correct"].tolist() == samples["score_numeric"].tolist()
    usage = read_manifest(Path(samples.attrs["run_dir"]))["judge_usage"]
    assert usage["correct"]["calls"] == 12


def test_harness_score_adds_a_judge_to_a_finished_run(tmp_path: Path, add_task: Path,
                                                      key: str) -> None:
    with LoopbackServer(student) as loop:
        exp = write_experiment(tmp_path, loop.url, judges="")
        first = harness.run(exp, results_dir=tmp_path / "results", reports_dir=None,
                            quiet=True)
        assert "score_correct" not in first.columns
        under_test = len(loop.received)
        exp.write_text(exp.read_text() + (
            f"judges:\n  - {{name: correct, model: {{model: openai/gpt-4o, api_base: "
            f"'{loop.url}/v1'}}, rubric: correctness}}\n"))
        rescored = harness.score(first.attrs["run_dir"], results_dir=tmp_path / "results")
        judged = [r for r in loop.received[under_test:]]
    # Only the judge was called: once per sample whose answer it had not seen.
    assert judged and all("[Response]" in r.messages[-1]["content"] for r in judged)
    assert rescored["score_correct"].tolist() == rescored["score_numeric"].tolist()
    assert rescored["score_correct"].sum() == 9
