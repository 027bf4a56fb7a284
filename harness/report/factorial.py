"""The report's "Factors" section: what each swept factor does, averaged over the others.

One sentence per main effect ("`rag` (on vs off) adds 12.0 points [8.1, 15.9] averaged over
template and shots"), then the interactions that the paired items can tell apart from zero,
then a table of every effect. Numbers come from :func:`harness.stats.factorial.factorial`.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from harness.report.mdtext import md_inline
from harness.report.tables import markdown_table
from harness.stats.formatting import points, pvalue


def _code(text: Any) -> str:
    text = str(text)
    if "`" in text or "\n" in text or len(text) > 80:
        return str(md_inline(text, 80))
    return f"`{text}`"


def _p(p: float) -> str:
    shown = pvalue(p)
    return f"p adj.{shown}" if shown.startswith("<") else f"p adj.={shown}"


def _interval(r: Any) -> str:
    if not (math.isfinite(r["ci_low"]) and math.isfinite(r["ci_high"])):
        return "[n/a]"
    return f"[{points(r['ci_low'])}, {points(r['ci_high'])}]"


def _over(r: Any) -> str:
    names = [n.strip() for n in str(r["averaged_over"]).split(",") if n.strip()]
    if not names:
        return ""
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f" averaged over {joined}"


def _significant(r: Any, alpha: float) -> bool:
    return math.isfinite(r["p_adjusted"]) and r["p_adjusted"] < alpha


def effect_sentence(r: Any, alpha: float = 0.05) -> str:
    """A main effect or interaction in words, with its interval and adjusted p-value."""
    est = float(r["estimate"])
    if r["kind"] == "main":
        what = f"{_code(r['factor'])} ({_code(r['level'])} vs {_code(r['reference'])})"
        verb = "adds" if est >= 0 else "costs"
        text = (f"{what} {verb} {points(abs(est))} points {_interval(r)}{_over(r)} "
                f"({_p(r['p_adjusted'])})")
    else:
        bigger = "larger" if est >= 0 else "smaller"
        text = (f"the effect of {_code(r['factor'])} ({_code(r['level'])} vs "
                f"{_code(r['reference'])}) is {points(abs(est))} points {bigger} {_interval(r)} "
                f"with {_code(r['factor2'])} {_code(r['level2'])} than with "
                f"{_code(r['reference2'])}{_over(r)} ({_p(r['p_adjusted'])})")
    if not _significant(r, alpha):
        text += ": not distinguishable from zero"
    return text


def factorial_markdown(effects: pd.DataFrame, alpha: float = 0.05) -> list[str]:
    """The section for one task's effects (all its models); empty when there are none."""
    if effects is None or effects.empty:
        return []
    out = ["### Factors", "",
           "Effects of the swept factors, estimated item by item on the items scored in every "
           "combination (item difficulty cancels), with 95% t-intervals over items"
           + (" clustered by the task's clusters" if effects["clustered"].any() else "")
           + "; p-values Holm-adjusted over each model's effects. A factor's effect is its "
           "level's mean minus the first (reference) level's, averaged over the other "
           "factors; an interaction is how much one factor's effect changes with another's "
           "level.", ""]
    for model, part in effects.groupby("model", sort=False):
        out.append(f"`{model}` ({int(part['n_items'].iloc[0])} paired items):" if
                   effects["model"].nunique() > 1 else
                   f"On {int(part['n_items'].iloc[0])} paired items:")
        out.append("")
        for _, r in part[part["kind"] == "main"].iterrows():
            out.append(f"- {effect_sentence(r, alpha)}.")
        inter = part[part["kind"] == "interaction"]
        real = inter[[_significant(r, alpha) for _, r in inter.iterrows()]]
        for _, r in real.iterrows():
            out.append(f"- {effect_sentence(r, alpha)}.")
        if not inter.empty and real.empty:
            out.append("- No two-way interaction is distinguishable from zero: the factors' "
                       "effects add up.")
        out.append("")
        rows = [[r["kind"], _label(r), points(r["estimate"]), _interval(r), points(r["se"]),
                 pvalue(r["p_value"]), pvalue(r["p_adjusted"])] for _, r in part.iterrows()]
        out += [markdown_table(["effect", "contrast", "points", "95% CI", "SE (pts)", "p",
                                "p adj. (Holm)"], rows, "llrrrrr"), ""]
    return out


def _label(r: Any) -> str:
    main = f"{r['factor']}: {r['level']} vs {r['reference']}"
    if r["kind"] == "main":
        return main
    return f"{main} × {r['factor2']}: {r['level2']} vs {r['reference2']}"


def task_factorial(samples: pd.DataFrame) -> pd.DataFrame | None:
    """The effects of a task's sweep, or None when the run has no sweep to analyse."""
    from harness.stats.errors import StatsError
    from harness.stats.factorial import design_of, factorial

    factors, _ = design_of(samples)
    if not factors:
        return None
    try:
        return factorial(samples)
    except StatsError:
        return None
