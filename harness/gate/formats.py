"""What a check says: plain text for the terminal, markdown for CI summaries, JSON for machines.

All three come from one :class:`~harness.gate.check.CheckResult`, so the terminal, the pull
request summary, the JUnit failure and the pytest failure explain a regression the same way:
which cell, how large a drop with its confidence interval, the corrected p-value, and the items
that went from right to wrong with their outputs before and after.
"""

from __future__ import annotations

import json
import math
from typing import Any

from harness.gate.check import CellResult, CheckResult, Flip
from harness.report.mdtext import md_inline, one_line
from harness.report.tables import markdown_table, pct, text_table

SHOWN_ITEMS = 20


def corrected(correction: str) -> str:
    """'Holm-corrected', 'Benjamini-Hochberg-corrected' or 'uncorrected'."""
    from harness.stats.multiple import CORRECTION_LABELS

    return "uncorrected" if correction == "none" else f"{CORRECTION_LABELS[correction]}-corrected"


def _pts(value: float) -> str:
    return "–" if not math.isfinite(value) else f"{100 * value:+.1f}"


def _p(value: float) -> str:
    if not math.isfinite(value):
        return "–"
    return "<0.0001" if value < 1e-4 else f"{value:.4f}"


def _p_is(value: float) -> str:
    text = _p(value)
    return f"p {text[0]} {text[1:]}" if text.startswith("<") else f"p = {text}"


def change_text(cell: CellResult) -> str:
    if not math.isfinite(cell.diff):
        return "–"
    if not (math.isfinite(cell.ci_low) and math.isfinite(cell.ci_high)):
        return _pts(cell.diff)
    return f"{_pts(cell.diff)} [{_pts(cell.ci_low)}, {_pts(cell.ci_high)}]"


def verdict(cell: CellResult) -> str:
    if cell.regression and cell.below_floor:
        return "REGRESSION, BELOW FLOOR"
    if cell.regression:
        return "REGRESSION"
    if cell.below_floor:
        return "BELOW FLOOR"
    if cell.status == "new":
        return "new"
    if cell.status == "inconclusive":
        return "INCONCLUSIVE"
    return "pass, improved" if cell.improved else "pass"


def headline(result: CheckResult) -> str:
    gated = [c for c in result.cells if c.status != "new"]
    failed, unsure = len(result.failures), len(result.inconclusive)
    passed = sum(c.status == "pass" for c in gated)
    counts = (f"{failed} failed, {unsure} inconclusive, {passed} passed of {len(gated)} "
              "cell(s)")
    if result.mode == "compare":
        return f"{counts} (compare: exit {result.exit_code})"
    if result.outcome == "fail":
        strict = " (--strict: inconclusive fails)" if not failed else ""
        return f"FAILED: {counts}{strict}"
    if result.outcome == "inconclusive":
        return f"INCONCLUSIVE: {counts}; not judged, retry or add items"
    return f"passed: {counts}"


def rule(result: CheckResult) -> str:
    s = result.settings
    pts = f"{100 * s.max_drop:g} points"
    text = (f"a cell fails when its score is significantly more than {pts} below the baseline "
            f"(one-sided, alpha {s.alpha:g}, {corrected(s.correction)} over {result.n_compared}"
            f" tested cell(s)), passes when it is significantly less than {pts} below it "
            f"(one-sided lower bound above -{pts}), and is inconclusive otherwise or when more "
            f"than {100 * (s.max_error_rate or 0):g}% of its samples failed")
    if s.min_score is not None:
        text += f"; it also fails below {100 * s.min_score:g}%"
    if s.min_pass_repeats:
        text += (f"; each item must pass at least {s.min_pass_repeats.replace('/', ' of ')} "
                 "repeats")
    if s.strict:
        text += "; --strict: inconclusive fails"
    return text


def _errors(cell: CellResult) -> str:
    return f"{cell.n_errors}/{cell.n_samples}" if cell.n_samples else "–"


