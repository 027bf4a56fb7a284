"""What a scorer may return, read into named scores.

A scorer returns a :class:`Score`, a number, a bool, None (not applicable to this sample: a
retrieval metric on a closed-book variant), or a mapping of names to any of those (or to a
mapping with ``value`` and optional ``explanation`` / ``metadata``). Scores are on a 0-1 scale:
the statistics (intervals, the gate's tests) assume it, so a 7 on a 1-10 scale is refused, not
averaged as if it were 7 passes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from harness.scoring.score import Score

Named = dict[str, Score | None]


def _number(value: Any, name: str) -> float:
    if hasattr(value, "item") and not isinstance(value, (bool, int, float)):
        value = value.item()  # a numpy scalar
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if not isinstance(value, (int, float)):
        raise TypeError(f"scorer '{name}' returned {type(value).__name__} {str(value)[:40]!r}, "
                        "not a Score, a number, a bool or a mapping of names to scores")
    number = float(value)
    if not math.isfinite(number) or not 0.0 <= number <= 1.0:
        raise ValueError(f"scorer '{name}' returned {value!r}; scores are on a 0-1 scale "
                         "(map a 7 of 10 to 0.7)")
    return number


def to_score(value: Any, name: str) -> Score | None:
    """One returned value as a Score (None stays None: not scored)."""
    if value is None:
        return None
    if isinstance(value, Score):
        number = value.value
        if type(number) is float and 0.0 <= number <= 1.0:  # the common case, as it is
            return value
        return Score(value=_number(value.value, name), answer=value.answer,
                     explanation=value.explanation, metadata=dict(value.metadata))
    if isinstance(value, Mapping) and "value" in value:
        extra = set(value) - {"value", "answer", "explanation", "metadata"}
        if extra:
            raise ValueError(f"scorer '{name}' returned unknown key(s) {sorted(extra)}")
        explanation = value.get("explanation")
        return Score(value=_number(value["value"], name),
                     answer=None if value.get("answer") is None else str(value["answer"]),
                     explanation=None if explanation is None else str(explanation),
                     metadata=dict(value.get("metadata") or {}))
    return Score(value=_number(value, name))


def named_scores(result: Any, name: str) -> Named:
    """A scorer's result under the names it gives: its own name for one score, the mapping's
    keys for several."""
    if isinstance(result, Mapping) and "value" not in result:
        out: Named = {}
        for key, value in result.items():
            if not isinstance(key, str) or not key.strip():
                raise TypeError(f"scorer '{name}' returned a score named {key!r}; names are "
                                "non-empty strings")
            out[key] = to_score(value, f"{name}.{key}")
        if not out:
            raise ValueError(f"scorer '{name}' returned an empty mapping")
        return out
    return {name: to_score(result, name)}
