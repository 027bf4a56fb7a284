"""The gate's per-item repeat rule: ``--min-pass-repeats 8/10``.

A mean score can hide an item that now passes 3 times in 10. With the rule, each item of a cell
must pass at least k of n repeats (a pass is full marks; errored samples are not repeats). A
cell with an item that fails the rule *fails* the gate, naming the items and their pass counts.
A cell whose items cannot be judged yet (fewer than n valid repeats and the missing ones could
still decide it: 6 of 7 under 8/10) is *inconclusive* unless it has failed already: run more
epochs. The rule applies to the run being checked, not to the baseline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

SHOWN = 10


def _items(part: Any) -> str:
    shown = [f"{r.item_id} ({r.passes}/{r.repeats})" for r in part.head(SHOWN).itertuples()]
    more = len(part) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more else "")


def apply_repeat_rule(cells: list[Any], samples: pd.DataFrame, rule: str) -> None:
    """Judge every cell of the run under ``rule`` and update its status and reasons.

    ``cells`` are the gate's cell results (``task``, ``variant``, ``model``, ``metric``,
    ``status``, ``reasons``, ``notes``); cells the run does not have are left alone.
    """
    from harness.stats.repeats import parse_rule, repeat_rule

    k, n = parse_rule(rule)
    tables: dict[tuple[str, str], pd.DataFrame] = {}
    for cell in cells:
        key = (str(cell.task), str(cell.metric))
        if key not in tables:  # the cell's own metric (the baseline's), task by task
            rows = samples[samples["task"].astype(str) == key[0]]
            tables[key] = repeat_rule(rows, rule, metric=key[1] or None) if len(rows) else \
                repeat_rule(samples.iloc[:0], rule)
        judged = tables[key]
        part = judged[(judged["task"] == cell.task) & (judged["variant"] == cell.variant)
                      & (judged["model"] == cell.model)].sort_values(["passes", "item_id"])
        if part.empty:
            continue
        failing = part[part["verdict"] == "fail"]
        open_ = part[part["verdict"] == "inconclusive"]
        if not failing.empty:
            cell.status = "fail"
            cell.reasons.append(
                f"{len(failing)} item(s) passed fewer than {k} of {n} repeats "
                f"(--min-pass-repeats {k}/{n}): {_items(failing)}")
        elif not open_.empty:
            if cell.status == "pass":
                cell.status = "inconclusive"
            cell.notes.append(
                f"{len(open_)} item(s) have too few valid repeats to judge --min-pass-repeats "
                f"{k}/{n}: {_items(open_)}; run at least {n} epochs")
        else:
            cell.notes.append(f"every item passed at least {k} of {n} repeats")
