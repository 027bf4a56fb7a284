"""The answer first: ``harness run`` prints its table before the report and figures are written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from loopback_models import adder
from run_helpers import write_experiment

from harness.testing.loopback import LoopbackServer


def _output_before_report(monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> list[str]:
    """What the command printed before each ``write_report`` call, one entry per call."""
    import harness.report

    printed_before: list[str] = []
    real = harness.report.write_report

    def spy(*args: Any, **kwargs: Any) -> Path:
        printed_before.append(capsys.readouterr().out)
        return real(*args, **kwargs)

    monkeypatch.setattr(harness.report, "write_report", spy)
    return printed_before


def test_the_table_is_printed_before_the_report_is_written(
    tmp_path: Path, add_task: Path, key: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from harness.cli import main

    printed_before = _output_before_report(monkeypatch, capsys)
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    with LoopbackServer(adder) as server:
        exp = write_experiment(tmp_path, server.url, limit=4)
        code = main(["run", str(exp), "--quiet", "--results-dir", str(tmp_path / "results"),
                     "--reports-dir", str(tmp_path / "reports")])
    after = capsys.readouterr().out
    assert code == 0
    assert len(printed_before) == 1
    table = printed_before[0]
    assert "score %" in table and "zero-shot" in table and "few-shot" in table
    assert "report:" not in table  # the report's path comes once it exists
    assert "report:" in after and "score %" not in after  # the table is printed once
    assert list((tmp_path / "reports").glob("*.md"))


def test_a_run_that_fails_its_error_rate_prints_no_table_but_writes_the_report(
    tmp_path: Path, add_task: Path, key: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import harness
    from harness.errors import ErrorRateExceeded

    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    shown: list[object] = []
    with LoopbackServer(adder, status_for=lambda messages: 400) as server:  # every call fails
        exp = write_experiment(tmp_path, server.url, limit=2, extra="retries: 0\n")
        with pytest.raises(ErrorRateExceeded):
            harness.run(exp, results_dir=tmp_path / "results", reports_dir=tmp_path / "reports",
                        quiet=True, before_report=shown.append)
    assert shown == []  # as before: a failed run raises instead of printing its table
    assert list((tmp_path / "reports").glob("*.md"))  # and still writes its report


def test_score_prints_its_table_before_the_report_is_written(
    tmp_path: Path, add_task: Path, key: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``harness score`` answers first too: the new scores' table, then the report's path."""
    import harness
    from harness.cli import main

    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    with LoopbackServer(adder) as server:
        exp = write_experiment(tmp_path, server.url, limit=4)
        samples = harness.run(exp, results_dir=tmp_path / "results", reports_dir=None,
                              quiet=True)
    printed_before = _output_before_report(monkeypatch, capsys)
    capsys.readouterr()
    code = main(["score", samples.attrs["run_dir"], "--quiet",
                 "--reports-dir", str(tmp_path / "reports")])
    after = capsys.readouterr().out
    assert code == 0
    assert len(printed_before) == 1
    assert "score %" in printed_before[0] and "scoring " in printed_before[0]
    assert "report:" not in printed_before[0]
    assert "report:" in after and "score %" not in after
    report = next((tmp_path / "reports").glob("*.md"))
    assert report.name in after
