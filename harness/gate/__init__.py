"""The CI gate: save a run as a baseline, then fail CI only when a prompt change really hurts.

A regression is a drop that is statistically significant on the items both runs share (paired
tests from :mod:`harness.stats`, corrected for the number of comparisons) *and* larger than the
team's tolerance, so the gate stays green for noise and goes red for real damage.

``harness.gate.baseline`` reads and writes baselines, ``harness.gate.check`` compares, and
``harness.gate.formats`` / ``harness.gate.junit`` write what CI systems read. Nothing heavy is
imported here, so the pytest plugin and the CLI can import this package cheaply.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Baseline", "CheckResult", "GateSettings", "check_experiment", "check_run",
           "compare_runs"]

_LAZY = {
    "Baseline": "harness.gate.baseline",
    "CheckResult": "harness.gate.check",
    "GateSettings": "harness.gate.check",
    "check_experiment": "harness.gate.check",
    "check_run": "harness.gate.check",
    "compare_runs": "harness.gate.check",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'harness.gate' has no attribute {name!r}")
