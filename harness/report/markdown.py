"""The markdown report: what a reviewer reads to decide which prompt to ship."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.report.judge_cost import judge_cost_lines
from harness.report.mdtext import md_inline
from harness.report.operations import INCOMPLETE, operations
from harness.report.tables import markdown_table, pct

if TYPE_CHECKING:
    import pandas as pd

    from harness.report.judge_data import JudgeData
    from harness.report.stats_sections import TaskTables


def _header(samples: pd.DataFrame, manifest: dict[str, Any]) -> list[str]:
    config = manifest.get("config", {})
    lines = [
        f"# Run {manifest['run_id']}",
        "",
        f"- experiment: `{manifest.get('experiment')}` ({manifest.get('experiment_file')})",
        f"- status: **{manifest.get('status')}**, started {manifest.get('started_at')}, "
        f"finished {manifest.get('finished_at')}",
        f"- samples: {len(samples)} of {manifest.get('samples_planned')} planned; "
        f"epochs {config.get('epochs')}, seed {manifest.get('seed')}, "
        f"limit {config.get('limit')}",
        f"- models: {', '.join(f'`{m}`' for m in manifest.get('models', {}))}",
    ]
    if manifest.get("git_commit"):
        lines.append(f"- git commit: `{manifest['git_commit'][:12]}`")
    lines += _scoring_line(manifest)
    from harness.report.stopped import stopped_early_sentence

    stopped = stopped_early_sentence(manifest)
    if stopped:
        from harness.report.mdtext import cell

        details = manifest["stopped_early"].get("details") or []
        lines += ["", f"**{cell(stopped)}**", "", *[f"- {cell(d)}" for d in details]]
    return [*lines, ""]


def _scoring_line(manifest: dict[str, Any]) -> list[str]:
    """Which parser and scorer settings produced the scores (``harness score`` re-scores)."""
    scoring = manifest.get("scoring") or {}
    if not scoring.get("id"):
        return []
    if scoring.get("by") == "harness run" or not scoring.get("run_scoring"):
        return [f"- scores: scoring `{scoring['id']}`, the run's own (samples.jsonl)"]
    return [f"- scores: scoring `{scoring['id']}` by `harness score` at "
            f"{scoring.get('created_at')} ({scoring.get('source')}), not the run's own "
            f"`{scoring['run_scoring']}`"]


def _variant_table(task: str, samples: pd.DataFrame, table: pd.DataFrame,
                   all_ops: pd.DataFrame) -> str:
    """``table``: the task's summary (see ``stats_sections.task_tables``); ``all_ops``: the
    run's :func:`operations`."""
    ops = all_ops[all_ops["task"] == task].set_index(["model", "variant"])
    rows = []
    for _, row in table.iterrows():
        key = (row["model"], row["variant"])
        op = ops.loc[key] if key in ops.index else None
        retrieval = ""
        if "retrieval_recall" in samples and samples["retrieval_recall"].notna().any():
            part = samples[(samples["task"] == task) & (samples["model"] == row["model"])
                           & (samples["variant"] == row["variant"])]
            recall, rr = part["retrieval_recall"].mean(), part["retrieval_rr"].mean()
            retrieval = "–" if recall != recall else f"{recall:.2f} / {rr:.2f}"
        method = str(row["ci_method"]) + (f", {int(row['n_clusters'])} clusters"
                                          if row.get("clustered") else "")
        rows.append([
            row["model"], row["variant"], pct(row["mean"]),
            f"[{pct(row['ci_low'])}, {pct(row['ci_high'])}]", method, int(row["n"]),
            int(op["errors"]) if op is not None else 0,
            int(row.get("n_scoring_errors", 0) or 0),  # this metric's own (harness.stats)
            _num(op, "input_tokens"), _num(op, "output_tokens"), _num(op, "latency_s", 2),
            retrieval,
        ])
    headers = ["model", "variant", "score %", "95% CI", "interval", "n", "errors",
               "scoring errors", "tokens in", "tokens out", "service time s", "recall@k / MRR"]
    if not any(r[-1] for r in rows):
        headers, rows = headers[:-1], [r[:-1] for r in rows]
    if not any(r[7] for r in rows):  # the column appears when an answer could not be scored
        headers, rows = headers[:7] + headers[8:], [r[:7] + r[8:] for r in rows]
    return markdown_table(headers, rows, "llrrlrrrrrrr"[: len(headers)])


def _num(op: Any, key: str, digits: int = 0) -> str:
    if op is None:
        return "–"
    value = op[key]
    return "–" if value != value else f"{value:.{digits}f}"


