"""The statistics part of a run report: intervals, paired comparisons, power and caveats.

Written for the reviewer who has to decide which prompt to ship: every difference comes with its
size in points and an interval, p-values are adjusted for the number of pairs in the table, and
"no significant difference" is always accompanied by the smallest difference the run could have
seen, so that it is not misread as "no difference". All numbers come from
:func:`harness.analysis.summary` and :func:`harness.analysis.compare`, the same functions the CI
gate uses.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from harness.report.tables import markdown_table
from harness.stats.errors import SmallSampleWarning
from harness.stats.formatting import percent, points, pvalue
from harness.stats.intervals import SMALL_N
from harness.stats.multiple import CORRECTION_LABELS
from harness.stats.tables import compare_table, summary_table

_METHOD_LABELS = {
    "wilson": "Wilson",
    "clopper-pearson": "Clopper-Pearson",
    "clt": "CLT (t)",
    "bootstrap": "bootstrap percentile",
    "none": "–",
}


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], align: str) -> str:
    return markdown_table(headers, rows, align)


def _interval(low: float, high: float) -> str:
    """An interval on the points scale (the same digits as a percentage of the scale)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "–"
    return f"[{points(low)}, {points(high)}]"


def _variant_section(summ: pd.DataFrame) -> list[str]:
    clustered = bool(summ["clustered"].astype(bool).any())
    rows = []
    for _, r in summ.iterrows():
        row = [r["model"], r["variant"], percent(r["mean"]),
               _interval(r["ci_low"], r["ci_high"]), points(r["se"]), int(r["n"])]
        if clustered:
            row.append(int(r["n_clusters"]) if r["clustered"] else "–")
        rows.append([*row, int(r["n_errors"]), _METHOD_LABELS.get(r["ci_method"], "–")])
    headers = ["model", "variant", "score", "95% CI (%)", "SE (pts)", "n items",
               *(["clusters"] if clustered else []), "errors", "interval"]
    table = _table(headers, rows, "llrrrr" + ("r" if clustered else "") + "rl")
    return ["Per-variant scores (mean over items; repeats are averaged per item first):", "",
            table, ""]


def _pairs_section(cmp: pd.DataFrame, what: str, group_col: str) -> list[str]:
    if cmp.empty:
        return [f"Only one {what} per {group_col}: nothing to compare.", ""]
    how = str(cmp["correction"].iloc[0])
    label = CORRECTION_LABELS[how]
    order = cmp.assign(_size=cmp["diff"].abs()).sort_values(
        "_size", ascending=False, na_position="last", kind="stable")
    rows = [
        [r[group_col], r["a"], r["b"], points(r["diff"]), _interval(r["ci_low"], r["ci_high"]),
         _interval(r["boot_ci_low"], r["boot_ci_high"]), int(r["n_pairs"]), pvalue(r["p_value"]),
         pvalue(r["p_adjusted"]), points(r["mde"]), r["verdict"]]
        for _, r in order.iterrows()
    ]
    headers = [group_col, "A", "B", "A − B (pts)", "95% CI", "bootstrap CI", "paired n", "p",
               f"p adj. ({label})", "MDE (pts)", "verdict"]
    count = "the 1 comparison" if len(cmp) == 1 else f"the {len(cmp)} comparisons"
    intro = (f"Paired comparisons of {what}s on the items both scored, largest effect first; "
             f"p-values adjusted ({label}) over {count} in this table:")
    if how == "none":
        intro = (f"Paired comparisons of {what}s on the items both scored, largest effect "
                 "first (p-values not adjusted):")
    lines = [intro, "", _table(headers, rows, "lllrrrrrrrl"), ""]
    floor = [f"{r['a']} vs {r['b']}" for _, r in cmp.iterrows()
             if "resolution floor" in str(r.get("note") or "")]
    if floor:
        lines += [f"At the resolution floor of the permutation test (the smallest p-value its "
                  f"draws can give; the true p may be smaller): {', '.join(floor)}.", ""]
    mde = cmp["mde"].to_numpy(dtype=float)
    mde = mde[~pd.isna(mde)]
    if mde.size:
        low, high = float(mde.min()), float(mde.max())
        span = f"{points(low)}" if math.isclose(low, high, rel_tol=0.05) \
            else f"{points(low)} to {points(high)}"
        lines += [f"Minimum detectable effect (80% power, two-sided alpha 0.05): {span} points; "
                  "smaller true differences would usually go unseen in a run this size.", ""]
    return lines


def _repeats_section(summ: pd.DataFrame) -> list[str]:
    reps = summ[(summ["epochs"] > 1) & summ["var_within"].notna()]
    if reps.empty:
        return []
    rows = []
    for _, r in reps.iterrows():
        items, repeats = r["se_ratio_2x_items"], r["se_ratio_2x_repeats"]
        if not (math.isfinite(items) and math.isfinite(repeats)):
            best = "–"
        elif repeats - items < 0.01:
            best = "either"
        else:
            best = "more items"
        rows.append([r["model"], r["variant"], int(r["epochs"]), f"{r['var_between']:.4f}",
                     f"{r['var_within']:.4f}", percent(r["within_share"], 0),
                     _ratio(items), _ratio(repeats), best])
    table = _table(["model", "variant", "epochs", "between-item var", "within-item var",
                    "within share", "CI × (2× items)", "CI × (2× repeats)", "better buy"],
                   rows, "llrrrrrrl")
    return ["Where the uncertainty comes from (Miller 2024): items differing in "
            "difficulty (between) versus a model's sample-to-sample noise on one item (within). "
            "More repeats only shrink the within part; more items shrink both.", "", table, ""]


