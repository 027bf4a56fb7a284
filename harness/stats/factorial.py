"""Main effects and two-way interactions of a swept variant matrix, on paired items.

A sweep (``template x shots x rag``) runs every combination on the same items, so each item
carries its own little factorial experiment. For each item we compute each effect as a
contrast of its cell scores, then take the mean over items with a t-interval over the
per-item contrasts (clustered when the task has clusters, as everywhere in the harness). Item
difficulty cancels inside each contrast, which is what makes these intervals narrow.

* main effect of factor F at level j: mean of the cells with F = j minus mean of the cells
  with F = reference (its first level), each averaged over every level of the other factors;
  a factor with more than two levels gives one effect per non-reference level;
* interaction of F (j vs ref) with G (k vs ref): a difference of differences, how much larger
  F's effect is with G = k than with G = ref (averaged over the remaining factors). This is
  twice the "AB" coefficient of the +/-1 coding textbooks use, and reads directly in points.

Only items scored in every cell count (an item missing a cell cannot be contrasted), and the
p-values of all effects of one task x model are Holm-adjusted together.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from harness.stats.distributions import t_ppf, t_sf
from harness.stats.errors import StatsError
from harness.stats.intervals import check_alpha, cluster_codes, has_real_clusters, standard_error
from harness.stats.multiple import adjust_pvalues

COLUMNS = ["task", "model", "metric", "kind", "factor", "level", "reference", "factor2",
           "level2", "reference2", "averaged_over", "estimate", "se", "ci_low", "ci_high",
           "df", "p_value", "p_adjusted", "n_items", "clustered", "n_clusters"]


@dataclass(frozen=True)
class Effect:
    """One contrast: weights over the cells (one per variant), and what it means."""

    kind: str
    factor: str
    level: str
    reference: str
    factor2: str = ""
    level2: str = ""
    reference2: str = ""


def _cell_mask(cells: list[dict[str, str]], **fixed: str) -> NDArray[np.float64]:
    """Weights averaging the cells that have every ``factor=level`` in ``fixed``."""
    mask = np.array([all(c[f] == v for f, v in fixed.items()) for c in cells], dtype=float)
    total = mask.sum()
    if total == 0:
        raise StatsError(f"the design has no cell with {fixed}: it is not a full factorial")
    return mask / total


def contrasts(cells: list[dict[str, str]], levels: Mapping[str, Sequence[str]],
              interactions: bool = True) -> list[tuple[Effect, NDArray[np.float64]]]:
    """Every main effect (each level vs the reference) and two-way interaction, as weights."""
    out: list[tuple[Effect, NDArray[np.float64]]] = []
    for f, lv in levels.items():
        ref = lv[0]
        for j in lv[1:]:
            w = _cell_mask(cells, **{f: j}) - _cell_mask(cells, **{f: ref})
            out.append((Effect("main", f, j, ref), w))
    if interactions:
        for f, g in itertools.combinations(levels, 2):
            fr, gr = levels[f][0], levels[g][0]
            for j in levels[f][1:]:
                for k in levels[g][1:]:
                    w = (_cell_mask(cells, **{f: j, g: k}) - _cell_mask(cells, **{f: fr, g: k})
                         - _cell_mask(cells, **{f: j, g: gr}) + _cell_mask(cells, **{f: fr, g: gr}))
                    out.append((Effect("interaction", f, j, fr, g, k, gr), w))
    return out


def estimate(per_item: NDArray[np.float64], codes: NDArray[np.intp] | None,
             alpha: float = 0.05) -> dict[str, float]:
    """Mean of per-item contrasts with its t-interval and two-sided t-test p-value."""
    x = np.asarray(per_item, dtype=float)
    mean = float(x.mean())
    se, df = standard_error(x, codes)
    nan = float("nan")
    if df < 1 or not np.isfinite(se):
        return {"estimate": mean, "se": se, "ci_low": nan, "ci_high": nan, "df": df,
                "p_value": nan}
    if se == 0.0:  # every item moved by exactly the same amount
        p = 1.0 if mean == 0.0 else 0.0
        return {"estimate": mean, "se": 0.0, "ci_low": mean, "ci_high": mean, "df": df,
                "p_value": p}
    q = float(t_ppf(1.0 - alpha / 2.0, df))
    p = float(2.0 * t_sf(abs(mean) / se, df))
    return {"estimate": mean, "se": se, "ci_low": mean - q * se, "ci_high": mean + q * se,
            "df": df, "p_value": p}


def design_of(samples: pd.DataFrame) -> tuple[dict[str, dict[str, str]], dict[str, list[str]]]:
    """The sweep's design from the run's manifest (``factors``, ``factor_levels``), or
    recomputed from the config's ``sweep``; empty when the run had no sweep."""
    manifest = samples.attrs.get("manifest") or {}
    factors = manifest.get("factors") if isinstance(manifest, dict) else None
    order = manifest.get("factor_levels") if isinstance(manifest, dict) else None
    if not factors:
        sweep = ((manifest.get("config") or {}) if isinstance(manifest, dict) else {}).get("sweep")
        if not sweep:
            return {}, {}
        from harness.config.sweep import manifest_design

        recorded = manifest_design(sweep)
        factors, order = recorded["factors"], recorded["factor_levels"]
    if not order:
        order = {}
        for levels in factors.values():
            for f, lv in levels.items():
                order.setdefault(f, [])
                if lv not in order[f]:
                    order[f].append(lv)
    return ({str(v): {str(f): str(x) for f, x in lv.items()} for v, lv in factors.items()},
            {str(f): [str(x) for x in lv] for f, lv in order.items()})


