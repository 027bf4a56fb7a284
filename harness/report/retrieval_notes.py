"""The report's note on RAG variants whose search found nothing for some items.

Such an item's prompt went out with an empty context (BM25 returns no chunk that shares no
word with the query), so the variant's score mixes answers with and without retrieval. A
reader comparing "with RAG" against "closed-book" must see how much of the RAG side was, in
fact, closed-book before trusting the verdict.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from harness.report.mdtext import code_name


def rag_variants(manifest: dict[str, Any]) -> set[str]:
    """The variants the run's experiment set ``rag: on`` for (sweeps are already expanded)."""
    variants = (manifest.get("config") or {}).get("variants") or []
    return {str(v.get("name")) for v in variants if isinstance(v, dict) and v.get("rag")}


def empty_context_lines(samples: pd.DataFrame, manifest: dict[str, Any], task: Any) -> list[str]:
    """Per RAG variant of ``task`` with items that retrieved no passage: how many of its
    items, as a paragraph after the variant table; nothing when every item got passages."""
    rag = rag_variants(manifest)
    if not rag or "retrieved" not in samples.columns:
        return []
    part = samples[(samples["task"] == task) & samples["variant"].astype(str).isin(rag)]
    lines = []
    for variant, rows in part.groupby("variant", sort=False):
        got = rows["retrieved"].map(lambda hits: isinstance(hits, list) and len(hits) > 0)
        items = rows["item_id"].astype(str)
        total = items.nunique()
        none = total - items[got].nunique()
        if none:
            lines += [f"**Empty retrieval:** {code_name(variant)} found no passage "
                      f"for {none} of {total} items ({100 * none / total:.0f}%); their prompts "
                      "went out with an empty context, so its score mixes answers with and "
                      "without retrieval.", ""]
    return lines
