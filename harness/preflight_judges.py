"""The judges a task file names, checked before the first call like the experiment's models.

A RAG metric's ``judge:`` (``faithfulness``...) and a ``type: judge`` scorer are written in the
task file, which :mod:`harness.preflight` (reading the experiment) never sees. Unchecked, a
judge whose key variable was unset let a run pay for every call of the models under test and
then fail the scoring of every sample that judge grades. The same checks apply (provider,
key, local model), with the task file's line in the message.
"""

from __future__ import annotations

from typing import Any

from harness.errors import ConfigError
from harness.preflight import LOCAL_PREFIX, Where, check_hosted

JUDGE_ARG = "judge"  # the scorer argument that holds a judge's model, in both kinds
_EXPERIMENT_JUDGE = "rubric_base"  # set on the specs of the experiment's ``judges:`` only


def task_judges(plan: Any) -> list[tuple[Where, Any]]:
    """Every judge model the plan's task scorers call (``ModelConfig``), one per deployment,
    with where each key was written; the experiment's own ``judges:`` are left out (the
    experiment's checks cover them, naming the experiment file)."""
    from harness.config import ModelConfig
    from harness.config.deployments import expand

    out: list[tuple[Where, Any]] = []
    for task in plan.tasks.values():
        for spec in task.scorers:
            written = spec.args.get(JUDGE_ARG)
            if written is None or _EXPERIMENT_JUDGE in spec.args:
                continue
            try:
                model = ModelConfig.model_validate(written)
            except ValueError:  # the scorer's own check reports a bad entry, with its words
                continue
            base = _locator(task.config, spec.name, written)
            out += [(base, config) for config in expand(model)]
    return out


def _locator(config: Any, scorer: str, written: Any) -> Where:
    """Where a key of scorer ``scorer``'s judge was written in the task file: the judge's own
    key when it sets it, else the judge entry; ``--scorers`` when the task file lacks it."""
    index = _index(config, scorer)

    def where(key: str) -> dict[str, Any]:
        if index is None:
            return {"key": "--scorers"}
        own = (key,) if isinstance(written, dict) and key in written else ()
        return config.locate("scorers", index, JUDGE_ARG, *own)

    return where


def _index(config: Any, scorer: str) -> int | None:
    from harness.scoring.registry import spec_from_entry

    for index, step in enumerate(config.scorers):
        try:
            if spec_from_entry(step.name, step.args).name == scorer:
                return index
        except ValueError:
            continue
    return None


def check_task_judges(plan: Any) -> None:
    """The task files' judges can be called: a provider LiteLLM knows and a key that is set
    (hosted), or a model that is there (``hf/``). One ConfigError (exit 2) otherwise."""
    judges = task_judges(plan)
    check_hosted(judges)
    for where, model in judges:
        if model.model.startswith(LOCAL_PREFIX):
            from harness.models.hf_loading import missing_model

            problem = missing_model(model.model[len(LOCAL_PREFIX):])
            if problem:
                raise ConfigError(problem, **where("model"))


def judge_models(plan: Any) -> list[Any]:
    """Every judge model a run of ``plan`` may call (``ModelConfig``): the experiment's
    ``judges:``, the pairwise judge's own model, and the task files' judges."""
    experiment = plan.experiment
    models = [j.model for j in experiment.judges]
    if experiment.pairwise is not None and experiment.pairwise.model is not None:
        models.append(experiment.pairwise.model)
    return models + [model for _, model in task_judges(plan)]
