"""prompt-harness: compare prompt strategies with statistics you can trust.

The public API is small::

    import harness
    samples = harness.run("experiments/quickstart.yaml")   # a pandas DataFrame
    samples = harness.load_run("results/<run-id>")
    samples = harness.score("results/<run-id>")  # score again, no model under test called
    harness.summary(samples)   # per variant: score, CI, n
    harness.compare(samples)   # every pair of variants: difference, CI, p-values
    harness.factorial(samples) # a sweep's factor effects and interactions, with CIs

Heavy modules load on first use, so ``import harness`` (and ``harness --help``) stay fast.
"""

from __future__ import annotations

from typing import Any

__all__ = ["compare", "factorial", "load_run", "run", "score", "summary"]

_LAZY = {
    "run": ("harness.api", "run"),
    "load_run": ("harness.results", "load_run"),
    "score": ("harness.scoring.rescore", "score"),
    "summary": ("harness.analysis", "summary"),
    "compare": ("harness.analysis", "compare"),
    "factorial": ("harness.analysis", "factorial"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        module, attr = _LAZY[name]
        return getattr(import_module(module), attr)
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
