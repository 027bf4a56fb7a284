"""The report's judge sections: how far to trust each judge of a task.

Per judged score: its agreement with human labels, the pass rates corrected for its measured
errors beside the judged ones, and the paired differences with the judge's noise included;
without labels, the plain statement that the judge's error was not measured. With judge epochs,
its repeatability. The arithmetic lives in ``harness.stats.judge_*``; pairwise preferences are
in :mod:`harness.report.judges_pairwise`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from harness.report.judge_data import JudgeData
from harness.report.mdtext import md_inline
from harness.report.tables import markdown_table, pct
from harness.stats.errors import StatsError

N_BOOT = 2000


def _ci(low: float, high: float) -> str:
    return f"[{pct(low)}, {pct(high)}]"


def judged_scores(samples: pd.DataFrame, task: str, data: JudgeData | None) -> list[str]:
    """The judge score names of ``task``: the manifest's scorers of type ``judge``, and any
    judge with calibration rows for it."""
    scorers = ((samples.attrs.get("manifest") or {}).get("scorers") or {}).get(task) or []
    names = [str(s["name"]) for s in scorers
             if isinstance(s, dict) and s.get("type") == "judge" and s.get("name")]
    if data is not None and data.calibration is not None:
        cal = data.calibration
        names += [str(j) for j in pd.unique(cal.loc[cal["task"].astype(str) == task, "judge"])]
    return [n for n in dict.fromkeys(names) if f"score_{n}" in samples.columns]


def _valid(samples: pd.DataFrame, column: str) -> pd.DataFrame:
    """Samples with this judge's score (another scorer's error leaves it standing)."""
    ok = samples[column].notna()
    if "error" in samples.columns:
        ok &= samples["error"].isna()
    return samples[ok]


def item_matrix(samples: pd.DataFrame, column: str) -> pd.DataFrame:
    """Items x variants: each item's judged score (mean over its epochs), NaN where missing."""
    valid = _valid(samples, column)
    frame = valid.assign(_score=pd.to_numeric(valid[column], errors="coerce"))
    return frame.groupby(["item_id", "variant"], sort=False)["_score"].mean().unstack(
        "variant")


