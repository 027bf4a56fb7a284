"""What a run cost to produce: samples, errors, incomplete answers, tokens, latency and money
per variant.

``errors`` counts failed calls, ``scoring_errors`` answers received but not scorable (a parser
or scorer raised on them); both are kept out of every score.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

KEYS = ["task", "model", "variant"]
INCOMPLETE = ["truncated", "filtered", "empty"]


def operations(samples: pd.DataFrame) -> pd.DataFrame:
    """One row per task x model x variant: counts, mean and total tokens, latency, total cost."""
    import pandas as pd

    if samples.empty:
        return pd.DataFrame(columns=[*KEYS, "samples", "errors", "scoring_errors", "cached",
                                     *INCOMPLETE,
                                     "input_tokens", "output_tokens", "latency_s", "cost_usd",
                                     "input_tokens_total", "output_tokens_total"])
    columns = [c for c in (*KEYS, "error", "scoring_error", "incomplete", "cached",
                           "input_tokens", "output_tokens", "latency_s", "cost_usd")
               if c in samples]
    frame = samples[columns].copy()  # not the prompts and outputs: only what is counted here
    frame["failed"] = frame["error"].notna()
    frame["unscored"] = (frame["scoring_error"].notna() & ~frame["failed"]
                         if "scoring_error" in frame else False)
    # Answers cut off, filtered or empty (harness.incomplete); older runs did not record it.
    kind = frame["incomplete"] if "incomplete" in frame else pd.Series(None, index=frame.index)
    for name in INCOMPLETE:
        frame[name] = kind == name
    for col in ("input_tokens", "output_tokens", "latency_s", "cost_usd"):
        frame[col] = pd.to_numeric(frame.get(col), errors="coerce")
    ok = frame[~frame["failed"]]
    grouped = frame.groupby(KEYS, sort=False)
    # One sum over the flag columns: pandas' named aggregation ran one pass per column and
    # was most of a report's bookkeeping time.
    out = grouped[["failed", "unscored", "cached", *INCOMPLETE]].sum().rename(
        columns={"failed": "errors", "unscored": "scoring_errors"})
    out.insert(0, "samples", grouped.size())
    means = ok.groupby(KEYS, sort=False)[["input_tokens", "output_tokens", "latency_s"]].mean()
    cost = frame.groupby(KEYS, sort=False)["cost_usd"].sum(min_count=1)
    totals = frame.groupby(KEYS, sort=False)[["input_tokens", "output_tokens"]].sum(min_count=1)
    totals.columns = ["input_tokens_total", "output_tokens_total"]
    out = out.join(means).join(cost.rename("cost_usd")).join(totals)
    return out.reset_index()
