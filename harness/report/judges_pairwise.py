"""The report's pairwise-preference section: win rates, the Bradley-Terry ranking and the
judge's position bias, per model under test and judge (``harness.stats.judge_pairwise``)."""

from __future__ import annotations

import pandas as pd

from harness.report.mdtext import md_inline
from harness.report.tables import markdown_table, pct

N_BOOT = 2000
N_BOOT_RANKING = 1000


def _bias_sentence(row: pd.Series) -> str:
    judge = f"`{md_inline(str(row['judge']))}`"
    if not row["decided"]:
        return f"Judge {judge} called every comparison a tie: its position bias is unknown."
    share = (f"preferred the answer shown first in {pct(row['first_share'])}% "
             f"[{pct(row['low'])}, {pct(row['high'])}] of {int(row['decided'])} decided "
             "comparisons (50% means no position bias)")
    if row["low"] > 0.5:
        verdict = "a bias towards the first position"
    elif row["high"] < 0.5:
        verdict = "a bias towards the second position"
    else:
        verdict = "no position bias detected (the interval holds 50%)"
    text = f"Judge {judge} {share}: {verdict}."
    if row["both_orders"]:
        text += (f" The two orders of one comparison named the same winner (or both a tie) in "
                 f"{pct(row['consistent'])}% of {int(row['both_orders'])} comparisons.")
    text += " Every pair was judged in both orders, so the win rates above cancel the bias."
    if row["skipped"]:
        text += (f" {int(row['skipped'])} unreadable judgement(s) were left out (neither a "
                 "win nor a tie).")
    return text


def pairwise_markdown(task: str, rows: pd.DataFrame | None) -> list[str]:
    """Win rates, ranking and position bias for ``task``; empty without pairwise rows."""
    from harness.stats.judge_pairwise import position_bias, ranking, win_rates

    if rows is None or rows.empty:
        return []
    rows = rows[rows["task"].astype(str) == task]
    if rows.empty:
        return []
    wins = win_rates(rows, n_boot=N_BOOT)
    ranks = ranking(rows, n_boot=N_BOOT_RANKING)
    bias = position_bias(rows, n_boot=N_BOOT)
    lines = ["### Pairwise preferences", "",
             "A judge compared the answers of two variants to the same item, in both orders; a "
             "tie counts as half a win. Win rate: the share of comparisons the first-named "
             "variant won, averaged per item, with a 95% bootstrap interval over items.", ""]
    if not wins.empty:
        lines += [markdown_table(
            ["model", "judge", "pair", "win rate %", "95% CI", "wins / losses / ties", "items"],
            [[r.model, r.judge, f"{r.a} vs {r.b}", pct(r.win_rate),
              f"[{pct(r.low)}, {pct(r.high)}]", f"{r.a_wins} / {r.b_wins} / {r.ties}",
              r.n_items] for r in wins.itertuples()], "lllrrrr"), ""]
    if not ranks.empty:
        lines += ["Bradley-Terry ranking of all variants from the same comparisons: strength "
                  "is a log-odds scale centred on 0 (a difference of 1 means odds of e = 2.7 to "
                  "1 of winning), with a 95% bootstrap interval over items; ranks are the range "
                  "taken in 95% of resamples.", "",
                  markdown_table(
                      ["model", "judge", "rank", "variant", "strength", "95% CI",
                       "ranks (95%)", "ranked first %"],
                      [[r.model, r.judge, r.rank, r.variant, f"{r.strength:+.2f}",
                        f"[{r.low:+.2f}, {r.high:+.2f}]",
                        str(r.rank_low) if r.rank_low == r.rank_high
                        else f"{r.rank_low}-{r.rank_high}", pct(r.p_best)]
                       for r in ranks.itertuples()], "llrlrrrr"), ""]
    for _, row in bias.iterrows():
        lines += [_bias_sentence(row), ""]
    return lines
