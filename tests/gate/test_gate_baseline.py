"""Baseline files and the gate's decisions on hand-made runs (no model calls)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gate_synthetic import write_run

from harness.gate.baseline import Baseline, GateInputError
from harness.gate.check import GateSettings, check_run
from harness.results import load_run

ONES = [1.0] * 30


def test_a_baseline_round_trips_compactly_and_checks_clean(tmp_path: Path) -> None:
    long = "x" * 5000
    run = write_run(tmp_path, "r1", {"a": ONES, "b": [0.0] * 30},
                    outputs={"a": [long] * 30, "b": ["no | <b>"] * 30})
    baseline = Baseline.from_run(load_run(run), max_output_chars=100)
    path = baseline.save(tmp_path / "base.json")
    text = path.read_text()
    assert len(text) < 15_000  # long outputs are cut: a baseline stays small enough to commit
    data = json.loads(text)
    assert data["format"] == "prompt-harness-baseline" and data["run_id"] == "r1"
    assert data["config_hash"] == "hash-r1" and data["templates"] == {"a": "same", "b": "same"}
    assert data["package_version"] == "0.1.0" and data["metrics"]["toy"]["kind"] == "binary"
    item = data["cells"][0]["items"]["i000"]
    assert item["score"] == 1.0 and item["output"].endswith("[truncated]")
    assert len(text.splitlines()) > 60  # one item per line: reviewable diffs
    again = Baseline.load(path)
    assert again.cells == baseline.cells
    result = check_run(run, again)
    # 30 unchanged items cannot show the score is within 2 points: not a pass, not a failure
    assert result.outcome == "inconclusive" and result.exit_code == 3
    assert all(c.diff == 0 and c.status == "inconclusive" for c in result.cells)
    assert "could not show the score is within 2 points" in result.cells[0].reasons[0]
    assert result.changes == []
    wide = check_run(run, again, GateSettings(max_drop=0.2))  # a 20-point margin they can show
    assert wide.passed and wide.exit_code == 0


def test_epochs_become_graded_items_and_use_a_paired_graded_test(tmp_path: Path) -> None:
    before = write_run(tmp_path, "r1", {"a": [[1.0, 1.0, 0.0]] * 20})
    after = write_run(tmp_path, "r2", {"a": [[1.0, 0.0, 0.0]] * 20})
    baseline = Baseline.from_run(load_run(before))
    assert baseline.cells[("toy", "a", "m")]["i000"]["score"] == [1.0, 1.0, 0.0]
    cell = check_run(after, baseline).cells[0]
    assert cell.test.startswith("score test at the margin, t(19)")
    assert cell.diff == pytest.approx(-1 / 3)
    assert cell.regression and cell.kind == "binary"


def test_clustered_items_use_the_cluster_test(tmp_path: Path) -> None:
    clusters = [f"c{i // 2}" for i in range(30)]
    before = write_run(tmp_path, "r1", {"a": ONES}, clusters=clusters)
    after = write_run(tmp_path, "r2", {"a": [0.0 if i < 20 else 1.0 for i in range(30)]},
                      clusters=clusters)
    cell = check_run(after, before).cells[0]  # a run folder works as an ad-hoc baseline
    assert "cluster-robust" in cell.test and cell.regression


def test_p_values_are_corrected_over_cells_and_max_drop_is_respected(tmp_path: Path) -> None:
    from harness.stats.noninferiority import exact_pvalues

    base = {v: ONES for v in "abcd"}
    after = dict(base, a=[0.0] * 8 + [1.0] * 22, b=[0.0] * 4 + [1.0] * 26)
    write_run(tmp_path, "r1", base)
    run = write_run(tmp_path, "r2", after)
    cells = {c.variant: c for c in check_run(run, tmp_path / "r1").cells}
    # exact one-sided p of "more than 2 points worse", 8 of 30 items flipped to wrong
    assert cells["a"].p_value == pytest.approx(float(exact_pvalues(0, 8, 30, -0.02)[1]))
    assert cells["a"].p_adjusted == pytest.approx(4 * cells["a"].p_value)  # Holm, 4 cells
    assert cells["b"].p_value < 0.05 < cells["b"].p_adjusted  # significant only uncorrected
    assert cells["a"].regression and not cells["b"].regression
    assert cells["b"].status == "inconclusive"  # a 13-point drop, not shown: never a pass
    uncorrected = {c.variant: c for c in
                   check_run(run, tmp_path / "r1", GateSettings(correction="none")).cells}
    assert uncorrected["b"].regression
    lenient = {c.variant: c for c in
               check_run(run, tmp_path / "r1", GateSettings(max_drop=0.6)).cells}
    assert not lenient["a"].regression and lenient["a"].status == "pass"


def test_errors_and_partial_overlap_are_counted_not_scored(tmp_path: Path) -> None:
    write_run(tmp_path, "r1", {"a": ONES})
    run = write_run(tmp_path, "r2", {"a": [None, *ONES[:24]]})
    cell = check_run(run, tmp_path / "r1", GateSettings(max_drop=0.3)).cells[0]
    assert cell.n_pairs == 24 and cell.status == "pass" and cell.n_errors == 1
    assert any("not in this run" in n for n in cell.notes)
    assert any("1 of 25 samples failed" in n for n in cell.notes)


@pytest.mark.parametrize("errored", [30, 15, 4])
def test_a_cell_with_too_many_errors_is_never_a_pass(tmp_path: Path, errored: int) -> None:
    """All calls failed, half of them, or just over max_error_rate: inconclusive, exit 3."""
    write_run(tmp_path, "r1", {"a": ONES, "b": ONES})
    run = write_run(tmp_path, "r2", {"a": [None] * errored + ONES[errored:], "b": ONES})
    result = check_run(run, tmp_path / "r1", GateSettings(max_drop=0.3))
    cells = {c.variant: c for c in result.cells}
    assert cells["a"].status == "inconclusive" and cells["b"].status == "pass"
    assert f"{errored} of 30 samples failed" in cells["a"].reasons[0]
    assert "first error: boom" in cells["a"].reasons[0]
    assert result.exit_code == 3 and not result.passed
    strict = check_run(run, tmp_path / "r1", GateSettings(max_drop=0.3, strict=True))
    assert strict.exit_code == 1
    lax = check_run(run, tmp_path / "r1", GateSettings(max_drop=0.3, max_error_rate=1.0))
    assert {c.variant: c.status for c in lax.cells}["a"] == ("inconclusive" if errored > 20
                                                            else "pass")


def test_answers_that_could_not_be_scored_count_as_errors_of_the_cell(tmp_path: Path) -> None:
    """A cell whose answers all broke the scorer is inconclusive, and the message says why."""
    import json

    write_run(tmp_path, "r1", {"a": ONES, "b": ONES})
    run = write_run(tmp_path, "r2", {"a": ONES, "b": ONES})
    path = run / "samples.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        if row["variant"] == "a":
            row["scores"] = {}
            row["scoring_error"] = "RecursionError: JSON nested too deep"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = check_run(run, tmp_path / "r1", GateSettings(max_drop=0.3))
    cells = {c.variant: c for c in result.cells}
    assert cells["a"].status == "inconclusive" and cells["b"].status == "pass"
    assert "30 of 30 samples failed" in cells["a"].reasons[0]
    assert "RecursionError: JSON nested too deep" in cells["a"].reasons[0]
    assert result.exit_code == 3


def test_a_run_that_did_not_finish_is_not_judged_nor_saved(tmp_path: Path) -> None:
    from harness.gate.baseline import GateRunError
    from harness.results import RunWriter, read_manifest

    write_run(tmp_path, "r1", {"a": ONES})
    run = write_run(tmp_path, "r2", {"a": ONES})
    manifest = read_manifest(run)
    RunWriter(run).write_manifest({**manifest, "status": "stopped"})
    with pytest.raises(GateRunError, match=r"did not finish \(status: stopped\).*--resume r2"):
        check_run(run, tmp_path / "r1")
    with pytest.raises(GateRunError, match="did not finish"):
        Baseline.from_run(load_run(run))
    errored = write_run(tmp_path, "r3", {"a": [None] * 5 + ONES[5:]})
    with pytest.raises(GateRunError, match="17% of the samples of toy / a / m failed"):
        Baseline.from_run(load_run(errored))
    assert Baseline.from_run(load_run(errored), max_error_rate=0.2).cells


def test_new_and_missing_cells_and_changed_templates(tmp_path: Path) -> None:
    write_run(tmp_path, "r1", {"a": ONES, "gone": ONES})
    run = write_run(tmp_path, "r2", {"a": ONES, "new": ONES}, templates={"a": "edited"})
    lenient = GateSettings(max_drop=0.3)
    result = check_run(run, tmp_path / "r1", lenient)
    status = {c.variant: c.status for c in result.cells}
    # a renamed or deleted variant is not a pass: the gate cannot vouch for it
    assert status == {"a": "pass", "gone": "inconclusive", "new": "new"}
    assert not result.passed and result.exit_code == 3
    gone = next(c for c in result.cells if c.variant == "gone")
    assert "not in this run" in gone.reasons[0]
    assert any("template of variant `a` changed" in c for c in result.changes)
    assert any("variant `new` is new" in c for c in result.changes)
    baseline = Baseline.load(tmp_path / "r1")
    baseline.cells[("toy", "gone", "m")] = {"x": {"score": 1.0, "output": "?"}}
    baseline.cells[("toy", "new", "m")] = {"y": {"score": 1.0, "output": "?"}}
    cells = {c.variant: c for c in check_run(run, baseline, lenient).cells}
    assert cells["new"].status == "inconclusive" and cells["new"].n_pairs == 0
    assert "only 0 item(s) scored on both sides" in cells["new"].reasons[0]


def test_foreign_and_malformed_baselines_are_refused(tmp_path: Path) -> None:
    write_run(tmp_path, "r1", {"a": ONES}, task="other")
    run = write_run(tmp_path, "r2", {"a": ONES})
    with pytest.raises(GateInputError, match="no task x variant x model of this run"):
        check_run(run, tmp_path / "r1")
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "prompt-harness-baseline", "format_version": 1, "cells": 3}')
    with pytest.raises(GateInputError, match="malformed baseline"):
        Baseline.load(bad)
    with pytest.raises(GateInputError, match="--max-drop"):
        GateSettings(max_drop=2)
