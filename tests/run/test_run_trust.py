"""The trust model: config files may name files only inside the project, unless allowed.

A template path once reached ``/etc/passwd``, and it was rendered and sent to the model.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from loopback_models import adder
from run_helpers import write_experiment

from harness.cli import main
from harness.paths import ALLOW_OUTSIDE_ENV
from harness.testing.loopback import LoopbackServer


@pytest.fixture
def project(tmp_path: Path, add_task: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``tmp_path`` is the project (it holds tasks/); ``tmp_path.parent/outside`` is not."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ALLOW_OUTSIDE_ENV, raising=False)
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "evil.j2").write_text("{{ input }} SECRET-FROM-OUTSIDE\n")
    (outside / "data.jsonl").write_text('{"id": "x", "a": 1, "b": 2}\n')
    return tmp_path


def _run(exp: Path, *extra: str) -> int:
    return main(["run", str(exp), "--results-dir", "results", "--reports-dir", "reports",
                 "--quiet", *extra])


@pytest.mark.parametrize("template", ["../../../../../../../../etc/passwd", "/etc/passwd"])
def test_a_template_that_is_not_a_template_file_is_refused(
    project: Path, key: str, capsys: pytest.CaptureFixture[str], template: str
) -> None:
    with LoopbackServer(adder) as server:
        exp = write_experiment(project, server.url,
                               variants=f"[{{name: x, template: '{template}'}}]")
        assert _run(exp, "--allow-outside-paths") == 2  # not even when paths are allowed
        assert server.received == []
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{exp}:3: variants[0].template: '{template}' is not a template file" in err


def test_a_template_outside_the_project_is_refused_unless_allowed(
    project: Path, key: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    evil = f"../{project.name}-outside/evil.j2"
    with LoopbackServer(adder) as server:
        exp = write_experiment(project, server.url, limit=1,
                               variants=f"[zero-shot, {{name: x, template: '{evil}'}}]")
        assert _run(exp) == 2
        assert server.received == []
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert f"{exp}:3: variants[1].template: " in err and "outside the project" in err
        assert "--allow-outside-paths" in err
        # render reads templates too
        assert main(["render", str(exp), "--variant", "x", "--item", "0"]) == 2
        err = capsys.readouterr().err
        assert f"{exp}:3: variants[1].template: " in err and "outside the project" in err
        # The flag, or the variable, says the user trusts this config.
        assert _run(exp, "--allow-outside-paths") == 0
        assert _run(exp) == 2  # the flag held for that command only
        monkeypatch.setenv(ALLOW_OUTSIDE_ENV, "1")
        assert _run(exp, "--no-cache") == 0
        assert any("SECRET-FROM-OUTSIDE" in m.messages[-1]["content"] for m in server.received)


def test_task_data_outside_the_project_is_refused_naming_the_task_file(
    project: Path, add_task: Path, key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    task = add_task / "task.yaml"
    task.write_text(task.read_text().replace(
        "data: {test: data/test.jsonl,",
        f"data: {{test: ../../../{project.name}-outside/data.jsonl,"))
    with LoopbackServer(adder) as server:
        exp = write_experiment(project, server.url, limit=1)
        assert _run(exp) == 2
        assert server.received == []
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{task}:2: data.test: " in err and "outside the project" in err
