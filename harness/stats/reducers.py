"""Turning K repeated samples of one item into the one number per item the statistics use.

Miller (2024) treats repeats as a way to reduce the noise inside each item, not as
extra items: the K samples of an item are reduced to one score first, and standard errors are
taken over items. Three reducers are offered:

* ``mean``: the fraction (or mean grade) over the K samples; the default.
* ``majority``: self-consistency. The most frequent ``answer`` wins (ties go to the answer seen in
  the earliest epoch); the item scores the mean score of the samples that gave that answer, so a
  pass/fail metric stays pass/fail.
* ``pass@k``: the chance that at least one of k samples drawn from the K passes, by the unbiased
  estimator of Chen et al. (2021), ``1 - C(K - c, k) / C(K, k)`` for c passes; items with fewer
  than k valid samples cannot be estimated and are left out (and counted).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from harness.stats.distributions import gammaln
from harness.stats.errors import StatsError

_PASS_AT = re.compile(r"^pass@(\d+)$")
NO_ANSWER = "\x00<no answer>"


def parse_reducer(reducer: str) -> tuple[str, int]:
    """Split ``pass@5`` into ("pass@k", 5); the others have k = 0."""
    name = str(reducer).strip().lower()
    if name in ("mean", "majority"):
        return name, 0
    match = _PASS_AT.match(name)
    if match and int(match.group(1)) >= 1:
        return "pass@k", int(match.group(1))
    raise StatsError(f"unknown reducer {reducer!r}; use 'mean', 'majority' or e.g. 'pass@5'")


def pass_at_k(n: ArrayLike, c: ArrayLike, k: int) -> NDArray[np.float64]:
    """Unbiased pass@k per item from n valid samples with c passes; NaN where n < k."""
    nn = np.asarray(n, dtype=float)
    cc = np.asarray(c, dtype=float)
    if np.any(cc < 0) or np.any(cc > nn):
        raise StatsError("the number of passes must be between 0 and the number of samples")
    out = np.full(nn.shape, np.nan)
    ok = nn >= k
    all_fail_free = ok & (nn - cc < k)  # every k-subset contains a pass
    out[all_fail_free] = 1.0
    rest = ok & ~all_fail_free
    total = nn[rest]
    fails = total - cc[rest]
    # log of C(fails, k) / C(total, k): the chance that k draws are all failures
    log_all_fail = (gammaln(fails + 1) - gammaln(fails - k + 1)) - (
        gammaln(total + 1) - gammaln(total - k + 1)
    )
    out[rest] = 1.0 - np.exp(log_all_fail)
    return out


def _mean_reduce(valid: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    grouped = valid.groupby(by, sort=False, observed=True)["score"]
    out = grouped.agg(["mean", "count", "var"])
    out.columns = ["score", "n_valid", "within_var"]
    out["binary_item"] = (out["n_valid"] == 1) & out["score"].isin([0.0, 1.0])
    return out


def _majority_reduce(valid: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    if "answer" not in valid.columns:
        raise StatsError("majority vote needs an 'answer' column in the samples")
    votes = valid[[*by, "score"]].copy()
    answers = valid["answer"]
    votes["_answer"] = answers.astype(str).str.strip().where(answers.notna(), NO_ANSWER)
    has_epoch = "epoch" in valid.columns
    votes["_order"] = valid["epoch"].to_numpy() if has_epoch else np.arange(len(valid))
    tally = (
        votes.groupby([*by, "_answer"], sort=False, observed=True)
        .agg(votes=("score", "size"), first=("_order", "min"), score=("score", "mean"))
        .reset_index()
        .sort_values(["votes", "first"], ascending=[False, True], kind="stable")
    )
    winners = tally.drop_duplicates(subset=by, keep="first").set_index(by)
    counts = valid.groupby(by, sort=False, observed=True)["score"].count()
    out = pd.DataFrame({"score": winners["score"], "n_valid": counts})
    out["within_var"] = np.nan
    out["binary_item"] = out["score"].isin([0.0, 1.0])
    return out


def _pass_at_k_reduce(valid: pd.DataFrame, by: list[str], k: int) -> pd.DataFrame:
    scores = valid["score"].to_numpy()
    if not np.all((scores == 0.0) | (scores == 1.0)):
        raise StatsError(f"pass@{k} needs pass/fail scores (0 or 1); this metric is graded")
    grouped = valid.groupby(by, sort=False, observed=True)["score"]
    out = grouped.agg(["count", "sum"])
    out.columns = ["n_valid", "passes"]
    out["score"] = pass_at_k(out["n_valid"].to_numpy(), out["passes"].to_numpy(), k)
    out["within_var"] = np.nan
    out["binary_item"] = False
    return out.drop(columns="passes")


def reduce_items(valid: pd.DataFrame, by: list[str], reducer: str) -> pd.DataFrame:
    """One row per item (index ``by``): score, n_valid, within_var, binary_item.

    ``valid`` holds only the samples that count (no error, finite score). ``binary_item`` says
    the item's score is a single pass/fail outcome, which is what McNemar and Wilson need.
    """
    name, k = parse_reducer(reducer)
    if name == "mean":
        return _mean_reduce(valid, by)
    if name == "majority":
        return _majority_reduce(valid, by)
    return _pass_at_k_reduce(valid, by, k)
