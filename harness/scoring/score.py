"""What a scorer returns, and the one signature every scorer has.

A scorer is a callable taking a :class:`~harness.scoring.record.SampleRecord` and returning a
:class:`Score` (or a mapping of names to scores, for a scorer that measures several things at
once), directly or as an awaitable: a judge calls a model, a string match does not, and the
stage awaits either. Whatever a scorer raises becomes that sample's scoring error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.scoring.record import SampleRecord


@dataclass(frozen=True)
class Score:
    """One measurement of one sample.

    ``value`` is on the scale the scorer documents (0/1 for pass/fail, 0-1 for a graded
    score); ``answer`` is what the scorer read from the output, shown beside the raw output;
    ``explanation`` is kept in the record (a judge's reasoning); ``metadata`` holds anything
    analysis needs later (a judge's raw verdict, the order a pair was shown in).
    """

    value: float
    answer: str | None = None
    explanation: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


ScoreResult = Score | Mapping[str, Score]
ScorerFn = Callable[[SampleRecord], ScoreResult | Awaitable[ScoreResult]]
