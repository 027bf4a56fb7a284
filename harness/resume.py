"""Resuming a run: the same command-line settings, and only unchanged samples reused.

The manifest records the overrides a run was started with (``--limit``, ``--model``...), so
``harness run --resume <run-id>`` rebuilds the same plan with nothing else given. Before any
finished sample is reused, its fingerprint (what it sent and how it was scored,
``harness.fingerprint``) must equal the one the plan computes now: otherwise the run would
mix old and new prompts, and the refusal names the samples that changed and why.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import ConfigError
from harness.fingerprint import explain

if TYPE_CHECKING:
    from harness.plan import Plan

SHOWN = 5  # changed samples named in the refusal


def merged_overrides(manifest: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """The run's recorded overrides, with any given now on top (e.g. a bigger budget)."""
    recorded = dict(manifest.get("overrides") or {})
    recorded.update({k: v for k, v in given.items() if v is not None})
    return recorded


def experiment_file(manifest: dict[str, Any], run_dir: Path) -> Path:
    """The experiment file a run was started from, for ``harness run --resume <id>``."""
    for key in ("experiment_path", "experiment_file"):
        value = manifest.get(key)
        if value and Path(value).is_file():
            return Path(value)
    named = manifest.get("experiment_path") or manifest.get("experiment_file") or "?"
    raise ConfigError(f"run {run_dir.name} was started from {named}, which is not there any "
                      f"more; give the experiment file: harness run <experiment.yaml> --resume "
                      f"{run_dir.name}")


def reusable(plan: Plan, records: list[dict[str, Any]], run_id: str) -> list[dict[str, Any]]:
    """The finished records the plan can reuse; refuse if any would now be sent differently."""
    planned = {s.sample_id: s for s in plan.samples}
    finished = [r for r in records if r.get("error") is None and r["sample_id"] in planned]
    changed: dict[tuple[str, str, str, str], str] = {}
    for record in finished:
        sample = planned[record["sample_id"]]
        old = record.get("fingerprint")
        same = (old == sample.fingerprint if old is not None  # runs from before fingerprints
                else record.get("messages") == [dict(m) for m in sample.messages])
        if not same:
            key = (sample.task, sample.variant, sample.model, sample.item.id)
            changed[key] = explain(record.get("prompt_parts"), sample.parts)
    if changed:
        named = "; ".join(f"{t}/{v}/{m} item {i}: {why}"
                          for (t, v, m, i), why in sorted(changed.items())[:SHOWN])
        more = f"; and {len(changed) - SHOWN} more" if len(changed) > SHOWN else ""
        raise ConfigError(
            f"{plan.experiment.source}: {len(changed)} finished item(s) of run {run_id} would "
            f"now be sent or scored differently, so the run cannot be resumed; changed since "
            f"run {run_id} started: {named}{more}; start a new run instead of resuming"
        )
    return finished
