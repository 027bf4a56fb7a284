"""Statistics of pairwise preferences (the run folder's ``pairwise.jsonl``): win rates, a
Bradley-Terry ranking of all variants, and the judge's position bias.

Each row is one judgement: ``variant_a`` and ``variant_b`` name the pair, ``shown_first`` (a|b)
which answer the judge read first, ``winner`` a, b or tie (null when the judge's answer was
unreadable: skipped and counted). A tie is half a win to each side.

The item is the unit of resampling: all judgements of one item (both orders, every epoch and
judge epoch, every pair) move together in the bootstrap, because they share the item's
difficulty. Every interval is a percentile bootstrap over items; within a (task, model,
judge) the same resamples serve every pair and the ranking.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from harness.stats.bootstrap import bootstrap_counts, bootstrap_ratio_means, make_rng
from harness.stats.bradley_terry import fit
from harness.stats.intervals import check_alpha

GROUP = ["task", "model", "judge"]
BT_PRIOR = 0.5
"""Virtual wins each way per compared pair (one virtual tie), so a clean sweep stays finite."""


def clean(rows: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The readable judgements with ``a_score`` (1, 0.5, 0 for a) and ``first_won``, and the
    number of unreadable ones skipped."""
    if rows is None or rows.empty:
        return pd.DataFrame(columns=[*GROUP, "item_id", "variant_a", "variant_b"]), 0
    frame = rows.copy()
    winner = frame["winner"].astype("string").str.lower()
    ok = winner.isin(["a", "b", "tie"]).fillna(False).to_numpy(dtype=bool)
    frame = frame[ok].copy()
    winner = winner[ok]
    frame["a_score"] = winner.map({"a": 1.0, "b": 0.0, "tie": 0.5}).astype(float).to_numpy()
    first = frame["shown_first"].astype("string").str.lower()
    frame["decided"] = (winner != "tie").to_numpy(dtype=bool)
    frame["first_won"] = (winner == first).fillna(False).to_numpy(dtype=bool)
    for key in [*GROUP, "item_id", "variant_a", "variant_b"]:
        frame[key] = frame[key].astype(str)
    return frame, int((~ok).sum())


def _skipped(rows: pd.DataFrame, key: tuple[str, ...]) -> int:
    """Unreadable judgements of one (task, model, judge)."""
    mine = np.ones(len(rows), dtype=bool)
    for column, value in zip(GROUP, key, strict=True):
        mine &= (rows[column].astype(str) == value).to_numpy()
    winner = rows.loc[mine, "winner"].astype("string").str.lower()
    return int((~winner.isin(["a", "b", "tie"]).fillna(False)).sum())


