"""How numbers and verdicts read, shared by the DataFrames, the markdown report and ``plan``.

Effects are shown in points (percentage points of the score scale), because "6.5 points" is
what a team acts on, and p-values alone say nothing about size.
"""

from __future__ import annotations

import math


def points(x: float, digits: int = 1) -> str:
    """A score difference (fraction of the scale) as points: 0.065 -> '6.5'."""
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{round(100.0 * x, digits) + 0.0:.{digits}f}"  # never "-0.0"


def percent(x: float, digits: int = 1) -> str:
    """A mean score as a percentage: 0.6512 -> '65.1%'."""
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{100.0 * x:.{digits}f}%"


def pvalue(p: float) -> str:
    """p-values to the precision that matters: '<0.001', '0.004', '0.0497', '0.27'."""
    if p is None or not math.isfinite(p):
        return "n/a"
    if p < 0.001:
        return "<0.001"
    if p < 0.1:
        # one more digit right at 0.05, so 0.0497 never reads as the threshold itself
        return f"{p:.4f}" if round(p, 3) == 0.05 else f"{p:.3f}"
    return f"{p:.2f}"


def verdict(
    a: str,
    b: str,
    *,
    n_pairs: int,
    diff: float,
    ci_low: float,
    ci_high: float,
    p_value: float,
    p_adjusted: float,
    significant: bool,
    mde: float,
    alpha: float,
    correction: str,
) -> str:
    """One plain-language sentence for a pair, e.g. 'few-shot beats zero-shot by 6.5 points'."""
    if n_pairs == 0:
        return "no item was scored on both sides: cannot compare"
    if p_value is None or not math.isfinite(p_value):
        return "cannot test this pair"
    adj = " adj." if correction != "none" else ""
    if significant:
        if diff >= 0:
            winner, loser, low, high = a, b, ci_low, ci_high
        else:
            winner, loser, low, high = b, a, -ci_high, -ci_low
        shown = pvalue(p_adjusted)
        p_text = f"p{shown}" if shown.startswith("<") else f"p={shown}"
        return (
            f"{winner} beats {loser} by {points(abs(diff))} points "
            f"[{points(low)}, {points(high)}], {p_text}{adj}"
        )
    if diff == 0.0 and (mde == 0.0 or not math.isfinite(mde)) and ci_low == ci_high:
        return f"no difference: both scored the same on all {n_pairs} paired items"
    if mde is None or not math.isfinite(mde):
        text = "no detectable difference (too few paired items to say what this run could see)"
    else:
        text = f"no detectable difference: this run can detect >= {points(mde)} points"
    if correction != "none" and math.isfinite(p_value) and p_value < alpha:
        shown = pvalue(p_value)
        p_text = f"p{shown}" if shown.startswith("<") else f"p={shown}"
        text += f" (raw {p_text} does not survive the {correction} adjustment)"
    return text
