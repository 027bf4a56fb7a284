"""Run hooks: scoring work that needs a whole run, not one sample.

A scorer sees one record. Some grading needs several (a pairwise judge compares two
variants' answers to one item) or rows that are not samples (a judge grading a task's
human-labelled calibration set). A run hook is called once the samples of a run (or of a
``harness score`` re-scoring) are written, inside the same event loop and with the same client
stack, so its model calls are cached, retried and limited like the run's own::

    from harness.scoring.hooks import register_run_hook

    async def pairwise(ctx: RunHookContext) -> None:
        ...  # read ctx.records, call a judge through ctx.client, write ctx.run_dir / ...

    register_run_hook("pairwise", pairwise)

Register from a module listed in ``harness.scoring.registry.TYPE_MODULES``. A hook that
raises is reported on stderr and in the manifest (``run_hook_errors``), never the end of the
run: its samples are already safe on disk.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class RunHookContext:
    """What a run hook works from. ``records``: the run's records as ``samples.jsonl`` holds
    them (dicts; ``SampleRecord.from_dict`` types one), with the scores of this scoring;
    ``plan``: the experiment's tasks and variants (``harness.plan.Plan``; no samples when
    re-scoring); ``scoring``: the scoring's id and settings; ``complete``: False when the run
    stopped early (a budget, Ctrl-C)."""

    run_dir: Path
    plan: Any
    records: list[dict[str, Any]]
    client: Any
    scoring: dict[str, Any] = field(default_factory=dict)
    complete: bool = True


RunHook = Callable[[RunHookContext], Awaitable[None] | None]
_HOOKS: dict[str, RunHook] = {}


def register_run_hook(name: str, hook: RunHook) -> None:
    _HOOKS[name] = hook


def unregister_run_hook(name: str) -> None:
    _HOOKS.pop(name, None)


def has_hooks() -> bool:
    from harness.scoring.registry import scorer_types

    scorer_types()  # imports the modules that register types and hooks
    return bool(_HOOKS)


async def run_hooks(context: RunHookContext) -> list[str]:
    """Call every hook; returns one ``name: Type: message`` line per hook that raised."""
    from harness.scoring.stage import short_error

    errors = []
    for name, hook in list(_HOOKS.items()):
        try:
            result = hook(context)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            line = f"{name}: {short_error(exc)}"
            print(f"harness: warning: run hook {line}", file=sys.stderr)
            errors.append(line)
    return errors
