"""The pytest plugin, exercised the way a team uses it: prompt checks inside its own suite."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from gate_helpers import GateProject

pytest_plugins = ["pytester"]

SUITE = '''
import pytest

GOOD, BAD, BASELINE = {good!r}, {bad!r}, "baselines/toy.json"


def test_prompts_hold_up(harness_check):
    result = harness_check(GOOD, baseline=BASELINE, max_drop=0.1)
    assert result.passed and result.n_compared == 2


def test_prompt_edit_dropping_the_instruction(harness_check):
    harness_check(BAD, baseline=BASELINE, max_drop=0.05)


@pytest.mark.harness_check(GOOD, baseline=BASELINE, min_score=0.95)
def test_floor_from_the_marker(harness_check):
    harness_check()
'''


def _plugin_args() -> list[str]:
    """Installed packages load the plugin by entry point; a bare checkout needs ``-p``."""
    installed = any(e.value == "harness.pytest_plugin" for e in entry_points(group="pytest11"))
    return [] if installed else ["-p", "harness.pytest_plugin"]


def _warm_up(experiment: Path) -> None:
    """Run once out here, so every module a run needs (LiteLLM, numpy...) is imported already.

    In-process pytester unloads what an inner run imported, and C extensions such as numpy's
    cannot be loaded twice in one process.
    """
    from harness.api import run
    from harness.gate.check import check_run

    samples = run(experiment, reports_dir=None, quiet=True)
    check_run(samples, samples.attrs["run_dir"])


def test_plugin_fixture_marker_and_baseline_update(
        pytester: pytest.Pytester, loopback: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback-not-a-key")
    project = GateProject(pytester.path, loopback.url)
    good = project.experiment("toy")
    _warm_up(good)
    bad = project.experiment("toy_bad", fewshot="fewshot_no_instruction")
    pytester.makepyfile(test_prompts=SUITE.format(good=str(good), bad=str(bad)))
    args = _plugin_args()

    # 1. a team records its baseline from the suite itself
    first = pytester.runpytest(*args, "--harness-update-baseline", "-k", "hold_up", "-rs")
    first.assert_outcomes(skipped=1)
    first.stdout.fnmatch_lines(["*harness baseline updated: *baselines/toy.json*"])
    assert (pytester.path / "baselines" / "toy.json").is_file()

    # 2. then checks it: the degraded prompt fails with the same explanation as the CLI
    second = pytester.runpytest(*args)
    second.assert_outcomes(passed=1, failed=2)
    out = second.stdout.str()
    assert "REGRESSION  toy / few-shot / loop" in out
    assert "went from right to wrong" in out and "before: positive" in out
    assert "REGRESSION  toy / zero-shot" not in out
    second.stdout.fnmatch_lines(["*test_floor_from_the_marker*", "*BELOW FLOOR*"])
    assert "Traceback" not in out  # a failed check reads as an explanation, not a stack


def test_plugin_is_registered_and_documented(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(*_plugin_args(), "--help")
    result.stdout.fnmatch_lines(["*--harness-update-baseline*"])
    markers = pytester.runpytest(*_plugin_args(), "--markers")
    markers.stdout.fnmatch_lines(["*@pytest.mark.harness_check(experiment, baseline=*"])
