"""MDE and sample size against statsmodels' power solver, and by simulation; the plan table."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.power import NormalIndPower

from harness.analysis import format_plan, plan
from harness.stats import (
    StatsError,
    items_needed,
    mcnemar_exact,
    minimum_detectable_effect,
    paired_sd,
    power_at,
)
from harness.stats.power import mcnemar_items_needed, mcnemar_power


@pytest.mark.parametrize(("effect", "sd", "alpha", "power"), [
    (0.03, 0.4, 0.05, 0.8), (0.1, 0.5, 0.05, 0.9), (0.05, 0.2, 0.01, 0.8), (0.2, 0.7, 0.1, 0.95),
])
def test_items_needed_matches_statsmodels_one_sample_normal_power(
    effect: float, sd: float, alpha: float, power: float
) -> None:
    # statsmodels also counts the far rejection tail, which is negligible at power >= 0.8
    ref = NormalIndPower().solve_power(effect_size=effect / sd, alpha=alpha, power=power, ratio=0)
    assert items_needed(effect, sd, alpha, power) == pytest.approx(ref, rel=1e-4)


@pytest.mark.parametrize("n", [20, 200, 5000])
def test_mde_matches_statsmodels_solved_effect_size(n: int) -> None:
    sd = 0.45
    ref = NormalIndPower().solve_power(effect_size=None, nobs1=n, alpha=0.05, power=0.8, ratio=0)
    assert minimum_detectable_effect(sd / np.sqrt(n)) == pytest.approx(ref * sd, rel=1e-4)


def test_power_at_matches_statsmodels() -> None:
    sd, n, effect = 0.5, 300, 0.06
    ref = NormalIndPower().power(effect_size=effect / sd, nobs1=n, alpha=0.05, ratio=0)
    assert power_at(effect, sd / np.sqrt(n)) == pytest.approx(ref, rel=1e-9)


def test_planned_items_give_the_promised_power_for_mcnemar_by_simulation() -> None:
    # Pass/fail pair: A-only 15% of items, B-only 10%, so the true difference is 5 points.
    p_a_only, p_b_only = 0.15, 0.10
    effect = p_a_only - p_b_only
    sd = np.sqrt(p_a_only + p_b_only - effect**2)
    n = int(np.ceil(items_needed(effect, sd)))
    rng = np.random.default_rng(0)
    draws = rng.multinomial(n, [p_a_only, p_b_only, 1 - p_a_only - p_b_only], size=4000)
    p = mcnemar_exact(draws[:, 0], draws[:, 1]).p_value
    empirical = float(np.mean(p < 0.05))
    # The exact test is slightly conservative; the normal plan should land within a few points.
    assert 0.74 <= empirical <= 0.85, empirical


def test_paired_sd_from_rates_and_correlation() -> None:
    a, b, rho = 0.6, 0.7, 0.5
    expected = np.sqrt(0.24 + 0.21 - 2 * rho * np.sqrt(0.24 * 0.21))
    assert paired_sd(a, b, rho) == pytest.approx(expected)
    with pytest.raises(StatsError):
        paired_sd(1.5, 0.5, 0.1)


def test_plan_from_a_pilot_uses_its_observed_spread(
    make_samples: Callable[..., pd.DataFrame],
) -> None:
    pilot = make_samples(variants={"zero-shot": 0.6, "few-shot": 0.7}, n_items=150, seed=3)
    table = plan(pilot, 0.03)
    assert len(table) == 1
    row = table.iloc[0]
    wide = pilot.pivot(index="item_id", columns="variant", values="score_exact")
    d = wide["zero-shot"] - wide["few-shot"]
    assert row["n_pilot"] == 150
    assert row["sd_diff"] == pytest.approx(d.std(ddof=1))
    assert row["discordance"] == pytest.approx(np.mean(d != 0))
    z = sps.norm.ppf(0.975) + sps.norm.ppf(0.8)
    # Pass/fail pairs are judged by the exact McNemar test, which needs more items than the
    # z formula says; the plan is the first n at which that test reaches 80% power.
    disc = float(np.mean(d != 0))
    needed = int(row["n_items_needed"])
    assert needed > np.ceil((z * d.std(ddof=1) / 0.03) ** 2)
    assert mcnemar_power(needed, disc, 0.03) >= 0.8 > mcnemar_power(needed - 1, disc, 0.03)
    assert "exact McNemar" in row["note"]
    assert row["pilot_mde"] == pytest.approx(z * d.std(ddof=1) / np.sqrt(150))
    text = format_plan(table)
    assert "3.0 points" in text and f"{int(row['n_items_needed']):,}" in text
    assert "zero-shot vs few-shot" in text


def test_plan_without_a_pilot_needs_an_assumed_spread() -> None:
    with pytest.raises(StatsError, match="pilot"):
        plan(None, 0.05)
    table = plan(None, 0.05, sd_diff=0.5)
    z = sps.norm.ppf(0.975) + sps.norm.ppf(0.8)
    assert table["n_items_needed"].iloc[0] == np.ceil((z * 0.5 / 0.05) ** 2)


@pytest.mark.parametrize("effect", [0, -0.1, 3])
def test_plan_rejects_effects_that_are_not_fractions(effect: float) -> None:
    with pytest.raises(StatsError, match="effect"):
        plan(None, effect, sd_diff=0.5)


def test_plan_notes_a_pilot_without_disagreement(make_samples: Callable[..., pd.DataFrame]) -> None:
    pilot = make_samples(n_items=30, seed=1)
    pilot["score_exact"] = 1.0
    row = plan(pilot, 0.05).iloc[0]
    assert np.isnan(row["n_items_needed"]) and "no disagreement" in row["note"]


@pytest.mark.parametrize(("discordance", "effect"), [(0.2, 0.05), (0.3, 0.1), (0.1, 0.05),
                                                     (0.5, 0.2)])
def test_planned_n_reaches_the_target_power_of_the_exact_mcnemar_test(
    discordance: float, effect: float,
) -> None:
    """Simulate the test the gate runs at the planned N: power >= 0.80 within Monte Carlo error,
    where the z formula's N fell short (0.74-0.79)."""


    n = int(mcnemar_items_needed(effect, discordance))
    rng = np.random.default_rng(7)
    reps = 20_000

    def simulated(n_items: int) -> float:
        d = rng.binomial(n_items, discordance, reps)
        a_only = rng.binomial(d, (discordance + effect) / (2 * discordance))
        return float(np.mean(mcnemar_exact(a_only, d - a_only).p_value < 0.05))

    se = np.sqrt(0.8 * 0.2 / reps)
    achieved = simulated(n)
    assert achieved >= 0.8 - 3 * se, (n, achieved)
    assert mcnemar_power(n, discordance, effect) == pytest.approx(achieved, abs=4 * se)
    z_n = int(np.ceil(items_needed(effect, np.sqrt(discordance - effect**2))))
    assert z_n < n and mcnemar_power(z_n, discordance, effect) < 0.8


def test_exact_mcnemar_power_matches_statsmodels_test_by_simulation() -> None:
    from statsmodels.stats.contingency_tables import mcnemar

    rng = np.random.default_rng(11)
    n, q, effect, reps = 120, 0.3, 0.12, 3000
    hits = 0
    for _ in range(reps):
        d = rng.binomial(n, q)
        a_only = rng.binomial(d, (q + effect) / (2 * q))
        table = [[0, a_only], [d - a_only, n - d]]
        hits += mcnemar(table, exact=True).pvalue < 0.05
    se = np.sqrt(0.25 / reps)
    assert mcnemar_power(n, q, effect) == pytest.approx(hits / reps, abs=4 * se)
