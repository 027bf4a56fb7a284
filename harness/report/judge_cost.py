"""The report's account of what judging cost, apart from the models under test.

Judge calls are counted per judge by ``harness.judges.client`` and kept in the run manifest's
``judge_usage`` (or, for a re-scoring by ``harness score``, in that scoring's manifest), never
in the samples' ``cost_usd``: the cost table above stays the cost of producing the answers,
and this one says what grading them cost.
"""

from __future__ import annotations

from typing import Any

from harness.report.mdtext import md_inline
from harness.report.tables import markdown_table


def judge_usage(manifest: dict[str, Any]) -> dict[str, Any]:
    """The usage of the judges behind the scores shown: the re-scoring's when the scores
    are a ``harness score`` scoring, else the run's own."""
    scoring = manifest.get("scoring") or {}
    if scoring.get("by") == "harness score":
        return dict(scoring.get("judge_usage") or {})
    return dict(manifest.get("judge_usage") or {})


def judge_cost_lines(manifest: dict[str, Any]) -> list[str]:
    usage = judge_usage(manifest)
    if not usage:
        return []
    rows, total, unpriced = [], 0.0, []
    for name, u in sorted(usage.items()):
        model = str(u.get("model", ""))
        cost = float(u.get("cost_usd") or 0.0)
        total += cost
        if int(u.get("unpriced") or 0):
            unpriced.append(model)
        shown = "–" if int(u.get("unpriced") or 0) and not cost else f"${cost:.4f}"
        rows.append([md_inline(name), md_inline(model), int(u.get("calls") or 0),
                     int(u.get("cached") or 0), int(u.get("errors") or 0),
                     f"{int(u.get('input_tokens') or 0):,}",
                     f"{int(u.get('output_tokens') or 0):,}", shown])
    head = (f"Judging cost ${total:.4f}, not included in the total above (that is what the "
            "models under test cost).")
    if unpriced:
        head += (" It leaves out " + ", ".join(f"`{m}`" for m in sorted(set(unpriced)))
                 + ": no price in LiteLLM's price map.")
    head += " Calls served from the cache cost nothing again."
    return ["", "### Judges", "", head, "",
            markdown_table(["judge", "model", "calls", "from cache", "failed", "tokens in",
                            "tokens out", "cost"], rows, "llrrrrrr")]
