"""Scorers: compare a parsed answer with the target and return a score in [0, 1].

Each scorer declares whether its scores are pass/fail (``binary``) or ``graded``, because the
statistics differ (Wilson intervals and McNemar's test for the first, CLT intervals and paired
tests on differences for the second). Metrics over many scores live in ``harness.stats``.
"""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from harness import jsontext, numbers
from harness.factories import check_factory
from harness.userpattern import UserPattern

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


# Trailing punctuation is cut with rstrip, not a regex: "[...]+$" retries from every position
# of a long punctuation run and took minutes on an answer of 200,000 hyphens.
_PUNCT = string.punctuation


def normalize(text: str) -> str:
    """Case, surrounding quotes and whitespace, trailing punctuation, a typographic minus:
    differences no one grades."""
    text = " ".join(text.strip().strip("\"'`*").split()).lower().replace("\u2212", "-")
    return text.rstrip(_PUNCT).strip()


@_register("exact_match", "binary")
def _exact_match() -> ScoreFn:
    return lambda answer, target: float(normalize(answer) == normalize(target))


_SENTENCE_END = ".,;:!?"


def _loose(text: str) -> str:
    """Like :func:`normalize`, but a target's own punctuation ("c++", "U.S.") is kept; only
    sentence punctuation at its end goes."""
    text = " ".join(text.strip().strip("\"'`*").split()).lower().replace("\u2212", "-")
    return text.rstrip(_SENTENCE_END).strip()


@_register("includes", "binary")
def _includes() -> ScoreFn:
    """Whether the answer contains the target: a number as a whole number of the same value
    ("7920" is not in "7920000000", nor in "-7920"; it is in "7,920 people"), text as whole
    words ("paris" is in "Paris, France", not in "Parisian"). An empty target is in nothing."""

    def score(answer: str, target: str) -> float:
        number = _only_number(target)
        if number is not None:
            return float(any(numbers.same_value(found.text, number)
                             for found in numbers.find_numbers(answer)))
        want = _loose(target)
        return float(bool(want) and _contains_words(_loose(answer), want))

    return score


def _contains_words(text: str, words: str) -> bool:
    """Whether ``words`` occurs in ``text`` not inside a longer word (str.find, not a regex:
    the target may be megabytes long, and compiling it as a pattern took seconds)."""
    check_left, check_right = _word_char(words[0]), _word_char(words[-1])
    at = text.find(words)
    while at >= 0:
        end = at + len(words)
        if not (check_left and at > 0 and _word_char(text[at - 1])) and \
                not (check_right and end < len(text) and _word_char(text[end])):
            return True
        at = text.find(words, at + 1)
    return False


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


_NUMBER_ONLY = re.compile(r"^[\s$€£¥₹%+\-\u2212.,/]*$")


def _only_number(text: str) -> str | None:
    """The canonical number ``text`` is, when it is a number and nothing else (currency and
    percent signs aside); None for text such as "route 66"."""
    found = numbers.find_numbers(text)
    if len(found) != 1 or "\\" in text:
        return None
    rest = text[:found[0].start] + text[found[0].end:]
    return found[0].text if _NUMBER_ONLY.match(rest) else None


@_register("regex", "binary")
def _regex(pattern: str, ignore_case: bool = True) -> ScoreFn:
    compiled = UserPattern(pattern, ignore_case=ignore_case)
    return lambda answer, target: float(compiled.search(answer) is not None)


@_register("numeric", "binary")
def _numeric(tolerance: float = 1e-6, relative: float = 0.0) -> ScoreFn:
    """The answer's number against the target's, within ``tolerance`` (absolute) or
    ``relative`` (a share of the target). Numbers are read as :mod:`harness.numbers` reads
    them: "-58", "−58", "$1,234.00", "45%", "1/2", "1.5e3". An answer holding no number, or
    several (which one was meant?), scores 0."""
    for key, value in (("tolerance", tolerance), ("relative", relative)):
        # A negative tolerance scores every answer 0, a string fails every sample: refuse
        # either when the task loads rather than report a silently wrong score.
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                0 <= value < float("inf")):
            raise ValueError(f"{key} must be a number, 0 or more; got {value!r}")

    def score(answer: str, target: str) -> float:
        got, want = numbers.single_number(answer), numbers.single_number(target)
        if got is None or want is None:
            return 0.0
        return float(numbers.same_value(got, want, tolerance, relative))

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
    return jsontext.load_object(text)


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
    """A JSON field matches when both are absent/null, both are the same number (1 and 1.0),
    or their normalised texts are equal (objects and arrays compared as sorted JSON)."""
    if got is None or want is None:
        return got is None and want is None
    if _is_number(got) and _is_number(want):
        return numbers.same_value(_number_text(got), _number_text(want))
    return normalize(_field_text(got)) == normalize(_field_text(want))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _number_text(value: int | float | Decimal) -> str:
    text = str(value) if not isinstance(value, float) else repr(value)
    return numbers.single_number(text) or text


def _field_text(value: Any) -> str:
    if isinstance(value, (dict, list)):
        try:
            return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
        except (ValueError, TypeError, RecursionError):
            return str(value)
    return str(value)


def check_scorer(name: str, args: dict[str, Any]) -> None:
    """Raise ValueError with a readable reason for an unknown scorer or bad arguments."""
    entry = _REGISTRY.get(name)
    check_factory("scorer", name, entry[1] if entry else None, names(), args)


def build_scorer(name: str, args: dict[str, Any]) -> Scorer:
    kind, factory = _REGISTRY[name]
    return Scorer(name=name, kind=kind, score=factory(**args))
