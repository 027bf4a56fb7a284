"""Simulations: the sequential procedure keeps its error rates under continuous monitoring.

Every simulation looks after *every* item and stops at the first decision, which is what
``run --until-decided`` and ``check --sequential`` do. Monte Carlo tolerance: with R = 2000
simulated runs the standard error of a rate near 0.05 is 0.0049; we allow 3 SE (0.015) above
alpha. The naive comparison (the fixed-size test repeated after every item) must exceed 0.15,
three times its nominal 0.05, for the same data.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.stats.sequential import (
    BettingCS,
    DiscordantMixture,
    default_grid,
    grid_with,
    naive_rejections,
)

ALPHA = 0.05
R = 2000
T = 300
TOL = 0.015


def _binary(rng: np.random.Generator, effect: float, discordance: float = 0.3,
            runs: int = R, items: int = T) -> np.ndarray:
    """Paired pass/fail differences: +1 with prob (q + e)/2, -1 with prob (q - e)/2."""
    u = rng.random((runs, items))
    up, down = (discordance + effect) / 2, (discordance - effect) / 2
    return np.where(u < up, 1.0, np.where(u < up + down, -1.0, 0.0))


def _first_rejections(d: np.ndarray, point: float, alpha_lower: float,
                      alpha_upper: float) -> tuple[np.ndarray, np.ndarray]:
    """Per run: ever shown above ``point``, ever shown below it (looking after every item)."""
    cs = BettingCS(d.shape[0], alpha_lower, alpha_upper, np.array([point]))
    for t in range(d.shape[1]):
        cs.update(d[:, t])
    return cs.above[:, 0], cs.below[:, 0]


def test_binary_null_sequential_stays_at_alpha_and_naive_peeking_does_not() -> None:
    d = _binary(np.random.default_rng(11), 0.0)
    above, below = _first_rejections(d, 0.0, ALPHA / 2, ALPHA / 2)
    sequential = float((above | below).mean())
    naive = float(naive_rejections(d, ALPHA, test="mcnemar").mean())
    assert sequential <= ALPHA + TOL, sequential
    assert naive > 0.15, naive  # the harness's own exact McNemar, peeked at 300 times


def test_discordant_mixture_null_stays_at_alpha_with_several_pairs() -> None:
    """What ``run --until-decided`` does for pass/fail pairs: k = 3 pairs (three variants),
    each at alpha / 2k per side (Bonferroni); the chance that *any* pair is declared different
    when none is, looking after every item, stays at or below alpha."""
    rng = np.random.default_rng(16)
    k = 3
    mix = DiscordantMixture(R * k, ALPHA / (2 * k))
    d = _binary(rng, 0.0, runs=R * k)
    for t in range(T):
        mix.update(d[:, t])
    any_false = (mix.above | mix.below).reshape(R, k).any(axis=1)
    assert any_false.mean() <= ALPHA + TOL, any_false.mean()
    single = DiscordantMixture(R, ALPHA / 2)
    for t in range(T):
        single.update(d[:R, t])
    assert (single.above | single.below).mean() <= ALPHA + TOL


def test_discordant_mixture_finds_a_real_difference() -> None:
    d = _binary(np.random.default_rng(17), 0.2, runs=500)
    mix = DiscordantMixture(500, ALPHA / 2)
    for t in range(T):
        mix.update(d[:, t])
    assert mix.above.mean() > 0.95 and not mix.below.any()
    with pytest.raises(ValueError, match="-1, 0 or 1"):
        mix.update(np.full(500, 0.5))


def test_graded_null_sequential_stays_at_alpha_and_naive_peeking_does_not() -> None:
    rng = np.random.default_rng(12)
    # graded scores in [0, 1], the same distribution for both variants, correlated per item
    item = rng.beta(2, 2, (R, T))
    a = np.clip(item + rng.normal(0, 0.15, (R, T)), 0, 1)
    b = np.clip(item + rng.normal(0, 0.15, (R, T)), 0, 1)
    d = a - b
    above, below = _first_rejections(d, 0.0, ALPHA / 2, ALPHA / 2)
    sequential = float((above | below).mean())
    naive = float(naive_rejections(d, ALPHA, test="t").mean())
    assert sequential <= ALPHA + TOL, sequential
    assert naive > 0.15, naive


@pytest.mark.parametrize("margin", [0.02, 0.05])
def test_gate_error_rates_at_the_margin(margin: float) -> None:
    """At the boundary (true drop exactly the margin) the gate may neither fail (the drop is
    not larger) nor pass (it is not smaller) more often than alpha: the worst case of both."""
    d = _binary(np.random.default_rng(13), -margin)
    shows_above, shows_below = _first_rejections(d, -margin, ALPHA, ALPHA)
    assert shows_below.mean() <= ALPHA + TOL  # a false "fail"
    assert shows_above.mean() <= ALPHA + TOL  # a false "pass"


def test_confidence_sequence_covers_the_mean_at_all_times() -> None:
    rng = np.random.default_rng(14)
    runs, effect = 500, 0.1
    d = _binary(rng, effect, runs=runs)
    cs = BettingCS(runs, ALPHA / 2, ALPHA / 2, default_grid(0.01))
    missed = np.zeros(runs, dtype=bool)
    for t in range(T):
        cs.update(d[:, t])
        missed |= (cs.lower >= effect) | (cs.upper <= effect)
    assert missed.mean() <= ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / runs)
    # and it is informative: after 300 items the interval is well inside [-1, 1]
    assert np.median(cs.upper - cs.lower) < 0.35


def test_a_real_difference_is_found_and_in_the_right_direction() -> None:
    d = _binary(np.random.default_rng(15), 0.3, runs=200)
    above, below = _first_rejections(d, 0.0, ALPHA / 2, ALPHA / 2)
    assert above.mean() > 0.95 and not below.any()


def test_bounds_are_monotone_and_sticky() -> None:
    cs = BettingCS(1, 0.025, 0.025, grid_with([0.02, -0.02]))
    lows = []
    for value in [1.0] * 30 + [-1.0] * 5:
        cs.update(np.array([value]))
        lows.append(float(cs.lower[0]))
        above = cs.above[0]
        # rejected at m implies rejected at every smaller m (an interval)
        if above.any():
            assert above[: np.flatnonzero(above).max() + 1].all()
    assert lows == sorted(lows) and lows[-1] > 0  # the running intersection never widens


def test_masked_streams_and_bad_input() -> None:
    cs = BettingCS(2, 0.025, 0.025, np.array([0.0]))
    cs.update(np.array([1.0, np.nan]))
    assert list(cs.n) == [1, 0]
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        cs.update(np.array([2.0, 0.0]))
    with pytest.raises(ValueError, match="grid point"):
        cs.excludes_above(0.5)
