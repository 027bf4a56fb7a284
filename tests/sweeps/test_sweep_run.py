"""A sweep run end to end on a loopback model whose truth is known: manifest, report, plan."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

import harness
from harness.testing.loopback import LoopbackServer

KEY_ENV = "HARNESS_SWEEP_TEST_KEY"


class Expertise:
    """Right when the system prompt says "expert" (item t5 only on every other call to the
    same prompt: a flaky item), else right only when a is a multiple of 3."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()

    def __call__(self, messages: list[dict[str, str]], body: dict) -> str:
        a, b = (int(x) for x in re.findall(r"What is (\d+) \+ (\d+)\?",
                                           messages[-1]["content"])[-1])
        expert = "expert" in messages[0]["content"]
        with self.lock:
            self.calls[json.dumps(messages)] += 1
            nth = self.calls[json.dumps(messages)]
        right = (expert and (a != 5 or nth % 2 == 1)) or (not expert and a % 3 == 0)
        return f"The answer is {a + b if right else a + b + 1}."


@pytest.fixture
def sweep_run(tmp_path: Path, add_task: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv(KEY_ENV, "sk-sweep-test-0123456789")
    with LoopbackServer(Expertise()) as server:
        exp = tmp_path / "sweep.yaml"
        exp.write_text(
            "name: sweep\ntasks: [add]\n"
            "sweep:\n  template: [zero-shot, cot]\n  system: [terse, expert]\n"
            "  max_tokens: 32\n"
            f"models:\n  - {{model: openai/m, api_base: '{server.url}/v1', "
            f"api_key_env: {KEY_ENV}, temperature: 0.7}}\n"
            "epochs: 2\ncache: false\n", encoding="utf-8")
        samples = harness.run(exp, results_dir=tmp_path / "results",
                              reports_dir=tmp_path / "reports", quiet=True)
    return tmp_path, samples


def test_sweep_run_records_the_design_and_reports_the_true_effects(sweep_run) -> None:  # type: ignore[no-untyped-def]
    tmp_path, samples = sweep_run
    manifest = samples.attrs["manifest"]
    assert manifest["factor_levels"] == {"template": ["zero-shot", "cot"],
                                         "system": ["terse", "expert"]}
    assert manifest["factors"]["cot-system-expert"] == {"template": "cot", "system": "expert"}
    assert sorted(samples["variant"].unique()) == sorted(manifest["factors"])

    effects = harness.factorial(samples).set_index(["factor", "factor2"])
    # Truth: expert fixes the 8 items that are not multiples of 3, but t5 only half the time:
    # (7 + 0.5) / 12 = 62.5 points; the template and the interaction do nothing.
    assert effects.loc[("system", ""), "estimate"] == pytest.approx(7.5 / 12)
    assert effects.loc[("template", ""), "estimate"] == pytest.approx(0.0)
    assert effects.loc[("template", "system"), "estimate"] == pytest.approx(0.0)

    report = next((tmp_path / "reports").glob("*.md")).read_text(encoding="utf-8")
    assert "### Factors" in report
    # next to the per-variant table, before the pairwise statistics
    assert report.index("## Task `add`") < report.index("### Factors") < report.index(
        "### Statistics for `add`")
    assert "`system` (`expert` vs `terse`) adds 62.5 points" in report
    assert "averaged over template" in report
    assert "Flaky items" in report and "t5 (1/2)" in report
    flaky_rows = [line for line in report.splitlines() if "t5 (1/2)" in line]
    assert {row.split("|")[2].strip() for row in flaky_rows} == {"zero-shot-system-expert",
                                                                  "cot-system-expert"}
    assert "Recommended repeats" in report


def test_plan_prints_repeats_advice_for_a_pilot(sweep_run) -> None:  # type: ignore[no-untyped-def]
    tmp_path, samples = sweep_run
    run_dir = tmp_path / "results" / samples.attrs["manifest"]["run_id"]
    done = subprocess.run([sys.executable, "-m", "harness", "plan", "--effect", "0.1",
                           "--pilot", str(run_dir), "--item-cost", "4"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Repeats per item (a new item costs 4 calls" in done.stdout
    assert "zero-shot-system-terse vs zero-shot-system-expert" in done.stdout
