"""Judge calls in the estimate: their cost is part of what a run will spend, so
``harness estimate`` and the budget check count them, one row per judge."""

from __future__ import annotations

from pathlib import Path

import pytest
from judge_helpers import student, write_experiment

import harness
from harness.api import estimate as estimate_run
from harness.errors import ConfigError
from harness.testing.loopback import LoopbackServer


def _experiment(tmp_path: Path, url: str, extra: str = "") -> Path:
    return write_experiment(tmp_path, url, limit=6, extra=extra, judges=(
        f"judges:\n  - {{name: correct, model: {{model: openai/gpt-4o, api_base: '{url}/v1'}}, "
        "rubric: correctness, grade: 1-5, epochs: 2, temperature: 0.5}\n"
        f"pairwise: {{judge: correct, epochs: 1, temperature: 0}}\n"))


def test_the_estimate_has_a_row_per_judge(tmp_path: Path, add_task: Path, key: str) -> None:
    with LoopbackServer(student) as loop:
        estimate = estimate_run(_experiment(tmp_path, loop.url))
        assert loop.stats()["requests"] == 0
    rows = {m.label: m for m in estimate.models}
    grades, pairs = rows["judge correct"], rows["judge pairwise"]
    assert grades.calls == 12 * 2  # 12 samples, 2 judge epochs each
    assert pairs.calls == 6 * 2  # 6 items, one pair, both orders
    assert grades.model == pairs.model == "openai/gpt-4o"
    assert estimate.samples == 12  # the samples of the models under test only
    assert grades.output_upper == 512 * 24 and grades.price is not None
    # Each prompt holds the rubric and the answer, so more than the answers alone.
    assert grades.input_tokens > 24 * 32
    assert estimate.cost_expected == pytest.approx(sum(m.cost_expected for m in estimate.models))
    assert rows["judge correct"].cost_expected > 0


def test_the_budget_check_counts_the_judges(tmp_path: Path, add_task: Path, key: str) -> None:
    with LoopbackServer(student) as loop:
        exp = _experiment(tmp_path, loop.url, extra="max_cost_usd: 0.05\n")
        estimate = estimate_run(exp)
        under_test = sum(m.cost_expected for m in estimate.models if not
                         m.label.startswith("judge "))
        assert under_test < 0.05 < estimate.cost_expected  # only the judges push it over
        with pytest.raises(ConfigError, match=r"over max_cost_usd 0\.05"):
            harness.run(exp, results_dir=tmp_path / "r", reports_dir=None, quiet=True)
        assert loop.stats()["requests"] == 0


def test_a_rerun_of_a_judged_experiment_is_estimated_from_the_cache(
        tmp_path: Path, add_task: Path, key: str) -> None:
    with LoopbackServer(student) as loop:
        exp = _experiment(tmp_path, loop.url)
        before = {m.label: m for m in estimate_run(exp).models}
        assert before["judge correct"].calls == 24 and before["judge correct"].cached == 0
        harness.run(exp, results_dir=tmp_path / "r", reports_dir=None, quiet=True)
        sent = loop.stats()["requests"]
        after = {m.label: m for m in estimate_run(exp).models}
        # Every answer, grade and preference is in the cache: nothing left to pay for, and a
        # tight budget does not refuse the re-run.
        for row in after.values():
            assert row.calls == 0, row
        assert after["judge correct"].cached == 24 and after["judge pairwise"].cached > 0
        exp.write_text(exp.read_text() + "max_cost_usd: 0.0001\n")
        harness.run(exp, results_dir=tmp_path / "r", reports_dir=None, quiet=True)
        assert loop.stats()["requests"] == sent


def test_a_judge_written_in_the_task_file_is_estimated_and_budgeted_the_same(
        tmp_path: Path, add_task: Path, key: str) -> None:
    """Without experiment judges:, a task file's type: judge scorer had no estimate row, so
    max_cost_usd was checked against the models alone and the run paid its judge silently."""
    with LoopbackServer(student) as loop:
        path = add_task / "task.yaml"
        text = path.read_text(encoding="utf-8")
        assert "scorers: [numeric, exact_match]\n" in text
        path.write_text(text.replace(
            "scorers: [numeric, exact_match]\n",
            "scorers:\n  - numeric\n  - exact_match\n"
            f"  - {{name: quality, judge: {{model: openai/gpt-4o, api_base: '{loop.url}/v1'}}, "
            "rubric: correctness, grade: 1-5, epochs: 2, temperature: 0.5}\n"),
            encoding="utf-8")
        exp = write_experiment(tmp_path, loop.url, limit=6, judges="",
                               extra="max_cost_usd: 0.05\n")
        estimate = estimate_run(exp)
        rows = {m.label: m for m in estimate.models}
        assert rows["judge quality"].calls == 12 * 2  # 12 samples, 2 judge epochs each
        assert rows["judge quality"].model == "openai/gpt-4o"
        with pytest.raises(ConfigError, match=r"over max_cost_usd 0\.05"):
            harness.run(exp, results_dir=tmp_path / "r", reports_dir=None, quiet=True)
        assert loop.stats()["requests"] == 0
