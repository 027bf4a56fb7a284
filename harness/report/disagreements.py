"""Per-item disagreements between variants: where one prompt got an item right and another didn't.

Aggregate scores say *how much* two prompts differ; the items they disagree on say *why*. For
each model and each pair of variants this counts the items each side won and shows a few of
them with both outputs side by side. Items are reduced exactly as the statistics reduce them
(:func:`harness.stats.samples.item_table`); outputs shown are each item's first epoch. Every
model output goes through :func:`harness.report.mdtext.md_inline`, so it is shown, never
interpreted.
"""

from __future__ import annotations

from itertools import combinations
from typing import TYPE_CHECKING

from harness.report.mdtext import Markdown, md_inline
from harness.report.tables import markdown_table

if TYPE_CHECKING:
    import pandas as pd

EXAMPLES = 3


def first_outputs(samples: pd.DataFrame) -> pd.DataFrame:
    """One row per task x model x variant x item: its first answered epoch's output and input.

    An item whose every sample errored shows ``[error] <message>`` as its output. Indexed by
    (task, model, variant, item_id), all as strings. The gate shows the same outputs.
    ``answer`` is the parsed answer, shown beside the raw output (see :func:`parsed_answer`).
    """
    cols = [c for c in ("task", "model", "variant", "item_id", "epoch", "input", "target",
                        "output", "answer", "error", "scoring_error") if c in samples.columns]
    rows = samples[cols].copy()
    rows["_failed"] = rows["error"].notna() if "error" in rows else False
    rows = rows.sort_values(["_failed", *[c for c in ("epoch",) if c in cols]], kind="stable")
    if "error" in rows:
        failed = rows["_failed"]
        rows.loc[failed, "output"] = "[error] " + rows.loc[failed, "error"].astype(str)
    for key in ("task", "model", "variant", "item_id"):
        rows[key] = rows[key].astype(str)
    return rows.drop(columns="_failed").drop_duplicates(
        ["task", "model", "variant", "item_id"]).set_index(["task", "model", "variant", "item_id"])


def parsed_answer(row: pd.Series | None) -> str | None:
    """What the parser made of an output, as shown beside it: the answer (the metric scored it
    even when another scorer raised on it), ``[scoring error] <message>`` when parsing raised
    and there is no answer, None when there was no answer (a failed call).

    Shown so that a parser that loses a sign or a digit is visible at a glance."""
    if row is None:
        return None
    answer = row.get("answer")
    if isinstance(answer, str):
        return answer
    error = row.get("scoring_error")
    return f"[scoring error] {error}" if isinstance(error, str) and error else None


def _cell(mark: str, row: pd.Series | None) -> Markdown:
    """A variant's cell: its mark, the parsed answer in bold, then the raw output."""
    answer = parsed_answer(row)
    output = md_inline(None if row is None else row.get("output"), 240)
    if answer is None:
        return Markdown(f"{mark} {output}")
    return Markdown(f"{mark} answer **{md_inline(answer, 80)}** · output: {output}")


def item_scores(samples: pd.DataFrame, task: str) -> tuple[pd.DataFrame, str]:
    """Item x (model, variant) scores for one task, and the metric's kind."""
    import pandas as pd

    from harness.stats.samples import item_table

    part = samples[samples["task"].astype(str) == task]
    table = item_table(part)
    wide = table.items.pivot_table(index="item_id", columns=["model", "variant"], values="score",
                                   aggfunc="first", dropna=False)
    seen = list(dict.fromkeys(zip(table.items["model"], table.items["variant"], strict=True)))
    return wide.reindex(columns=pd.MultiIndex.from_tuples(seen)), table.metrics[task].kind


def _mark(score: float, binary: bool) -> str:
    if score != score:
        return "–"
    return ("✓" if score == 1.0 else "✗") if binary else f"{score:.2f}"


def disagreements_markdown(samples: pd.DataFrame, task: str, *, examples: int = EXAMPLES,
                           level: int = 3) -> str:
    """Counts per variant pair, then up to ``examples`` items each way with both outputs."""
    wide, kind = item_scores(samples, task)
    binary = kind == "binary"
    outputs = first_outputs(samples)
    h = "#" * level
    won = "right where the other was wrong" if binary else "scored higher"
    lines = [f"{h} Where variants disagree", "",
             f"Items one variant {won}, per pair of variants (each item's first sample shown: "
             "the parsed answer in bold, then the raw output).",
             ""]
    counts, sections = [], []
    several_models = wide.columns.get_level_values(0).nunique() > 1
    for model in wide.columns.get_level_values(0).unique():
        variants = list(wide[model].columns)
        for a, b in combinations(variants, 2):
            sa, sb = wide[(model, a)], wide[(model, b)]
            both = sa.notna() & sb.notna()
            a_wins = list(sa[both & (sa > sb)].index)
            b_wins = list(sa[both & (sb > sa)].index)
            counts.append([model, a, b, len(a_wins), len(b_wins), int(both.sum())])
            if not (a_wins or b_wins):
                continue
            rows = []
            for item in a_wins[:examples] + b_wins[:examples]:
                key_a, key_b = (task, str(model), str(a), str(item)), \
                    (task, str(model), str(b), str(item))
                row_a = outputs.loc[key_a] if key_a in outputs.index else None
                row_b = outputs.loc[key_b] if key_b in outputs.index else None
                source = row_a if row_a is not None else row_b
                rows.append([
                    md_inline(str(item), 40),
                    md_inline(None if source is None else source.get("input"), 120),
                    md_inline(None if source is None else source.get("target"), 40),
                    _cell(_mark(sa[item], binary), row_a),
                    _cell(_mark(sb[item], binary), row_b),
                ])
            title = f"{md_inline(a, 60)} vs {md_inline(b, 60)}" + (
                f" ({md_inline(str(model), 60)})" if several_models else "")
            sections += [f"{h}# {title}", "",
                         markdown_table(["item", "input", "target", str(a), str(b)], rows), ""]
    if not counts:
        return "\n".join([*lines, "Only one variant: nothing to compare.", ""])
    headers = ["model", "A", "B", "A better", "B better", "items both scored"]
    lines += [markdown_table(headers, counts, "lllrrr"), "", *sections]
    return "\n".join(lines)
