"""Scorers: compare a parsed answer with the target and return a score in [0, 1].

Each scorer declares whether its scores are pass/fail (``binary``) or ``graded``, because the
statistics differ (Wilson intervals and McNemar's test for the first, CLT intervals and paired
tests on differences for the second). Metrics over many scores live in ``harness.stats``.
"""

from __future__ import annotations

import json
import math
import re
import string
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from harness.factories import check_factory

Kind = Literal["binary", "graded"]
ScoreFn = Callable[[str, str], float]


@dataclass(frozen=True)
class Scorer:
    name: str
    kind: Kind
    score: ScoreFn


_REGISTRY: dict[str, tuple[Kind, Callable[..., ScoreFn]]] = {}


def _register(name: str, kind: Kind) -> Callable[[Callable[..., ScoreFn]], Callable[..., ScoreFn]]:
    def deco(factory: Callable[..., ScoreFn]) -> Callable[..., ScoreFn]:
        _REGISTRY[name] = (kind, factory)
        return factory

    return deco


def names() -> list[str]:
    return sorted(_REGISTRY)


_PUNCT = re.compile(rf"[{re.escape(string.punctuation)}]+$")


def normalize(text: str) -> str:
    """Case, surrounding quotes and whitespace, trailing punctuation: differences no one grades."""
    text = " ".join(text.strip().strip("\"'`*").split()).lower()
    return _PUNCT.sub("", text).strip()


@_register("exact_match", "binary")
def _exact_match() -> ScoreFn:
    return lambda answer, target: float(normalize(answer) == normalize(target))


@_register("includes", "binary")
def _includes() -> ScoreFn:
    return lambda answer, target: float(normalize(target) in normalize(answer))


@_register("regex", "binary")
def _regex(pattern: str, ignore_case: bool = True) -> ScoreFn:
    compiled = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    return lambda answer, target: float(compiled.search(answer) is not None)


def _to_number(text: str) -> float | None:
    cleaned = text.strip().replace(",", "").rstrip(".").lstrip("$")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@_register("numeric", "binary")
def _numeric(tolerance: float = 1e-6, relative: float = 0.0) -> ScoreFn:
    def score(answer: str, target: str) -> float:
        got, want = _to_number(answer), _to_number(target)
        if got is None or want is None:
            return 0.0
        return float(abs(got - want) <= max(tolerance, relative * abs(want)))

    return score


@_register("choice", "binary")
def _choice() -> ScoreFn:
    return lambda answer, target: float(normalize(answer).strip("()") == normalize(target))


def _tokens(text: str) -> list[str]:
    text = re.sub(r"\b(a|an|the)\b", " ", normalize(text))
    return re.sub(rf"[{re.escape(string.punctuation)}]", " ", text).split()


@_register("token_f1", "graded")
def _token_f1() -> ScoreFn:
    def score(answer: str, target: str) -> float:
        got, want = _tokens(answer), _tokens(target)
        if not got or not want:
            return float(got == want)
        common = sum((Counter(got) & Counter(want)).values())
        if common == 0:
            return 0.0
        precision, recall = common / len(got), common / len(want)
        return 2 * precision * recall / (precision + recall)

    return score


def _load_object(text: str) -> dict[str, Any] | None:
    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return None
    return obj if isinstance(obj, dict) else None


@_register("json_valid", "binary")
def _json_valid(schema: dict[str, Any] | None = None) -> ScoreFn:
    validator = None
    if schema is not None:
        import jsonschema

        jsonschema.validators.validator_for(schema).check_schema(schema)
        validator = jsonschema.validators.validator_for(schema)(schema)

    def score(answer: str, target: str) -> float:
        obj = _load_object(answer)
        if obj is None:
            return 0.0
        return float(validator is None or validator.is_valid(obj))

    return score


@_register("json_fields", "graded")
def _json_fields(fields: list[str] | None = None) -> ScoreFn:
    def score(answer: str, target: str) -> float:
        want = _load_object(target) or {}
        got = _load_object(answer) or {}
        keys = fields or sorted(want)
        if not keys:
            return 0.0
        hits = sum(_same_field(got.get(k), want.get(k)) for k in keys)
        return hits / len(keys)

    return score


def _same_field(got: Any, want: Any) -> bool:
    """A JSON field matches when both are absent/null, or their normalised texts are equal."""
    if got is None or want is None:
        return got is None and want is None
    return normalize(str(got)) == normalize(str(want))


def check_scorer(name: str, args: dict[str, Any]) -> None:
    """Raise ValueError with a readable reason for an unknown scorer or bad arguments."""
    entry = _REGISTRY.get(name)
    check_factory("scorer", name, entry[1] if entry else None, names(), args)


def build_scorer(name: str, args: dict[str, Any]) -> Scorer:
    kind, factory = _REGISTRY[name]
    return Scorer(name=name, kind=kind, score=factory(**args))
