"""Answer extraction: small filters chained in order, as in lm-evaluation-harness.

A model's raw output rarely *is* the answer; the parser chain turns it into the string the
scorers compare with the target. Chain-of-thought variants put ``answer_is`` in front of the
task's chain, so the same task file serves direct and reasoning prompts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from harness import jsontext, numbers
from harness.answer_markers import final_answer
from harness.factories import check_factory
from harness.userpattern import UserPattern

Parse = Callable[[str], str]


@dataclass(frozen=True)
class ParseContext:
    """What a filter may need to know about the task beyond the text itself."""

    choices: tuple[str, ...] = ()


Factory = Callable[..., Callable[[str, ParseContext], str]]
_REGISTRY: dict[str, Factory] = {}


def _register(name: str) -> Callable[[Factory], Factory]:
    def deco(factory: Factory) -> Factory:
        _REGISTRY[name] = factory
        return factory

    return deco


def names() -> list[str]:
    return sorted(_REGISTRY)


@_register("strip")
def _strip() -> Callable[[str, ParseContext], str]:
    return lambda text, ctx: text.strip().strip("`*\"' ").strip()


@_register("lowercase")
def _lowercase() -> Callable[[str, ParseContext], str]:
    return lambda text, ctx: text.lower()


@_register("first_line")
def _first_line() -> Callable[[str, ParseContext], str]:
    def parse(text: str, ctx: ParseContext) -> str:
        for line in text.strip().splitlines():
            if line.strip():
                return line.strip()
        return ""

    return parse


@_register("last_number")
def _last_number() -> Callable[[str, ParseContext], str]:
    """The last number in canonical form (see :mod:`harness.numbers`): "-58", "1234", "3.5",
    "1/2"; the text unchanged when it holds no number."""

    def parse(text: str, ctx: ParseContext) -> str:
        found = numbers.last_number(text)
        return text.strip() if found is None else found

    return parse


@_register("answer_is")
def _answer_is() -> Callable[[str, ParseContext], str]:
    """The answer the model marked as final (see :mod:`harness.answer_markers`); the text
    unchanged when it marked none, so the next filter can search all of it."""

    def parse(text: str, ctx: ParseContext) -> str:
        found = final_answer(text)
        return text if found is None else found

    return parse


_MARKED_LETTER = re.compile(
    r"\banswer\b[\s*_]*(?:is\b|:|=)?[\s*_:]*[(\[]?([A-E])(?![\w'’-])", re.IGNORECASE
)
_LEADING_LETTER = re.compile(r"^[\s*_]*[(\[]?([A-E])(?:[)\].:]|\s*$)")
_PAREN_LETTER = re.compile(r"\(([A-E])\)")
_BARE_LETTER = re.compile(r"(?<![\w'’-])([A-E])(?![\w'’-])")
_WORD_AFTER = re.compile(r"[ \t]+[a-z]")


def _letter(text: str) -> str | None:
    """A choice letter, from the most explicit evidence to the least: the text is the letter
    ("(c)", "B."), marked as the answer (the last such), leading the text ("B) Paris"), in
    parentheses, standing alone. A letter that reads as a word ("a bit", "A good answer")
    does not count."""
    head = text.strip("()[]*_. \t\n:").upper()
    if len(head) == 1 and head in "ABCDE":
        return head
    for match in reversed(list(_MARKED_LETTER.finditer(text))):
        letter = match.group(1)
        if letter.isupper() or not _WORD_AFTER.match(text, match.end()):
            return letter.upper()
    for pattern in (_LEADING_LETTER, _PAREN_LETTER):
        found = pattern.search(text)
        if found:
            return found.group(1)
    for match in _BARE_LETTER.finditer(text):
        if match.group(1) != "A" or not _WORD_AFTER.match(text, match.end()):
            return match.group(1)
    return None


def _label_pattern(label: str) -> re.Pattern[str]:
    """``label`` as a whole word: not inside a longer word, and a number not inside a longer
    number ("1" is not found in "-1" or "1.5")."""
    escaped = re.escape(label.lower())
    left = r"(?<![\w.,+\-\u2212])" if label[:1].isdigit() else (r"(?<!\w)" if
                                                                   label[:1].isalnum() else "")
    right = r"(?![\w]|[.,]\d)" if label[-1:].isalnum() else ""
    return re.compile(left + escaped + right)


@_register("choice")
def _choice(letters: bool = False) -> Callable[[str, ParseContext], str]:
    """``letters``: the choice letter A-E; otherwise the first of the task's choices that the
    text mentions as a whole word (the longest when two start at the same place)."""
    patterns: dict[str, re.Pattern[str]] = {}

    def parse(text: str, ctx: ParseContext) -> str:
        stripped = text.strip()
        if letters:
            return _letter(stripped) or stripped
        lowered = stripped.lower().replace("\u2212", "-")
        best: tuple[int, int, str] | None = None
        for label in ctx.choices:
            if not label:
                continue
            pattern = patterns.get(label) or patterns.setdefault(label, _label_pattern(label))
            hit = pattern.search(lowered)
            if hit and (best is None or (hit.start(), -len(label)) < best[:2]):
                best = (hit.start(), -len(label), label)
        return best[2] if best else stripped

    return parse


def _regex_group(compiled: UserPattern, group: int | str) -> None:
    """Refuse at config load a group the pattern does not have, rather than at every answer."""
    if isinstance(group, bool) or not isinstance(group, (int, str)):
        raise ValueError(f"group must be a number or a group name, not {group!r}")
    if isinstance(group, int) and not 0 <= group <= compiled.groups:
        raise ValueError(f"group {group} does not exist: the pattern has "
                         f"{compiled.groups} group(s)")
    if isinstance(group, str) and group not in compiled.groupindex:
        known = ", ".join(compiled.groupindex) or "none"
        raise ValueError(f"group '{group}' does not exist: the pattern's named groups: {known}")


@_register("regex")
def _regex(pattern: str, group: int | str = 0, ignore_case: bool = True) -> Callable[
    [str, ParseContext], str
]:
    compiled = UserPattern(pattern, ignore_case=ignore_case)
    _regex_group(compiled, group)

    def parse(text: str, ctx: ParseContext) -> str:
        match = compiled.search(text)
        found = match.group(group) if match else None  # None too when the group sat out
        return text.strip() if found is None else found.strip()

    return parse


@_register("json")
def _json() -> Callable[[str, ParseContext], str]:
    """The first JSON object in the text, compact; written as the model wrote it when compact
    JSON could not say it exactly (a 5,000-digit integer); "" when there is none."""

    def parse(text: str, ctx: ParseContext) -> str:
        found = jsontext.first_object(text)
        if found is None:
            return ""
        obj, start, end = found
        out = jsontext.compact(obj)
        return text[start:end] if out is None else out

    return parse


def check_step(name: str, args: dict[str, Any]) -> None:
    """Raise ValueError naming the problem when a config names an unknown parser or bad args."""
    check_factory("parser", name, _REGISTRY.get(name), names(), args)


def build_parser(steps: Sequence[tuple[str, dict[str, Any]]], choices: Sequence[str] = ()) -> Parse:
    """Compose the named steps into one function from raw output to answer."""
    ctx = ParseContext(choices=tuple(choices))
    fns = [_REGISTRY[name](**args) for name, args in steps]

    def parse(text: str) -> str:
        for fn in fns:
            text = fn(text, ctx)
        return text

    return parse
