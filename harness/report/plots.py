"""The report's figures: each variant's score with its interval, and score against cost or latency.

Drawn with matplotlib's Agg canvas on a bare ``Figure`` (no pyplot, so no global state, no GUI
backend and no interference with a caller's own plots), as PNGs written beside the report in
``reports/<run-id>/`` and linked relatively, so the markdown renders on GitHub and the HTML
report can inline them. The numbers come from :func:`harness.analysis.summary` and
:func:`harness.report.operations.operations`, the same ones the tables show.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

DPI = 110
COLOR = "#3366aa"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "task"


def _label(row: pd.Series, several_models: bool) -> str:
    return f"{row['variant']} · {row['model']}" if several_models else str(row["variant"])


def _errors(rows: pd.DataFrame) -> tuple[list[float], list[float]]:
    """Whisker lengths below and above each mean, in points; 0 where an interval is missing."""
    low = [max(0.0, 100 * (m - lo)) if math.isfinite(lo) else 0.0
           for m, lo in zip(rows["mean"], rows["ci_low"], strict=True)]
    high = [max(0.0, 100 * (hi - m)) if math.isfinite(hi) else 0.0
            for m, hi in zip(rows["mean"], rows["ci_high"], strict=True)]
    return low, high


def _figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def score_plot(table: pd.DataFrame, task: str, path: Path) -> Path:
    """Horizontal points with interval whiskers, best variant on top."""
    rows = table.dropna(subset=["mean"]).sort_values("mean", ascending=True)
    several = table["model"].nunique() > 1
    figure = _figure(7.0, 1.2 + 0.42 * max(1, len(rows)))
    ax = figure.add_subplot()
    y = list(range(len(rows)))
    ax.errorbar([100 * m for m in rows["mean"]], y, xerr=_errors(rows), fmt="o", color=COLOR,
                ecolor=COLOR, capsize=4, markersize=6)
    for yy, (_, row) in zip(y, rows.iterrows(), strict=True):
        ax.annotate(f"{100 * row['mean']:.1f}", (100 * row["mean"], yy), xytext=(0, 7),
                    textcoords="offset points", ha="center", fontsize=8)
    ax.set_yticks(y, [_label(r, several) for _, r in rows.iterrows()])
    ax.set_xlim(0, 100)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel("score % (95% confidence interval)")
    ax.set_title(f"{task}: score by variant", fontsize=11)
    ax.grid(axis="x", alpha=0.3)
    figure.savefig(path, format="png", metadata={"Software": None})
    return path


def tradeoff_plot(table: pd.DataFrame, ops: pd.DataFrame, task: str,
                  path: Path) -> tuple[str, Path] | None:
    """Score against cost per sample when any cost is known, else against mean latency."""
    merged = table.merge(ops, on=["task", "model", "variant"], how="left")
    per_sample = merged["cost_usd"] / merged["samples"]
    if (per_sample.fillna(0) > 0).any():
        x, xlabel, what = per_sample, "cost per sample (USD)", "cost"
    elif merged["latency_s"].notna().any():
        x, xlabel, what = merged["latency_s"], "mean latency per sample (s)", "latency"
    else:
        return None
    keep = x.notna() & merged["mean"].notna()
    merged, x = merged[keep], x[keep]
    if merged.empty:
        return None
    several = merged["model"].nunique() > 1
    figure = _figure(7.0, 4.2)
    ax = figure.add_subplot()
    ax.errorbar(list(x), [100 * m for m in merged["mean"]], yerr=_errors(merged), fmt="o",
                color=COLOR, ecolor=COLOR, capsize=4, markersize=6)
    for xx, (_, row) in zip(x, merged.iterrows(), strict=True):
        ax.annotate(_label(row, several), (xx, 100 * row["mean"]), xytext=(6, 4),
                    textcoords="offset points", fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("score % (95% CI)")
    ax.set_ylim(0, 100)
    ax.set_title(f"{task}: score against {what}", fontsize=11)
    ax.grid(alpha=0.3)
    figure.savefig(path, format="png", metadata={"Software": None})
    return f"Score against {what}, with 95% confidence intervals", path


def write_plots(samples: pd.DataFrame, out_dir: Path) -> dict[str, list[tuple[str, Path]]]:
    """Draw every task's figures into ``out_dir``; return (caption, path) per task."""
    from harness.analysis import summary
    from harness.report.operations import operations

    out_dir.mkdir(parents=True, exist_ok=True)
    table = summary(samples)
    ops = operations(samples)
    written: dict[str, list[tuple[str, Path]]] = {}
    for task in table["task"].drop_duplicates():
        part = table[table["task"] == task]
        name = _safe(str(task))
        figures = [("Score by variant, with 95% confidence intervals",
                    score_plot(part, str(task), out_dir / f"{name}-scores.png"))]
        trade = tradeoff_plot(part, ops, str(task), out_dir / f"{name}-tradeoff.png")
        written[str(task)] = [*figures, trade] if trade else figures
    return written
