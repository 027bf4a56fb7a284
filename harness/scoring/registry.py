"""Scorer types: how one entry of a task's ``scorers:`` list becomes a scorer.

A task file lists its scorers; each entry is of one *type*, and each type is a small factory
registered here, so judges, RAG metrics and user code plug into the scoring stage without the
stage knowing them. Built in: ``string`` (the registered answer-vs-target scorers of
``harness.scorers``) and ``python`` (a user's ``module:function``). Another engineer's type is
one call::

    from harness.scoring.registry import register_scorer_type
    register_scorer_type("judge", build_judge, check=check_judge)

in a module listed in ``TYPE_MODULES`` (below), after which ``{name: helpful, judge:
openai/gpt-4o-mini, rubric: helpfulness}`` in a task file is built by
``build_judge(spec, context)``: a :class:`ScorerSpec` in (name, args, kind), a ``ScorerFn``
out, with the run's client stack in ``context.client`` for calling the judge.

An entry's type is, in order: its ``type:`` key; the type the entry is named after
(``bleu``, ``faithfulness``: a metric that is its own type); the one registered type whose key
the entry holds (``judge:`` above, ``function:`` for python); ``python`` for a bare
``module:function`` string; otherwise ``string``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.scoring.score import ScorerFn

Kind = Literal["binary", "graded"]


@dataclass(frozen=True)
class ScorerSpec:
    """One scorer entry of a task file, as its factory receives it.

    ``name`` names the score (the ``score_<name>`` column); ``args`` are the entry's other keys
    (``type`` and ``kind`` removed); ``kind`` is ``binary`` (pass/fail) or ``graded`` when the
    entry or its type says so, else None and the statistics infer it from the values.
    """

    name: str
    type: str
    args: Mapping[str, Any] = field(default_factory=dict)
    kind: Kind | None = None

    def settings(self) -> dict[str, Any]:
        """What identifies this scorer's configuration (part of a scoring's id)."""
        return {"name": self.name, "type": self.type, "kind": self.kind, "args": dict(self.args)}


@dataclass
class ScoringContext:
    """What a factory may use to build its scorer.

    ``task`` is the task's ``TaskConfig``; ``client`` the run's client stack (cache, retries,
    limits), None when the stage runs without one (``harness score`` offline, tests); judges
    call models through it. ``resources`` holds anything else a caller provides by name.
    """

    task: Any
    task_file: Path
    client: Any = None
    experiment: Any = None
    resources: dict[str, Any] = field(default_factory=dict)


Build = Callable[[ScorerSpec, ScoringContext], ScorerFn]
Check = Callable[[ScorerSpec, Path], None]
Describe = Callable[[ScorerSpec, Path], Any]


@dataclass(frozen=True)
class ScorerType:
    """A registered factory. ``check(spec, task_file)`` runs when the task file loads and
    raises ValueError with a message for the person who wrote it (an unknown module, a bad
    rubric), before any model call; ``describe(spec, task_file)`` adds to the scoring's
    identity what the config alone does not say (a user module's source digest); ``kind``
    gives the kind of a spec whose entry does not."""

    name: str
    build: Build
    check: Check | None = None
    describe: Describe | None = None
    kind: Callable[[ScorerSpec], Kind | None] | None = None
    key: str | None = None

    @property
    def selector(self) -> str:
        """The entry key that selects this type (``judge:``, ``function:``)."""
        return self.key or self.name


_TYPES: dict[str, ScorerType] = {}
RESERVED = ("name", "type", "kind")


def register_scorer_type(name: str, build: Build, *, check: Check | None = None,
                         describe: Describe | None = None,
                         kind: Callable[[ScorerSpec], Kind | None] | None = None,
                         key: str | None = None) -> None:
    """Make ``name`` a scorer type: task entries of this type are built by ``build``. An
    entry holding the key ``key`` (default: ``name``) is of this type without saying
    ``type:``."""
    _TYPES[name] = ScorerType(name=name, build=build, check=check, describe=describe,
                              kind=kind, key=key)


def scorer_types() -> list[str]:
    _load_builtins()
    return sorted(_TYPES)


def scorer_type(name: str) -> ScorerType:
    _load_builtins()
    return _TYPES[name]


# Modules that register scorer types when imported, loaded before the first task file's
# scorers are read. A new type (judges, RAG metrics) adds its module here: one line.
TYPE_MODULES: list[str] = ["harness.scoring.builtin", "harness.judges.scorer_type",
                            "harness.scoring.reference", "harness.scoring.similarity",
                            "harness.scoring.rag_types"]
_types_loaded = False


def _load_builtins() -> None:
    global _types_loaded
    if _types_loaded:
        return
    _types_loaded = True
    import importlib

    for module in TYPE_MODULES:
        importlib.import_module(module)


def spec_from_entry(name: str, args: Mapping[str, Any]) -> ScorerSpec:
    """The spec of one ``scorers:`` entry (a name plus its other keys); ValueError when its
    type cannot be told."""
    _load_builtins()
    rest = dict(args)
    kind = rest.pop("kind", None)
    if kind is not None and kind not in ("binary", "graded"):
        raise ValueError(f"kind must be binary (pass/fail) or graded (0-1); got {kind!r}")
    chosen = rest.pop("type", None)
    if chosen is not None:
        if chosen not in _TYPES:
            raise ValueError(f"unknown scorer type '{chosen}' (known: {', '.join(sorted(_TYPES))})")
    elif name in _TYPES and name not in ("string", "python"):
        chosen = name  # an entry named after a type (bleu, faithfulness) is of that type
    else:
        keyed = [t.name for t in _TYPES.values() if t.name != "string" and t.selector in rest]
        if len(keyed) > 1:
            raise ValueError(f"this scorer has keys of several types ({', '.join(keyed)}); say "
                             "which it is with type: <one of them>")
        if keyed:
            chosen = keyed[0]
        elif ":" in name:
            chosen, rest = "python", {"function": name, **rest}
            name = name.split(":", 1)[1].rsplit(".", 1)[-1]
        else:
            chosen = "string"
    spec = ScorerSpec(name=name, type=chosen, args=rest, kind=kind)
    typ = _TYPES[chosen]
    if spec.kind is None and typ.kind is not None:
        spec = ScorerSpec(name=name, type=chosen, args=rest, kind=typ.kind(spec))
    return spec


def check_spec(spec: ScorerSpec, task_file: Path) -> None:
    """Raise ValueError (a message for the config's author) when ``spec`` cannot be built."""
    typ = scorer_type(spec.type)
    if typ.check is not None:
        typ.check(spec, task_file)


def build_spec(spec: ScorerSpec, context: ScoringContext) -> ScorerFn:
    return scorer_type(spec.type).build(spec, context)


def describe_spec(spec: ScorerSpec, task_file: Path) -> dict[str, Any]:
    """``spec``'s identity for the scoring id: its settings plus what its type adds."""
    typ = scorer_type(spec.type)
    out = spec.settings()
    if typ.describe is not None:
        out["extra"] = typ.describe(spec, task_file)
    return out
