"""The report's repeat sections: flaky items and how many repeats are worth buying.

Shown only when items were sampled more than once (``epochs`` >= 2); the arithmetic lives in
:mod:`harness.stats.repeats`.
"""

from __future__ import annotations

import math

import pandas as pd

from harness.report.tables import markdown_table

REPORT_EFFECT = 0.05
"""The difference the report sizes repeats for; ``harness plan --effect`` takes any other."""
FLAKY_SHOWN = 15
PAIRS_SHOWN = 12


def _flaky(samples: pd.DataFrame) -> list[str]:
    from harness.stats.repeats import flaky_items

    flaky = flaky_items(samples)
    if flaky.empty:
        return ["No flaky item: every item scored the same on every repeat.", ""]
    rows = []
    for (model, variant), part in flaky.groupby(["model", "variant"], sort=False):
        part = part.sort_values("passes", kind="stable")
        shown = [f"{r.item_id} ({r.passes}/{r.repeats})"
                 for r in part.head(FLAKY_SHOWN).itertuples()]
        more = len(part) - len(shown)
        rows.append([model, variant, len(part), ", ".join(shown) + (f", +{more} more" if more
                                                                     else "")])
    return ["Flaky items: their outcome changed between repeats (passes/repeats; a pass is "
            "full marks). A gate rule such as `--min-pass-repeats 8/10` fails cells whose "
            "items pass too rarely.", "",
            markdown_table(["model", "variant", "flaky items", "items (passes/repeats)"], rows,
                           "llrl"), ""]


def _advice(samples: pd.DataFrame) -> list[str]:
    from harness.stats.repeats import advice, pair_variance, target_se

    pairs = pair_variance(samples)
    pairs = pairs[pairs["within"].notna()] if not pairs.empty else pairs
    if pairs.empty:
        return []
    se = target_se(REPORT_EFFECT)
    rows = []
    for r in pairs.head(PAIRS_SHOWN).to_dict("records"):
        cheap = advice(r["between"], r["within"], se, item_cost=1.0, pool=r["n_items"])
        dear = advice(r["between"], r["within"], se, item_cost=10.0)
        pool = cheap.repeats_for_pool
        rows.append([r["model"], f"{r['a']} vs {r['b']}", f"{r['between']:.4f}",
                     f"{r['within']:.4f}", f"{cheap.repeats} × {int(cheap.items_needed):,}",
                     f"{dear.repeats} × {int(dear.items_needed):,}",
                     "none suffice" if math.isinf(pool) else str(int(pool))])
    n = int(pairs["n_items"].max())
    return [f"Recommended repeats, sized to detect a difference of {REPORT_EFFECT * 100:g} "
            "points between two variants (alpha 0.05, power 80%, normal approximation) from "
            "the variance of the per-item differences: B between items, W between repeats. "
            "With N items and R repeats the variance is (B + W/R)/N; a new item costing c calls "
            "makes R* = sqrt((c - 1) W / B) the cheapest, so when items cost no more than a "
            "call, one sample per item is best. `harness plan --effect E --pilot <run> "
            "--item-cost c` sizes any other effect.", "",
            markdown_table(["model", "pair", "B", "W", "R* × items (item = 1 call)",
                            "R* × items (item = 10 calls)",
                            f"repeats needed on these {n} items"], rows, "llrrrrr"), ""]


def repeats_markdown(samples: pd.DataFrame) -> list[str]:
    """Flaky items and repeat advice for one task's samples; empty without repeats."""
    if "epoch" not in samples.columns or samples["epoch"].nunique() < 2:
        return []
    return ["### Repeats: flaky items and how many to run", "", *_flaky(samples),
            *_advice(samples)]
