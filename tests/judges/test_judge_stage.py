"""Judges in the scoring stage: a judge listed in a task file, and ``harness score`` adding
the experiment's judges to a finished run without calling its models again."""

from __future__ import annotations

from pathlib import Path

import pytest
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
    import json

    from harness.scoring.versions import list_scorings

    labels = add_task / "data" / "labels.jsonl"
    labels.write_text(json.dumps({"id": "c1", "input": "What is 1 + 1?", "output": "It is 2.",
                                  "target": "2", "label": "pass"}) + "\n")
    task = add_task / "task.yaml"
    task.write_text(task.read_text() + "calibration: data/labels.jsonl\n")
    with LoopbackServer(student) as loop:
        exp = write_experiment(tmp_path, loop.url, judges="")
        first = harness.run(exp, results_dir=tmp_path / "results", reports_dir=None,
                            quiet=True)
        run_dir = Path(first.attrs["run_dir"])
        assert "score_correct" not in first.columns
        assert not (run_dir / "pairwise.jsonl").exists()
        under_test = len(loop.received)
        exp.write_text(exp.read_text() + (
            f"judges:\n  - {{name: correct, model: {{model: openai/gpt-4o, api_base: "
            f"'{loop.url}/v1'}}, rubric: correctness}}\npairwise: {{judge: correct}}\n"))
        rescored = harness.score(run_dir, results_dir=tmp_path / "results")
        judged = loop.received[under_test:]
    # Only the judge was called: no model under test answered again.
    assert judged and all("[Response" in r.messages[-1]["content"] for r in judged)
    assert rescored["score_correct"].tolist() == rescored["score_numeric"].tolist()
    assert rescored["score_correct"].sum() == 9
    pairs = [json.loads(x) for x in (run_dir / "pairwise.jsonl").read_text().splitlines()]
    assert len(pairs) == 12 and {p["shown_first"] for p in pairs} == {"a", "b"}
    labelled = [json.loads(x) for x in (run_dir / "calibration.jsonl").read_text().splitlines()]
    assert [(r["id"], r["verdict"], r["label"]) for r in labelled] == [("c1", 1.0, 1)]
    usage = list_scorings(run_dir)[-1]["judge_usage"]
    assert usage["correct"]["calls"] == 12 + 1 and usage["pairwise"]["calls"] == 12


def test_harness_score_stops_on_a_rubric_error_before_any_call(
        tmp_path: Path, add_task: Path, key: str) -> None:
    from harness.errors import ConfigError

    rubric = tmp_path / "rubrics" / "fussy.j2"
    rubric.parent.mkdir()
    # Fails on the answer to item t4 (4 + 9 = 13): only the recorded outputs tell, so it is
    # the re-scoring's rendering of every prompt before its first call that catches it.
    rubric.write_text("{{ role('user') }}\n{{ output }}\n"
                      "{% if output.endswith('13.') %}{{ item.missing }}{% endif %}\n"
                      "{{ verdict }}\n")
    with LoopbackServer(student) as loop:
        exp = write_experiment(tmp_path, loop.url, judges="")
        first = harness.run(exp, results_dir=tmp_path / "results", reports_dir=None,
                            quiet=True)
        before = len(loop.received)
        exp.write_text(exp.read_text() + (
            f"judges:\n  - {{name: fussy, model: {{model: openai/gpt-4o, api_base: "
            f"'{loop.url}/v1'}}, rubric: fussy}}\n"))
        with pytest.raises(ConfigError) as caught:
            harness.score(first.attrs["run_dir"], results_dir=tmp_path / "results")
        assert len(loop.received) == before  # not one judge call
    assert str(caught.value).startswith(f"{rubric.resolve()}:3: ")
    assert "judge 'fussy', task add, item t4" in str(caught.value)