def _rows(result: CheckResult) -> list[list[str]]:
    return [[c.task, c.variant, c.model, pct(c.mean_baseline),
             pct(c.mean_current if c.n_pairs else c.score_current),
             change_text(c), _p(c.p_adjusted), _p(c.p_pass), str(c.n_pairs), _errors(c),
             verdict(c)] for c in result.cells]


def _headers(result: CheckResult) -> list[str]:
    ci = result.settings.confidence
    return ["task", "variant", "model", "before %", "after %",
            f"change pts [one-sided {ci} bounds]",
            f"p worse ({corrected(result.settings.correction)})", "p within", "paired items",
            "errors", "result"]


def detail_lines(cell: CellResult, result: CheckResult) -> list[str]:
    """The sentence under a cell's heading: size, CI, test, p before and after correction."""
    s = result.settings
    what = "right to wrong" if cell.kind == "binary" else "a lower score"
    lines = list(cell.reasons)
    if math.isfinite(cell.p_value):
        lines.append(f"change {_pts(cell.diff)} points, one-sided {s.confidence} bounds "
                     f"[{_pts(cell.ci_low)}, {_pts(cell.ci_high)}], {cell.test}, "
                     f"worse than -{100 * s.max_drop:g} points: {_p_is(cell.p_value)} "
                     f"({_p_is(cell.p_adjusted)} {corrected(s.correction)}), "
                     f"{cell.n_pairs} paired items")
    if cell.n_pairs:
        lines.append(f"{len(cell.worse)} item(s) went from {what}, {cell.n_better} the other way")
    if cell.n_errors:
        lines.append(f"{cell.n_errors} of {cell.n_samples} samples failed "
                     f"({100 * cell.error_rate:.0f}%)")
    return lines


def render_text(result: CheckResult, *, max_items: int = SHOWN_ITEMS) -> str:
    """The terminal's (and pytest's) explanation."""
    cmd = "harness compare" if result.mode == "compare" else "harness check"
    out = [f"{cmd}: {headline(result)}",
           f"  baseline: {result.baseline.get('run_id')} ({result.baseline.get('source')})",
           f"  run:      {result.current.get('run_id')} ({result.current.get('run_dir')})",
           *([f"  report:   {result.current['report']}"] if result.current.get("report")
             else []),
           f"  rule:     {rule(result)}", ""]
    if result.changes:
        out += ["changed since the baseline:", *[f"  - {c}" for c in result.changes], ""]
    out += [text_table(_headers(result), _rows(result)), ""]
    for cell in result.cells:
        if cell.status not in ("fail", "inconclusive"):
            continue
        out.append(f"{verdict(cell)}  {cell.name}")
        out += [f"  {line}" for line in detail_lines(cell, result)]
        for flip in cell.worse[:max_items]:
            target = f"  (target: {one_line(flip.target, 60)})" if flip.target else ""
            out += [f"    {flip.item_id}{target}",
                    f"      before: {one_line(flip.output_before, 160)}",
                    f"      after:  {one_line(flip.output_after, 160)}"]
        if len(cell.worse) > max_items:
            out.append(f"    ... and {len(cell.worse) - max_items} more (all are in --json)")
        out.append("")
    notes = [f"  - {c.name}: {n}" for c in result.cells for n in c.notes]
    if notes:
        out += ["notes:", *notes, ""]
    if result.failures and result.mode == "check" and result.current.get("run_dir"):
        source = str(result.baseline.get("source") or "")
        target = source if source.endswith(".json") else "<baseline.json>"
        out.append("if the change is intended, accept this run as the new baseline:\n"
                   f"  harness baseline save {result.current['run_dir']} --to {target}")
    return "\n".join(out).rstrip() + "\n"


def _flip_table(cell: CellResult, max_items: int) -> str:
    rows = [[md_inline(f.item_id, 60), md_inline(f.target, 60), md_inline(f.output_before, 300),
             md_inline(f.output_after, 300)] for f in cell.worse[:max_items]]
    return markdown_table(["item", "target", "before", "after"], rows)


