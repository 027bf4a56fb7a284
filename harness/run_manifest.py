"""What a run folder's manifest says about the run: its settings, templates, tasks, scorers,
models and the identity of its plan, written when the run starts (and again as it ends)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from harness.config.sweep import manifest_design
from harness.results import git_commit, now, versions
from harness.scoring.versions import describe as describe_scoring
from harness.scoring.versions import manifest_scorers

if TYPE_CHECKING:
    from harness.plan import Plan


def _sha(text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


def config_hash(plan: Plan) -> str:
    """The plan's identity: every sample's fingerprint (``harness.fingerprint``), so it changes
    exactly when some sample would be sent or scored differently."""
    from harness.fingerprint import plan_fingerprint

    return plan_fingerprint((s.sample_id, s.fingerprint) for s in plan.samples)


def manifest_for(plan: Plan, run_id: str, status: str,
                 overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    experiment = plan.experiment
    return {
        "run_id": run_id,
        "experiment": experiment.name,
        "experiment_file": str(experiment.source),
        "experiment_path": str(experiment.source.resolve()),
        # The command-line settings, so that ``harness run --resume <id>`` needs none of them.
        "overrides": {k: v for k, v in (overrides or {}).items() if v is not None},
        "status": status,
        "started_at": now(),
        "finished_at": None,
        "seed": experiment.seed,
        "config": experiment.model_dump(mode="json"),
        "config_hash": config_hash(plan),
        "templates": {
            name: {"path": str(v.template.path), "sha256": _sha(v.template.source),
                   "reasoning": v.reasoning}
            for name, v in plan.variants.items()
        },
        "tasks": {
            name: {"source": str(t.config.source), "items": len(t.items),
                   "cluster_field": t.config.cluster_field,
                   "has_gold_docs": bool(t.config.gold_docs_field)}
            for name, t in plan.tasks.items()
        },
        "scorers": manifest_scorers(plan.tasks),
        # Which parser and scorer settings wrote the scores in samples.jsonl (harness score
        # stores other scorings beside them: harness.scoring.versions).
        "scoring": describe_scoring(plan.tasks, plan.variants),
        "models": {label: {"model": m.model, "api_base": m.api_base,
                           **({"deployments": [d.api_base for d in m.deployments]}
                              if m.deployments else {})}
                   for label, m in plan.models.items()},
        "samples_planned": len(plan.samples),
        **manifest_design(experiment.sweep),  # the sweep's factors, for the factorial analysis
        "versions": versions(),
        "git_commit": git_commit(experiment.source.parent),
    }
