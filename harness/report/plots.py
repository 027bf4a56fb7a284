"""The report's figures: each variant's score with its interval, and score against cost or latency.

Written as SVG by :mod:`harness.report.svg` (no plotting library: matplotlib's import alone
cost every run about half a second), into ``reports/<run-id>/`` beside the report and linked
relatively, so the markdown renders on GitHub and the HTML report can inline them. The numbers
come from :func:`harness.analysis.summary` and :func:`harness.report.operations.operations`,
the same ones the tables show; the whisker ends are the interval's ends exactly.

Many variants make the score chart taller (one row each); long names are cut with an ellipsis
and kept whole in the row's tooltip. The trade-off chart numbers its points and lists them
underneath with their figures, so names never overlap one another.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from harness.report.svg import COLOR, GRID, Canvas, nice_ticks, shorten, text_width, tick_label

if TYPE_CHECKING:
    import pandas as pd

WIDTH = 720.0
ROW = 26.0
MAX_LABEL = 300.0
LEGEND_LINE = 18.0
LEGEND_CHARS = 110


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "task"


def _label(row: pd.Series, several_models: bool) -> str:
    """A point's name, redacted before it is escaped: :func:`harness.redaction.redact` on the
    finished SVG could put its raw ``<redacted>`` inside the markup."""
    from harness.redaction import redact

    name = f"{row['variant']} · {row['model']}" if several_models else str(row["variant"])
    return redact(name)


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _pct(value: float) -> str:
    return f"{100 * value:.1f}" if _finite(value) else "n/a"


def _interval(row: pd.Series) -> str:
    low, high = row["ci_low"], row["ci_high"]
    return f"[{_pct(low)}, {_pct(high)}]" if _finite(low) and _finite(high) else "no interval"


def _score_range(rows: pd.DataFrame) -> list[float]:
    """Ticks in score points covering 0-100 and every mean and interval end."""
    values = [100 * float(v) for col in ("mean", "ci_low", "ci_high") for v in rows[col]
              if _finite(v)]
    return nice_ticks(min([0.0, *values]), max([100.0, *values]))


def _scale(ticks: list[float], start: float, end: float) -> Callable[[float], float]:
    low, high = ticks[0], ticks[-1]
    return lambda v: start + (v - low) / (high - low) * (end - start)


def _whisker(svg: Canvas, low: float, high: float, at: float, vertical: bool,
             to_px: Callable[[float], float]) -> None:
    """The interval as a line with caps; nothing where it is missing."""
    if not (_finite(low) and _finite(high)):
        return
    a, b = to_px(100 * low), to_px(100 * high)
    if vertical:
        svg.line(at, a, at, b, cls="whisker", stroke=COLOR, width=1.5)
        for end in (a, b):
            svg.line(at - 4, end, at + 4, end, cls="cap", stroke=COLOR, width=1.5)
    else:
        svg.line(a, at, b, at, cls="whisker", stroke=COLOR, width=1.5)
        for end in (a, b):
            svg.line(end, at - 4, end, at + 4, cls="cap", stroke=COLOR, width=1.5)


def score_svg(table: pd.DataFrame, task: str) -> str:
    """Points with interval whiskers, one row per variant, best on top."""
    rows = table.dropna(subset=["mean"]).sort_values("mean", ascending=False, kind="stable")
    several = table["model"].nunique() > 1
    labels = [_label(r, several) for _, r in rows.iterrows()]
    left = 16 + min(MAX_LABEL, max([text_width(s, 12) for s in labels] + [40.0]))
    right, top = WIDTH - 24, 44.0
    bottom = top + ROW * max(1, len(rows))
    svg = Canvas(WIDTH, bottom + 52, f"{task}: score by variant")
    svg.text(WIDTH / 2, 22, f"{task}: score by variant", cls="title", size=14,
             anchor="middle", weight="bold")
    ticks = _score_range(rows)
    x = _scale(ticks, left, right)
    for tick in ticks:
        svg.line(x(tick), top, x(tick), bottom, cls="grid", stroke=GRID)
        svg.text(x(tick), bottom + 16, tick_label(tick), cls="tick-x", size=11, anchor="middle")
    svg.line(left, bottom, right, bottom, cls="axis")
    svg.text((left + right) / 2, bottom + 40, "score % (95% confidence interval)",
             cls="axis-label", anchor="middle")
    for i, ((_, row), label) in enumerate(zip(rows.iterrows(), labels, strict=True)):
        y = top + ROW * (i + 0.5)
        svg.open_group("row", f"{label}: {_pct(row['mean'])}% {_interval(row)}")
        svg.text(left - 10, y + 4, shorten(label, MAX_LABEL, 12), cls="name", anchor="end")
        _whisker(svg, row["ci_low"], row["ci_high"], y, False, x)
        svg.circle(x(100 * row["mean"]), y, 4.5, cls="point")
        svg.text(x(100 * row["mean"]), y - 7, _pct(row["mean"]), cls="value", size=10,
                 anchor="middle")
        svg.close_group()
    return svg.render()


def _cost_or_latency(merged: pd.DataFrame) -> tuple[pd.Series, str, str] | None:
    per_sample = merged["cost_usd"] / merged["samples"]
    if (per_sample.fillna(0) > 0).any():
        return per_sample, "cost per sample (USD)", "cost"
    if merged["latency_s"].notna().any():
        return merged["latency_s"], "mean latency per sample (s)", "latency"
    return None


def _free_spot(taken: list[tuple[float, float, float, float]], px: float, py: float,
               text: str) -> tuple[float, float]:
    """Where a point's number goes: beside it, on the first side no earlier number covers
    (points at the same place get their numbers side by side)."""
    w, h = text_width(text, 11), 11.0
    spots = [(px + 7, py - 6), (px + 7, py + 12), (px - 7 - w, py - 6), (px - 7 - w, py + 12)]
    spots += [(px + 7 + k * 14, py - 6) for k in range(1, 40)]
    for sx, sy in spots:
        box = (sx, sy - h, sx + w, sy)
        if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]
                   for b in taken):
            taken.append(box)
            return sx, sy
    return spots[0]


def tradeoff_svg(table: pd.DataFrame, ops: pd.DataFrame, task: str) -> tuple[str, str] | None:
    """Score against cost per sample when any cost is known, else against mean latency: the
    caption's subject and the SVG, or None when neither is known."""
    merged = table.merge(ops, on=["task", "model", "variant"], how="left")
    found = _cost_or_latency(merged)
    if found is None:
        return None
    xs, xlabel, what = found
    keep = xs.notna() & merged["mean"].notna()
    merged, xs = merged[keep], xs[keep]
    if merged.empty:
        return None
    several = merged["model"].nunique() > 1
    left, right, top, plot_h = 64.0, WIDTH - 24, 44.0, 300.0
    bottom = top + plot_h
    legend_top = bottom + 62
    svg = Canvas(WIDTH, legend_top + LEGEND_LINE * len(merged) + 8,
                 f"{task}: score against {what}")
    svg.text(WIDTH / 2, 22, f"{task}: score against {what}", cls="title", size=14,
             anchor="middle", weight="bold")
    x_ticks = nice_ticks(min(0.0, float(xs.min())), 1.04 * float(xs.max()))  # points off the edge
    y_ticks = _score_range(merged)
    x, y = _scale(x_ticks, left, right), _scale(y_ticks, bottom, top)
    for tick in x_ticks:
        svg.line(x(tick), top, x(tick), bottom, cls="grid", stroke=GRID)
        svg.text(x(tick), bottom + 16, tick_label(tick), cls="tick-x", size=11, anchor="middle")
    for tick in y_ticks:
        svg.line(left, y(tick), right, y(tick), cls="grid", stroke=GRID)
        svg.text(left - 6, y(tick), tick_label(tick), cls="tick-y", size=11, anchor="end",
                 middle=True)
    svg.line(left, bottom, right, bottom, cls="axis")
    svg.line(left, top, left, bottom, cls="axis")
    svg.text((left + right) / 2, bottom + 40, xlabel, cls="axis-label", anchor="middle")
    svg.text(18, (top + bottom) / 2, "score % (95% CI)", cls="axis-label", anchor="middle",
             rotate=True)
    unit = "$" if what == "cost" else ""
    taken: list[tuple[float, float, float, float]] = []
    for n, ((_, row), cost) in enumerate(zip(merged.iterrows(), xs, strict=True), start=1):
        label = _label(row, several)
        spent = f"{unit}{cost:.6g}{'' if unit else ' s'}"
        line = f"{n}. {label}: {_pct(row['mean'])}% {_interval(row)}, {spent}"
        svg.open_group("point-group", line)
        _whisker(svg, row["ci_low"], row["ci_high"], x(float(cost)), True, y)
        svg.circle(x(float(cost)), y(100 * row["mean"]), 4.5, cls="point")
        nx, ny = _free_spot(taken, x(float(cost)), y(100 * row["mean"]), str(n))
        svg.text(nx, ny, str(n), cls="number", size=11, weight="bold")
        svg.text(left, legend_top + LEGEND_LINE * (n - 1),
                 shorten(line, WIDTH - left - 24, 12), cls="legend")
        svg.close_group()
    return what, svg.render()


