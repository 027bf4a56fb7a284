"""pytest plugin: prompt regression tests in a team's own test suite.

Installed with prompt-harness (entry point ``pytest11``), it adds a ``harness_check`` fixture::

    def test_sentiment_prompts(harness_check):
        harness_check("experiments/sentiment.yaml",
                      baseline="results/baselines/sentiment.json", max_drop=0.02)

The call runs the experiment (answers come from the response cache when nothing changed),
compares it with the baseline exactly as ``harness check`` does, and fails the test with the
same explanation: which task x variant x model regressed, by how much with its bounds, the
p-value, and the items that flipped with their outputs before and after. An inconclusive cell
(too few items, too many failed calls, missing from the run) fails the test too. It returns the
:class:`~harness.gate.check.CheckResult` when the check passes. Arguments may also come from a
marker, ``@pytest.mark.harness_check(experiment, baseline=..., ...)``, and the call's own
arguments win. ``pytest --harness-update-baseline`` saves each run as its baseline instead (the
test is then skipped, saying so). Relative paths are taken from pytest's root folder.

Only pytest and the standard library are imported here: every pytest run of a project with
prompt-harness installed loads this module, so it must cost nothing until the fixture is used.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

MARKER = "harness_check"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "prompt regression checks (prompt-harness)")
    group.addoption("--harness-update-baseline", action="store_true", default=False,
                    help="save each harness_check run as its baseline instead of checking it")
    parser.addini("harness_results_dir", "folder for the runs harness_check makes "
                  "(default: results under the root folder)", default="results")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(experiment, baseline=..., alpha=0.05, max_drop=0.02, min_score=None): "
        "default arguments for the harness_check fixture")


def _path(root: Path, value: str | Path) -> Path:
    path = Path(value)
    if path.is_absolute() or path.exists():
        return path
    return root / path


@pytest.fixture
def harness_check(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """Run an experiment and fail the test on a significant regression against a baseline."""
    config = request.config
    root = Path(config.rootpath)
    marker = request.node.get_closest_marker(MARKER)
    defaults: dict[str, Any] = dict(marker.kwargs) if marker else {}
    if marker and marker.args:
        defaults.setdefault("experiment", marker.args[0])

    def check(experiment: str | Path | None = None, baseline: str | Path | None = None, *,
              run: str | Path | None = None, alpha: float | None = None,
              max_drop: float | None = None, min_score: float | None = None,
              correction: str | None = None, results_dir: str | Path | None = None,
              **overrides: Any) -> Any:
        from harness.errors import HarnessError
        from harness.gate.baseline import Baseline
        from harness.gate.check import GateSettings, check_run
        from harness.gate.formats import render_text

        given = {"experiment": experiment, "baseline": baseline, "run": run, "alpha": alpha,
                 "max_drop": max_drop, "min_score": min_score, "correction": correction,
                 "results_dir": results_dir}
        args = {**defaults, **{k: v for k, v in given.items() if v is not None}}
        extra = {k: v for k, v in args.items() if k not in given}
        overrides = {**extra, **overrides}
        strict = overrides.pop("strict", False)  # a gate setting, not one of run's
        min_pass_repeats = overrides.pop("min_pass_repeats", None)  # "8/10": per item
        if not args.get("baseline"):
            raise pytest.UsageError("harness_check needs baseline=<baseline file>")
        if not args.get("experiment") and not args.get("run"):
            raise pytest.UsageError("harness_check needs an experiment file (or run=...)")
        baseline_path = _path(root, args["baseline"])
        out_dir = _path(root, args.get("results_dir") or config.getini("harness_results_dir"))
        try:
            settings = GateSettings(strict=bool(strict), min_pass_repeats=min_pass_repeats,
                                    max_error_rate=overrides.get("max_error_rate"),
                                    **{k: args[k] for k in ("alpha", "max_drop", "min_score",
                                                            "correction") if k in args})
            if args.get("run"):
                samples: Any = _path(root, args["run"])
            else:
                from harness.api import run as run_experiment

                overrides.setdefault("reports_dir", None)
                samples = run_experiment(_path(root, args["experiment"]), results_dir=out_dir,
                                         quiet=True, **overrides)
            if config.getoption("harness_update_baseline"):
                from harness.results import load_run

                frame = load_run(samples) if isinstance(samples, Path) else samples
                saved = Baseline.from_run(frame).save(baseline_path)
                pytest.skip(f"harness baseline updated: {saved}")
            result = check_run(samples, Baseline.load(baseline_path), settings)
        except HarnessError as exc:
            pytest.fail(f"harness check could not run: {exc}", pytrace=False)
        if not result.passed:
            pytest.fail(render_text(result), pytrace=False)
        return result

    return check
