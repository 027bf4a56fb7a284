"""JSON in model outputs, read with limits so that no answer can crash or stall scoring.

Python's ``json`` raises ``RecursionError`` past about a thousand nested levels (where exactly
depends on the stack at the time) and ``ValueError`` for an integer of more than 4,300 digits;
searching a text for its first object by trying every ``{`` is quadratic. Here:

* JSON nested deeper than :data:`MAX_DEPTH` levels is not accepted, the same way every time;
* integers longer than :data:`MAX_INT_DIGITS` digits are read as exact ``Decimal`` values
  (never converted to ``int``, which is quadratic in their length);
* ``NaN`` and ``Infinity`` are not JSON and are refused;
* the search for an object in prose tries at most :data:`MAX_STARTS` opening braces.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

MAX_DEPTH = 100
MAX_INT_DIGITS = 4000
MAX_STARTS = 2000

_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]++")


def too_deep(text: str, limit: int = MAX_DEPTH) -> bool:
    """Whether brackets outside JSON strings nest more than ``limit`` levels anywhere."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for ch in _NOT_BRACKET.sub("", _STRING.sub("", text)):
        if ch in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth = max(0, depth - 1)
    return False


def _integer(digits: str) -> int | Decimal:
    return Decimal(digits) if len(digits) > MAX_INT_DIGITS else int(digits)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_int=_integer, parse_constant=_refuse_constant)


def loads(text: str) -> Any:
    """``json.loads`` within the limits above; ValueError for anything it does not accept."""
    if too_deep(text):
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        return _DECODER.decode(text)
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels") from None


def first_object(text: str) -> tuple[dict[str, Any], int, int] | None:
    """The first JSON object in ``text`` and where it starts and ends; None if there is none."""
    starts = 0
    start = text.find("{")
    while start >= 0 and starts < MAX_STARTS:
        starts += 1
        try:
            obj, end = _DECODER.raw_decode(text, start)
        except (ValueError, RecursionError):
            obj, end = None, start
        if isinstance(obj, dict) and not too_deep(text[start:end]):
            return obj, start, end
        start = text.find("{", start + 1)
    return None


def load_object(text: str) -> dict[str, Any] | None:
    """``text`` as a JSON object, or None when it is not one (or breaks a limit)."""
    try:
        obj = loads(text)
    except (ValueError, TypeError):
        return None
    return obj if isinstance(obj, dict) else None


def compact(obj: Any) -> str | None:
    """``obj`` as compact JSON text; None when it cannot be written back exactly."""
    try:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (ValueError, TypeError, RecursionError):
        return None
