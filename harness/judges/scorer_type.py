"""The ``judge`` scorer type of the scoring stage (``harness.scoring.registry``).

A judge is a scorer entry like any other, so the stage, ``harness score`` and the scoring
versions treat it as one. It can be written in a task file::

    scorers:
      - exact_match
      - {name: helpful, judge: openai/gpt-4o-mini, rubric: helpfulness, grade: 1-5}

or, more often, in the experiment file's ``judges:`` list (``harness.config.judges``), whose
entries :func:`experiment_specs` turns into the same specs, added to every task they grade.
The keys are the ``judges:`` keys, with the model under ``judge:``. A rubric named by path is
relative to the file that names it; the spec carries its absolute path.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness.scoring.registry import Kind, ScorerSpec, ScoringContext, register_scorer_type
from harness.scoring.score import ScorerFn

_BASE = "rubric_base"  # the folder a relative rubric path is read from (set by the harness)


def settings(spec: ScorerSpec) -> Any:
    """The entry as a ``JudgeConfig``; ValueError with the first problem otherwise."""
    from harness.config.judges import JudgeConfig

    args = {k: v for k, v in spec.args.items() if k != _BASE}
    if "judge" not in args:
        raise ValueError("a judge scorer needs judge: <model> (a LiteLLM model string or "
                         "mapping)")
    data = {"name": spec.name, "model": args.pop("judge"), **args}
    try:
        return JudgeConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "judge"
        message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        raise ValueError(f"{where}: {message}") from None


def rubric_path(spec: ScorerSpec, task_file: Path) -> Path:
    from harness.errors import ConfigError
    from harness.judges.rubrics import resolve_rubric

    base = Path(str(spec.args.get(_BASE) or Path(task_file).parent))
    try:
        return resolve_rubric(str(spec.args.get("rubric")), base)
    except ConfigError as exc:
        raise ValueError(exc.message) from None


def _check(spec: ScorerSpec, task_file: Path) -> None:
    from harness.judges.rubrics import GRADING_VARS, load_rubric

    settings(spec)
    load_rubric(rubric_path(spec, task_file), GRADING_VARS)  # a ConfigError names its line


def _describe(spec: ScorerSpec, task_file: Path) -> Any:
    """The rubric's text is part of the judge's identity: an edited rubric is a new scoring."""
    try:
        path = rubric_path(spec, task_file)
        return {"rubric_sha256": hashlib.sha256(path.read_bytes()).hexdigest()[:16]}
    except (ValueError, OSError):
        return None


def _kind(spec: ScorerSpec) -> Kind | None:
    try:
        config = settings(spec)
    except ValueError:
        return None
    return "binary" if config.grading.kind == "pass_fail" and config.epochs == 1 else "graded"


def build_judge(spec: ScorerSpec, context: ScoringContext) -> ScorerFn:
    """The judge as a scorer: a ``RubricJudge`` asking through the run's judge client (its
    usage counted apart), or one on ``context.client`` (``harness score``)."""
    from harness.judges.client import JudgeClient
    from harness.judges.grader import RubricJudge
    from harness.judges.rubrics import GRADING_VARS, load_rubric

    config = settings(spec)
    client = context.resources.get("judge_client")
    if client is None:
        if context.client is None:
            raise ValueError(f"judge '{spec.name}' needs a client to call its model")
        client = JudgeClient(context.client)
        context.resources["judge_client"] = client
    rubric = load_rubric(rubric_path(spec, Path(context.task_file)), GRADING_VARS)
    return RubricJudge(name=spec.name, model=config.call_model(), rubric=rubric,
                       grade=config.grading, epochs=config.epochs, ask=client.ask)


def experiment_specs(experiment: Any, task: str) -> list[ScorerSpec]:
    """The experiment's ``judges:`` that grade ``task``, as scorer specs (a primary judge's
    first, so it comes before the task's own scorers: see :func:`with_judges`)."""
    out = []
    for judge in experiment.judges:
        if judge.tasks is not None and task not in judge.tasks:
            continue
        args: dict[str, Any] = {
            "judge": judge.model.model_dump(mode="json", exclude_defaults=True),
            "rubric": judge.rubric, "grade": judge.grade, "epochs": judge.epochs,
            _BASE: str(Path(experiment.source).parent.resolve()),
        }
        for key in ("temperature", "max_tokens"):
            if getattr(judge, key) is not None:
                args[key] = getattr(judge, key)
        if judge.primary:
            args["primary"] = True
        spec = ScorerSpec(name=judge.name, type="judge", args=args)
        out.append(ScorerSpec(name=spec.name, type="judge", args=args, kind=_kind(spec)))
    return out


def with_judges(experiment: Any, task: str, specs: list[ScorerSpec]) -> list[ScorerSpec]:
    """A task's scorer specs with the experiment's judges added: a primary judge first."""
    judges = experiment_specs(experiment, task)
    primary = [s for s in judges if s.args.get("primary")]
    return [*primary, *specs, *(s for s in judges if not s.args.get("primary"))]


register_scorer_type("judge", build_judge, check=_check, describe=_describe, kind=_kind)