def _calibration_items(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per labelled item: its mean verdict over judge epochs, and its label."""
    ok = rows[pd.to_numeric(rows["verdict"], errors="coerce").notna()]
    per = ok.assign(v=pd.to_numeric(ok["verdict"]), lab=pd.to_numeric(ok["label"])).groupby(
        ok["id"].astype(str), sort=False).agg(v=("v", "mean"), lab=("lab", "first"))
    return per["v"].to_numpy(dtype=float), per["lab"].to_numpy(dtype=float)


def _agreement_lines(name: str, rows: pd.DataFrame) -> list[str]:
    from harness.stats.judge_calibration import agreement

    a = agreement(rows["id"], rows["verdict"], rows["label"], n_boot=N_BOOT)
    epochs = a.n_rows / a.n_items
    per = f", {epochs:g} judge epochs each" if epochs > 1 else ""
    text = (f"Judge `{md_inline(name)}` against {a.n_items} labelled items "
            f"({a.positives} of its verdicts on items labelled pass, {a.negatives} on items "
            f"labelled fail{per}): it agrees with the label on {pct(a.accuracy.value)}% "
            f"{_ci(a.accuracy.low, a.accuracy.high)} of verdicts, Cohen's kappa "
            f"{a.kappa.value:.2f} [{a.kappa.low:.2f}, {a.kappa.high:.2f}]; sensitivity "
            f"(labelled passes it passed) {pct(a.sensitivity.value)}% "
            f"{_ci(a.sensitivity.low, a.sensitivity.high)}, specificity (labelled fails it "
            f"failed) {pct(a.specificity.value)}% {_ci(a.specificity.low, a.specificity.high)}.")
    if a.n_skipped:
        text += (f" {a.n_skipped} unreadable verdict(s) on labelled items were left out "
                 "(neither agreement nor disagreement).")
    lines = [text + f" Intervals: {a.method}; a graded verdict counts as a pass at 0.5 or "
             "more.", "",
             markdown_table(["judge verdict", "labelled pass", "labelled fail"],
                            [["judged pass", a.true_pass, a.false_pass],
                             ["judged fail", a.false_fail, a.true_fail]], "lrr"), ""]
    return lines


def _corrected_lines(name: str, samples: pd.DataFrame, rows: pd.DataFrame) -> list[str]:
    from harness.stats.judge_correction import correct_rates

    column = f"score_{name}"
    verdicts, labels = _calibration_items(rows)
    table, pairs, notes, refused, rates = [], [], [], None, None
    for model, part in samples.groupby("model", sort=False):
        matrix = item_matrix(part, column)
        if matrix.empty:
            continue
        got = correct_rates(matrix.to_numpy(dtype=float), verdicts, labels,
                            names=[str(c) for c in matrix.columns], n_boot=N_BOOT)
        rates, refused = got.rates, got.rates.refused
        for i, variant in enumerate(got.names):
            table.append([model, variant, pct(got.judged[i]),
                          _ci(got.judged_low[i], got.judged_high[i]),
                          pct(got.corrected[i]), _ci(got.low[i], got.high[i])])
            if got.clipped[i]:
                side = ("below the judge's false-pass rate" if got.raw[i] < 0
                        else "above the judge's sensitivity")
                notes.append(f"`{md_inline(str(model))}` / `{md_inline(variant)}`: the "
                             f"corrected rate came out at {pct(got.raw[i])}% (its judged rate "
                             f"is {side}), so it is shown clipped to {pct(got.corrected[i])}%.")
        for p in got.pairs:
            excludes = not (p["corrected_low"] <= 0 <= p["corrected_high"])
            pairs.append([model, f"{p['a']} vs {p['b']}",
                          f"{100 * p['judged_diff']:+.1f} "
                          f"[{100 * p['judged_low']:+.1f}, {100 * p['judged_high']:+.1f}]",
                          f"{100 * p['corrected_diff']:+.1f} "
                          f"[{100 * p['corrected_low']:+.1f}, {100 * p['corrected_high']:+.1f}]",
                          "yes" if excludes else "no"])
    if rates is None:
        return []
    if refused:
        return [f"The judged rates of `{md_inline(name)}` are **not corrected** for its errors: "
                f"{refused}. Its scores carry judge error of unknown size.", ""]
    lines = [f"Pass rates corrected for the errors of `{md_inline(name)}` (Rogan-Gladen: "
             f"(judged + Sp - 1) / (Se + Sp - 1), with Se = {pct(rates.sensitivity)}% and "
             f"Sp = {pct(rates.specificity)}% measured on {rates.n_pass} labelled passes and "
             f"{rates.n_fail} labelled fails). The corrected 95% intervals come from one "
             "bootstrap over the evaluated items and the labelled items, so they include the "
             "uncertainty of measuring the judge; the judged intervals cover the items only. "
             "The correction assumes the judge errs alike on every variant.", "",
             markdown_table(["model", "variant", "judged %", "95% CI (items)", "corrected %",
                             "95% CI (items and judge)"], table, "llrrrr"), ""]
    lines += [*(f"- {n}" for n in notes), ""] if notes else []
    if pairs:
        lines += ["Paired differences (points; first minus second) with the judge's noise "
                  "included: the corrected difference is the judged one divided by "
                  "Se + Sp - 1, and its interval resamples the labelled items too. Intervals "
                  "are not corrected for the number of comparisons.", "",
                  markdown_table(["model", "pair", "judged difference [95% CI]",
                                  "corrected difference [95% CI]",
                                  "corrected CI excludes 0"], pairs, "llrrl"), ""]
    return lines


def no_labels_sentence(name: str, why: str | None = None) -> str:
    """Why the judge's error is unmeasured: ``why`` says what went wrong with the labels the
    task has; without it, the task has none. Saying "no calibration set" of a task that has
    one would send the reader to add what is already there."""
    if why is None:
        why = ("the task has no calibration set (items with a known pass/fail label). Add "
               "`calibration: <file>.jsonl` to the task to measure and correct them")
    return (f"The scores of judge `{md_inline(name)}` carry judge error that this run did not "
            f"measure, so their intervals cover the sampling of items only, not the judge's "
            f"mistakes: {why}.")


def _repeatability_lines(name: str, samples: pd.DataFrame) -> list[str]:
    from harness.stats.judge_repeatability import repeatability, verdict_lists

    lists = verdict_lists(samples, name)
    if not lists:
        return []
    got = repeatability(lists, n_boot=N_BOOT)
    if got is None:
        return [f"Judge `{md_inline(name)}` graded each sample once, so its repeatability is "
                "not measured (give the judge `epochs: 3` to measure it).", ""]
    return [f"Judge `{md_inline(name)}` graded each of {got.n_samples} samples "
            f"{got.judge_epochs:g} times: two of its verdicts on one sample agree "
            f"{pct(got.agreement)}% of the time, and all of them agreed on "
            f"{pct(got.unanimous)}% of samples. Its own noise is {pct(got.judge_share_single)}% "
            f"{_ci(got.share_low, got.share_high)} of the variance of a single verdict and "
            f"{pct(got.judge_share_score)}% of the variance of a sample's averaged score "
            "(the rest is the difference between samples).", ""]


def judges_markdown(samples: pd.DataFrame, task: str, data: JudgeData | None) -> list[str]:
    """The judge sections of one task's report; empty when the task has no judge."""
    from harness.report.judges_pairwise import pairwise_markdown

    lines: list[str] = []
    cal = data.calibration if data is not None else None
    for name in judged_scores(samples, task, data):
        rows: Any = None
        if cal is not None:
            rows = cal[(cal["task"].astype(str) == task) & (cal["judge"].astype(str) == name)]
        lines += [f"### Judge `{md_inline(name)}`: how far to trust it", ""]
        labelled = rows is not None and pd.to_numeric(rows["verdict"], errors="coerce").notna(
        ).any()
        if labelled:
            try:
                lines += _agreement_lines(name, rows)
                lines += _corrected_lines(name, samples, rows)
            except StatsError as exc:  # damaged labels must not cost the report of a run
                lines += [no_labels_sentence(
                    name, f"its agreement with the labels could not be measured "
                          f"({md_inline(str(exc))})"), ""]
        elif rows is not None and len(rows):
            lines += [no_labels_sentence(
                name, f"it gave no readable verdict on any of the {rows['id'].nunique()} "
                      "labelled items, so its agreement with them is unknown (a judge that "
                      "cannot write the rubric's verdict line cannot be trusted to grade)"), ""]
        else:
            lines += [no_labels_sentence(name), ""]
        lines += _repeatability_lines(name, samples)
    lines += pairwise_markdown(task, data.pairwise if data is not None else None)
    return lines