def render_markdown(result: CheckResult, *, max_items: int = SHOWN_ITEMS) -> str:
    """GitHub-flavoured markdown for ``$GITHUB_STEP_SUMMARY`` or a pull-request comment."""
    mark = {"pass": "✅", "fail": "❌", "inconclusive": "⚠️"}[result.outcome]
    title = "Prompt comparison" if result.mode == "compare" else "Prompt regression check"
    if result.mode == "compare":
        mark = "📊"
    out = [f"## {mark} {title}: {headline(result)}", "",
           f"Baseline `{md_inline(result.baseline.get('run_id'), 120)}` vs run "
           f"`{md_inline(result.current.get('run_id'), 120)}`; {rule(result)}.", ""]
    if result.changes:
        out += ["**Changed since the baseline:**", "",
                *[f"- {c}" for c in result.changes], ""]
    rows = [[md_inline(c, 80) if i < 3 else c for i, c in enumerate(row)]
            for row in _rows(result)]
    out += [markdown_table(_headers(result), rows, "lllrrrrrrrl"), ""]
    for cell in result.cells:
        if cell.status not in ("fail", "inconclusive"):
            continue
        icon = "❌" if cell.failed else "⚠️"
        out += [f"### {icon} {md_inline(cell.name, 200)}: {verdict(cell)}", ""]
        out += [f"- {md_inline(line, 400)}" for line in detail_lines(cell, result)]
        out.append("")
        if cell.worse:
            more = (f" (first {max_items}; all are in the JSON report)"
                    if len(cell.worse) > max_items else "")
            out += ["<details><summary>"
                    f"{len(cell.worse)} item(s) that got worse, outputs before and after{more}"
                    "</summary>", "", _flip_table(cell, max_items), "", "</details>", ""]
    notes = [f"- {md_inline(c.name, 200)}: {md_inline(n, 400)}" for c in result.cells
             for n in c.notes]
    if notes:
        out += ["<details><summary>Notes</summary>", "", *notes, "", "</details>", ""]
    return "\n".join(out)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _flip_dict(flip: Flip) -> dict[str, Any]:
    return {"item_id": flip.item_id, "before": flip.before, "after": flip.after,
            "target": flip.target, "output_before": flip.output_before,
            "output_after": flip.output_after}


def to_dict(result: CheckResult) -> dict[str, Any]:
    """The machine-readable result (``--json``); NaN becomes null."""
    cells = []
    for c in result.cells:
        data = {k: getattr(c, k) for k in (
            "task", "variant", "model", "metric", "kind", "status", "n_baseline", "n_current",
            "n_pairs", "mean_baseline", "mean_current", "score_current", "diff", "ci_low",
            "ci_high", "p_value", "p_adjusted", "p_pass", "test", "regression", "below_floor",
            "improved", "reasons", "notes", "n_better", "n_samples", "n_errors",
            "first_error")}
        data["error_rate"] = c.error_rate
        data["result"] = verdict(c)
        data["worse"] = [_flip_dict(f) for f in c.worse]
        cells.append(data)
    s = result.settings
    return _clean({
        "format": "prompt-harness-check", "format_version": 2, "mode": result.mode,
        "outcome": result.outcome, "passed": result.passed, "exit_code": result.exit_code,
        "settings": {"alpha": s.alpha, "max_drop": s.max_drop, "min_score": s.min_score,
                     "correction": s.correction, "confidence": 1 - s.alpha,
                     "strict": s.strict, "max_error_rate": s.max_error_rate,
                     "min_pass_repeats": s.min_pass_repeats},
        "baseline": result.baseline, "run": result.current, "changes": result.changes,
        "cells": cells,
    })


def render_json(result: CheckResult) -> str:
    return json.dumps(to_dict(result), indent=2, ensure_ascii=False) + "\n"
