"""The answer a reviewer opens the report for: which prompt is best, and is it real?

One sentence per task and model: the variant with the highest mean score and, for every other
variant, whether the paired test found it significantly better (with the effect in points, its
95% interval and the adjusted p-value). The numbers are the comparison table's, the same the
statistics sections and the CI gate show; this module only picks the best and words it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from harness.report.mdtext import code_name
from harness.stats.formatting import percent, points, pvalue

if TYPE_CHECKING:
    import pandas as pd


def _signed(x: float) -> str:
    text = points(x)
    return text if text.startswith("-") or text == "n/a" else "+" + text


def _p(p: float, adjusted: bool) -> str:
    shown = pvalue(p)
    rel = "" if shown.startswith("<") else "="
    return f"p{' adj.' if adjusted else ''}{rel}{shown}"


def _against(best: str, other: str, rows: pd.DataFrame, adjusted: bool,
             _q: Callable[[str], str]) -> tuple[str, bool]:
    """The clause for ``best`` versus ``other``, and whether best is significantly better."""
    row = rows[((rows["a"] == best) & (rows["b"] == other))
               | ((rows["a"] == other) & (rows["b"] == best))]
    if row.empty:
        return f"cannot be compared with {_q(other)}", False
    r = row.iloc[0]
    sign = 1.0 if r["a"] == best else -1.0
    diff = sign * float(r["diff"])
    low, high = sorted((sign * float(r["ci_low"]), sign * float(r["ci_high"])))
    p = float(r["p_adjusted"])
    if int(r["n_pairs"]) == 0 or not math.isfinite(p):
        return f"cannot be compared with {_q(other)} (no item scored by both)", False
    # The interval is the pair's own (uncorrected) one, the p-value is corrected over the
    # table: without saying so, an interval that excludes 0 beside "not significant" reads
    # as a contradiction.
    label = " uncorrected" if adjusted else ""
    detail = (f"{_signed(diff)} points, 95% CI{label} [{points(low)}, {points(high)}], "
              f"{_p(p, adjusted)}")
    if bool(r["significant"]) and diff > 0:
        return f"significantly better than {_q(other)} ({detail})", True
    only_alone = adjusted and (low > 0 or high < 0)
    after = " once corrected for multiple comparisons" if only_alone else ""
    return f"not significantly different from {_q(other)}{after} ({detail})", False


def best_variant_sentence(summary: pd.DataFrame, comparisons: pd.DataFrame, task: str,
                          model: str, *, plain: bool = False) -> str:
    """``summary``: per-variant means (``task``, ``model``, ``variant``, ``mean``, ``n``);
    ``comparisons``: :func:`harness.analysis.compare` rows for the variant axis; ``plain``:
    names as they are (a terminal), else as markdown code spans."""
    _q: Callable[[str], str] = str if plain else code_name
    rows = summary[(summary["task"].astype(str) == str(task))
                   & (summary["model"].astype(str) == str(model))]
    unscored = [str(v) for v in rows.loc[~(rows["n"] > 0), "variant"]]
    rows = rows[rows["n"] > 0]
    head = f"{_q(task)} / {_q(model)}: "
    if rows.empty:
        return head + "no variant has a scored item, so none can be called best."
    top = float(rows["mean"].max())
    leaders = [str(v) for v in rows.loc[rows["mean"] == top, "variant"]]
    others = [str(v) for v in rows["variant"] if str(v) not in leaders]
    if len(rows) == 1 and unscored:
        return head + (f"only {_q(leaders[0])} has scored items ({percent(top)}); "
                       f"{_names(unscored, _q)} {_have(unscored)} none (every sample failed or "
                       "went unscored), so nothing can be compared and no variant is best.")
    if len(rows) == 1:
        return head + (f"only one variant, {_q(leaders[0])} ({percent(top)}): there is nothing "
                       "to compare it with.")
    return _compared(head, rows, leaders, others, comparisons, task, model, _q) + (
        f" {_names(unscored, _q)} {_have(unscored)} no scored item (every sample failed or went "
        f"unscored), so the verdict leaves {'it' if len(unscored) == 1 else 'them'} out."
        if unscored else "")


def _names(variants: list[str], quote: Callable[[str], str]) -> str:
    if len(variants) == 1:
        return quote(variants[0])
    return ", ".join(quote(v) for v in variants[:-1]) + f" and {quote(variants[-1])}"


def _have(variants: list[str]) -> str:
    return "has" if len(variants) == 1 else "have"


def _compared(head: str, rows: pd.DataFrame, leaders: list[str], others: list[str],
              comparisons: pd.DataFrame, task: str, model: str,
              _q: Callable[[str], str]) -> str:
    """The sentence for two or more scored variants: the best (or the tie), then each
    comparison that decides it."""
    top = float(rows["mean"].max())
    cmp = comparisons[(comparisons["task"].astype(str) == str(task))
                      & (comparisons["model"].astype(str) == str(model))]
    adjusted = not cmp.empty and str(cmp["correction"].iloc[0]) != "none"
    if len(leaders) > 1:
        text = head + f"{_names(leaders, _q)} tie for best ({percent(top)})"
    else:
        text = head + f"best is {_q(leaders[0])} ({percent(top)})"
    if not others:
        return text + "; every variant scored the same, so no prompt is better here."
    clauses = [(f"{_q(best)} is " if len(leaders) > 1 else "") + clause
               for best in leaders for clause, _ in [_against(best, o, cmp, adjusted, _q)
                                                     for o in others]]
    wins = sum(_against(best, o, cmp, adjusted, _q)[1] for best in leaders for o in others)
    text += "; " + "; ".join(clauses)
    if len(clauses) == 1:
        text += "."
    elif wins == len(clauses):
        text += (". It is significantly better than every other variant." if len(leaders) == 1
                 else ". Each is significantly better than every variant outside the tie.")
    elif wins == 0:
        text += (". The run cannot tell " + ("it" if len(leaders) == 1 else "them")
                 + " apart from the others: no difference is significant.")
    else:
        text += "."
    return text


def best_variant_sentences(summary: pd.DataFrame, comparisons: pd.DataFrame, *,
                           plain: bool = False) -> list[str]:
    """One sentence per task and model, in the summary's order; ``plain``: for a terminal
    (names as they are), else markdown (names as code spans)."""
    pairs = summary[["task", "model"]].drop_duplicates()
    return [best_variant_sentence(summary, comparisons, t, m, plain=plain)
            for t, m in pairs.itertuples(index=False)]