def _errors(samples: pd.DataFrame) -> list[str]:
    failed = samples[samples["error"].notna()]
    lines = ["No sample failed."]
    if not failed.empty:
        counts = failed.groupby("error").size().sort_values(ascending=False).head(5)
        rows = [[n, err[:160]] for err, n in counts.items()]
        lines = [f"{len(failed)} samples failed; they are excluded from every score.", "",
                 markdown_table(["count", "error"], rows, "rl")]
    return lines + _scoring_errors(samples)


def _scoring_errors(samples: pd.DataFrame) -> list[str]:
    """Answers that arrived but broke a parser or scorer: per variant, the exception's type and
    message, so a parser bug is found rather than averaged away."""
    if "scoring_error" not in samples:
        return []
    bad = samples[samples["scoring_error"].notna() & samples["error"].isna()]
    if bad.empty:
        return []
    counts = bad.groupby(["task", "model", "variant", "scoring_error"], sort=False).size()
    rows = [[n, task, model, variant, md_inline(str(err), 160)]
            for (task, model, variant, err), n in counts.sort_values(ascending=False)
            .head(10).items()]
    return ["", f"{len(bad)} answers met a parser or scorer error: a parser's error excludes "
            "the answer from every score, a scorer's from that scorer's scores only (the other "
            "scorers' scores of the answer still count).", "",
            markdown_table(["count", "task", "model", "variant", "scoring error"], rows,
                           "rllll")]


def _incomplete(ops: pd.DataFrame, manifest: dict[str, Any]) -> list[str]:
    """Per cell: answers cut off at max_tokens, withheld by a filter, or empty."""
    ops = ops[ops[INCOMPLETE].sum(axis=1) > 0]
    if ops.empty:
        return []
    kept = (manifest.get("config") or {}).get("incomplete_answers") == "keep"
    how = ("they are scored as answers (incomplete_answers: keep)." if kept else
           "they are errors, excluded from every score (incomplete_answers: keep scores them).")
    rows = [[r.task, r.model, r.variant, int(r.truncated), int(r.filtered), int(r.empty),
             int(r.samples)] for r in ops.itertuples()]
    return ["", "### Incomplete answers", "",
            f"Answers cut off at max_tokens (truncated), withheld by a content filter "
            f"(filtered) or empty; {how}", "",
            markdown_table(["task", "model", "variant", "truncated", "filtered", "empty",
                            "samples"], rows, "lllrrrr")]


def _costs(ops: pd.DataFrame) -> list[str]:
    total = ops["cost_usd"].sum(min_count=1)
    rows = [[r.task, r.model, r.variant, int(r.samples), int(r.cached),
             _total(r.input_tokens_total), _total(r.output_tokens_total),
             "–" if r.cost_usd != r.cost_usd else f"${r.cost_usd:.4f}"] for r in ops.itertuples()]
    head = (f"Total cost: ${total:.4f}." if total == total
            else "Cost unknown: the price of these models is not in LiteLLM's price map.")
    unpriced = sorted({str(r.model) for r in ops.itertuples()
                       if r.cost_usd != r.cost_usd and r.samples > r.errors})
    if total == total and unpriced:
        head += (" It leaves out " + ", ".join(f"`{m}`" for m in unpriced) + ": "
                 + ("its price is" if len(unpriced) == 1 else "their prices are")
                 + " not in LiteLLM's price map, so the true total is higher.")
    if int(ops["cached"].sum()):
        head += (" Costs are what the answers cost to produce; those served from the cache were "
                 "not paid for again.")
    return [head, "", markdown_table(["task", "model", "variant", "samples", "from cache",
                                      "tokens in", "tokens out", "cost"], rows, "lllrrrrr")]


def _total(value: float) -> str:
    return "–" if value != value else f"{int(value):,}"


def _answer(computed: dict[Any, Any]) -> list[str]:
    """The first screen: per task and model, the best variant and whether that is real."""
    import pandas as pd

    from harness.report.verdicts import best_variant_sentences

    summary = pd.concat([t.summary for t in computed.values()], ignore_index=True)
    comparisons = pd.concat([t.variants for t in computed.values() if not t.variants.empty]
                            or [pd.DataFrame(columns=["task", "model", "a", "b"])],
                            ignore_index=True)
    sentences = best_variant_sentences(summary, comparisons)
    return ["## Which prompt is best", "", *[f"- {s}" for s in sentences], "",
            "Best means the highest mean score; significantly means the paired test's "
            "adjusted p-value is below 0.05. Effects are in points, with each pair's own 95% "
            "interval, which is not corrected for the number of comparisons: an interval may "
            "exclude 0 while the corrected p-value is not significant.", ""]


