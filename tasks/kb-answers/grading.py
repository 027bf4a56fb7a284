"""A string check for the kb-answers task, kept beside the judge as a floor to compare with.

Why: a judge's verdict is the task's real metric, but a 135M judge can be wrong in ways a
reader cannot see. ``mentions_answer`` asks only whether the short gold answer (a name, a
town, a number, a year) appears in the answer as whole words; it cannot tell "was born in
1994" from "was not born in 1994", so it over-credits, but it never misses a correct answer
that states the fact.
"""

from __future__ import annotations

import re

from harness.scoring.record import SampleRecord


def mentions_answer(record: SampleRecord) -> float:
    """1.0 when the item's short ``answer`` field appears in the output as whole words."""
    gold = str(record.fields.get("answer", "")).strip()
    if not gold:
        raise ValueError("the item has no 'answer' field to look for")
    pattern = rf"(?<![\w]){re.escape(gold)}(?![\w])"
    return 1.0 if re.search(pattern, record.output or "", re.IGNORECASE) else 0.0
