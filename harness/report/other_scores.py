"""The report's section for a task's other scores: every score besides the primary metric.

A task may score each answer several ways (ROUGE beside exact match; faithfulness, answer
relevance and context recall beside correctness). Each gets the same treatment as the primary
metric: per-variant means with 95% intervals and paired comparisons between variants with
adjusted p-values, so a RAG setting that retrieves better but grounds its answers worse is
seen in numbers that can be trusted, not only in a mean. Scores of rubric judges are left to
the judge sections (``harness.report.judges``), which add what is known of the judge's error.
"""

from __future__ import annotations

import warnings

import pandas as pd

from harness.report.stats_sections import _pairs_section, _variant_section
from harness.stats.errors import SmallSampleWarning, StatsError
from harness.stats.samples import SCORE_PREFIX, resolve_metric
from harness.stats.tables import compare_table, summary_table


def other_score_names(part: pd.DataFrame, task: str) -> list[str]:
    """The task's scores with values, other than its primary metric and judge scores."""
    try:
        primary = resolve_metric(part, task)
    except StatsError:
        return []
    manifest = part.attrs.get("manifest") or {}
    entries = ((manifest.get("scorers") or {}).get(task) or []) if isinstance(manifest,
                                                                               dict) else []
    judged = {f"{SCORE_PREFIX}{e.get('name')}" for e in entries
              if isinstance(e, dict) and e.get("type") == "judge"}
    ok = part[part["error"].isna()] if "error" in part.columns else part
    return [c.removeprefix(SCORE_PREFIX) for c in part.columns
            if str(c).startswith(SCORE_PREFIX) and c != "score_details"  # a record field
            and primary is not None and c != primary.column and c not in judged
            and pd.api.types.is_numeric_dtype(part[c]) and ok[c].notna().any()]


def _applicable(part: pd.DataFrame, column: str) -> tuple[pd.DataFrame, list[str]]:
    """``part`` without the variants this score never applied to (a closed-book variant of a
    RAG metric), and their names; a variant with scores is kept, whatever its errors."""
    scored = part.groupby(["model", "variant"], sort=False)[column].apply(
        lambda values: values.notna().any())
    keep = {key for key, ok in scored.items() if ok}
    mask = [(m, v) in keep for m, v in zip(part["model"], part["variant"], strict=True)]
    dropped = [f"{m}/{v}" if part["model"].nunique() > 1 else str(v)
               for (m, v), ok in scored.items() if not ok]
    out = part[mask]
    out.attrs = dict(part.attrs)
    return out, dropped


def other_scores_markdown(part: pd.DataFrame, task: str, *, n_boot: int = 10_000,
                          seed: int = 0) -> list[str]:
    """Per other score of ``task``: the per-variant table and the paired comparisons."""
    names = other_score_names(part, task)
    if not names:
        return []
    lines = ["### Other scores", "",
             "Each score besides the primary metric, with the same intervals and paired tests "
             "(p-values adjusted within each score's table). A sample a score does not apply "
             "to (a RAG metric on a closed-book variant) is left out of that score only.", ""]
    for name in names:
        scored, dropped = _applicable(part, SCORE_PREFIX + name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SmallSampleWarning)
            summ = summary_table(scored, metric=name)
            pairs = compare_table(scored, metric=name, axis="variant", n_boot=n_boot,
                                  seed=seed)
        if summ.empty:
            continue
        kind = "pass/fail" if summ.iloc[0]["kind"] == "binary" else "graded"
        lines += [f"#### `{name}` ({kind})", "", *_variant_section(summ)]
        if dropped:
            lines += [f"Not scored for {', '.join(f'`{d}`' for d in dropped)}: the score does "
                      "not apply there (no retrieved passages, say) or none of its samples could "
                      "be scored.", ""]
        lines += _pairs_section(pairs, "variant", "model")
    return lines
