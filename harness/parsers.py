"""Answer extraction: small filters chained in order, as in lm-evaluation-harness.

A model's raw output rarely *is* the answer; the parser chain turns it into the string the
scorers compare with the target. Chain-of-thought variants put ``answer_is`` in front of the
task's chain, so the same task file serves direct and reasoning prompts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from harness.factories import check_factory

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


_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


@_register("last_number")
def _last_number() -> Callable[[str, ParseContext], str]:
    def parse(text: str, ctx: ParseContext) -> str:
        found = _NUMBER.findall(text)
        if not found:
            return text.strip()
        number = found[-1].replace(",", "")
        if "." in number:  # 4.0, 4.00 and 4 are one answer; 1.50 is 1.5
            number = number.rstrip("0").rstrip(".")
        return number

    return parse


_ANSWER_IS = re.compile(
    r"(?:final answer|answer)\s*(?:is|:|=)\s*[:\-]?\s*(?P<answer>[^\n]+)", re.IGNORECASE
)


@_register("answer_is")
def _answer_is() -> Callable[[str, ParseContext], str]:
    def parse(text: str, ctx: ParseContext) -> str:
        matches = list(_ANSWER_IS.finditer(text))
        if not matches:
            return text
        answer = matches[-1].group("answer").strip()
        return answer.rstrip(".").strip().strip("*`\"' ").strip()

    return parse


_LETTER = re.compile(
    r"(?:^|answer\s*(?:is|:)?\s*|\(|\b)([A-E])(?:\)|\.|:|\b)(?![a-z])", re.IGNORECASE | re.MULTILINE
)


@_register("choice")
def _choice(letters: bool = False) -> Callable[[str, ParseContext], str]:
    def parse(text: str, ctx: ParseContext) -> str:
        stripped = text.strip()
        if letters:
            head = stripped.strip("()*. ").upper()
            if len(head) == 1 and head in "ABCDE":
                return head
            match = _LETTER.search(stripped)
            if match and (match.group(1).isupper() or "answer" in match.group(0).lower()):
                return match.group(1).upper()
            return stripped
        lowered = stripped.lower()
        best: tuple[int, str] | None = None
        for label in ctx.choices:
            hit = re.search(rf"\b{re.escape(label.lower())}\b", lowered)
            if hit and (best is None or hit.start() < best[0]):
                best = (hit.start(), label)
        return best[1] if best else stripped

    return parse


@_register("regex")
def _regex(pattern: str, group: int | str = 0, ignore_case: bool = True) -> Callable[
    [str, ParseContext], str
]:
    compiled = re.compile(pattern, re.IGNORECASE if ignore_case else 0)

    def parse(text: str, ctx: ParseContext) -> str:
        match = compiled.search(text)
        return match.group(group).strip() if match else text.strip()

    return parse


def _first_json_object(text: str) -> Any:
    decoder = json.JSONDecoder()
    for start in (i for i, ch in enumerate(text) if ch == "{"):
        try:
            obj, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            return obj
    return None


@_register("json")
def _json() -> Callable[[str, ParseContext], str]:
    def parse(text: str, ctx: ParseContext) -> str:
        obj = _first_json_object(text)
        return "" if obj is None else json.dumps(obj, ensure_ascii=False, separators=(",", ":"))

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
