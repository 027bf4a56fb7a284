"""Which prompts changed since the baseline, item by item, and why.

Each baseline item keeps its sample fingerprint (``harness.fingerprint``: what was sent and
how it was scored). A check compares it with the current run's on the items both have, so a
``--limit`` slice of a full baseline reports nothing, while an edited few-shot pool, corpus
entry or data field a template reads is named with the items it touched.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from harness.fingerprint import explain

if TYPE_CHECKING:
    import pandas as pd

    from harness.gate.baseline import Baseline

SHOWN = 3  # item ids named per reason


def sample_changes(baseline: Baseline, samples: pd.DataFrame) -> list[str]:
    """One line per task x variant x model whose shared items are now sent or scored
    differently, grouped by reason (template, few-shot examples, data field x...)."""
    if samples.empty or "fingerprint" not in samples.columns:
        return []
    if not baseline.has_fingerprints:
        return ["the baseline records no per-item prompt fingerprints (saved by an older "
                "prompt-harness), so changed prompts cannot be named: save it again"]
    rows = samples.sort_values("epoch", kind="stable").drop_duplicates(
        ["task", "variant", "model", "item_id"])
    changed: dict[tuple[str, str, str], dict[str, list[str]]] = defaultdict(
        lambda: defaultdict(list))
    shared: dict[tuple[str, str, str], int] = defaultdict(int)
    for row in rows.itertuples(index=False):
        key = (str(row.task), str(row.variant), str(row.model))
        item = str(row.item_id)
        old, old_parts = baseline.prompt(key, item)
        new = _text(row.fingerprint)
        if old is None or new is None:
            continue
        shared[key] += 1
        if old != new:
            parts = getattr(row, "prompt_parts", None)
            changed[key][explain(old_parts, parts if isinstance(parts, dict) else None)].append(
                item)
    lines = []
    for key, reasons in changed.items():
        count = sum(len(items) for items in reasons.values())
        why = "; ".join(f"{reason} ({_ids(items)})" for reason, items in reasons.items())
        lines.append(f"`{' / '.join(key)}`: {count} of {shared[key]} shared items are now "
                     f"sent or scored differently: {why}")
    return lines


def _ids(items: list[str]) -> str:
    shown = ", ".join(sorted(items)[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
