"""``harness score <run>``: a finished run scored again from its records, without calling the
model under test; each scoring stored beside the records under an id hashed from its settings,
``load_run`` (and so the report, ``check`` and ``compare``) reading the latest."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from scoring_helpers import KEY, KEY_ENV, N_ITEMS, careful_adder, set_task, write_project

import harness
from harness.errors import ConfigError
from harness.scoring.versions import list_scorings
from harness.testing.loopback import LoopbackServer

FIRST_NUMBER = "[{name: regex, pattern: '\\d+'}]"  # takes the "9" of "Step 9 of 9": a bug


def _verdict(samples, metric: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    row = harness.compare(samples, metric=metric).iloc[0]
    means = harness.summary(samples, metric=metric).set_index("variant")["mean"].to_dict()
    return {"means": means, "significant": bool(row["significant"]), "a": row["a"],
            "b": row["b"], "diff": float(row["diff"])}


@pytest.fixture
def buggy_run(tmp_path: Path, key: str):  # type: ignore[no-untyped-def]
    """A run whose parser reads the wrong number: both variants score 0, no difference."""
    with LoopbackServer(careful_adder) as server:
        exp = write_project(tmp_path, server.url, parser=FIRST_NUMBER)
        samples = harness.run(exp, results_dir=tmp_path / "results", reports_dir=None,
                              quiet=True)
        yield server, Path(samples.attrs["run_dir"]), samples


def test_score_with_a_fixed_parser_changes_the_verdict_without_calling_the_model(
        tmp_path: Path, buggy_run) -> None:  # type: ignore[no-untyped-def]
    server, run_dir, before = buggy_run
    calls = len(server.received)
    assert calls == 2 * N_ITEMS
    wrong = _verdict(before)
    assert wrong["means"] == {"careful": 0.0, "hasty": 0.0} and not wrong["significant"]
    records = (run_dir / "samples.jsonl").read_bytes()

    set_task(tmp_path, parser="[last_number]", scorers="[numeric]")  # the fix
    env = {**os.environ, KEY_ENV: KEY}
    done = subprocess.run([sys.executable, "-m", "harness", "score", str(run_dir),
                           "--reports-dir", str(tmp_path / "reports")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert len(server.received) == calls  # no model under test was called
    assert (run_dir / "samples.jsonl").read_bytes() == records  # the records are untouched

    after = harness.load_run(run_dir)
    right = _verdict(after)
    # the truth: the careful variant is always right, the hasty one never
    assert right["means"] == {"careful": 1.0, "hasty": 0.0}
    assert right["significant"] and {right["a"], right["b"]} == {"careful", "hasty"}
    assert abs(right["diff"]) == 1.0
    scoring = after.attrs["manifest"]["scoring"]
    assert scoring["id"] in done.stdout
    report = (tmp_path / "reports" / f"{run_dir.name}.md").read_text(encoding="utf-8")
    assert f"scoring `{scoring['id']}` by `harness score`" in report
    assert "best is careful" in report.replace("**", "").replace("`", "")


def test_scorings_are_versioned_by_their_settings(tmp_path: Path, buggy_run) -> None:  # type: ignore[no-untyped-def]
    server, run_dir, before = buggy_run
    own = before.attrs["manifest"]["scoring"]["id"]
    assert list_scorings(run_dir) == []

    set_task(tmp_path, parser="[last_number]", scorers="[numeric]")
    fixed = harness.score(run_dir).attrs["manifest"]["scoring"]["id"]
    assert fixed != own
    again = harness.score(run_dir).attrs["manifest"]["scoring"]["id"]
    assert again == fixed and [m["id"] for m in list_scorings(run_dir)] == [fixed]

    exact = harness.score(run_dir, scorers=["exact_match"])
    other = exact.attrs["manifest"]["scoring"]["id"]
    assert other not in (own, fixed)
    assert [c for c in exact.columns if c.startswith("score_")] == ["score_exact_match"]

    # load_run: the latest by default; any one by id (or prefix); "run" for the run's own
    assert harness.load_run(run_dir).attrs["manifest"]["scoring"]["id"] == other
    picked = harness.load_run(run_dir, scoring=fixed[:6])
    assert picked.attrs["manifest"]["scoring"]["id"] == fixed
    assert picked.groupby("variant")["score_numeric"].mean().to_dict() == {
        "careful": 1.0, "hasty": 0.0}
    original = harness.load_run(run_dir, scoring="run")
    assert original.attrs["manifest"]["scoring"]["id"] == own
    assert original["score_numeric"].tolist() == [0.0] * (2 * N_ITEMS)
    with pytest.raises(ConfigError, match="scoring 'ffffffff' is not one"):
        harness.load_run(run_dir, scoring="ffffffff")

    # a user scorer's code is part of its identity: an edited function is a new scoring
    grading = tmp_path / "tasks" / "add" / "grading.py"
    grading.write_text("def check(record):\n    return 1.0\n", encoding="utf-8")
    one = harness.score(run_dir, scorers=["grading:check"])
    grading.write_text("def check(record):\n    return 0.0  # stricter\n", encoding="utf-8")
    two = harness.score(run_dir, scorers=["grading:check"])
    ids = (one.attrs["manifest"]["scoring"]["id"], two.attrs["manifest"]["scoring"]["id"])
    assert ids[0] != ids[1]
    assert one["score_check"].eq(1.0).all() and two["score_check"].eq(0.0).all()
    assert len(server.received) == 2 * N_ITEMS  # none of it called the model


def test_check_and_compare_read_the_same_scoring_as_load_run(
        tmp_path: Path, buggy_run) -> None:  # type: ignore[no-untyped-def]
    from harness.gate.baseline import Baseline

    _, run_dir, before = buggy_run
    model = str(before["model"].iloc[0])
    cell = Baseline.load(run_dir).cells[("add", "careful", model)]
    assert {e["score"] for e in cell.values()} == {0.0}
    set_task(tmp_path, parser="[last_number]", scorers="[numeric]")
    harness.score(run_dir)
    cell = Baseline.load(run_dir).cells[("add", "careful", model)]
    assert {e["score"] for e in cell.values()} == {1.0}


def test_score_refuses_a_run_whose_variant_the_experiment_no_longer_has(
        tmp_path: Path, buggy_run) -> None:  # type: ignore[no-untyped-def]
    _, run_dir, _ = buggy_run
    exp = tmp_path / "exp.yaml"
    exp.write_text(exp.read_text(encoding="utf-8").replace("name: hasty", "name: quick"),
                   encoding="utf-8")
    with pytest.raises(ConfigError, match="variant 'hasty', which the experiment no longer"):
        harness.score(run_dir)
    assert list_scorings(run_dir) == []


def test_a_sample_finished_after_a_scoring_is_not_mixed_into_it(
        tmp_path: Path, buggy_run) -> None:  # type: ignore[no-untyped-def]
    """A resume appends samples scored the run's way; the stored scoring never saw them."""
    import json

    _, run_dir, _ = buggy_run
    path = run_dir / "samples.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    set_task(tmp_path, parser="[last_number]", scorers="[numeric]")
    harness.score(run_dir)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")  # "resumed"
    late = json.loads(lines[-1])["sample_id"]
    samples = harness.load_run(run_dir).set_index("sample_id")
    assert samples.loc[late, "scoring_error"].startswith("not in scoring ")
    assert samples["scoring_error"].notna().sum() == 1


def test_score_with_an_unknown_scorer_is_one_line_exit_2_and_stores_nothing(
        tmp_path: Path, buggy_run) -> None:  # type: ignore[no-untyped-def]
    _, run_dir, _ = buggy_run
    for bad, says in (("exact_macth", "unknown scorer 'exact_macth'"),
                      ("nowhere:fn", "no module 'nowhere'")):
        done = subprocess.run([sys.executable, "-m", "harness", "score", str(run_dir),
                               "--scorers", "numeric", bad, "--no-report"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1 and f"--scorers {bad}: " in done.stderr
        assert says in done.stderr
    assert list_scorings(run_dir) == []
