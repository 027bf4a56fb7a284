"""Judge settings are checked before anything is paid for: at load (one line naming file,
line and key), and by rendering every judge prompt before the first call of the run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from judge_helpers import student, write_experiment

import harness
from harness.config import load_experiment
from harness.errors import ConfigError
from harness.testing.loopback import LoopbackServer

URL = "http://127.0.0.1:9"  # never called: these configs must fail before any call


def _load(tmp_path: Path, judges: str, **kw) -> Path:  # type: ignore[no-untyped-def]
    return write_experiment(tmp_path, URL, judges=judges, **kw)


@pytest.mark.parametrize(("judges", "line", "message"), [
    ("judges:\n  - {name: j, model: openai/gpt-4o, rubric: helpfullness}\n", 9,
     r"jexp.yaml:9: judges\[0\].rubric: no rubric named 'helpfullness'"),
    ("judges:\n  - {name: j, model: openai/gpt-4o, rubric: correctness, grade: 1-1}\n", 9,
     r"judges\[0\].grade: grade scale '1-1' must go up"),
    ("judges:\n  - {name: j, model: openai/gpt-4o, rubric: correctness, grade: stars}\n", 9,
     r"judges\[0\].grade: grade must be pass_fail, score \(0-1\) or a scale"),
    ("judges:\n  - {name: j, model: openai/gpt-4o, rubric: correctness, epochs: 3}\n", 9,
     r"judges\[0\].epochs: epochs: 3 .* temperature 0 gives the same verdict"),
    ("judges:\n  - {name: j, model: openai/gpt-4o, rubric: correctness}\n"
     "  - {name: j, model: openai/gpt-4o, rubric: helpfulness}\n", 10,
     r"judges\[1\].name: judge names must be unique; repeated: j"),
    ("judges:\n  - {name: j, model: gpt-4o, rubric: correctness}\n", 9,
     r"judges\[0\].model.model: 'gpt-4o' has no provider prefix"),
    ("judges:\n  - {name: j, modle: openai/gpt-4o, rubric: correctness}\n", 9,
     r"judges\[0\].modle: unknown key; did you mean 'model'\?"),
    ("pairwise: {judge: nobody}\n", 8, r"pairwise.judge: no judge named 'nobody'"),
    ("pairwise: {model: openai/gpt-4o, variants: [good, cot]}\n", 8,
     r"pairwise.variants\[1\]: no variant named 'cot' \(variants: good, sloppy\)"),
    ("pairwise: {variants: [good, sloppy]}\n", 8, r"pairwise.*needs a judge model"),
])
def test_bad_judge_settings_are_one_line_at_load(tmp_path: Path, judges: str, line: int,
                                                 message: str) -> None:
    path = _load(tmp_path, judges)
    with pytest.raises(ConfigError, match=message) as caught:
        load_experiment(path)
    assert caught.value.line == line and "\n" not in str(caught.value)


def test_a_rubric_reading_an_unknown_variable_is_refused_at_load(tmp_path: Path) -> None:
    rubric = tmp_path / "rubrics" / "mine.j2"
    rubric.parent.mkdir()
    rubric.write_text("Question: {{ input }}\nAnswer: {{ ouput }}\n{{ verdict }}\n")
    path = _load(tmp_path, "judges:\n  - {name: j, model: openai/gpt-4o, rubric: mine}\n")
    with pytest.raises(ConfigError) as caught:
        load_experiment(path)
    assert str(caught.value).startswith(f"{rubric.resolve()}:2: rubric uses the variable "
                                        "'ouput'")
    assert "did you mean 'output'?" in str(caught.value)


def test_a_rubric_syntax_error_names_its_line(tmp_path: Path) -> None:
    rubric = tmp_path / "broken.j2"
    rubric.write_text("Question: {{ input }}\n{% if output %}\nno end\n")
    path = _load(tmp_path, "judges:\n  - {name: j, model: openai/gpt-4o, rubric: broken.j2}\n")
    with pytest.raises(ConfigError, match=r"broken.j2:\d+: .*(endif|end of template)"):
        load_experiment(path)


def test_a_rubric_outside_the_project_is_refused(tmp_path: Path,
                                                 tmp_path_factory: pytest.TempPathFactory
                                                 ) -> None:
    outside = tmp_path_factory.mktemp("elsewhere") / "r.j2"
    outside.write_text("{{ output }} {{ verdict }}")
    project = tmp_path / "proj"
    (project / "tasks").mkdir(parents=True)
    path = _load(project, f"judges:\n  - {{name: j, model: openai/gpt-4o, rubric: '{outside}'}}\n")
    with pytest.raises(ConfigError, match=r"judges\[0\].rubric: .* is outside the project"):
        load_experiment(path)


def test_a_rubric_that_fails_on_an_item_stops_the_run_before_any_call(
    tmp_path: Path, add_task: Path, key: str,
) -> None:
    rubric = tmp_path / "rubrics" / "strict.j2"
    rubric.parent.mkdir()
    # Item t3 has no 'note' field: the rubric cannot render for it.
    rubric.write_text("{{ role('user') }}\nQ: {{ input }}\nA: {{ output }}\n"
                      "{% if item.a == 3 %}Note: {{ item.note }}{% endif %}\n{{ verdict }}\n")
    with LoopbackServer(student) as loop:
        exp = write_experiment(tmp_path, loop.url, judges=(
            f"judges:\n  - {{name: j, model: {{model: openai/gpt-4o, api_base: '{loop.url}/v1'}},"
            " rubric: strict}\n"))
        with pytest.raises(ConfigError) as caught:
            harness.run(exp, results_dir=tmp_path / "results", reports_dir=None, quiet=True)
        assert loop.stats()["requests"] == 0  # not the models under test, not the judge
    message = str(caught.value)
    assert message.startswith(f"{rubric.resolve()}:4: ") and "note" in message
    assert "judge 'j', task add, item t3" in message
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").iterdir())


def test_a_judge_name_that_is_a_task_scorer_is_refused(tmp_path: Path, add_task: Path,
                                                        key: str) -> None:
    exp = _load(tmp_path, "judges:\n  - {name: numeric, model: openai/gpt-4o, "
                          "rubric: correctness}\n")
    with pytest.raises(ConfigError, match=r"jexp.yaml:9: judges\[0\].name: task 'add' already "
                                          r"has a scorer named 'numeric'"):
        harness.run(exp, results_dir=tmp_path / "results", reports_dir=None, quiet=True)


def test_a_hosted_judge_without_its_key_is_refused_before_the_run(
    tmp_path: Path, add_task: Path, key: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    with LoopbackServer(student) as loop:
        exp = write_experiment(tmp_path, loop.url, judges=(
            "judges:\n  - {name: j, model: gemini/gemini-1.5-flash, rubric: correctness}\n"))
        with pytest.raises(ConfigError, match=r"judges\[0\].model.*GEMINI_API_KEY"):
            harness.run(exp, results_dir=tmp_path / "results", reports_dir=None, quiet=True)
        assert loop.stats()["requests"] == 0


def test_the_cli_reports_a_judge_error_on_one_line_with_exit_2(tmp_path: Path,
                                                              add_task: Path) -> None:
    exp = _load(tmp_path, "judges:\n  - {name: j, model: openai/gpt-4o, rubric: nosuch}\n")
    done = subprocess.run([sys.executable, "-m", "harness", "run", str(exp), "--results-dir",
                           str(tmp_path / "r")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "judges[0].rubric: no rubric named 'nosuch'" in lines[0]


def _calibration_task(add_task: Path, rows: list[dict]) -> None:
    path = add_task / "data" / "calibration.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    task = add_task / "task.yaml"
    task.write_text(task.read_text() + "calibration: data/calibration.jsonl\n")


def test_calibration_rows_are_graded_by_each_judge(tmp_path: Path, add_task: Path,
                                                   key: str) -> None:
    rows = [
        {"id": "c1", "input": "What is 2 + 2?", "output": "It is 4.", "target": "4",
         "label": "pass"},
        {"id": "c2", "input": "What is 2 + 3?", "output": "It is 6.", "target": "5",
         "label": "fail"},
        # A human said pass, the (perfect) judge disagrees: kept as it is, not corrected.
        {"id": "c3", "input": "What is 1 + 1?", "output": "It is 3.", "target": "2", "label": 1},
        {"id": "c4", "input": "What is 1 + 2?", "output": "MALFORMED", "target": "3",
         "label": 0},
    ]
    _calibration_task(add_task, rows)
    with LoopbackServer(student) as loop:
        exp = write_experiment(tmp_path, loop.url, limit=2, judges=(
            f"judges:\n  - {{name: j, model: {{model: openai/gpt-4o, api_base: '{loop.url}/v1'}},"
            " rubric: correctness}\n"))
        harness.run(exp, results_dir=tmp_path / "results", reports_dir=None, quiet=True)
    run_dir = next((tmp_path / "results").iterdir())
    graded = {r["id"]: r for r in map(json.loads,
                                      (run_dir / "calibration.jsonl").read_text().splitlines())}
    assert set(graded) == {"c1", "c2", "c3", "c4"}
    assert [(graded[i]["verdict"], graded[i]["label"]) for i in ("c1", "c2", "c3")] == [
        (1.0, 1), (0.0, 0), (0.0, 1)]
    for row in graded.values():
        assert row["task"] == "add" and row["judge"] == "j" and row["judge_epoch"] == 0
    assert graded["c4"]["verdict"] is None and "VerdictError" in graded["c4"]["error"]
    assert graded["c2"]["explanation"].startswith("The response says")


def test_a_bad_calibration_label_names_its_line(tmp_path: Path, add_task: Path,
                                                key: str) -> None:
    _calibration_task(add_task, [
        {"id": "c1", "input": "q", "output": "a", "label": "pass"},
        {"id": "c2", "input": "q", "output": "a", "label": "maybe"},
    ])
    exp = _load(tmp_path, "judges:\n  - {name: j, model: {model: openai/gpt-4o, api_base: "
                          f"'{URL}/v1'}}, rubric: correctness}}\n")
    with pytest.raises(ConfigError, match=r"calibration.jsonl:2: label 'maybe' is not pass/fail"):
        harness.run(exp, results_dir=tmp_path / "results", reports_dir=None, quiet=True)
