"""Reading a judge's verdict out of its answer, strictly.

A judge writes its reasoning, then a verdict line: ``VERDICT: PASS`` / ``VERDICT: FAIL``,
``GRADE: 4`` on a scale, ``SCORE: 0.8`` for a 0-1 score, or ``VERDICT: A`` / ``B`` / ``TIE``
when it compares two answers. The *last* such line wins (a judge that changes its mind ends
with its final word), and its value must be exactly one of the allowed values: anything else
(no verdict line, ``VERDICT: PASS or FAIL`` echoed from the instructions, a grade off the
scale) raises :class:`VerdictError`, which the scoring stage records as that sample's scoring
error. A verdict is never guessed from prose: a guessed score looks like data and is not.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

GradeKind = Literal["pass_fail", "scale", "score", "preference"]

# A verdict line: optional markdown around the tag (``**VERDICT:**``, ``- GRADE:``, ``## ``),
# "Final" or "Overall" before it, the tag, a colon or equals sign, then the value. Anchored at
# the line's start, so prose that mentions "the verdict: pass" mid-sentence is not a verdict.
_LINE = re.compile(
    r"^[\s>#*_`\-]*(?:(?:final|overall)\s+)?(?P<tag>VERDICT|GRADE|SCORE|WINNER)[\s*_`]*[:=]"
    r"[\s*_`]*(?P<value>.*?)\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_DECORATION = re.compile(r"^[\s*_`\"'\[\(]+|[\s*_`\"'\]\).!]+$")
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_FRACTION = re.compile(rf"^(?P<n>{_NUMBER})\s*(?:/|out of|of)\s*(?P<d>{_NUMBER})$", re.I)
_SEPARATOR = re.compile(r"\s+[-\u2013\u2014]\s+|\s*[(,;:]\s*")
_PERCENT = re.compile(rf"^(?P<n>{_NUMBER})\s*%$")


class VerdictError(ValueError):
    """The judge's answer holds no readable verdict of the kind asked for."""


@dataclass(frozen=True)
class Grade:
    """What kind of verdict a judge gives, and how it maps onto a score in [0, 1]."""

    kind: GradeKind
    low: int = 0
    high: int = 1

    @classmethod
    def parse(cls, text: str) -> Grade:
        """``pass_fail``, ``score`` or a scale ``1-5`` (integers, low < high, at most 100
        steps); ValueError with a message for the config's author otherwise."""
        value = str(text).strip().lower().replace("/", "_").replace(" ", "_")
        if value in ("pass_fail", "passfail", "binary"):
            return cls("pass_fail")
        if value in ("score", "0-1"):
            return cls("score")
        match = re.fullmatch(r"(\d+)\s*-\s*(\d+)", str(text).strip())
        if match:
            low, high = int(match.group(1)), int(match.group(2))
            if low < high <= low + 100:
                return cls("scale", low, high)
            raise ValueError(f"grade scale '{text}' must go up, by at most 100 steps "
                             "(e.g. 1-5 or 0-10)")
        raise ValueError(f"grade must be pass_fail, score (0-1) or a scale such as 1-5; got "
                         f"'{text}'")

    @property
    def tag(self) -> str:
        return {"scale": "GRADE", "score": "SCORE"}.get(self.kind, "VERDICT")

    @property
    def label(self) -> str:
        return f"{self.low}-{self.high}" if self.kind == "scale" else self.kind

    def instructions(self) -> str:
        """The closing instruction a rubric shows the judge (``{{ verdict }}``), so any rubric
        works with any kind of grade."""
        if self.kind == "pass_fail":
            return ("End your answer with one line that is exactly `VERDICT: PASS` or "
                    "`VERDICT: FAIL`.")
        if self.kind == "scale":
            return (f"End your answer with one line `GRADE: <n>`, where <n> is a whole number "
                    f"from {self.low} (worst) to {self.high} (best).")
        if self.kind == "score":
            return ("End your answer with one line `SCORE: <x>`, where <x> is a number from "
                    "0 (worst) to 1 (best).")
        return ("End your answer with one line that is exactly `VERDICT: A` (Response A is "
                "better), `VERDICT: B` (Response B is better) or `VERDICT: TIE`.")


