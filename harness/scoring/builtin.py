"""The two scorer types every install has: ``string`` and ``python``.

``string`` adapts the registered answer-vs-target scorers (``harness.scorers``) to the one
scorer signature: they read the parsed ``answer`` and the ``target`` of the record. ``python``
calls a user's ``module:function`` (``harness.scoring.user``) with the whole record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.scoring.record import SampleRecord
from harness.scoring.registry import (
    Kind,
    ScorerSpec,
    ScoringContext,
    register_scorer_type,
)
from harness.scoring.score import Score, ScorerFn


def _string_check(spec: ScorerSpec, task_file: Path) -> None:
    from harness.scorers import check_scorer

    check_scorer(spec.name, dict(spec.args))


def _string_kind(spec: ScorerSpec) -> Kind | None:
    from harness.scorers import _REGISTRY

    entry = _REGISTRY.get(spec.name)
    return entry[0] if entry else None


def _string_build(spec: ScorerSpec, context: ScoringContext) -> ScorerFn:
    from harness.scorers import build_scorer

    score = build_scorer(spec.name, dict(spec.args)).score

    def scorer(record: SampleRecord) -> Score:
        return Score(value=float(score(record.answer or "", record.target)))

    scorer.__name__ = f"string_{spec.name}"
    return scorer


def _python_args(spec: ScorerSpec) -> tuple[str, dict[str, Any]]:
    args = dict(spec.args)
    ref = args.pop("function", None)
    if not isinstance(ref, str):
        raise ValueError("function: must be module:function, as a string")
    extra = args.pop("args", None) or {}
    if not isinstance(extra, dict):
        raise ValueError("args: must be a mapping of keyword arguments for the function")
    if args:
        raise ValueError(f"unknown key(s) for a python scorer: {', '.join(args)} (allowed: "
                         "name, function, args, kind)")
    return ref, extra


def _python_check(spec: ScorerSpec, task_file: Path) -> None:
    from harness.scoring.user import check_signature, resolve

    ref, extra = _python_args(spec)
    fn, _ = resolve(ref, task_file)
    check_signature(fn, ref, extra)


def _python_describe(spec: ScorerSpec, task_file: Path) -> Any:
    """A user scorer's code is part of its identity: an edited function is a new scoring."""
    from harness.scoring.user import resolve, source_digest

    ref, _ = _python_args(spec)
    try:
        _, path = resolve(ref, task_file)
    except ValueError:
        return None
    return {"source_sha256": source_digest(path)}


def _python_build(spec: ScorerSpec, context: ScoringContext) -> ScorerFn:
    from harness.scoring.user import resolve

    ref, extra = _python_args(spec)
    fn, _ = resolve(ref, context.task_file)
    if not extra:
        return fn  # type: ignore[no-any-return]

    def scorer(record: SampleRecord) -> Any:
        return fn(record, **extra)

    return scorer


register_scorer_type("string", _string_build, check=_string_check, kind=_string_kind)
# ``function: module:fn`` selects the python type, as ``judge: ...`` would select a judge's.
register_scorer_type("python", _python_build, check=_python_check, describe=_python_describe,
                     key="function")
