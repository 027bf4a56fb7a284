"""``harness check`` end to end against a deterministic loopback model (no network).

Each test runs the real CLI in-process (``harness.cli.main``), so LiteLLM is imported once.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gate_helpers import N_ITEMS, NOISY_RIGHT, NOISY_WRONG, GateProject

from harness.cli import main


def _baseline(project: GateProject, capsys: pytest.CaptureFixture[str], **kwargs: object) -> Path:
    """Run the unedited experiment and save it as the baseline, as a team would."""
    from harness.api import run

    samples = run(project.experiment(**kwargs), reports_dir=None, quiet=True)
    path = project.root / "results" / "baselines" / "toy.json"
    assert main(["baseline", "save", samples.attrs["run_dir"], "--to", str(path)]) == 0
    assert "baseline saved" in capsys.readouterr().out
    return path


def _check(project: GateProject, baseline: Path, *extra: str, fewshot: str = "fewshot",
           limit: int | None = None) -> int:
    exp = project.experiment(fewshot=fewshot, limit=limit)
    return main(["check", str(exp), "--baseline", str(baseline), "--no-report", "--quiet",
                 "--json", "check.json", "--junit", "report.xml", "--summary", "summary.md",
                 *extra])


def test_dropping_the_instruction_fails_and_names_the_items(
        project: GateProject, capsys: pytest.CaptureFixture[str]) -> None:
    baseline = _baseline(project, capsys)
    code = _check(project, baseline, fewshot="fewshot_no_instruction")
    out = capsys.readouterr().out
    assert code == 1, out
    assert "REGRESSION  toy / few-shot / loop" in out
    assert "the template of variant `few-shot` changed" in out
    result = json.loads(Path("check.json").read_text())
    cells = {c["variant"]: c for c in result["cells"]}
    bad, good = cells["few-shot"], cells["zero-shot"]
    assert bad["regression"] and bad["status"] == "fail" and not good["regression"]
    expected_right = [i for i in range(N_ITEMS) if i % 5]
    assert bad["n_pairs"] == N_ITEMS and bad["mean_baseline"] == pytest.approx(0.8)
    assert bad["mean_current"] == 0.0 and bad["diff"] == pytest.approx(-0.8)
    assert bad["ci_low"] <= -0.8 <= bad["ci_high"] < 0 and bad["p_adjusted"] < 1e-6
    assert bad["test"].startswith("Tango score test at the margin, exact")
    flipped = sorted(f["item_id"] for f in bad["worse"])
    assert flipped == [f"r{i:03d}" for i in expected_right]  # exactly the items it now misses
    first = bad["worse"][0]
    assert first["output_before"] == first["target"] != first["output_after"]
    assert f"{len(expected_right)} item(s) went from right to wrong" in out
    # unchanged, but 40 items cannot show it is within 2 points: inconclusive, not a pass
    assert good["status"] == "inconclusive" and good["diff"] == 0
    assert result["exit_code"] == 1 and result["passed"] is False


def test_an_edit_that_changes_nothing_passes_from_the_cache(
        project: GateProject, capsys: pytest.CaptureFixture[str], loopback: object) -> None:
    baseline = _baseline(project, capsys)
    calls = len(loopback.received)  # type: ignore[attr-defined]
    exp = project.experiment()
    code = main(["check", str(exp), "--baseline", str(baseline), "--quiet", "--html",
                 "--max-drop", "0.1"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "passed" in out and "REGRESSION" not in out
    assert len(loopback.received) == calls  # type: ignore[attr-defined]  # all from the cache
    assert "changed since the baseline" not in out
    report = Path(out.split("report:")[1].split()[0])
    assert report.is_file() and report.with_suffix(".html").is_file()


def test_a_tiny_noisy_difference_on_few_items_is_inconclusive_not_a_regression(
        project: GateProject, capsys: pytest.CaptureFixture[str]) -> None:
    baseline = _baseline(project, capsys, limit=12)
    code = _check(project, baseline, fewshot="fewshot_concise", limit=12)
    out = capsys.readouterr().out
    assert code == 3, out  # 12 items can show neither a regression nor its absence
    cell = next(c for c in json.loads(Path("check.json").read_text())["cells"]
                if c["variant"] == "few-shot")
    assert len(cell["worse"]) == len(NOISY_WRONG) and cell["n_better"] == len(NOISY_RIGHT)
    assert cell["diff"] < -0.02 and cell["p_adjusted"] > 0.05 and not cell["regression"]
    assert cell["status"] == "inconclusive" and "INCONCLUSIVE  toy / few-shot / loop" in out
    assert "could not show the score is within 2 points" in out


def test_min_score_is_an_absolute_floor(project: GateProject,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    baseline = _baseline(project, capsys)
    assert _check(project, baseline, "--min-score", "0.9") == 1
    out = capsys.readouterr().out
    assert "BELOW FLOOR" in out and "below --min-score 90%" in out


def test_check_an_existing_run_and_compare_two_runs(
        project: GateProject, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.api import run

    baseline = _baseline(project, capsys)
    worse = run(project.experiment(fewshot="fewshot_no_instruction"), reports_dir=None,
                quiet=True)
    run_dir = worse.attrs["run_dir"]
    assert main(["check", "--run", run_dir, "--baseline", str(baseline)]) == 1
    assert "REGRESSION  toy / few-shot / loop" in capsys.readouterr().out
    before = json.loads(baseline.read_text())["run_id"]
    # compare reports the same analysis between any two runs, and is not a gate
    assert main(["compare", f"results/{before}", run_dir, "--json", "cmp.json"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("harness compare:") and "toy / few-shot / loop" in out
    assert json.loads(Path("cmp.json").read_text())["mode"] == "compare"


def test_runs_without_shared_items_are_refused(project: GateProject,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    baseline = _baseline(project, capsys)
    data = json.loads(baseline.read_text())
    for cell in data["cells"]:
        cell["items"] = {f"other-{k}": v for k, v in cell["items"].items()}
    baseline.write_text(json.dumps(data))
    assert _check(project, baseline) == 2
    err = capsys.readouterr().err
    assert "share no items" in err and "other-r000" in err


def test_bad_baselines_exit_2_before_any_model_call(
        project: GateProject, capsys: pytest.CaptureFixture[str], loopback: object) -> None:
    calls = len(loopback.received)  # type: ignore[attr-defined]
    assert _check(project, project.root / "missing.json") == 2
    assert "baseline not found" in capsys.readouterr().err
    Path("junk.json").write_text('{"format": "something else"}')
    assert _check(project, Path("junk.json")) == 2
    assert "not a prompt-harness baseline" in capsys.readouterr().err
    assert main(["check", "--baseline", "junk.json"]) == 2
    assert len(loopback.received) == calls  # type: ignore[attr-defined]


def test_a_changed_model_is_reported(project: GateProject,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    baseline = _baseline(project, capsys)
    exp = project.experiment(model="openai/loopback-2")
    assert main(["check", str(exp), "--baseline", str(baseline), "--no-report", "--quiet",
                 "--max-drop", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "model `loop` changed since the baseline: openai/loopback -> openai/loopback-2" in out


def test_a_run_that_cannot_finish_exits_3_not_1(
        project: GateProject, capsys: pytest.CaptureFixture[str], loopback: object) -> None:
    # An API that fails every call is not a prompt regression: CI should see the difference.
    baseline = _baseline(project, capsys)
    exp = project.experiment(extra="retries: 0\n")
    loopback.status_for = lambda messages: 500  # type: ignore[attr-defined]
    try:
        code = main(["check", str(exp), "--baseline", str(baseline), "--no-cache", "--quiet",
                     "--no-report"])
    finally:
        loopback.status_for = None  # type: ignore[attr-defined]
    captured = capsys.readouterr()
    assert code == 3
    assert captured.err.startswith("harness: error: nothing was checked, the run did not finish")
    assert "REGRESSION" not in captured.out


def test_check_takes_the_run_overrides(
        project: GateProject, capsys: pytest.CaptureFixture[str]) -> None:
    # A CI job can check a cheap slice of the experiment against the full baseline.
    baseline = _baseline(project, capsys)
    code = _check(project, baseline, "--limit", "30", "--max-drop", "0.2")
    assert code == 0, capsys.readouterr().out
    cells = json.loads(Path("check.json").read_text())["cells"]
    assert {c["n_pairs"] for c in cells} == {30}
    assert _check(project, baseline, "--limit", "0") == 2
    assert "--limit" in capsys.readouterr().err


def test_a_variant_whose_every_call_fails_is_never_a_pass(
        project: GateProject, capsys: pytest.CaptureFixture[str], loopback: object) -> None:
    """HTTP 400 on every call of one variant (say its prompt overflows the context)."""
    baseline = _baseline(project, capsys)
    loopback.status_for = (  # type: ignore[attr-defined]
        lambda messages: 400 if any("Example:" in m["content"] for m in messages) else None)
    try:
        code = _check(project, baseline, "--max-drop", "0.1", "--no-cache")
        captured = capsys.readouterr()
        assert code == 3, captured.out
        cells = {c["variant"]: c for c in json.loads(Path("check.json").read_text())["cells"]}
        assert cells["few-shot"]["status"] == "inconclusive"
        assert cells["few-shot"]["error_rate"] == 1.0 and cells["few-shot"]["n_pairs"] == 0
        assert cells["zero-shot"]["status"] == "pass"
        assert "INCONCLUSIVE  toy / few-shot / loop" in captured.out
        assert "40 of 40 samples failed (100%, above max_error_rate 10%)" in captured.out
        assert _check(project, baseline, "--max-drop", "0.1", "--strict", "--no-cache") == 1
        assert "FAILED" in capsys.readouterr().out
    finally:
        loopback.status_for = None  # type: ignore[attr-defined]


def test_compare_fails_on_regression_only_when_asked_and_refuses_unfinished_runs(
        project: GateProject, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.api import run
    from harness.results import RunWriter, read_manifest

    before = run(project.experiment(), reports_dir=None, quiet=True).attrs["run_dir"]
    worse = run(project.experiment(fewshot="fewshot_no_instruction"), reports_dir=None,
                quiet=True).attrs["run_dir"]
    assert main(["compare", before, worse]) == 0
    assert main(["compare", before, worse, "--fail-on-regression"]) == 1
    assert main(["compare", before, before, "--fail-on-regression", "--max-drop", "0.1"]) == 0
    capsys.readouterr()
    RunWriter(Path(worse)).write_manifest({**read_manifest(Path(worse)), "status": "stopped"})
    assert main(["compare", before, worse]) == 3
    assert main(["check", "--run", worse, "--baseline", before]) == 3
    assert main(["baseline", "save", worse, "--to", "b.json"]) == 3
    err = capsys.readouterr().err
    assert err.count("did not finish (status: stopped)") == 3 and not Path("b.json").exists()


def test_a_secondary_scorer_failing_on_half_the_answers_does_not_fail_the_primary_gate(
        project: GateProject, capsys: pytest.CaptureFixture[str]) -> None:
    """Its errors are its own: before, every sample it raised on lost its exact_match score
    too, and half the cell counted as errors against the primary metric's gate."""
    baseline = _baseline(project, capsys)
    task = project.root / "tasks" / "toy"
    (task / "grading.py").write_text(
        "def picky(record):\n"
        "    if int(record.item_id[1:]) % 2 == 0:\n"
        "        raise ValueError('cannot grade this one')\n"
        "    return 1.0\n", encoding="utf-8")
    text = (task / "task.yaml").read_text(encoding="utf-8")
    (task / "task.yaml").write_text(text.replace("scorers: [exact_match]",
                                                 "scorers: [exact_match, 'grading:picky']"),
                                    encoding="utf-8")
    code = main(["check", str(project.experiment()), "--baseline", str(baseline), "--quiet",
                 "--no-report", "--max-drop", "0.1", "--json", "check.json"])
    out = capsys.readouterr().out
    assert code == 0, out
    cells = json.loads(Path("check.json").read_text())["cells"]
    assert {c["status"] for c in cells} == {"pass"}, cells
    assert all(c["n_pairs"] == N_ITEMS and c["n_errors"] == 0 for c in cells), cells
