"""Corrected pass rates: the joint bootstrap covers the true rate at its nominal level when a
simulated judge has known error rates, and the naive judged-rate interval does not."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.stats.intervals import wilson_interval
from harness.stats.judge_correction import (
    MIN_PER_LABEL,
    correct_rates,
    judge_rates,
    rogan_gladen,
)

N_SIMS = 300
# coverage is a binomial share of N_SIMS runs: 3 standard errors around the nominal 95%
TOLERANCE = 3 * math.sqrt(0.95 * 0.05 / N_SIMS)  # 0.038


def _judge(truth: np.ndarray, se: float, sp: float, rng: np.random.Generator) -> np.ndarray:
    u = rng.random(truth.shape)
    return np.where(truth == 1, u < se, u >= sp).astype(float)


def _simulate(pi: tuple[float, float], se: float, sp: float, n_items: int, n_labels: int,
              seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    hits = {"a": 0, "b": 0, "naive_a": 0, "diff": 0, "naive_diff": 0}
    true_diff = pi[0] - pi[1]
    for s in range(N_SIMS):
        truth = np.stack([rng.random(n_items) < p for p in pi], axis=1).astype(float)
        judged = _judge(truth, se, sp, rng)
        labels = np.r_[np.ones(n_labels), np.zeros(n_labels)]
        verdicts = _judge(labels, se, sp, rng)
        got = correct_rates(judged, verdicts, labels, n_boot=400, seed=s)
        assert got.rates.refused is None
        hits["a"] += got.low[0] <= pi[0] <= got.high[0]
        hits["b"] += got.low[1] <= pi[1] <= got.high[1]
        low, high = wilson_interval(judged[:, 0].sum(), n_items)
        hits["naive_a"] += low <= pi[0] <= high
        pair = got.pairs[0]
        hits["diff"] += pair["corrected_low"] <= true_diff <= pair["corrected_high"]
        hits["naive_diff"] += pair["judged_low"] <= true_diff <= pair["judged_high"]
    return {k: v / N_SIMS for k, v in hits.items()}


def test_corrected_intervals_cover_at_nominal_level_and_naive_do_not() -> None:
    cover = _simulate((0.3, 0.5), se=0.85, sp=0.8, n_items=200, n_labels=60, seed=11)
    assert abs(cover["a"] - 0.95) <= TOLERANCE, cover
    assert abs(cover["b"] - 0.95) <= TOLERANCE, cover
    assert abs(cover["diff"] - 0.95) <= TOLERANCE, cover
    # the judge inflates 30% to 0.3*0.85 + 0.7*0.2 = 39.5%: the naive interval misses
    assert cover["naive_a"] < 0.5, cover
    # and shrinks every difference by J = 0.65: its interval rarely holds the true -20 points
    assert cover["naive_diff"] < 0.8, cover


def test_rogan_gladen_inverts_the_judge() -> None:
    pi = np.linspace(0, 1, 11)
    se, sp = 0.9, 0.7
    judged = pi * se + (1 - pi) * (1 - sp)
    assert rogan_gladen(judged, se, sp) == pytest.approx(pi)
    assert np.isnan(rogan_gladen(0.5, 0.5, 0.5))  # J = 0: no correction exists


def test_a_perfect_judge_changes_nothing() -> None:
    rng = np.random.default_rng(0)
    x = (rng.random((100, 2)) < [0.4, 0.7]).astype(float)
    labels = np.r_[np.ones(30), np.zeros(30)]
    got = correct_rates(x, labels, labels, n_boot=500)
    assert got.corrected == pytest.approx(x.mean(axis=0))
    assert got.pairs[0]["corrected_diff"] == pytest.approx(x[:, 0].mean() - x[:, 1].mean())


def test_estimates_outside_0_1_are_clipped_and_flagged() -> None:
    # judged rate 10% but the judge passes 20% of true fails: the raw estimate is negative
    x = np.r_[np.ones(10), np.zeros(90)]
    labels = np.r_[np.ones(50), np.zeros(50)]
    verdicts = np.r_[np.ones(45), np.zeros(5), np.ones(10), np.zeros(40)]  # Se .9, Sp .8
    got = correct_rates(x, verdicts, labels, n_boot=500)
    assert got.raw[0] == pytest.approx((0.1 + 0.8 - 1) / 0.7)
    assert got.raw[0] < 0 and got.clipped[0]
    assert got.corrected[0] == 0.0 and got.low[0] == 0.0 and 0 < got.high[0] < 0.2


def test_refuses_a_judge_near_chance_and_says_why() -> None:
    rng = np.random.default_rng(1)
    labels = np.r_[np.ones(40), np.zeros(40)]
    verdicts = (rng.random(80) < 0.5).astype(float)  # a coin: J near 0
    got = correct_rates(np.ones((20, 1)), verdicts, labels, n_boot=500)
    assert got.rates.refused and "barely better than chance" in got.rates.refused
    assert np.isnan(got.corrected).all() and got.pairs == []
    assert got.judged[0] == 1.0  # the judged rate is still shown


def test_refuses_too_few_labels_of_one_kind() -> None:
    labels = np.r_[np.ones(MIN_PER_LABEL - 1), np.zeros(50)]
    rates = judge_rates(labels, labels)
    assert rates.refused and f"{MIN_PER_LABEL - 1} pass" in rates.refused


def test_graded_verdicts_use_mean_verdicts() -> None:
    labels = np.r_[np.ones(20), np.zeros(20)]
    verdicts = np.r_[np.full(20, 0.8), np.full(20, 0.3)]
    rates = judge_rates(verdicts, labels)
    assert (rates.sensitivity, rates.specificity) == pytest.approx((0.8, 0.7))


def test_items_missing_on_one_side_leave_only_that_pair() -> None:
    rng = np.random.default_rng(2)
    x = (rng.random((80, 3)) < 0.5).astype(float)
    x[:20, 2] = np.nan  # the third variant errored on 20 items
    labels = np.r_[np.ones(30), np.zeros(30)]
    got = correct_rates(x, labels, labels, n_boot=300)
    by_pair = {(p["a"], p["b"]): p for p in got.pairs}
    assert by_pair[("0", "1")]["n_items"] == 80 and by_pair[("0", "2")]["n_items"] == 60
    assert by_pair[("0", "2")]["judged_diff"] == pytest.approx(
        np.mean(x[20:, 0] - x[20:, 2]))
    assert got.judged[2] == pytest.approx(np.nanmean(x[:, 2]))
