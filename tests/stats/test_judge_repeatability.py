"""A sampled judge's self-agreement and variance share, against a simulated judge of known
noise, and against the repeats decomposition it reuses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harness.stats.judge_repeatability import repeatability, verdict_lists
from harness.stats.variance import variance_split


def _judge(n: int, k: int, flip: float, seed: int) -> list[list[float]]:
    """Samples whose true verdict is pass with probability 0.5, graded k times by a judge that
    flips each verdict with probability ``flip``."""
    rng = np.random.default_rng(seed)
    truth = rng.random(n) < 0.5
    flips = rng.random((n, k)) < flip
    return (truth[:, None] ^ flips).astype(float).tolist()


def test_self_agreement_and_judge_share_match_the_simulated_noise() -> None:
    flip = 0.1
    got = repeatability(_judge(2000, 3, flip, seed=1), n_boot=500)
    assert got is not None
    # two epochs agree when both or neither flip
    assert got.agreement == pytest.approx(flip**2 + (1 - flip) ** 2, abs=0.015)
    assert got.unanimous == pytest.approx(flip**3 + (1 - flip) ** 3, abs=0.02)
    # one verdict: variance 0.25 in all, judge part flip(1 - flip) = 0.09
    assert got.judge_share_single == pytest.approx(0.09 / 0.25, abs=0.04)
    assert got.share_low <= 0.36 <= got.share_high
    assert got.judge_epochs == pytest.approx(3)
    assert got.judge_share_score < got.judge_share_single  # averaging 3 epochs helps


def test_a_deterministic_judge_has_no_judge_variance() -> None:
    got = repeatability(_judge(200, 2, 0.0, seed=2), n_boot=200)
    assert got is not None
    assert got.agreement == 1.0 and got.unanimous == 1.0 and got.judge_share_single == 0.0


def test_reuses_the_repeats_decomposition() -> None:
    verdicts = _judge(300, 4, 0.2, seed=3)
    got = repeatability(verdicts, n_boot=100)
    arr = np.array(verdicts)
    split = variance_split(arr.mean(1), arr.var(1, ddof=1), np.full(300, 4))
    assert (got.between, got.within) == pytest.approx((split.between, split.within))


def test_needs_judge_epochs() -> None:
    assert repeatability([[1.0], [0.0], [1.0]]) is None


def test_verdicts_read_from_score_details_skipping_errors() -> None:
    detail = {"j": {"metadata": {"verdicts": [{"judge_epoch": 0, "value": 1.0},
                                              {"judge_epoch": 1, "value": 0.0}]}}}
    samples = pd.DataFrame({"error": [None, "boom", None], "scoring_error": [None] * 3,
                            "score_details": [detail, detail, None]})
    assert verdict_lists(samples, "j") == [[1.0, 0.0]]
    assert verdict_lists(samples, "other") == []
