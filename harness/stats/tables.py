"""The per-variant summary and the pairwise comparison tables, built from the item table.

These are the single implementation behind :func:`harness.analysis.summary` and
:func:`harness.analysis.compare`, which the report and the CI gate both call. A group with no
scored item never raises here: its row gets NaN and a note saying why, so one broken variant
does not hide the rest of the table.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from harness.stats.bootstrap import bootstrap_ratio_means
from harness.stats.errors import SmallSampleWarning, StatsError
from harness.stats.formatting import verdict
from harness.stats.intervals import (
    CI_METHODS,
    SMALL_N,
    check_alpha,
    cluster_codes,
    has_real_clusters,
    mean_interval,
)
from harness.stats.multiple import CORRECTION_LABELS, adjust_pvalues, normalise_correction
from harness.stats.pairwise import Block, compare_block
from harness.stats.reducers import parse_reducer
from harness.stats.samples import ItemTable, item_table, level_order
from harness.stats.variance import variance_split

SUMMARY_COLUMNS = [
    "metric", "kind", "reducer", "n", "n_samples", "n_errors", "n_scoring_errors", "epochs",
    "mean", "se", "ci_low", "ci_high", "ci_method", "clustered", "n_clusters", "var_between",
    "var_within", "within_share", "se_ratio_2x_items", "se_ratio_2x_repeats", "repeats_advice",
    "small_n", "note",
]
COMPARE_COLUMNS = [
    "metric", "kind", "a", "b", "n_pairs", "n_items_dropped", "n_errors_skipped", "mean_a",
    "mean_b", "diff", "se", "ci_low", "ci_high", "boot_ci_low", "boot_ci_high", "test",
    "statistic", "p_value", "p_adjusted", "correction", "significant", "discordant_a_only",
    "discordant_b_only", "mde", "sd_diff", "correlation", "clustered", "n_clusters", "verdict",
    "note",
]
FAMILIES = ("task", "group", "all")


def _item_clusters(
    g: pd.DataFrame, pair_on: str
) -> tuple[np.ndarray, list[str], np.ndarray | None]:
    """Each row's item position, item ids in first-seen order, and cluster codes per item.

    The codes are None when no item of the group has a cluster.
    """
    rows, uniques = pd.factorize(g[pair_on], sort=False)
    ids = [str(i) for i in uniques]
    has_cluster = g["cluster"].notna().to_numpy()
    if not has_cluster.any():
        return rows, ids, None
    labels = np.full(len(ids), None, dtype=object)
    # first non-null cluster per item: write in reverse so the earliest row wins
    idx = np.flatnonzero(has_cluster)[::-1]
    labels[rows[idx]] = g["cluster"].to_numpy(dtype=object)[idx]
    codes, _ = cluster_codes(labels)
    return rows, ids, codes


def _summary_row(
    g: pd.DataFrame,
    codes_by_item: dict[str, int] | None,
    *,
    method: str,
    reducer: str,
    alpha: float,
    boot: np.ndarray | None,
    pair_on: str,
) -> dict[str, Any]:
    nan = float("nan")
    scored = g[np.isfinite(g["score"].to_numpy(dtype=float))]
    n_errors = int(g["n_errors"].sum())
    n_scoring = int(g["n_scoring_errors"].sum()) if "n_scoring_errors" in g else 0
    notes: list[str] = []
    if n_errors:
        notes.append(f"{n_errors} errored sample(s) excluded" + (
            f" ({n_scoring} whose answer could not be scored)" if n_scoring else ""))
    no_valid = int((g["n_valid"] == 0).sum())
    if no_valid:
        notes.append(f"{no_valid} item(s) had no valid sample")
    short = int(((g["n_valid"] > 0) & ~np.isfinite(g["score"].to_numpy(dtype=float))).sum())
    if short:
        notes.append(f"{short} item(s) had fewer valid samples than {reducer} needs")
    row: dict[str, Any] = {
        "n": len(scored), "n_samples": int(g["n_samples"].sum()), "n_errors": n_errors,
        "n_scoring_errors": n_scoring,
        "epochs": int(g["n_samples"].max()) if len(g) else 0, "reducer": reducer,
    }
    if len(scored) == 0:
        notes.insert(0, "no scored item: nothing to estimate")
        row.update(mean=nan, se=nan, ci_low=nan, ci_high=nan, ci_method="none", clustered=False,
                   n_clusters=nan, var_between=nan, var_within=nan, within_share=nan,
                   se_ratio_2x_items=nan, se_ratio_2x_repeats=nan, repeats_advice="",
                   small_n=True, note="; ".join(notes))
        return row
    codes = None
    if codes_by_item is not None:
        codes = np.array([codes_by_item[str(i)] for i in scored[pair_on]], dtype=np.intp)
    est = mean_interval(scored["score"].to_numpy(dtype=float), method=method, clusters=codes,
                        alpha=alpha, boot=boot)
    split = variance_split(scored["score"], scored["within_var"], scored["n_valid"])
    repeats = parse_reducer(reducer)[0] == "mean"
    row.update(
        mean=est.mean, se=est.se, ci_low=est.low, ci_high=est.high, ci_method=est.method,
        clustered=est.n_clusters is not None,
        n_clusters=est.n_clusters if est.n_clusters is not None else nan,
        var_between=split.between if repeats else nan,
        var_within=split.within if repeats else nan,
        within_share=split.within_share if repeats else nan,
        se_ratio_2x_items=split.se_ratio_more_items if repeats else nan,
        se_ratio_2x_repeats=split.se_ratio_more_repeats if repeats else nan,
        repeats_advice=split.advice if repeats else "", small_n=est.small_n,
        note="; ".join([*est.notes, *notes]),
    )
    return row


def summary_table(
    df: pd.DataFrame,
    *,
    metric: str | None = None,
    ci_method: str | None = None,
    reducer: str = "mean",
    alpha: float = 0.05,
    n_boot: int = 10_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Per task x model x variant: mean score, SE and interval, with sample accounting."""
    check_alpha(alpha)
    method = "auto" if ci_method is None else str(ci_method).lower()
    if method not in CI_METHODS:
        raise StatsError(f"unknown ci_method {ci_method!r}; choose one of {CI_METHODS}")
    table = item_table(df, metric=metric, reducer=reducer)
    items, keys, pair_on = table.items, table.keys, table.pair_on
    block_keys = [k for k in keys if k != "variant"]
    rows = []
    for _, block in items.groupby(block_keys, sort=False):
        row_idx, ids, codes = _item_clusters(block, pair_on)
        codes_by_item = dict(zip(ids, codes.tolist(), strict=True)) if codes is not None else None
        variants = list(pd.unique(block["variant"]))
        boots: dict[str, np.ndarray] = {}
        if method == "bootstrap":
            matrix = np.full((len(ids), len(variants)), np.nan)
            col = pd.Categorical(block["variant"], categories=variants).codes
            matrix[row_idx, col] = block["score"].to_numpy(dtype=float)
            use = codes if has_real_clusters(codes) else None
            draws = bootstrap_ratio_means(matrix, clusters=use, n_boot=n_boot, seed=seed)
            boots = {v: draws[:, k] for k, v in enumerate(variants)}
        for variant in variants:
            g = block[block["variant"] == variant]
            row = {k: g[k].iloc[0] for k in keys}
            info = table.metrics[str(row["task"])]
            row.update(metric=info.name, kind=info.kind)
            row.update(_summary_row(g, codes_by_item, method=method, reducer=reducer,
                                    alpha=alpha, boot=boots.get(variant), pair_on=pair_on))
            rows.append(row)
    out = pd.DataFrame(rows, columns=[*keys, *SUMMARY_COLUMNS])
    out.attrs.update(alpha=alpha, reducer=reducer)
    _warn_small(out, keys)
    return out


