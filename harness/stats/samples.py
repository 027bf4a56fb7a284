"""From a run's samples to one score per item: which metric, which samples count, which clusters.

Everything downstream (summaries, comparisons, power) starts from the item table built here, so
the rules live in one place:

* the metric of a task is the one named by the caller, else the first scorer the manifest lists
  for the task, else the first ``score_*`` column that has values for the task;
* its kind is the manifest's, else ``binary`` when every finite value is 0 or 1;
* a sample with a non-null ``error`` (the call failed) is excluded from every score and only
  counted; one with a ``scoring_error`` (its answer broke a parser or a scorer) is excluded,
  and counted, for each metric it has no score for (all of them after a parser's error, the
  failing scorer's after a scorer's, as ``scoring_failed`` lists when the frame has it; the
  other scorers' scores count): ``n_errors`` counts both kinds, ``n_scoring_errors`` the
  second alone; a sample with no error but no score (the scorer did not apply) is excluded
  too, and not counted;
* an item's cluster is the first non-null ``cluster`` among its samples; items with none are
  clusters of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.stats.errors import StatsError
from harness.stats.reducers import reduce_items

SCORE_PREFIX = "score_"
KEY_COLUMNS: tuple[str, ...] = ("task", "model", "variant", "run")
"""Columns that identify what was run, in display order; ``run`` only exists in run comparisons."""


@dataclass(frozen=True)
class MetricInfo:
    """The score column used for a task, its kind, and where that choice came from."""

    column: str
    kind: str
    source: str

    @property
    def name(self) -> str:
        return self.column.removeprefix(SCORE_PREFIX)


@dataclass(frozen=True)
class ItemTable:
    """One row per (keys, item): the reduced score and the sample accounting behind it."""

    items: pd.DataFrame
    keys: list[str]
    pair_on: str
    metrics: dict[str, MetricInfo]
    reducer: str


# Record fields whose name starts like a score column's but which are not scores.
NOT_SCORES = frozenset({"score_details"})


def score_columns(df: pd.DataFrame) -> list[str]:
    """The score columns (``score_<name>``), never a record field such as ``score_details``
    (the scorers' explanations), which a fallback metric would otherwise pick first."""
    return [c for c in df.columns if str(c).startswith(SCORE_PREFIX) and c not in NOT_SCORES]


def infer_kind(values: pd.Series) -> str:
    """``binary`` when every finite value is exactly 0 or 1 (a pass/fail scorer)."""
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    x = x[np.isfinite(x)]
    return "binary" if x.size and np.all((x == 0.0) | (x == 1.0)) else "graded"


def _manifest_scorers(df: pd.DataFrame, task: str) -> list[dict[str, str]]:
    manifest = df.attrs.get("manifest") or {}
    scorers = manifest.get("scorers") if isinstance(manifest, dict) else None
    entry = scorers.get(task) if isinstance(scorers, dict) else None
    if not isinstance(entry, list):
        return []
    return [s for s in entry if isinstance(s, dict) and "name" in s]


def _column_for(metric: str) -> str:
    return metric if metric.startswith(SCORE_PREFIX) else SCORE_PREFIX + metric


def resolve_metric(df: pd.DataFrame, task: str, metric: str | None = None) -> MetricInfo | None:
    """The metric for ``task``; None when a caller-named metric does not apply to this task."""
    columns = score_columns(df)
    if not columns:
        raise StatsError("the run has no score_* columns: no sample was scored")
    rows = df[df["task"] == task]
    scorers = _manifest_scorers(df, task)
    kinds = {_column_for(str(s["name"])): str(s.get("kind", "")) for s in scorers}
    if metric is not None:
        column, source = _column_for(metric), "argument"
        if column not in df.columns:
            names = ", ".join(c.removeprefix(SCORE_PREFIX) for c in columns)
            raise StatsError(f"no scorer named {metric!r} in this run; it has: {names}")
        # another scorer's error leaves this metric's scores standing: only failed calls go
        ok_rows = rows[rows["error"].isna()] if "error" in rows.columns else rows
        if len(ok_rows) and not ok_rows[column].notna().any():
            return None
    else:
        column, source = "", ""
        if scorers and _column_for(str(scorers[0]["name"])) in df.columns:
            column, source = _column_for(str(scorers[0]["name"])), "manifest"
        if not column:
            with_values = [c for c in columns if rows[c].notna().any()]
            column, source = (with_values or columns)[0], "data"
    kind = kinds.get(column, "")
    if kind not in ("binary", "graded"):
        kind = infer_kind(rows[column])
    return MetricInfo(column=column, kind=kind, source=source)


def _long_frame(df: pd.DataFrame, keys: list[str], pair_on: str, column: str) -> pd.DataFrame:
    long = df[[*keys, pair_on]].copy()
    long["score"] = pd.to_numeric(df[column], errors="coerce").astype(float)
    none = np.zeros(len(df), dtype=bool)
    call = df["error"].notna().to_numpy(dtype=bool) if "error" in df.columns else none
    missing = ~np.isfinite(long["score"].to_numpy(dtype=float))
    scoring = (df["scoring_error"].notna().to_numpy(dtype=bool) & missing  # this metric's
               if "scoring_error" in df.columns else none)
    if "scoring_failed" in df.columns:  # a score that did not apply is not one it took
        name = column.removeprefix(SCORE_PREFIX)
        scoring = scoring & df["scoring_failed"].map(
            lambda took: not isinstance(took, (tuple, list)) or name in took).to_numpy(bool)
    long["is_scoring_error"] = scoring & ~call
    long["is_error"] = call | scoring
    long["cluster"] = df["cluster"] if "cluster" in df.columns else None
    for optional in ("epoch", "answer"):
        if optional in df.columns:
            long[optional] = df[optional]
    long.loc[long["is_error"], "score"] = np.nan
    return long


def item_table(
    df: pd.DataFrame,
    *,
    metric: str | None = None,
    reducer: str = "mean",
    pair_on: str = "item_id",
    axis: str | None = None,
) -> ItemTable:
    """Reduce a run's samples to one row per item and variant (or whatever ``axis`` names).

    Columns of ``items``: the key columns, ``pair_on``, cluster, n_samples, n_errors (samples
    excluded for an error of either kind), n_scoring_errors (those of them whose answer could
    not be scored), n_valid, score, within_var, binary_item. An item whose samples all errored
    keeps its row, with a NaN score, so the errors stay counted.
    """
    if not isinstance(df, pd.DataFrame):
        raise StatsError("expected the run's samples as a pandas DataFrame (or a run path)")
    if len(df) == 0:
        raise StatsError("the run has no samples: nothing to summarise")
    keys = [c for c in KEY_COLUMNS if c in df.columns]
    if axis is not None and axis not in keys:
        keys.append(axis)
    missing = [c for c in ("task", "model", "variant", pair_on, *([axis] if axis else []))
               if c not in df.columns]
    if missing:
        raise StatsError(f"the samples lack the column(s) {', '.join(missing)}")
    frames, metrics = [], {}
    for task in pd.unique(df["task"]):
        info = resolve_metric(df, task, metric)
        if info is None:
            continue
        metrics[str(task)] = info
        frames.append(_long_frame(df[df["task"] == task], keys, pair_on, info.column))
    if not frames:
        raise StatsError(f"the scorer {metric!r} has no scores for any task in this run")
    long = pd.concat(frames, ignore_index=True)
    for key in (*keys, pair_on):
        long[key] = long[key].astype(str)
    by = [*keys, pair_on]
    base = long.groupby(by, sort=False, observed=True).agg(
        n_samples=("score", "size"), n_errors=("is_error", "sum"),
        n_scoring_errors=("is_scoring_error", "sum"), cluster=("cluster", "first")
    )
    valid = long[~long["is_error"] & np.isfinite(long["score"].to_numpy())]
    reduced = reduce_items(valid, by, reducer)
    items = base.join(reduced, how="left").reset_index()
    items["n_valid"] = items["n_valid"].fillna(0).astype(int)
    items["n_errors"] = items["n_errors"].astype(int)
    items["n_scoring_errors"] = items["n_scoring_errors"].astype(int)
    items["binary_item"] = items["binary_item"].astype("boolean").fillna(False).astype(bool)
    return ItemTable(items=items, keys=keys, pair_on=pair_on, metrics=metrics, reducer=reducer)


def level_order(df: pd.DataFrame, column: str, order: Sequence[str] | None = None) -> list[str]:
    """Levels of ``column`` in the caller's order, else in order of first appearance in the run."""
    present = [str(v) for v in pd.unique(df[column].astype(str))]
    if order is None:
        return present
    wanted = [str(v) for v in order]
    return [v for v in wanted if v in present] + [v for v in present if v not in wanted]
