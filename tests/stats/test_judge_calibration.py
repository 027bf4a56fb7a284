"""Judge agreement with human labels, checked against statsmodels on the same data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.inter_rater import cohens_kappa
from statsmodels.stats.proportion import proportion_confint

from harness.stats.errors import StatsError
from harness.stats.judge_calibration import agreement, calibration_agreement


def _data(seed: int = 3, n: int = 200, se: float = 0.9, sp: float = 0.75):
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.4).astype(int)
    verdicts = np.where(labels == 1, rng.random(n) < se, rng.random(n) >= sp).astype(int)
    return [f"c{i}" for i in range(n)], verdicts, labels


def test_point_estimates_and_intervals_match_statsmodels() -> None:
    ids, v, lab = _data()
    got = agreement(ids, v, lab, n_boot=4000)
    tp = int(((v == 1) & (lab == 1)).sum())
    fp = int(((v == 1) & (lab == 0)).sum())
    fn = int(((v == 0) & (lab == 1)).sum())
    tn = int(((v == 0) & (lab == 0)).sum())
    assert (got.true_pass, got.false_pass, got.false_fail, got.true_fail) == (tp, fp, fn, tn)
    table = np.array([[tp, fn], [fp, tn]])
    ref = cohens_kappa(table)
    assert got.kappa.value == pytest.approx(ref.kappa, abs=1e-12)
    # the bootstrap interval of kappa is close to the asymptotic one for n = 200
    assert got.kappa.low == pytest.approx(ref.kappa_low, abs=0.03)
    assert got.kappa.high == pytest.approx(ref.kappa_upp, abs=0.03)
    assert got.accuracy.value == pytest.approx((tp + tn) / len(v))
    assert (got.accuracy.low, got.accuracy.high) == pytest.approx(
        proportion_confint(tp + tn, len(v), method="wilson"))
    assert got.sensitivity.value == pytest.approx(tp / (tp + fn))
    assert (got.sensitivity.low, got.sensitivity.high) == pytest.approx(
        proportion_confint(tp, tp + fn, method="wilson"))
    assert got.specificity.value == pytest.approx(tn / (tn + fp))
    assert (got.specificity.low, got.specificity.high) == pytest.approx(
        proportion_confint(tn, tn + fp, method="wilson"))
    assert got.youden.value == pytest.approx(tp / (tp + fn) + tn / (tn + fp) - 1)


def test_unreadable_verdicts_are_skipped_not_scored() -> None:
    ids, v, lab = _data(n=50)
    verdicts = [None if i % 5 == 0 else x for i, x in enumerate(v.tolist())]
    got = agreement(ids, verdicts, lab)
    assert got.n_skipped == 10 and got.n_rows == 40
    keep = [i for i in range(50) if i % 5]
    ref = agreement([ids[i] for i in keep], v[keep], lab[keep])
    assert got.accuracy == ref.accuracy and got.kappa == ref.kappa


def test_judge_epochs_resample_whole_items() -> None:
    """Two identical epochs per item carry no more information than one: the intervals must
    not shrink as if there were twice the items."""
    ids, v, lab = _data(n=120)
    one = agreement(ids, v, lab, n_boot=4000)
    two = agreement(ids + ids, np.r_[v, v], np.r_[lab, lab], n_boot=4000)
    assert two.accuracy.value == pytest.approx(one.accuracy.value)
    assert "bootstrap" in two.method
    width_one = one.accuracy.high - one.accuracy.low
    width_two = two.accuracy.high - two.accuracy.low
    assert width_two == pytest.approx(width_one, rel=0.2)


def test_perfect_judge_and_bad_input() -> None:
    got = agreement(["a", "b", "c", "d"], [1, 1, 0, 0], [1, 1, 0, 0])
    assert got.accuracy.value == 1.0 and got.kappa.value == 1.0
    with pytest.raises(StatsError):
        agreement(["a"], [None], [1])
    with pytest.raises(StatsError, match="label"):
        agreement(["a"], [1], [2])
    with pytest.raises(StatsError, match="verdict"):
        agreement(["a"], [1.5], [1])


def test_graded_verdicts_pass_at_one_half() -> None:
    got = agreement(["a", "b", "c", "d"], [0.9, 0.5, 0.49, 0.0], [1, 1, 0, 1])
    assert (got.true_pass, got.false_pass, got.false_fail, got.true_fail) == (2, 0, 1, 1)


def test_per_task_and_judge() -> None:
    ids, v, lab = _data(n=60)
    rows = pd.DataFrame({"task": "t", "judge": np.repeat(["j1", "j2"], 30),
                         "id": ids[:60], "verdict": v[:60], "label": lab[:60]})
    got = calibration_agreement(rows)
    assert set(got) == {("t", "j1"), ("t", "j2")}
    assert got[("t", "j1")].n_rows == 30