@dataclass(frozen=True)
class Verdict:
    """A parsed verdict: ``value`` in [0, 1] (pass/fail: 1/0; pairwise: A 1, B 0, tie 0.5),
    ``raw`` the verdict line as the judge wrote it, ``grade`` the scale's grade (scale only),
    ``choice`` A/B/TIE (pairwise only), ``explanation`` the reasoning before the line."""

    value: float
    raw: str
    explanation: str
    grade: int | None = None
    choice: str | None = None


def _clean(value: str) -> str:
    return _DECORATION.sub("", value).strip()


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def parse_verdict(text: str | None, grade: Grade) -> Verdict:
    """The verdict of ``text`` for ``grade``; :class:`VerdictError` when there is none."""
    if not text or not text.strip():
        raise VerdictError("the judge's answer is empty")
    tags = {"VERDICT", "WINNER"} if grade.kind == "preference" else {grade.tag}
    lines = [m for m in _LINE.finditer(text) if m.group("tag").upper() in tags]
    if not lines:
        raise VerdictError(f"no '{grade.tag}: ...' line in the judge's answer "
                           f"({_snippet(text)})")
    last = lines[-1]
    raw = text[last.start():last.end()].strip()
    value = _clean(last.group("value"))
    explanation = text[:last.start()].strip() or text.strip()
    reading = _read(value, grade)
    if reading is None:  # "PASS - the answer matches", "4 (good)": the value, then a remark
        head = _SEPARATOR.split(value, maxsplit=1)[0]
        reading = _read(_clean(head), grade) if head != value else None
    if reading is None:
        raise VerdictError(f"unreadable verdict line {raw[:80]!r} (expected {_expected(grade)})")
    score, number, choice = reading
    return Verdict(value=score, raw=raw, explanation=explanation, grade=number, choice=choice)


def _read(value: str, grade: Grade) -> tuple[float, int | None, str | None] | None:
    upper = value.upper()
    if grade.kind == "pass_fail":
        if upper in ("PASS", "PASSED", "CORRECT", "YES"):
            return 1.0, None, None
        if upper in ("FAIL", "FAILED", "INCORRECT", "NO"):
            return 0.0, None, None
        return None
    if grade.kind == "preference":
        words = {"A": "A", "RESPONSE A": "A", "B": "B", "RESPONSE B": "B", "TIE": "TIE",
                 "EQUAL": "TIE", "DRAW": "TIE"}
        choice = words.get(upper)
        if choice is None:
            return None
        return {"A": 1.0, "B": 0.0, "TIE": 0.5}[choice], None, choice
    if grade.kind == "scale":
        number = _number(value)
        fraction = _FRACTION.match(value)
        if number is None and fraction:
            number = _number(fraction.group("n"))
            if _number(fraction.group("d")) != grade.high:
                return None  # "4/10" on a 1-5 scale: another scale, not this grade
        if number is None or number != int(number) or not grade.low <= number <= grade.high:
            return None
        whole = int(number)
        return (whole - grade.low) / (grade.high - grade.low), whole, None
    number = _number(value)
    percent = _PERCENT.match(value)
    if number is None and percent:
        number = _number(percent.group("n"))
        number = number / 100 if number is not None else None
    if number is None or not 0.0 <= number <= 1.0:
        return None
    return number, None, None


def _expected(grade: Grade) -> str:
    if grade.kind == "pass_fail":
        return "VERDICT: PASS or VERDICT: FAIL"
    if grade.kind == "preference":
        return "VERDICT: A, VERDICT: B or VERDICT: TIE"
    if grade.kind == "scale":
        return f"GRADE: a whole number from {grade.low} to {grade.high}"
    return "SCORE: a number from 0 to 1"


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return f"ends with {flat[-60:]!r}" if len(flat) > 60 else repr(flat)
