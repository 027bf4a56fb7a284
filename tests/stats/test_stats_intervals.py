"""Intervals and standard errors against statsmodels and scipy, including the edge cases."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats as sps
from statsmodels.stats.proportion import proportion_confint

from harness.stats import StatsError, clopper_pearson_interval, clustered_se, wilson_interval
from harness.stats.intervals import cluster_codes, mean_interval, standard_error, t_interval

COUNTS = [(0, 1), (1, 1), (0, 10), (10, 10), (3, 10), (7, 23), (50, 100), (1, 1000), (999, 1000)]


@pytest.mark.parametrize(("k", "n"), COUNTS)
@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.01])
def test_wilson_matches_statsmodels(k: int, n: int, alpha: float) -> None:
    low, high = wilson_interval(k, n, alpha)
    ref = proportion_confint(k, n, alpha=alpha, method="wilson")
    np.testing.assert_allclose([low, high], ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("k", "n"), COUNTS)
@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_clopper_pearson_matches_statsmodels_beta(k: int, n: int, alpha: float) -> None:
    low, high = clopper_pearson_interval(k, n, alpha)
    ref = proportion_confint(k, n, alpha=alpha, method="beta")
    np.testing.assert_allclose([low, high], ref, rtol=1e-9, atol=1e-12)


def test_binomial_intervals_are_vectorised() -> None:
    k = np.array([c[0] for c in COUNTS])
    n = np.array([c[1] for c in COUNTS])
    low, high = wilson_interval(k, n)
    ref_low, ref_high = proportion_confint(k, n, method="wilson")
    np.testing.assert_allclose(low, ref_low, atol=1e-12)
    np.testing.assert_allclose(high, ref_high, atol=1e-12)


@pytest.mark.parametrize("func", [wilson_interval, clopper_pearson_interval])
def test_zero_items_is_a_clear_error(func) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(StatsError, match="0 items"):
        func(0, 0)


def test_more_passes_than_items_is_rejected() -> None:
    with pytest.raises(StatsError, match="between 0 and"):
        wilson_interval(5, 3)


def test_bad_alpha_is_rejected() -> None:
    with pytest.raises(StatsError, match="alpha"):
        wilson_interval(3, 10, alpha=5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clt_se_and_interval_match_ols(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.beta(2, 3, size=40)
    fit = sm.OLS(y, np.ones_like(y)).fit()
    se, df = standard_error(y)
    assert se == pytest.approx(fit.bse[0], rel=1e-10)
    low, high = t_interval(y.mean(), se, df, bounds=(-np.inf, np.inf))
    np.testing.assert_allclose([low, high], fit.conf_int()[0], rtol=1e-10)


CLUSTER_SETS = [
    # (number of items, number of clusters, seed)
    (30, 6, 0),
    (100, 40, 1),
    (57, 5, 2),  # unequal cluster sizes
    (12, 12, 3),  # every item its own cluster
]


@pytest.mark.parametrize(("n", "g", "seed"), CLUSTER_SETS)
def test_clustered_se_matches_statsmodels_cluster_robust_ols(n: int, g: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    groups = np.sort(rng.integers(0, g, n)) if g < n else np.arange(n)
    effect = rng.normal(0, 0.3, g)[groups]
    y = (rng.random(n) < 1 / (1 + np.exp(-effect))).astype(float)
    fit = sm.OLS(y, np.ones(n)).fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    se, n_clusters = clustered_se(y, groups)
    assert n_clusters == len(np.unique(groups))
    assert se == pytest.approx(fit.bse[0], rel=1e-10)
    # statsmodels' t interval for clustered OLS uses G - 1 degrees of freedom, as we do.
    est = mean_interval(y, method="clt", clusters=groups)
    ref_low, ref_high = np.clip(fit.conf_int()[0], 0, 1)
    if np.unique(groups).size < n:
        assert est.n_clusters == n_clusters
        assert est.low == pytest.approx(ref_low, rel=1e-9)
        assert est.high == pytest.approx(ref_high, rel=1e-9)


def test_singleton_clusters_reduce_to_the_plain_standard_error() -> None:
    y = np.random.default_rng(4).random(25)
    assert clustered_se(y, np.arange(25))[0] == pytest.approx(y.std(ddof=1) / 5, rel=1e-12)


def test_standard_errors_of_nothing_are_a_clear_error() -> None:
    with pytest.raises(StatsError, match="0 items"):
        standard_error([])
    with pytest.raises(StatsError, match="0 items"):
        clustered_se([], [])


def test_one_cluster_gives_nan_not_a_crash() -> None:
    se, g = clustered_se([0.0, 1.0, 1.0], [7, 7, 7])
    assert g == 1 and np.isnan(se)


def test_missing_cluster_labels_become_their_own_clusters() -> None:
    codes, g = cluster_codes(["a", None, "a", np.nan, "b"])
    assert g == 4
    assert codes[0] == codes[2]
    assert len({codes[1], codes[3], codes[4], codes[0]}) == 4


def test_auto_method_picks_wilson_for_pass_fail_and_clt_for_graded() -> None:
    binary = np.array([1, 0, 1, 1, 0, 1, 1, 1, 0, 1] * 5, dtype=float)
    est = mean_interval(binary)
    assert est.method == "wilson"
    assert (est.low, est.high) == pytest.approx(proportion_confint(35, 50, method="wilson"))
    graded = np.linspace(0.1, 0.9, 50)
    est = mean_interval(graded)
    assert est.method == "clt"
    ref = sps.t.interval(0.95, 49, loc=graded.mean(), scale=sps.sem(graded))
    assert (est.low, est.high) == pytest.approx(ref)


def test_clustered_pass_fail_uses_the_clustered_clt_interval() -> None:
    y = np.array([1, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0, 1], dtype=float)
    est = mean_interval(y, clusters=np.repeat(np.arange(4), 3))
    assert est.method == "clt"
    assert est.n_clusters == 4
    assert est.se == pytest.approx(clustered_se(y, np.repeat(np.arange(4), 3))[0])
    assert any("clustered" in note for note in est.notes)


def test_small_n_is_flagged_for_clt_but_not_for_wilson() -> None:
    y = np.array([0.2, 0.5, 0.9, 0.4, 0.7])
    est = mean_interval(y)
    assert est.small_n and any("too narrow" in note for note in est.notes)
    est = mean_interval(np.array([1.0, 0.0, 1.0]))
    assert est.method == "wilson" and not est.small_n


def test_single_item_works() -> None:
    est = mean_interval([1.0])
    assert est.n == 1 and est.mean == 1.0 and np.isnan(est.se)
    assert (est.low, est.high) == pytest.approx(proportion_confint(1, 1, method="wilson"))
    est = mean_interval([0.4])
    assert est.method == "clt" and np.isnan(est.low) and "no spread" in " ".join(est.notes)


def test_no_items_is_a_clear_error() -> None:
    with pytest.raises(StatsError, match="0 items"):
        mean_interval([])
    with pytest.raises(StatsError, match="0 items"):
        mean_interval([np.nan, np.nan])


def test_all_equal_graded_scores_give_zero_width_with_a_note() -> None:
    est = mean_interval([0.5] * 40)
    assert est.se == 0.0 and est.low == est.high == 0.5
    assert any("same score" in note for note in est.notes)


def test_wilson_request_on_graded_scores_falls_back_with_a_note() -> None:
    est = mean_interval([0.2, 0.4, 0.6], method="wilson")
    assert est.method == "clt" and "instead" in est.notes[0]


@pytest.mark.parametrize("clustered", [False, True])
def test_bootstrap_interval_agrees_with_scipy(clustered: bool) -> None:
    rng = np.random.default_rng(11)
    y = rng.beta(2, 5, size=200)
    groups = np.repeat(np.arange(50), 4) if clustered else None
    est = mean_interval(y, method="bootstrap", clusters=groups, n_boot=4000, seed=3)
    assert est.method == "bootstrap"
    if clustered:
        # scipy has no cluster bootstrap: resample the cluster totals and sizes instead.
        totals = np.bincount(groups, weights=y)
        sizes = np.bincount(groups).astype(float)
        res = sps.bootstrap((totals, sizes), lambda t, s, axis: t.sum(axis) / s.sum(axis),
                            paired=True, n_resamples=4000, method="percentile", random_state=5)
    else:
        res = sps.bootstrap((y,), np.mean, n_resamples=4000, method="percentile", random_state=5)
    ref = res.confidence_interval
    # Different random streams: agree to within Monte Carlo error (about 0.1 SE here).
    tol = 0.25 * est.se
    assert abs(est.low - ref.low) < tol and abs(est.high - ref.high) < tol


def test_bootstrap_is_reproducible_with_a_seed() -> None:
    y = np.random.default_rng(0).random(60)
    a = mean_interval(y, method="bootstrap", seed=7, n_boot=500)
    b = mean_interval(y, method="bootstrap", seed=7, n_boot=500)
    c = mean_interval(y, method="bootstrap", seed=8, n_boot=500)
    assert (a.low, a.high) == (b.low, b.high)
    assert (a.low, a.high) != (c.low, c.high)


def _counts_in_one_draw(rng: np.random.Generator, n_units: int, rows: int) -> np.ndarray:
    """The counts as one ``integers`` call and one ``bincount`` give them: the reference."""
    idx = rng.integers(0, n_units, size=(rows, n_units))
    idx += (np.arange(rows, dtype=idx.dtype) * n_units)[:, None]
    return np.bincount(idx.ravel(), minlength=rows * n_units).reshape(rows, n_units).astype(float)


@pytest.mark.parametrize(("n_units", "rows"), [(1, 5), (7, 3), (333, 2000), (3001, 700),
                                               (250_001, 3), (600_000, 2)])
def test_bootstrap_counts_equal_one_draw_and_leave_the_generator_alike(
        n_units: int, rows: int) -> None:
    """Counts built in blocks are the counts of one draw, and the generator ends in the same
    state, so every seeded interval (and every later draw from the same generator) is unchanged
    by how the counts are built."""
    from harness.stats.bootstrap import bootstrap_counts

    ours, ref = np.random.default_rng(11), np.random.default_rng(11)
    assert np.array_equal(bootstrap_counts(ours, n_units, rows),
                          _counts_in_one_draw(ref, n_units, rows))
    assert np.array_equal(ours.integers(0, 1000, 50), ref.integers(0, 1000, 50))


def test_bootstrap_counts_hold_little_more_than_the_result() -> None:
    """A report's peak memory is its largest bootstrap chunk: the indices are drawn and counted
    a block at a time, so a chunk costs its float counts and a small block, not the int64
    indices and counts of the whole chunk as well."""
    import tracemalloc

    from harness.stats.bootstrap import bootstrap_counts

    tracemalloc.start()
    try:
        w = bootstrap_counts(np.random.default_rng(0), 1000, 2000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert w.shape == (2000, 1000) and w.sum() == 2000 * 1000
    assert peak < 1.4 * w.nbytes


def test_seeded_intervals_are_unchanged_to_the_last_digit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Intervals and bootstrap distributions with the counts built in blocks equal, to the last
    digit, those the one-draw counts give (3,000 items, 10,000 resamples; plain, with missing
    cells, clustered): a published seeded interval must come out the same after any change to
    how the resamples are drawn or held. Both sides run here, on this machine's BLAS, so the
    comparison is exact wherever the suite runs."""
    import harness.stats.bootstrap as bootstrap

    y = np.random.default_rng(0).random(3000)
    v = np.random.default_rng(1).random((1500, 4))
    v[::7, 1] = np.nan

    def figures() -> list[object]:
        out: list[object] = []
        for seed in (0, 7):
            e = mean_interval(y, method="bootstrap", seed=seed, n_boot=10000)
            out.append((e.low, e.high))
        out.append(bootstrap.bootstrap_ratio_means(v, n_boot=3000, seed=5).tobytes())
        out.append(bootstrap.bootstrap_ratio_means(v, clusters=np.arange(1500) // 3,
                                                   n_boot=3000, seed=5).tobytes())
        return out

    ours = figures()
    monkeypatch.setattr(bootstrap, "bootstrap_counts", _counts_in_one_draw)
    assert figures() == ours
