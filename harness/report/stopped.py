"""The sentence that says a run was stopped early by a sequential monitor, and what it saved."""

from __future__ import annotations

from typing import Any


def stopped_early_sentence(manifest: dict[str, Any]) -> str | None:
    """E.g. "Stopped early after 40 of 200 items (240 of 1,200 samples): every comparison was
    decided ...; the fixed-size run would have cost about $1.20 ($0.24 spent)." None when the
    run was not stopped early."""
    info = manifest.get("stopped_early")
    if not info:
        return None
    planned = info.get("samples_planned") or 0
    done = info.get("samples") or 0
    saved = f", {100 * (1 - done / planned):.0f}% of the planned samples not sent" \
        if planned else ""
    spent = info.get("cost_so_far") or 0.0
    cost = (f"; the fixed-size run would have cost about ${info.get('estimated_full_cost', 0):.4g}"
            f" (${spent:.4g} spent)" if spent > 0 else
            "; no cost was recorded (cached or unpriced answers)")
    return (f"Stopped early after {info.get('items')} of {info.get('items_planned')} items "
            f"({done:,} of {planned:,} samples{saved}): {info.get('reason')}{cost}. The "
            "sequential tests behind this decision stay valid however often they are looked at; "
            "`harness run --resume <run-id>` completes the run.")
