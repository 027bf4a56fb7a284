"""The gate's decision rule holds its error rates: checked exactly and by seeded simulation.

Monte Carlo tolerance: an observed rate over R replications is accepted as "at most alpha"
when it is below alpha + 3 * sqrt(alpha (1 - alpha) / R) (with R = 20,000 and alpha = 5%:
5.46%); a rule whose true rate is 6.8% (Tango's asymptotic test at its worst, below) or
worse is caught with probability above 99.99%, and a correct rule is flagged by chance with
probability about 0.1% per check.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps
from scipy.special import gammaln

from harness.stats.noninferiority import (
    exact_pvalues,
    margin_test,
    null_variance,
    score_z,
    tango_z,
)

ALPHA = 0.05
MARGIN = 0.02
R = 20_000


def _limit(reps: int = R, alpha: float = ALPHA) -> float:
    return alpha + 3.0 * np.sqrt(alpha * (1 - alpha) / reps)


def _counts(rng: np.random.Generator, n: int, p_b: float, p_c: float,
            shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Flip counts of paired pass/fail items: b (new right only), c (baseline right only)."""
    draws = rng.multinomial(n, [p_b, p_c, 1 - p_b - p_c], size=shape)
    return draws[..., 0], draws[..., 1]


def _holm_reject(p: np.ndarray, alpha: float) -> np.ndarray:
    """Holm's step-down over the last axis, vectorised: which hypotheses are rejected."""
    k = p.shape[-1]
    order = np.argsort(p, axis=-1)
    ranked = np.take_along_axis(p, order, axis=-1) * (k - np.arange(k))
    adjusted = np.minimum(1.0, np.maximum.accumulate(ranked, axis=-1))
    out = np.empty_like(adjusted)
    np.put_along_axis(out, order, adjusted, axis=-1)
    return out < alpha


def test_the_null_variance_is_tangos_for_pass_fail_items() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        n = int(rng.integers(5, 80))
        b, c = (int(v) for v in rng.multinomial(n, [0.1, 0.15, 0.75])[:2])
        d = np.array([1.0] * b + [-1.0] * c + [0.0] * (n - b - c))
        for delta0 in (-0.02, -0.1, 0.0):
            assert score_z(d, delta0)[0] == pytest.approx(float(tango_z(b, c, n, delta0)),
                                                          abs=1e-7)
    # no flips on 40 items: the null variance is m(1 - m), not 0
    assert null_variance(np.zeros(40), -MARGIN)[0] == pytest.approx(MARGIN * (1 - MARGIN))