def _ratio(x: float) -> str:
    return "–" if not math.isfinite(x) else f"{x:.2f}"


def _notes(summ: pd.DataFrame, variants: pd.DataFrame, models: pd.DataFrame | None) -> list[str]:
    notes = []
    clustered = summ[summ["clustered"].astype(bool)]
    if not clustered.empty:
        g = int(clustered["n_clusters"].max())
        notes.append(
            f"Items share clusters (the task's `cluster` field, {g} clusters): standard errors are "
            "clustered: Miller's (2024) clustered SE times the small-sample factor sqrt(G/(G-1)) "
            "(the CR1 estimator, slightly wider with few clusters), and significance tests flip "
            "whole clusters, because items in one cluster are not independent."
        )
    if (summ["epochs"] > 1).any():
        k = int(summ["epochs"].max())
        notes.append(f"Up to {k} samples per item: they are averaged per item first and standard "
                     "errors are taken over items, not samples.")
    small = summ[summ["small_n"].astype(bool) & (summ["n"] > 0)]
    if not small.empty:
        names = ", ".join(
            f"{r['model']}/{r['variant']} ("
            + (f"{int(r['n_clusters'])} clusters" if r["clustered"] else f"n={int(r['n'])}")
            + ")"
            for _, r in small.iterrows()
        )
        notes.append(f"Small samples (fewer than {SMALL_N} items or clusters): {names}; their "
                     "CLT intervals may be too narrow.")
    empty = summ[summ["n"] == 0]
    if not empty.empty:
        names = ", ".join(f"{r['model']}/{r['variant']}" for _, r in empty.iterrows())
        notes.append(f"No scored item for {names}: every sample errored or none was scored.")
    if int(summ["n_errors"].sum()):
        notes.append(f"{int(summ['n_errors'].sum())} errored samples are excluded from every "
                     "score; comparisons skip an item when either side has no valid sample.")
    frames = [variants] if models is None else [variants, models]
    tests = set().union(*(set(f["test"]) for f in frames if not f.empty))
    if any(t.startswith("Wilcoxon") for t in tests):
        notes.append("Wilcoxon signed-rank: items with a zero difference are dropped before "
                     "ranking (Wilcoxon's handling, as McNemar drops concordant items); ties get "
                     "average ranks.")
    if any(t.startswith("McNemar") for t in tests):
        notes.append("McNemar's exact test uses only the items where exactly one side passed.")
    return [f"- {n}" for n in notes]


@dataclass(frozen=True)
class TaskTables:
    """One task's statistics, computed once and shared by every section of a report."""

    summary: pd.DataFrame
    variants: pd.DataFrame
    models: pd.DataFrame | None


def task_tables(part: pd.DataFrame, *, n_boot: int = 10_000, seed: int = 0) -> TaskTables:
    """Summary and paired comparisons (between variants; between models when there are
    several) of one task's samples."""
    with warnings.catch_warnings():  # the caveat is in the report's Notes instead
        warnings.simplefilter("ignore", SmallSampleWarning)
        summ = summary_table(part)
    variants = compare_table(part, axis="variant", n_boot=n_boot, seed=seed)
    models = (compare_table(part, axis="model", n_boot=n_boot, seed=seed)
              if part["model"].nunique() > 1 else None)
    return TaskTables(summ, variants, models)


def stats_markdown(samples: pd.DataFrame, *, level: int = 3, n_boot: int = 10_000,
                   seed: int = 0, variant_table: bool = True,
                   tables: dict[str, TaskTables] | None = None) -> str:
    """The statistics sections for every task in ``samples``, as GitHub markdown.

    ``level`` is the heading level of each task's section (3 fits under a ``## Task`` heading).
    ``variant_table=False`` leaves out the per-variant table, for a report that already has one.
    ``tables``: each task's :func:`task_tables`, when the caller has computed them already.
    """
    if samples is None or len(samples) == 0:
        return "No samples: no statistics to report."
    h = "#" * level
    out: list[str] = []
    for task in pd.unique(samples["task"]):
        computed = (tables or {}).get(task)
        if computed is None:
            part = samples[samples["task"] == task]
            part.attrs = dict(samples.attrs)
            computed = task_tables(part, n_boot=n_boot, seed=seed)
        summ, variants, models = computed.summary, computed.variants, computed.models
        first = summ.iloc[0]
        kind = "pass/fail" if first["kind"] == "binary" else "graded"
        out += [f"{h} Statistics for `{task}`", "",
                f"Metric `{first['metric']}` ({kind}); 95% intervals; effects in points "
                "(percentage points of the score).", ""]
        if variant_table:
            out += _variant_section(summ)
        out += [f"{h}# Variants compared", ""]
        out += _pairs_section(variants, "variant", "model")
        if models is not None:
            out += [f"{h}# Models compared", ""]
            out += _pairs_section(models, "model", "variant")
        repeats = _repeats_section(summ)
        if repeats:
            out += [f"{h}# Repeats", "", *repeats]
        notes = _notes(summ, variants, models)
        if notes:
            out += [f"{h}# Notes", "", *notes, ""]
    return "\n".join(out).rstrip() + "\n"