def _warn_small(out: pd.DataFrame, keys: list[str]) -> None:
    """One warning per table (not per row) naming the groups whose CLT interval is doubtful."""
    small = out[out["small_n"].astype(bool) & (out["n"] > 0)]
    if small.empty:
        return
    names = ", ".join("/".join(str(r[k]) for k in keys) for _, r in small.iterrows())
    warnings.warn(
        f"fewer than {SMALL_N} items (or clusters) behind the interval of: {names}; "
        "those intervals may be too narrow (see the note column)",
        SmallSampleWarning,
        stacklevel=3,
    )


def _block(g: pd.DataFrame, axis: str, levels: list[str], pair_on: str) -> Block:
    present_levels = set(g[axis])
    lv = [v for v in levels if v in present_levels]
    rows, ids, codes = _item_clusters(g, pair_on)
    cols = pd.Categorical(g[axis], categories=lv).codes
    shape = (len(ids), len(lv))
    scores = np.full(shape, np.nan)
    binary = np.zeros(shape, dtype=bool)
    present = np.zeros(shape, dtype=bool)
    errors = np.zeros(shape, dtype=np.int64)
    scores[rows, cols] = g["score"].to_numpy(dtype=float)
    binary[rows, cols] = g["binary_item"].to_numpy(dtype=bool)
    present[rows, cols] = True
    errors[rows, cols] = g["n_errors"].to_numpy(dtype=np.int64)
    return Block(levels=lv, scores=scores, binary=binary, present=present, errors=errors,
                 clusters=codes)


