"""``harness plan``: how many items a run needs, from a pilot's observed pairing.

The pilot supplies what a textbook formula has to guess: the spread of the per-item differences
between two variants (for pass/fail scores, how often they disagree), which already includes how
strongly they are correlated and, with clusters, the design effect. Without a pilot the caller
must state that spread (:func:`harness.stats.power.paired_sd` turns pass rates and a correlation
into one).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from harness.stats.errors import StatsError
from harness.stats.formatting import points
from harness.stats.power import (
    check_effect,
    items_needed,
    mcnemar_items_needed,
    mcnemar_power,
    minimum_detectable_effect,
    power_at,
    z_total,
)
from harness.stats.tables import compare_table

PLAN_COLUMNS = [
    "a", "b", "n_pilot", "sd_diff", "discordance", "correlation", "clustered", "pilot_mde",
    "effect", "n_items_needed", "pilot_power", "note",
]


def _needed(effect: float, sd: float, alpha: float, power: float) -> float:
    if not math.isfinite(sd) or sd <= 0.0:
        return float("nan")
    return float(max(2, math.ceil(items_needed(effect, sd, alpha, power) - 1e-9)))


def plan_table(
    samples: pd.DataFrame | None,
    effect: float,
    alpha: float = 0.05,
    power: float = 0.8,
    *,
    metric: str | None = None,
    axis: str = "variant",
    reducer: str = "mean",
    sd_diff: float | None = None,
) -> pd.DataFrame:
    """Per task, model and pair: the pilot's MDE and the items needed to detect ``effect``."""
    effect = check_effect(effect)
    z_total(alpha, power)  # validates both before any work
    if samples is None:
        if sd_diff is None or not sd_diff > 0:
            raise StatsError(
                "plan needs a pilot run, or an assumed sd_diff (the SD of per-item differences; "
                "harness.stats.power.paired_sd computes it from two pass rates and a correlation)"
            )
        row = {"a": "a", "b": "b", "n_pilot": 0, "sd_diff": float(sd_diff),
               "discordance": np.nan, "correlation": np.nan, "clustered": False,
               "pilot_mde": np.nan, "effect": effect,
               "n_items_needed": _needed(effect, float(sd_diff), alpha, power),
               "pilot_power": np.nan, "note": "no pilot: uses the assumed sd_diff"}
        out = pd.DataFrame([row], columns=PLAN_COLUMNS)
        out.attrs.update(effect=effect, alpha=alpha, power=power)
        return out
    cmp = compare_table(samples, metric=metric, axis=axis, reducer=reducer, correction="none",
                        n_boot=0, alpha=alpha, power=power)
    group_keys = list(cmp.columns[: list(cmp.columns).index("metric")])  # keys come first
    rows = []
    for r in cmp.to_dict("records"):
        sd = float(r["sd_diff"])
        notes = []
        if r["n_pairs"] < 2:
            notes.append("pilot has fewer than 2 paired items")
        elif not sd > 0:
            notes.append("the pilot shows no disagreement between the two: run a larger pilot")
        if r["clustered"]:
            notes.append("clustered: assumes new items come in clusters of the pilot's size")
        disc = np.nan
        if not pd.isna(r["discordant_a_only"]) and r["n_pairs"]:
            disc = (int(r["discordant_a_only"]) + int(r["discordant_b_only"])) / r["n_pairs"]
        needed = _needed(effect, sd, alpha, power)
        pilot_power = power_at(effect, r["se"], alpha) if r["se"] > 0 else np.nan
        if math.isfinite(disc) and disc > 0 and not r["clustered"]:
            # Pass/fail pairs are judged by the exact McNemar test: plan with its power.
            needed = mcnemar_items_needed(effect, disc, alpha, power)
            pilot_power = mcnemar_power(int(r["n_pairs"]), disc, effect, alpha)
            notes.append("sized for the exact McNemar test the report and the gate run")
        rows.append({
            **{k: r[k] for k in group_keys}, "a": r["a"], "b": r["b"],
            "n_pilot": int(r["n_pairs"]), "sd_diff": sd, "discordance": disc,
            "correlation": r["correlation"], "clustered": bool(r["clustered"]),
            "pilot_mde": minimum_detectable_effect(r["se"], alpha, power), "effect": effect,
            "n_items_needed": needed, "pilot_power": pilot_power,
            "note": "; ".join(notes),
        })
    out = pd.DataFrame(rows, columns=[*group_keys, *PLAN_COLUMNS])
    out.attrs.update(effect=effect, alpha=alpha, power=power)
    return out


def format_plan(table: pd.DataFrame) -> str:
    """The plan as a short fixed-width text table for a terminal."""
    effect = table.attrs.get("effect", table["effect"].iloc[0] if len(table) else float("nan"))
    alpha = table.attrs.get("alpha", 0.05)
    power = table.attrs.get("power", 0.8)
    title = (f"Items needed to detect a difference of {points(effect)} points "
             f"(two-sided alpha {alpha:g}, power {power:.0%}), from the pilot's pairing:")
    if table.empty:
        return title + "\n(no pairs to plan: the pilot has a single variant per task and model)"
    keys = [c for c in ("task", "model", "variant", "run") if c in table.columns]
    header = [*keys, "pair", "pilot n", "sd diff", "pilot MDE", "items needed", "pilot power"]
    body = []
    for r in table.to_dict("records"):
        needed = r["n_items_needed"]
        body.append([
            *[str(r[k]) for k in keys], f"{r['a']} vs {r['b']}", str(r["n_pilot"]),
            "n/a" if not np.isfinite(r["sd_diff"]) else f"{r['sd_diff']:.3f}",
            "n/a" if not np.isfinite(r["pilot_mde"]) else f"{points(r['pilot_mde'])} pts",
            "n/a" if not np.isfinite(needed) else f"{int(needed):,}",
            "n/a" if not np.isfinite(r["pilot_power"]) else f"{r['pilot_power']:.0%}",
        ])
    widths = [max(len(h), *(len(row[i]) for row in body)) for i, h in enumerate(header)]
    n_text = len(keys) + 1

    def fmt(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i < n_text else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    lines = [title, fmt(header), fmt(["-" * w for w in widths]), *(fmt(row) for row in body)]
    notes = sorted({r["note"] for r in table.to_dict("records") if r["note"]})
    lines += [f"note: {n}" for n in notes]
    return "\n".join(lines)