def factorial(samples: pd.DataFrame, *, factors: Mapping[str, Mapping[str, str]] | None = None,
              levels: Mapping[str, Sequence[str]] | None = None, metric: str | None = None,
              interactions: bool = True, alpha: float = 0.05,
              correction: str = "holm") -> pd.DataFrame:
    """Main effects (and two-way interactions) per task x model, one row an effect.

    ``factors`` ({variant: {factor: level}}) and ``levels`` ({factor: [reference, ...]})
    default to the run's sweep (see :func:`design_of`). Estimates and intervals are on the
    score scale (0.05 = 5 points); ``p_adjusted`` is Holm over each task x model's effects.
    """
    from harness.stats.samples import item_table

    check_alpha(alpha)
    if factors is None:
        factors, found = design_of(samples)
        levels = levels or found
    if not factors:
        raise StatsError("no factorial design: the run has no sweep (give factors= and levels=)")
    if levels is None:
        raise StatsError("give levels= ({factor: [reference level, other levels...]})")
    levels = {f: list(lv) for f, lv in levels.items() if len(lv) >= 2}
    table = item_table(samples[samples["variant"].astype(str).isin(list(factors))], metric=metric)
    items = table.items
    rows: list[dict[str, Any]] = []
    for (task, model), part in items.groupby(["task", "model"], sort=False):
        variants = [v for v in factors if v in set(part["variant"])]
        cells = [dict(factors[v]) for v in variants]
        wide = part.pivot_table(index=table.pair_on, columns="variant", values="score",
                                aggfunc="first")
        wide = wide.reindex(columns=variants).dropna()
        if len(wide) < 2 or not variants:
            continue
        try:
            effects = contrasts(cells, levels, interactions)
        except StatsError:
            continue  # a cell is missing for this model: no full factorial to analyse
        clusters = part.drop_duplicates(table.pair_on).set_index(table.pair_on)["cluster"]
        codes, _ = cluster_codes(clusters.reindex(wide.index).to_numpy())
        clustered = has_real_clusters(codes)
        scores = wide.to_numpy(dtype=float)
        block = []
        for effect, w in effects:
            est = estimate(scores @ w, codes if clustered else None, alpha)
            others = [f for f in levels if f not in (effect.factor, effect.factor2)]
            block.append({"task": task, "model": model,
                          "metric": table.metrics[str(task)].name, **effect.__dict__,
                          "averaged_over": ", ".join(others), **est, "n_items": len(wide),
                          "clustered": clustered,
                          "n_clusters": len(np.unique(codes)) if clustered else 0})
        adjusted = adjust_pvalues([r["p_value"] for r in block], correction)
        for r, p in zip(block, adjusted, strict=True):
            r["p_adjusted"] = float(p)
        rows += block
    return pd.DataFrame(rows, columns=COLUMNS)
