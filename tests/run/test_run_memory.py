"""What a run holds while it reports: a large run's peak memory is in its report (issue 15)."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path
from typing import Any

import pytest
from loopback_models import adder
from run_helpers import write_experiment

from harness.testing.loopback import LoopbackServer


def test_the_plan_is_released_before_the_report_is_written(
    tmp_path: Path, add_task: Path, key: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every rendered prompt lives in the plan; the report needs the records, not the plan."""
    import harness
    import harness.plan
    import harness.report

    plans: list[weakref.ref[Any]] = []
    real_build, real_report = harness.plan.build_plan, harness.report.write_report

    def build(*args: Any, **kwargs: Any) -> Any:
        plan = real_build(*args, **kwargs)
        plans.append(weakref.ref(plan))
        return plan

    alive_at_report: list[bool] = []

    def report(*args: Any, **kwargs: Any) -> Path:
        gc.collect()
        alive_at_report.append(any(ref() is not None for ref in plans))
        return real_report(*args, **kwargs)

    monkeypatch.setattr(harness.plan, "build_plan", build)
    monkeypatch.setattr(harness.report, "write_report", report)
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    with LoopbackServer(adder) as server:
        exp = write_experiment(tmp_path, server.url, limit=4)
        samples = harness.run(exp, results_dir=tmp_path / "results",
                              reports_dir=tmp_path / "reports", quiet=True)
    assert len(samples) == 8 and samples["error"].isna().all()
    assert plans and alive_at_report == [False]