def _family_keys(family: str, group_keys: list[str]) -> list[str]:
    if family not in FAMILIES:
        raise StatsError(f"unknown family {family!r}; use one of {FAMILIES}")
    if family == "task":
        return ["task"]
    return group_keys if family == "group" else []


def compare_table(
    df: pd.DataFrame,
    *,
    metric: str | None = None,
    axis: str = "variant",
    pair_on: str = "item_id",
    reducer: str = "mean",
    correction: str | None = "holm",
    family: str = "task",
    n_boot: int = 10_000,
    seed: int = 0,
    alpha: float = 0.05,
    power: float = 0.8,
    graded_test: str = "wilcoxon",
    order: Sequence[str] | None = None,
    n_permutations: int = 10_000,
) -> pd.DataFrame:
    """All pairwise comparisons along ``axis`` within each group of the other key columns.

    ``n_permutations``: Monte Carlo draws of the sign-flip tests (permutation and clustered).
    """
    check_alpha(alpha)
    how = normalise_correction(correction)
    if axis == pair_on:
        raise StatsError("the compared axis and the pairing key must be different columns")
    table: ItemTable = item_table(df, metric=metric, reducer=reducer, pair_on=pair_on, axis=axis)
    items = table.items
    group_keys = [k for k in table.keys if k != axis]
    family_keys = _family_keys(family, group_keys)
    levels = level_order(df, axis, order)
    records: list[dict[str, Any]] = []
    for gkey, g in items.groupby(group_keys, sort=False):
        values = gkey if isinstance(gkey, tuple) else (gkey,)
        info = table.metrics[str(g["task"].iloc[0])]
        recs = compare_block(_block(g, axis, levels, pair_on), graded_test=graded_test,
                             n_boot=n_boot, seed=seed, alpha=alpha, power=power,
                             n_permutations=n_permutations)
        for rec in recs:
            rec.update(dict(zip(group_keys, values, strict=True)), metric=info.name,
                       kind=info.kind)
        records.extend(recs)
    out = pd.DataFrame(records, columns=[*group_keys, *COMPARE_COLUMNS])
    out.attrs.update(axis=axis, alpha=alpha, correction=how, family=family, pair_on=pair_on)
    if out.empty:
        return out
    out["correction"] = how
    out["p_adjusted"] = np.nan
    parts = [g.index for _, g in out.groupby(family_keys, sort=False)] if family_keys \
        else [out.index]
    for idx in parts:
        out.loc[idx, "p_adjusted"] = adjust_pvalues(out.loc[idx, "p_value"].to_numpy(), how)
    out["significant"] = (out["p_adjusted"] < alpha).fillna(False).astype(bool)
    label = CORRECTION_LABELS[how]
    out["verdict"] = [
        verdict(r.a, r.b, n_pairs=int(r.n_pairs), diff=r.diff, ci_low=r.ci_low,
                ci_high=r.ci_high, p_value=r.p_value, p_adjusted=r.p_adjusted,
                significant=bool(r.significant), mde=r.mde, alpha=alpha,
                correction=label if how != "none" else "none")
        for r in out.itertuples(index=False)
    ]
    for col in ("n_pairs", "n_items_dropped", "n_errors_skipped"):
        out[col] = out[col].astype(int)
    for col in ("discordant_a_only", "discordant_b_only"):
        out[col] = out[col].astype("Int64")
    return out