def _figures(figures: list[tuple[str, str]]) -> list[str]:
    if not figures:
        return []
    return ["### Figures", "",
            *[line for caption, src in figures for line in (f"![{caption}]({src})", "")]]


def _task_part(samples: pd.DataFrame, task: Any) -> pd.DataFrame:
    part = samples[samples["task"] == task]
    part.attrs = dict(samples.attrs)
    return part


def _factor_section(samples: pd.DataFrame, task: Any) -> list[str]:
    """A sweep's factor effects and interactions (harness.report.factorial), if it has one."""
    from harness.report.factorial import factorial_markdown, task_factorial

    return factorial_markdown(task_factorial(_task_part(samples, task)))


def _repeat_sections(samples: pd.DataFrame, task: Any) -> list[str]:
    """Flaky items and recommended repeats (harness.report.repeats), when items repeat."""
    from harness.report.repeats import repeats_markdown

    return repeats_markdown(_task_part(samples, task))


def _judge_sections(samples: pd.DataFrame, task: Any, judges: JudgeData | None) -> list[str]:
    """How far to trust each judge, and pairwise preferences (harness.report.judges)."""
    from harness.report.judges import judges_markdown

    return judges_markdown(_task_part(samples, task), str(task), judges)


def _other_scores(samples: pd.DataFrame, task: Any) -> list[str]:
    """Every score besides the primary metric (harness.report.other_scores)."""
    from harness.report.other_scores import other_scores_markdown

    return other_scores_markdown(_task_part(samples, task), str(task))


def report_tables(samples: pd.DataFrame) -> dict[Any, TaskTables]:
    """Each task's statistics (``stats_sections.task_tables``), computed once per report and
    shared by its sections and figures."""
    from harness.report.stats_sections import task_tables

    computed = {}
    for task in samples["task"].drop_duplicates():
        part = samples[samples["task"] == task]
        part.attrs = dict(samples.attrs)
        computed[task] = task_tables(part)
    return computed


def render_markdown(samples: pd.DataFrame, manifest: dict[str, Any], *,
                    figures: dict[str, list[tuple[str, str]]] | None = None,
                    judges: JudgeData | None = None,
                    computed: dict[Any, TaskTables] | None = None,
                    ops: pd.DataFrame | None = None) -> str:
    """The report; ``figures`` maps a task to (caption, relative figure path) pairs to show;
    ``judges``: the run's calibration and pairwise rows (``harness.report.judge_data``);
    ``computed`` (:func:`report_tables`) and ``ops`` (:func:`operations`), when the caller
    has them already."""
    from harness.report.disagreements import disagreements_markdown
    from harness.report.matrix import matrix_markdown
    from harness.report.retrieval_notes import empty_context_lines
    from harness.report.stats_sections import stats_markdown

    lines = _header(samples, manifest)
    if samples.empty:
        return "\n".join([*lines, "This run has no finished samples yet.", ""])
    scorers = manifest.get("scorers", {})
    computed = report_tables(samples) if computed is None else computed
    ops = operations(samples) if ops is None else ops
    lines += _answer(computed)
    for task, tables in computed.items():
        primary = (scorers.get(task) or [{"name": "?"}])[0]["name"]
        lines += [f"## Task `{task}`", "",
                  f"Primary metric: `{primary}` ({(scorers.get(task) or [{}])[0].get('kind')})."
                  " Scores are percentages; intervals are 95% confidence intervals.", "",
                  _variant_table(task, samples, tables.summary, ops), "",
                  "Service time: mean seconds the model took to answer one call (for a local "
                  "model, its share of the batch's generation, not time spent queued).", "",
                  *empty_context_lines(samples, manifest, task)]
        lines += _factor_section(samples, task)  # next to the per-variant table
        part = samples[samples["task"] == task]  # this task's, not the last one's
        part.attrs = dict(samples.attrs)
        lines += [stats_markdown(part, variant_table=False, tables={task: tables}), ""]
        lines += [matrix_markdown(samples, str(task), table=tables.variants),
                  *_figures((figures or {}).get(task, [])),
                  disagreements_markdown(samples, str(task)), ""]
        lines += _repeat_sections(samples, task)
        lines += _judge_sections(samples, task, judges)
        lines += _other_scores(samples, task)
    lines += ["## Errors", "", *_errors(samples), *_incomplete(ops, manifest), "",
              "## Cost", "", *_costs(ops), *judge_cost_lines(manifest), ""]
    return "\n".join(lines)
