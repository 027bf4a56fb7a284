"""The example GitHub Actions workflow stays in step with the CLI it calls."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

from harness.cli import _parser

WORKFLOW = Path(__file__).resolve().parents[2] / "examples" / "ci" / "prompt-regression.yml"


def test_example_workflow_runs_a_valid_check_and_publishes_it() -> None:
    flow = yaml.safe_load(WORKFLOW.read_text())
    steps = flow["jobs"]["check"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("actions/cache@") for u in uses)  # restores the response cache
    assert any(u.startswith("actions/upload-artifact@") for u in uses)  # uploads the report
    runs = [s["run"] for s in steps if "harness check" in s.get("run", "")]
    assert len(runs) == 1
    argv = shlex.split(runs[0].replace("\n", " "))
    args = _parser().parse_args(argv[1:])  # every flag the example uses exists
    assert args.command == "check" and args.baseline and args.junit and args.summary
    assert args.html and args.max_drop == 0.02
    post = next(s for s in steps if "gh pr comment" in s.get("run", ""))
    assert str(args.summary) in post["run"] and "always()" in post["if"]
