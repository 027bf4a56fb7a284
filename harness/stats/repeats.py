"""Repeats (epochs) that mean something: per-item pass counts, flaky items, repeat rules for
the gate, and how many repeats a target precision should buy.

**Pass counts.** A repeat *passes* when its primary score is full marks (1 for pass/fail
scorers). Errored samples are not repeats: they count neither way.

**Repeat rule "k of n".** Each item must pass at least k of n repeats. With n or more valid
repeats the rule is the rate k/n (passes >= ceil(k/n * repeats)); with fewer, the item passes
if it already has k passes, fails if it already failed more than n - k times (no missing
repeat could save it), and is otherwise *inconclusive*: the missing repeats decide it.

**Recommended repeats.** With N items, R repeats each, between-item variance B and within-item
(repeat-to-repeat) variance W, the variance of a mean score, or of a paired difference (B and W
of the per-item differences), is ``(B + W / R) / N``. Say a new item's first sample costs
``c`` calls (``c = 1`` when items are free and only calls cost; more when items must be
written or labelled) and each extra repeat costs one call, so a run costs ``N (c - 1 + R)``.
Minimising variance x cost, ``(B + W/R)(c - 1 + R)``, over R gives

    R* = sqrt((c - 1) * W / B)

So at equal cost per call (c = 1) the optimum is one sample per item: a new item buys all a
repeat buys (the W/N part) and also shrinks B/N. Repeats pay only when items are dear (c > 1)
or scarce: with a fixed pool of N items the target SE needs ``R = W / (N SE^2 - B)`` repeats,
and no number of repeats reaches it when ``N SE^2 <= B``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.stats.distributions import norm_ppf
from harness.stats.errors import StatsError

FULL_MARKS = 1.0 - 1e-9
ITEM_KEYS = ["task", "model", "variant", "item_id"]


def item_passes(samples: pd.DataFrame, metric: str | None = None) -> pd.DataFrame:
    """Per task x model x variant x item: valid repeats, passes, and min/max score."""
    from harness.stats.samples import resolve_metric

    frames = []
    for task in pd.unique(samples["task"]):
        part = samples[samples["task"] == task]
        info = resolve_metric(samples, task, metric)
        if info is None:
            continue
        score = pd.to_numeric(part[info.column], errors="coerce")
        ok = score.notna()
        if "error" in part.columns:
            ok &= part["error"].isna()
        frame = part.loc[ok, ITEM_KEYS].astype(str)
        frame["score"] = score[ok].to_numpy(dtype=float)
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=[*ITEM_KEYS, "repeats", "passes", "low", "high"])
    long = pd.concat(frames, ignore_index=True)
    long["pass"] = long["score"] >= FULL_MARKS
    out = long.groupby(ITEM_KEYS, sort=False).agg(
        repeats=("score", "size"), passes=("pass", "sum"), low=("score", "min"),
        high=("score", "max")).reset_index()
    out["passes"] = out["passes"].astype(int)
    return out


def flaky_items(samples: pd.DataFrame, metric: str | None = None) -> pd.DataFrame:
    """Items whose outcome changed between repeats (some repeats scored differently)."""
    table = item_passes(samples, metric)
    return table[(table["repeats"] >= 2) & (table["low"] < table["high"])].reset_index(drop=True)


def parse_rule(text: str) -> tuple[int, int]:
    """``"8/10"`` -> (8, 10); ``"0.8"`` -> (4, 5) as a rate."""
    text = str(text).strip()
    try:
        if "/" in text:
            k_text, n_text = text.split("/", 1)
            k, n = int(k_text), int(n_text)
        else:
            from fractions import Fraction

            rate = Fraction(text).limit_denominator(100)
            k, n = rate.numerator, rate.denominator
    except (ValueError, ZeroDivisionError):
        raise StatsError(f"a repeat rule is k/n, e.g. 8/10 (pass at least 8 of 10 repeats); "
                         f"got {text!r}") from None
    if not 1 <= k <= n:
        raise StatsError(f"a repeat rule k/n needs 1 <= k <= n; got {text!r}")
    return k, n


def judge_item(passes: int, repeats: int, k: int, n: int) -> str:
    """``pass``, ``fail`` or ``inconclusive`` for one item under the rule "k of n"."""
    if repeats >= n:
        return "pass" if passes >= math.ceil(k / n * repeats - 1e-9) else "fail"
    if passes >= k:
        return "pass"
    if repeats - passes > n - k:
        return "fail"
    return "inconclusive"


def repeat_rule(samples: pd.DataFrame, rule: str, metric: str | None = None) -> pd.DataFrame:
    """Every item judged under ``rule`` (see :func:`judge_item`), with its pass count."""
    k, n = parse_rule(rule)
    table = item_passes(samples, metric)
    table["verdict"] = [judge_item(int(p), int(r), k, n)
                        for p, r in zip(table["passes"], table["repeats"], strict=True)]
    table.attrs["rule"] = (k, n)
    return table


@dataclass(frozen=True)
class RepeatAdvice:
    """The cheapest repeats per item for a variance split, and what a target SE needs."""

    between: float
    within: float
    item_cost: float
    repeats: int
    items_needed: float
    repeats_for_pool: float


def optimal_repeats(between: float, within: float, item_cost: float = 1.0,
                    max_repeats: int = 100) -> int:
    """The integer R >= 1 minimising ``(B + W/R)(c - 1 + R)`` (see the module docstring)."""
    if item_cost < 1.0:
        raise StatsError("item_cost is what a new item's first sample costs in calls: >= 1")
    if not (math.isfinite(between) and math.isfinite(within)) or within <= 0.0:
        return 1
    overhead = item_cost - 1.0
    if overhead == 0.0:
        return 1
    if between <= 0.0:
        return max_repeats
    best = math.sqrt(overhead * within / between)
    lo = max(1, min(max_repeats, math.floor(best)))
    hi = max(1, min(max_repeats, math.ceil(best)))
    return min((lo, hi), key=lambda r: (between + within / r) * (overhead + r))


def advice(between: float, within: float, target_se: float, *, item_cost: float = 1.0,
           pool: int | None = None) -> RepeatAdvice:
    """R*, the items needed at R* for ``target_se``, and the repeats a pool of ``pool``
    items needs (inf when none suffice, NaN without a pool)."""
    r = optimal_repeats(between, within, item_cost)
    var = max(between, 0.0) + max(within, 0.0) / r
    needed = float(max(2, math.ceil(var / target_se**2 - 1e-9))) if var > 0 else 2.0
    for_pool = float("nan")
    if pool:
        room = pool * target_se**2 - max(between, 0.0)
        if within <= 0.0:
            for_pool = 1.0 if room >= 0 else math.inf
        else:
            for_pool = float(max(1, math.ceil(within / room - 1e-9))) if room > 0 else math.inf
    return RepeatAdvice(between, within, item_cost, r, needed, for_pool)


def target_se(effect: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """The SE at which a two-sided test at ``alpha`` detects ``effect`` with ``power``."""
    return abs(effect) / float(norm_ppf(1 - alpha / 2) + norm_ppf(power))


def pair_variance(samples: pd.DataFrame, metric: str | None = None) -> pd.DataFrame:
    """Per task x model x pair of variants: B and W of the per-item differences.

    W is the sum of the two variants' pooled within-item variances (repeats of one variant
    are independent of the other's); B = var(item differences) - W * mean(1/K), floored at 0.
    """
    from harness.stats.samples import item_table

    table = item_table(samples, metric=metric)
    items = table.items
    rows = []
    for (task, model), part in items.groupby(["task", "model"], sort=False):
        variants = list(pd.unique(part["variant"]))
        for i, a in enumerate(variants):
            for b in variants[i + 1:]:
                left = part[part["variant"] == a].set_index(table.pair_on)
                right = part[part["variant"] == b].set_index(table.pair_on)
                both = left.add_suffix("_a").join(right.add_suffix("_b"), how="inner")
                both = both[both["score_a"].notna() & both["score_b"].notna()]
                if len(both) < 2:
                    continue
                k = np.minimum(both["n_valid_a"], both["n_valid_b"]).to_numpy(dtype=float)
                w = _pooled(both["within_var_a"], both["n_valid_a"]) + _pooled(
                    both["within_var_b"], both["n_valid_b"])
                d = (both["score_a"] - both["score_b"]).to_numpy(dtype=float)
                b_var = (max(0.0, float(d.var(ddof=1)) - w * float(np.mean(1.0 / k)))
                         if math.isfinite(w) else float("nan"))
                rows.append({"task": task, "model": model, "a": a, "b": b, "n_items": len(both),
                             "epochs": float(1.0 / np.mean(1.0 / k)), "between": b_var,
                             "within": w, "total_var": float(d.var(ddof=1))})
    return pd.DataFrame(rows, columns=["task", "model", "a", "b", "n_items", "epochs",
                                       "between", "within", "total_var"])


def _pooled(var: pd.Series, n: pd.Series) -> float:
    v, k = var.to_numpy(dtype=float), n.to_numpy(dtype=float)
    ok = (k >= 2) & np.isfinite(v)
    if not ok.any():
        return float("nan")
    return float(np.sum((k[ok] - 1) * v[ok]) / np.sum(k[ok] - 1))


def repeats_table(samples: pd.DataFrame, effect: float, alpha: float = 0.05,
                  power: float = 0.8, *, item_cost: float = 1.0,
                  metric: str | None = None) -> pd.DataFrame:
    """Per pair: R* at ``item_cost``, the items needed at R* to detect ``effect``, and the
    repeats the pilot's own items would need (the normal approximation)."""
    se = target_se(effect, alpha, power)
    pairs = pair_variance(samples, metric)
    out = []
    for r in pairs.to_dict("records"):
        if not math.isfinite(r["within"]):
            continue
        adv = advice(r["between"], r["within"], se, item_cost=item_cost, pool=r["n_items"])
        out.append({**r, "item_cost": item_cost, "effect": effect, "repeats_optimal": adv.repeats,
                    "items_needed": adv.items_needed, "repeats_for_pool": adv.repeats_for_pool})
    return pd.DataFrame(out, columns=[*pairs.columns, "item_cost", "effect", "repeats_optimal",
                                      "items_needed", "repeats_for_pool"])


def format_repeats(table: pd.DataFrame) -> str:
    """The repeats advice as plain text for ``harness plan``."""
    if table.empty:
        return ("Repeats: the pilot has one sample per item (or no pairs), so within-item "
                "variance is unknown; run a pilot with epochs >= 2 to size repeats.")
    c = float(table["item_cost"].iloc[0])
    lines = [f"Repeats per item (a new item costs {c:g} call{'s' if c != 1 else ''}; each "
             f"repeat 1 call): R* = sqrt((c - 1) W / B) minimises cost for a given SE."]
    for r in table.to_dict("records"):
        pool = r["repeats_for_pool"]
        pool_text = ("no number of repeats suffices: add items" if math.isinf(pool)
                     else f"{int(pool)} repeats")
        lines.append(
            f"  {r['task']} / {r['model']} / {r['a']} vs {r['b']}: B={r['between']:.4f} "
            f"W={r['within']:.4f}; best R={r['repeats_optimal']} with "
            f"{int(r['items_needed']):,} items; on the pilot's {r['n_items']} items: "
            f"{pool_text}")
    return "\n".join(lines)
