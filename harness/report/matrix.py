"""The pairwise significance matrix: every variant against every other, at a glance.

The statistics section lists each pair with its interval and power; with five or more variants
a reviewer also wants the grid: row minus column in points, with the corrected p-value, bold
where significant. The numbers are :func:`harness.analysis.compare`'s (same tests, same
correction family as the table above it); this module only lays them out.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from harness.report.mdtext import Markdown
from harness.report.tables import markdown_table

if TYPE_CHECKING:
    import pandas as pd


def _entry(diff: float, p: float, alpha: float) -> str:
    if not math.isfinite(diff):
        return "n/a"
    shown = round(100 * diff, 1) + 0.0  # + 0.0: a difference that rounds to zero has no sign
    text = ("0.0" if shown == 0 else f"{shown:+.1f}") + (f" (p {p:.2g})" if math.isfinite(p)
                                                          else "")
    return Markdown(f"**{text}**") if math.isfinite(p) and p < alpha else text


def matrix_markdown(samples: pd.DataFrame, task: str, *, alpha: float = 0.05,
                    level: int = 4, table: pd.DataFrame | None = None) -> str:
    """One grid per model; empty when the task has fewer than two variants.

    ``table``: the task's variant comparisons when the caller has them (their differences and
    adjusted p-values do not depend on the bootstrap, which the grid does not show).
    """
    part = samples[samples["task"].astype(str) == task]
    if part["variant"].nunique() < 2:
        return ""
    if table is None:
        from harness.analysis import compare

        table = compare(part, axis="variant", n_boot=0, alpha=alpha)
    if table.empty:
        return ""
    from harness.stats.multiple import CORRECTION_LABELS

    how = CORRECTION_LABELS[str(table["correction"].iloc[0])]
    adjusted = "unadjusted p-value" if how == "none" else f"{how}-adjusted p-value"
    out = [f"{'#' * level} Significance matrix", "",
           f"Row minus column, in points, with the {adjusted}; **bold** where significant at "
           f"{alpha:g}.", ""]
    several = table["model"].nunique() > 1
    for model, rows in table.groupby("model", sort=False):
        variants = list(dict.fromkeys([*rows["a"], *rows["b"]]))
        cells: dict[tuple[str, str], str] = {}
        for r in rows.itertuples(index=False):
            cells[(r.a, r.b)] = _entry(r.diff, r.p_adjusted, alpha)
            cells[(r.b, r.a)] = _entry(-r.diff, r.p_adjusted, alpha)
        grid = [[v, *[cells.get((v, w), "–") for w in variants]] for v in variants]
        if several:
            out += [f"Model `{model}`:", ""]
        out += [markdown_table(["row − column", *variants], grid,
                               "l" + "r" * len(variants)), ""]
    return "\n".join(out)