def _trinomial_pmf(n: int, p_b: float, p_c: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    b, c = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    keep = b + c <= n
    b, c = b[keep], c[keep]
    with np.errstate(divide="ignore"):
        logp = (gammaln(n + 1) - gammaln(b + 1) - gammaln(c + 1) - gammaln(n - b - c + 1)
                + b * np.log(p_b) + c * np.log(p_c) + (n - b - c) * np.log(1 - p_b - p_c))
    return b, c, np.nan_to_num(np.exp(logp))


@pytest.mark.parametrize("n", [20, 40, 133, 140, 300])
def test_exact_error_rates_at_the_margin_are_at_most_alpha(n: int) -> None:
    """Enumerating every outcome (no simulation error), at flip rates off the search grid."""
    worst_pass = worst_fail = 0.0
    for p_c in (0.0201, 0.0237, 0.031, 0.05, 0.113, 0.27, 0.49):
        p_b = p_c - MARGIN
        b, c, pmf = _trinomial_pmf(n, max(p_b, 1e-300), p_c)
        above, below = exact_pvalues(b, c, n, -MARGIN)
        worst_pass = max(worst_pass, float(pmf[above < ALPHA].sum()))
        worst_fail = max(worst_fail, float(pmf[below < ALPHA].sum()))
    assert worst_pass <= ALPHA + 1e-9
    assert worst_fail <= ALPHA + 1e-9


def test_tangos_asymptotic_test_would_break_the_promise() -> None:
    """Why the exact p-value: at n = 133 and rare flips the asymptotic test passes 6.8%."""
    n, p_c = 133, MARGIN
    b, c, pmf = _trinomial_pmf(n, 1e-300, p_c)
    asymptotic = float(pmf[sps.norm.sf(tango_z(b, c, n, -MARGIN)) < ALPHA].sum())
    assert asymptotic > _limit()


def _pass_rate(rng: np.random.Generator, n: int, p_b: float, p_c: float) -> float:
    b, c = _counts(rng, n, p_b, p_c, (R,))
    above, _ = exact_pvalues(b, c, n, -MARGIN)
    return float(np.mean(above < ALPHA))


@pytest.mark.parametrize(("n", "p_b", "p_c"), [
    (40, 0.0, MARGIN),            # rare flips, all one way: the liberal case of the score test
    (140, 0.0, MARGIN),
    (200, 0.03, 0.03 + MARGIN),
    (200, 0.0, 0.05),             # worse than the margin
    (500, 0.10, 0.10 + MARGIN),   # beyond the exact range's typical use: still exact up to 600
])
def test_pass_is_not_granted_to_a_variant_worse_than_the_margin(n: int, p_b: float,
                                                                p_c: float) -> None:
    rng = np.random.default_rng(n * 1000 + int(p_c * 1000))
    assert _pass_rate(rng, n, p_b, p_c) <= _limit()


def test_the_simulation_catches_a_rule_that_passes_too_easily() -> None:
    """The same check, applied to the plain t interval (all ties -> "no drop"), fails loudly."""
    rng = np.random.default_rng(7)
    n = 40
    b, c = _counts(rng, n, 0.0, MARGIN, (R,))
    mean = (b - c) / n
    var = (b + c) / n - mean**2
    se = np.sqrt(var * n / (n - 1) / n)
    lower = mean - sps.t.ppf(1 - ALPHA, n - 1) * se
    assert np.mean(lower > -MARGIN) > 0.3 > _limit()  # the defect this rule replaces


def test_fail_fires_at_most_alpha_over_all_cells_with_holm() -> None:
    """Four cells on the margin's boundary (the worst case of the null), and four unchanged."""
    rng = np.random.default_rng(11)
    for p_b, p_c in ((0.05, 0.05 + MARGIN), (0.05, 0.05)):
        b, c = _counts(rng, 200, p_b, p_c, (R, 4))
        _, below = exact_pvalues(b, c, 200, -MARGIN)
        any_fail = _holm_reject(below, ALPHA).any(axis=1)
        assert np.mean(any_fail) <= _limit()


def test_the_rule_has_power() -> None:
    """Not an always-inconclusive rule: an unchanged prompt passes, a real drop fails."""
    rng = np.random.default_rng(3)
    assert _pass_rate(rng, 400, 0.01, 0.01) > 0.7  # 2% of items flip each way
    assert exact_pvalues(0, 0, 200, -MARGIN)[0] < ALPHA  # no flips on 200 items: pass
    b, c = _counts(rng, 200, 0.02, 0.12, (2000,))
    assert np.mean(exact_pvalues(b, c, 200, -MARGIN)[1] < ALPHA) > 0.9


def _graded(rng: np.random.Generator, n: int, shift: float, reps: int) -> np.ndarray:
    """Items scored as the mean of 3 epochs; the new prompt loses an epoch's point w.p. shift*3."""
    base = rng.binomial(3, 0.8, size=(reps, n)) / 3.0
    lose = rng.random((reps, n)) < (3.0 * shift / (1 - 0.2**3)) * (base > 0)  # mean: -shift
    return np.where(lose, base - 1 / 3, base) - base


@pytest.mark.parametrize("n", [60, 200])
def test_graded_items_pass_or_fail_at_most_alpha_at_the_margin(n: int) -> None:
    rng = np.random.default_rng(n)
    reps = 6000
    d = _graded(rng, n, MARGIN, reps)
    z = score_z(d, -MARGIN)
    passed = sps.t.sf(z, n - 1) < ALPHA
    failed = sps.t.cdf(z, n - 1) < ALPHA
    assert np.mean(passed) <= _limit(reps) and np.mean(failed) <= _limit(reps)


def test_margin_test_on_items() -> None:
    same = np.ones(40)
    result = margin_test(same, same, MARGIN, binary=True)
    assert result.p_above > ALPHA and result.p_below > ALPHA  # 40 items: inconclusive
    wide = margin_test(same, same, 0.1, binary=True)
    assert wide.p_above < ALPHA  # a 10-point margin is within reach of 40 items
    worse = margin_test(np.r_[np.zeros(20), np.ones(20)], same, MARGIN, binary=True)
    assert worse.p_below < 1e-4 and worse.p_above > 0.5