def _remove_stale(out_dir: Path, name: str, keep: set[Path]) -> None:
    """Figures an earlier report of this run left (PNGs before figures were SVG, a trade-off
    chart the run no longer has), so the folder holds only what the report links."""
    for kind in ("scores", "tradeoff"):
        for ext in (".svg", ".png"):
            old = out_dir / f"{name}-{kind}{ext}"
            if old not in keep and old.is_file():
                old.unlink()


def write_plots(samples: pd.DataFrame, out_dir: Path, *, table: pd.DataFrame | None = None,
                ops: pd.DataFrame | None = None) -> dict[str, list[tuple[str, Path]]]:
    """Draw every task's figures into ``out_dir``; return (caption, path) per task.
    ``table`` (the summary) and ``ops`` (:func:`operations`): when the caller has them."""
    from harness.redaction import redact

    out_dir.mkdir(parents=True, exist_ok=True)
    if table is None:
        from harness.analysis import summary

        table = summary(samples)
    if ops is None:
        from harness.report.operations import operations

        ops = operations(samples)
    written: dict[str, list[tuple[str, Path]]] = {}
    for task in table["task"].drop_duplicates():
        part = table[table["task"] == task]
        name, title = _safe(str(task)), redact(str(task))
        scores = out_dir / f"{name}-scores.svg"
        scores.write_text(score_svg(part, title), encoding="utf-8")
        figures = [("Score by variant, with 95% confidence intervals", scores)]
        trade = tradeoff_svg(part, ops, title)
        if trade is not None:
            path = out_dir / f"{name}-tradeoff.svg"
            path.write_text(trade[1], encoding="utf-8")
            figures.append((f"Score against {trade[0]}, with 95% confidence intervals", path))
        written[str(task)] = figures
        _remove_stale(out_dir, name, {path for _, path in figures})
    return written
