"""The report's judge sections, read against the truth of a simulated judged run: every number
a sentence gives is the statistic's, and the truth lies where the sentence says it does."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from judge_sim import JUDGE, TASK, simulate, write_judged_run

from harness.errors import ConfigError
from harness.report import write_report
from harness.report.judge_data import JudgeData, load_judge_data
from harness.report.judges import judges_markdown
from harness.stats.judge_calibration import agreement

NUM = r"([-+]?[\d.]+)"
CI = rf"\[{NUM}, {NUM}\]"


def _render(**kwargs: object) -> str:
    samples, data, _ = simulate(**kwargs)  # type: ignore[arg-type]
    return "\n".join(judges_markdown(samples, TASK, data))


def _rows(md: str, column: str) -> list[list[str]]:
    """The body rows of the first table with a column headed ``column``."""
    lines = md.split("\n")
    start = next(i for i, line in enumerate(lines)
                 if line.startswith("|") and f"| {column} |" in line)
    out = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        out.append([c.strip() for c in line.strip("|").split("|")])
    return out


def _inside(truth: float, cell: str) -> bool:
    low, high = (float(x) for x in re.fullmatch(CI, cell).groups())  # type: ignore[union-attr]
    return low <= truth <= high


def test_agreement_sentence_gives_the_statistics_and_holds_the_truth() -> None:
    samples, data, truth = simulate(se=0.9, sp=0.8, seed=1)
    md = "\n".join(judges_markdown(samples, TASK, data))
    cal = data.calibration
    assert cal is not None
    ref = agreement(cal["id"], cal["verdict"], cal["label"], n_boot=2000)
    m = re.search(rf"agrees with the label on {NUM}% {CI} of verdicts, Cohen's kappa "
                  rf"{NUM} {CI}; sensitivity \(labelled passes it passed\) {NUM}% {CI}, "
                  rf"specificity \(labelled fails it failed\) {NUM}% {CI}\.", md)
    assert m, md
    acc, acc_lo, acc_hi, kappa, _, _, se, se_lo, se_hi, sp, sp_lo, sp_hi = map(float, m.groups())
    assert acc == pytest.approx(100 * ref.accuracy.value, abs=0.05)
    assert acc_lo == pytest.approx(100 * ref.accuracy.low, abs=0.05)
    assert acc_hi == pytest.approx(100 * ref.accuracy.high, abs=0.05)
    assert sp == pytest.approx(100 * ref.specificity.value, abs=0.05)
    assert kappa == pytest.approx(ref.kappa.value, abs=0.005)
    assert se_lo <= 100 * truth.se <= se_hi and sp_lo <= 100 * truth.sp <= sp_hi
    assert se == pytest.approx(100 * ref.sensitivity.value, abs=0.05)
    assert "against 200 labelled items" in md
    (tp_row, fn_row) = _rows(md, "judge verdict")
    assert [int(tp_row[1]), int(tp_row[2]), int(fn_row[1]), int(fn_row[2])] == [
        ref.true_pass, ref.false_pass, ref.false_fail, ref.true_fail]


def test_corrected_rates_hold_the_truth_and_the_judged_ones_do_not() -> None:
    samples, data, truth = simulate(rates={"terse": 0.3, "friendly": 0.6}, se=0.9, sp=0.8,
                                    seed=2)
    md = "\n".join(judges_markdown(samples, TASK, data))
    rows = {r[1]: r for r in _rows(md, "corrected %")}
    # the judge passes 20% of true fails: a 30% variant is judged near 0.3*0.9 + 0.7*0.2 = 41%
    assert not _inside(30.0, rows["terse"][3])
    for variant, rate in truth.rates.items():
        assert _inside(100 * rate, rows[variant][5]), rows[variant]
    (pair,) = _rows(md, "corrected CI excludes 0")
    judged, corrected = pair[2], pair[3]
    true_diff = 100 * (truth.rates["terse"] - truth.rates["friendly"])
    assert _inside(true_diff, corrected.split(" ", 1)[1])
    assert not _inside(true_diff, judged.split(" ", 1)[1])  # the judge shrinks differences
    assert pair[4] == "yes"
    assert "assumes the judge errs alike on every variant" in md


def test_without_labels_the_report_says_the_judge_error_is_unmeasured() -> None:
    md = _render(labels=False)
    assert ("The scores of judge `helpful` carry judge error that this run did not measure"
            in md)
    assert "corrected" not in md.lower().split("pairwise")[0].replace(
        "measure and correct them", "")


def test_a_judge_near_chance_is_not_corrected_and_the_report_says_why() -> None:
    md = _render(se=0.55, sp=0.5, seed=3)
    assert "are **not corrected** for its errors" in md
    assert "barely better than chance" in md and "Youden" in md
    assert "95% CI (items and judge)" not in md


def test_too_few_labels_of_one_kind_are_not_corrected() -> None:
    md = _render(n_labels=(4, 100))
    assert "the labelled set has 4 pass and 100 fail label(s)" in md
    assert "**not corrected**" in md


def test_a_corrected_rate_below_zero_is_shown_clipped_with_its_raw_value() -> None:
    samples, _, _ = simulate(rates={"terse": 0.5, "friendly": 0.5}, seed=4)
    column = f"score_{JUDGE}"
    terse = samples["variant"] == "terse"
    samples.loc[terse, column] = (np.arange(terse.sum()) % 10 == 0).astype(float)  # 10%
    labels = np.r_[np.ones(100), np.zeros(100)]
    verdicts = np.r_[np.ones(90), np.zeros(10), np.ones(20), np.zeros(80)]  # Se .9, Sp .8
    cal = pd.DataFrame({"task": TASK, "judge": JUDGE, "id": [f"c{i}" for i in range(200)],
                        "verdict": verdicts, "label": labels})
    md = "\n".join(judges_markdown(samples, TASK, JudgeData(calibration=cal)))
    raw = 100 * (0.1 + 0.8 - 1) / 0.7
    assert f"the corrected rate came out at {raw:.1f}%" in md
    assert "below the judge's false-pass rate" in md and "clipped to 0.0%" in md
    assert {r[1]: r[4] for r in _rows(md, "corrected %")}["terse"] == "0.0"


def test_repeatability_of_a_sampled_judge_against_its_known_noise() -> None:
    samples, data, truth = simulate(judge_epochs=3, se=0.9, sp=0.8, seed=5)
    md = "\n".join(judges_markdown(samples, TASK, data))
    m = re.search(rf"graded each of 600 samples 3 times: two of its verdicts on one sample "
                  rf"agree {NUM}% of the time, and all of them agreed on {NUM}% of samples\. "
                  rf"Its own noise is {NUM}% {CI} of the variance of a single verdict", md)
    assert m, md
    share_true = np.mean([r for r in truth.rates.values()])
    p_pass = share_true * truth.se + (1 - share_true) * (1 - truth.sp)
    within = share_true * truth.se * (1 - truth.se) + (1 - share_true) * truth.sp * (
        1 - truth.sp)
    agree = share_true * (truth.se**2 + (1 - truth.se) ** 2) + (1 - share_true) * (
        truth.sp**2 + (1 - truth.sp) ** 2)
    assert float(m.group(1)) == pytest.approx(100 * agree, abs=3)
    low, high = float(m.group(4)), float(m.group(5))
    assert low <= 100 * within / (p_pass * (1 - p_pass)) <= high


def test_a_judge_asked_once_says_its_repeatability_is_unmeasured() -> None:
    assert "graded each sample once, so its repeatability is not measured" in _render()


@pytest.mark.parametrize(("bias", "verdict"), [
    (0.8, "a bias towards the first position"),
    (-0.8, "a bias towards the second position"),
    (0.0, "no position bias detected (the interval holds 50%)"),
])
def test_position_bias_sentence_against_a_simulated_bias(bias: float, verdict: str) -> None:
    md = _render(first_bias=bias, n_items=450, seed=6)
    m = re.search(rf"preferred the answer shown first in {NUM}% {CI} of 300 decided", md)
    assert m, md
    true_share = 1 / (1 + math.exp(-bias))
    assert float(m.group(2)) <= 100 * true_share <= float(m.group(3))
    assert verdict in md


def test_win_rates_and_ranking_against_known_strengths() -> None:
    strengths = {"a": 1.0, "b": 0.3, "c": -0.2, "d": -1.1}
    md = _render(rates=dict.fromkeys(strengths, 0.5), strengths=strengths, n_items=240,
                 seed=7)
    ranked = _rows(md, "ranked first %")
    assert [r[3] for r in ranked] == ["a", "b", "c", "d"]
    centred = {k: v - np.mean(list(strengths.values())) for k, v in strengths.items()}
    for r in ranked:
        low, high = (float(x) for x in re.fullmatch(CI, r[5]).groups())  # type: ignore
        assert low <= centred[r[3]] <= high
    wins = _rows(md, "win rate %")
    assert len(wins) == 6
    misses = []
    for r in wins:
        a, b = r[2].split(" vs ")
        true = 100 / (1 + math.exp(-(strengths[a] - strengths[b])))
        if not _inside(true, r[4]):
            misses.append(r)
        assert (float(r[3]) > 50) == (true > 50), r  # every pair's winner is the true one
    # six 95% intervals: one may miss by chance (P = 0.23), two rarely do (P = 0.03)
    assert len(misses) <= 1, misses


def test_a_task_without_judges_gets_no_judge_section() -> None:
    samples, _, _ = simulate(labels=False, pairwise=False)
    samples.attrs["manifest"] = {"scorers": {TASK: [{"name": JUDGE, "kind": "binary"}]}}
    assert judges_markdown(samples, TASK, JudgeData()) == []


def test_the_run_report_shows_the_judge_sections(tmp_path: Path) -> None:
    samples, data, _ = simulate(judge_epochs=2, first_bias=0.8, seed=8)
    run = write_judged_run(tmp_path, samples, data)
    md = write_report(run, tmp_path / "reports", html=True).read_text()
    for text in ("### Judge `helpful`: how far to trust it", "95% CI (items and judge)",
                 "Judge `helpful` graded each of 600 samples 2 times",
                 "### Pairwise preferences", "a bias towards the first position"):
        assert text in md
    page = (tmp_path / "reports" / "judged.html").read_text()
    assert "Pairwise preferences" in page and "how far to trust it" in page


def test_a_damaged_judge_file_names_its_line(tmp_path: Path) -> None:
    (tmp_path / "pairwise.jsonl").write_text('{"task": "t"}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"pairwise.jsonl:1: row has no model"):
        load_judge_data(tmp_path)
    (tmp_path / "pairwise.jsonl").write_text("not json\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"pairwise.jsonl:1: not a JSON row"):
        load_judge_data(tmp_path)
    assert load_judge_data(tmp_path / "nothing") == JudgeData()


def test_labels_that_are_not_pass_or_fail_are_reported_not_raised() -> None:
    samples, data, _ = simulate(pairwise=False)
    assert data.calibration is not None
    data.calibration.loc[0, "label"] = 7
    md = "\n".join(judges_markdown(samples, TASK, data))
    assert "could not be measured (a human label must be 0 (fail) or 1 (pass))" in md
    assert "carry judge error that this run did not measure" in md


def test_a_judge_with_no_readable_verdict_on_its_labels_is_not_said_to_lack_labels() -> None:
    # The embedded 135M judge never writes a verdict line: the task has a calibration set, and
    # the report must say the judge failed it, not send the reader to add one.
    samples, data, _ = simulate(pairwise=False)
    assert data.calibration is not None
    data.calibration["verdict"] = None
    n = data.calibration["id"].nunique()
    md = "\n".join(judges_markdown(samples, TASK, data))
    assert f"it gave no readable verdict on any of the {n} labelled items" in md
    assert "carry judge error that this run did not measure" in md
    assert "no calibration set" not in md
