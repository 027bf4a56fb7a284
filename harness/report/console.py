"""The table ``harness run`` prints when it finishes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.report.tables import pct, text_table

if TYPE_CHECKING:
    import pandas as pd


def summary_table(samples: pd.DataFrame) -> str:
    """The per-variant table, then one line per task and model: which variant is best, and
    whether the paired tests say that is real (the report's first screen, in plain text)."""
    from harness.analysis import compare, summary
    from harness.report.verdicts import best_variant_sentences

    if samples.empty:
        return "no samples finished"
    table = summary(samples)
    failed = samples["error"].notna()
    counts = samples.assign(failed=failed).groupby(["task", "model", "variant"])[["failed"]].sum()
    rows = []
    for _, row in table.sort_values(["task", "model", "mean"], ascending=[True, True, False]) \
            .iterrows():
        key = (row["task"], row["model"], row["variant"])
        got = counts.loc[key] if key in counts.index else None
        rows.append([row["task"], row["model"], row["variant"], pct(row["mean"]),
                     f"[{pct(row['ci_low'])}, {pct(row['ci_high'])}]", int(row["n"]),
                     0 if got is None else int(got["failed"]),
                     int(row.get("n_scoring_errors", 0) or 0)])  # of the metric shown
    headers = ["task", "model", "variant", "score %", "95% CI", "n", "errors", "scoring errors"]
    if not any(r[-1] for r in rows):  # shown only when an answer could not be scored
        headers, rows = headers[:-1], [r[:-1] for r in rows]
    table_text = text_table(headers, rows)
    comparisons = compare(samples, n_boot=0)
    sentences = best_variant_sentences(table, comparisons, plain=True)
    return "\n".join([table_text, "", *sentences])
