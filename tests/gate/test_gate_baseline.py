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
    assert result.passed and all(c.diff == 0 for c in result.cells)
    assert result.changes == []


def test_epochs_become_graded_items_and_use_a_paired_graded_test(tmp_path: Path) -> None:
    before = write_run(tmp_path, "r1", {"a": [[1.0, 1.0, 0.0]] * 20})
    after = write_run(tmp_path, "r2", {"a": [[1.0, 0.0, 0.0]] * 20})
    baseline = Baseline.from_run(load_run(before))
    assert baseline.cells[("toy", "a", "m")]["i000"]["score"] == [1.0, 1.0, 0.0]
    cell = check_run(after, baseline).cells[0]
    assert cell.test.startswith("Wilcoxon") and cell.diff == pytest.approx(-1 / 3)
    assert cell.regression and cell.kind == "binary"


def test_clustered_items_use_the_cluster_test(tmp_path: Path) -> None:
    clusters = [f"c{i // 2}" for i in range(30)]
    before = write_run(tmp_path, "r1", {"a": ONES}, clusters=clusters)
    after = write_run(tmp_path, "r2", {"a": [0.0 if i < 20 else 1.0 for i in range(30)]},
                      clusters=clusters)
    cell = check_run(after, before).cells[0]  # a run folder works as an ad-hoc baseline
    assert "cluster" in cell.test and cell.regression


def test_p_values_are_corrected_over_cells_and_max_drop_is_respected(tmp_path: Path) -> None:
    base = {v: ONES for v in "abcd"}
    after = dict(base, a=[0.0] * 8 + [1.0] * 22, b=[0.0] * 6 + [1.0] * 24)
    write_run(tmp_path, "r1", base)
    run = write_run(tmp_path, "r2", after)
    cells = {c.variant: c for c in check_run(run, tmp_path / "r1").cells}
    assert cells["a"].p_value == pytest.approx(2 / 2**8)  # McNemar exact, 8 vs 0 discordant
    assert cells["a"].p_adjusted == pytest.approx(4 * cells["a"].p_value)  # Holm, 4 cells
    assert cells["b"].p_value < 0.05 < cells["b"].p_adjusted  # significant only uncorrected
    assert cells["a"].regression and not cells["b"].regression
    uncorrected = {c.variant: c for c in
                   check_run(run, tmp_path / "r1", GateSettings(correction="none")).cells}
    assert uncorrected["b"].regression
    lenient = check_run(run, tmp_path / "r1", GateSettings(max_drop=0.3)).cells[0]
    assert not lenient.regression and "within --max-drop" in " ".join(lenient.notes)


def test_errors_and_partial_overlap_are_counted_not_scored(tmp_path: Path) -> None:
    write_run(tmp_path, "r1", {"a": ONES})
    run = write_run(tmp_path, "r2", {"a": [None, *ONES[:24]]})
    cell = check_run(run, tmp_path / "r1").cells[0]
    assert cell.n_pairs == 24 and cell.status == "pass"
    assert any("not in this run" in n for n in cell.notes)


def test_new_and_missing_cells_and_changed_templates(tmp_path: Path) -> None:
    write_run(tmp_path, "r1", {"a": ONES, "gone": ONES})
    run = write_run(tmp_path, "r2", {"a": ONES, "new": ONES}, templates={"a": "edited"})
    result = check_run(run, tmp_path / "r1")
    status = {c.variant: c.status for c in result.cells}
    assert status == {"a": "pass", "gone": "missing", "new": "new"} and result.passed
    assert any("template of variant `a` changed" in c for c in result.changes)
    assert any("variant `new` is new" in c for c in result.changes)
    baseline = Baseline.load(tmp_path / "r1")
    baseline.cells[("toy", "gone", "m")] = {"x": {"score": 1.0, "output": "?"}}
    baseline.cells[("toy", "new", "m")] = {"y": {"score": 1.0, "output": "?"}}
    cells = {c.variant: c for c in check_run(run, baseline).cells}
    assert cells["new"].status == "unpaired" and cells["new"].n_pairs == 0
    assert "not compared" in cells["new"].notes[-1] and not cells["new"].failed


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