def _quantiles(boot: NDArray[np.float64], alpha: float
               ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return tuple(np.nanquantile(boot, [alpha / 2, 1 - alpha / 2], axis=0))  # type: ignore


def win_rates(rows: pd.DataFrame, *, alpha: float = 0.05, n_boot: int = 2000,
              seed: int = 0) -> pd.DataFrame:
    """Per pair: the share of judgements ``a`` won (ties as half), averaged per item first,
    with a bootstrap interval over items."""
    alpha = check_alpha(alpha)
    frame, _ = clean(rows)
    out = []
    for key, part in frame.groupby(GROUP, sort=False):
        per_item = part.groupby(["variant_a", "variant_b", "item_id"], sort=False)[
            "a_score"].mean().unstack(["variant_a", "variant_b"])
        boot = bootstrap_ratio_means(per_item.to_numpy(dtype=float), n_boot=n_boot, seed=seed)
        low, high = _quantiles(boot, alpha)
        for j, (a, b) in enumerate(per_item.columns):
            pair = part[(part["variant_a"] == a) & (part["variant_b"] == b)]
            out.append({**dict(zip(GROUP, key, strict=True)), "a": a, "b": b,
                        "n_items": int(per_item[(a, b)].notna().sum()),
                        "judgements": len(pair), "a_wins": int((pair["a_score"] == 1).sum()),
                        "b_wins": int((pair["a_score"] == 0).sum()),
                        "ties": int((pair["a_score"] == 0.5).sum()),
                        "win_rate": float(per_item[(a, b)].mean()), "low": float(low[j]),
                        "high": float(high[j])})
    return pd.DataFrame(out, columns=[*GROUP, "a", "b", "n_items", "judgements", "a_wins",
                                      "b_wins", "ties", "win_rate", "low", "high"])


def _item_wins(part: pd.DataFrame, variants: list[str]
               ) -> tuple[NDArray[np.float64], list[str]]:
    """items x V x V: how often (ties as half) each variant beat each other, per item."""
    items = list(pd.unique(part["item_id"]))
    index = {v: i for i, v in enumerate(variants)}
    row = {it: i for i, it in enumerate(items)}
    wins = np.zeros((len(items), len(variants), len(variants)))
    for it, a, b, s in zip(part["item_id"], part["variant_a"], part["variant_b"],
                           part["a_score"], strict=True):
        wins[row[it], index[a], index[b]] += s
        wins[row[it], index[b], index[a]] += 1.0 - s
    return wins, items


def ranking(rows: pd.DataFrame, *, alpha: float = 0.05, n_boot: int = 1000,
            seed: int = 0) -> pd.DataFrame:
    """Per (task, model, judge): every variant's Bradley-Terry log-strength with a bootstrap
    interval, its rank (1 = strongest), the range of ranks it took in 95% of resamples, and the
    share of resamples in which it ranked first."""
    alpha = check_alpha(alpha)
    frame, _ = clean(rows)
    out = []
    for key, part in frame.groupby(GROUP, sort=False):
        variants = list(dict.fromkeys([*part["variant_a"], *part["variant_b"]]))
        wins, items = _item_wins(part, variants)
        strength = fit(wins.sum(axis=0), prior=BT_PRIOR)
        counts = bootstrap_counts(make_rng(seed), len(items), n_boot)
        boot_wins = np.einsum("bi,ijk->bjk", counts, wins)
        boot = fit(boot_wins, prior=BT_PRIOR)
        low, high = _quantiles(boot, alpha)
        boot_rank = (-np.nan_to_num(boot, nan=-np.inf)).argsort(axis=1).argsort(axis=1) + 1
        rank_low, rank_high = _quantiles(boot_rank.astype(float), alpha)
        order = (-np.nan_to_num(strength, nan=-np.inf)).argsort().argsort() + 1
        for i, variant in enumerate(variants):
            out.append({**dict(zip(GROUP, key, strict=True)), "variant": variant,
                        "strength": float(strength[i]), "low": float(low[i]),
                        "high": float(high[i]), "rank": int(order[i]),
                        "rank_low": int(np.floor(rank_low[i])),
                        "rank_high": int(np.ceil(rank_high[i])),
                        "p_best": float(np.mean(boot_rank[:, i] == 1)),
                        "n_items": len(items)})
    table = pd.DataFrame(out, columns=[*GROUP, "variant", "strength", "low", "high", "rank",
                                       "rank_low", "rank_high", "p_best", "n_items"])
    return table.sort_values([*GROUP, "rank"], kind="stable").reset_index(drop=True)


def position_bias(rows: pd.DataFrame, *, alpha: float = 0.05, n_boot: int = 2000,
                  seed: int = 0) -> pd.DataFrame:
    """Per (task, model, judge): the share of decided judgements (not ties) won by the answer
    shown first, with a bootstrap interval over items (0.5 means no bias), and how often the
    two orders of one comparison named the same winner (``consistent``)."""
    alpha = check_alpha(alpha)
    frame, _ = clean(rows)
    out = []
    for key, part in frame.groupby(GROUP, sort=False):
        skipped = _skipped(rows, key)
        decided = part[part["decided"]]
        per_item = decided.groupby("item_id", sort=False)["first_won"].agg(["sum", "size"])
        share = float(per_item["sum"].sum() / per_item["size"].sum()) if len(decided) else np.nan
        low = high = np.nan
        if len(per_item):
            counts = bootstrap_counts(make_rng(seed), len(per_item), n_boot)
            with np.errstate(invalid="ignore", divide="ignore"):
                boot = (counts @ per_item["sum"].to_numpy(float)) / (
                    counts @ per_item["size"].to_numpy(float))
            low, high = (float(x) for x in _quantiles(boot, alpha))
        pair_keys = ["item_id", "variant_a", "variant_b"] + [
            c for c in ("epoch", "judge_epoch") if c in part.columns]
        keyed = part.assign(**{c: part[c].astype(str) for c in pair_keys})
        both = keyed.groupby(pair_keys, sort=False).agg(
            orders=("shown_first", "nunique"), verdicts=("a_score", "nunique"),
            n=("a_score", "size"))
        both = both[(both["orders"] == 2) & (both["n"] == 2)]
        out.append({**dict(zip(GROUP, key, strict=True)), "decided": len(decided),
                    "ties": int((~part["decided"]).sum()),
                    "first_wins": int(decided["first_won"].sum()), "first_share": share,
                    "low": low, "high": high, "both_orders": len(both),
                    "consistent": float((both["verdicts"] == 1).mean()) if len(both) else np.nan,
                    "skipped": skipped})
    return pd.DataFrame(out, columns=[*GROUP, "decided", "ties", "first_wins", "first_share",
                                      "low", "high", "both_orders", "consistent", "skipped"])
