"""summary() and compare() end to end on synthetic runs, checked against scipy and statsmodels."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats as sps
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from harness import analysis
from harness.stats import SmallSampleWarning, StatsError

Factory = Callable[..., pd.DataFrame]
COMPARE_REQUIRED = [
    "task", "model", "a", "b", "n_pairs", "n_errors_skipped", "mean_a", "mean_b", "diff", "se",
    "ci_low", "ci_high", "boot_ci_low", "boot_ci_high", "test", "statistic", "p_value",
    "p_adjusted", "significant", "discordant_a_only", "discordant_b_only", "mde", "verdict",
]


def _wide(df: pd.DataFrame, axis: str = "variant") -> pd.DataFrame:
    ok = df[df["error"].isna()]
    return ok.groupby(["item_id", axis])["score_exact"].mean().unstack(axis)


def test_summary_binary_matches_wilson_and_counts_errors(make_samples: Factory) -> None:
    df = make_samples(n_items=80, error_rate=0.1, seed=2)
    s = analysis.summary(df)
    assert list(s["variant"]) == ["zero-shot", "few-shot"]
    for _, row in s.iterrows():
        part = df[df["variant"] == row["variant"]]
        ok = part[part["error"].isna()]
        assert row["n"] == len(ok) and row["n_errors"] == part["error"].notna().sum()
        assert row["n_samples"] == len(part)
        assert row["mean"] == pytest.approx(ok["score_exact"].mean())
        ref = proportion_confint(ok["score_exact"].sum(), len(ok), method="wilson")
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(ref)
        assert row["ci_method"] == "wilson" and "errored" in row["note"]


def test_summary_clopper_pearson_and_clt_on_request(make_samples: Factory) -> None:
    df = make_samples(n_items=40)
    ok = df[df["variant"] == "few-shot"]["score_exact"]
    row = analysis.summary(df, ci_method="clopper-pearson").iloc[1]
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(
        proportion_confint(ok.sum(), len(ok), method="beta"))
    row = analysis.summary(df, ci_method="clt").iloc[1]
    fit = sm.OLS(ok.to_numpy(), np.ones(len(ok))).fit()
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(tuple(np.clip(fit.conf_int()[0], 0, 1)))


def test_summary_clustered_matches_cluster_robust_ols(make_samples: Factory) -> None:
    df = make_samples(n_items=90, cluster_size=3, seed=5)
    s = analysis.summary(df)
    for _, row in s.iterrows():
        part = df[df["variant"] == row["variant"]]
        fit = sm.OLS(part["score_exact"].to_numpy(), np.ones(len(part))).fit(
            cov_type="cluster", cov_kwds={"groups": pd.factorize(part["cluster"])[0]})
        assert row["clustered"] and row["n_clusters"] == 30
        assert row["se"] == pytest.approx(fit.bse[0], rel=1e-10)
        assert row["ci_method"] == "clt" and "clustered" in row["note"]


def test_manifest_picks_the_primary_metric_and_kind(make_samples: Factory) -> None:
    df = make_samples(n_items=30)
    df["score_aaa_length"] = np.random.default_rng(0).random(len(df))
    df.attrs["manifest"] = {"scorers": {"t": [{"name": "exact", "kind": "binary"},
                                              {"name": "aaa_length", "kind": "graded"}]}}
    assert set(analysis.summary(df)["metric"]) == {"exact"}
    # without a manifest the first score column with values is used
    df.attrs = {}
    assert set(analysis.summary(df)["metric"]) == {"exact"}
    s = analysis.summary(df, metric="aaa_length")
    assert set(s["metric"]) == {"aaa_length"} and set(s["kind"]) == {"graded"}
    with pytest.raises(StatsError, match="no scorer named 'nope'"):
        analysis.summary(df, metric="nope")


def test_compare_binary_single_sample_uses_mcnemar(make_samples: Factory) -> None:
    df = make_samples(variants={"a": 0.5, "b": 0.65, "c": 0.7}, n_items=120, error_rate=0.05)
    out = analysis.compare(df, n_boot=2000)
    assert list(out.columns[: 2]) == ["task", "model"]
    assert set(COMPARE_REQUIRED) <= set(out.columns)
    assert len(out) == 3
    wide = _wide(df)
    for _, row in out.iterrows():
        pair = wide[[row["a"], row["b"]]].dropna()
        a, b = pair[row["a"]], pair[row["b"]]
        assert row["n_pairs"] == len(pair)
        errs = df[df["variant"].isin([row["a"], row["b"]])]["error"].notna().sum()
        assert row["n_errors_skipped"] == errs
        table = pd.crosstab(a, b).reindex(index=[1.0, 0.0], columns=[1.0, 0.0], fill_value=0)
        ref = mcnemar(table.to_numpy(), exact=True)
        assert row["test"] == "McNemar exact"
        assert row["p_value"] == pytest.approx(ref.pvalue)
        assert row["discordant_a_only"] == table.loc[1.0, 0.0]
        assert row["discordant_b_only"] == table.loc[0.0, 1.0]
        ci = sps.ttest_rel(a, b).confidence_interval()
        assert row["diff"] == pytest.approx((a - b).mean())
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((ci.low, ci.high))
        assert row["boot_ci_low"] < row["diff"] < row["boot_ci_high"]
    np.testing.assert_allclose(out["p_adjusted"], multipletests(out["p_value"], method="holm")[1])
    assert (out["significant"] == (out["p_adjusted"] < 0.05)).all()


def test_compare_with_epochs_pairs_item_means_with_wilcoxon(make_samples: Factory) -> None:
    df = make_samples(n_items=150, epochs=3, error_rate=0.05, seed=9)
    row = analysis.compare(df, n_boot=1000).iloc[0]
    wide = _wide(df).dropna()
    # Item means of 3 pass/fail repeats are thirds: differences such as 2/3 - 1/3 and 1 - 2/3
    # are equal on paper and must tie in the ranks, so the reference gets them rounded too.
    d = (wide["zero-shot"] - wide["few-shot"]).round(12)
    ref = sps.wilcoxon(d, zero_method="wilcox", correction=False, method="asymptotic")
    assert row["test"] == "Wilcoxon signed-rank (zeros dropped, normal approx.)"
    assert row["p_value"] == pytest.approx(ref.pvalue)
    assert row["statistic"] == pytest.approx(ref.statistic)
    assert row["se"] == pytest.approx(d.std(ddof=1) / np.sqrt(len(d)))
    assert pd.isna(row["discordant_a_only"])  # McNemar does not apply to item means


def test_compare_permutation_option_for_graded(make_samples: Factory) -> None:
    df = make_samples(n_items=14, binary=False, seed=4)
    row = analysis.compare(df, graded_test="permutation", n_boot=500).iloc[0]
    wide = _wide(df)
    ref = sps.permutation_test(
        (wide["zero-shot"].to_numpy(), wide["few-shot"].to_numpy()),
        lambda x, y, axis: np.mean(x - y, axis=axis), permutation_type="samples",
        n_resamples=np.inf)
    assert row["p_value"] == pytest.approx(ref.pvalue)
    assert "exact" in row["test"]


def test_compare_clustered_uses_clustered_se_and_cluster_flips(make_samples: Factory) -> None:
    df = make_samples(n_items=60, cluster_size=4, seed=6, binary=False)
    row = analysis.compare(df, n_boot=1000).iloc[0]
    wide = _wide(df)
    d = (wide["zero-shot"] - wide["few-shot"]).to_numpy()
    groups = pd.factorize(df.drop_duplicates("item_id").set_index("item_id")
                          .loc[wide.index, "cluster"])[0]
    fit = sm.OLS(d, np.ones_like(d)).fit(cov_type="cluster", cov_kwds={"groups": groups},
                                         use_t=True)
    assert row["se"] == pytest.approx(fit.bse[0], rel=1e-10)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(tuple(fit.conf_int()[0]), rel=1e-9)
    assert row["test"].startswith("cluster sign-flip") and row["clustered"]
    assert row["n_clusters"] == 15


def test_axis_model_compares_models_per_variant(make_samples: Factory) -> None:
    df = make_samples(models={"small": -0.5, "large": 0.5}, n_items=50)
    out = analysis.compare(df, axis="model", n_boot=500)
    assert list(out.columns[:2]) == ["task", "variant"]
    assert len(out) == 2 and set(out["a"]) == {"small"} and set(out["b"]) == {"large"}


def test_compare_runs_gives_new_minus_baseline(make_samples: Factory) -> None:
    base = make_samples(variants={"v": 0.6}, n_items=100, seed=1)
    new = make_samples(variants={"v": 0.6}, n_items=100, seed=2)
    out = analysis.compare_runs(base, new, n_boot=500)
    assert len(out) == 1
    row = out.iloc[0]
    assert (row["a"], row["b"]) == ("new", "baseline")
    assert row["diff"] == pytest.approx(new["score_exact"].mean() - base["score_exact"].mean())
    assert "variant" in out.columns and "model" in out.columns


def test_family_wide_adjustment_options(make_samples: Factory) -> None:
    df = pd.concat([
        make_samples(variants={"a": 0.5, "b": 0.6, "c": 0.7}, task="t1", seed=1),
        make_samples(variants={"a": 0.5, "b": 0.6, "c": 0.7}, task="t2", seed=2),
    ])
    per_task = analysis.compare(df, n_boot=0)
    overall = analysis.compare(df, n_boot=0, family="all")
    bh = analysis.compare(df, n_boot=0, correction="bh")
    for task in ("t1", "t2"):
        part = per_task[per_task["task"] == task]
        np.testing.assert_allclose(part["p_adjusted"],
                                   multipletests(part["p_value"], method="holm")[1])
        part = bh[bh["task"] == task]
        np.testing.assert_allclose(part["p_adjusted"],
                                   multipletests(part["p_value"], method="fdr_bh")[1])
    np.testing.assert_allclose(overall["p_adjusted"],
                               multipletests(overall["p_value"], method="holm")[1])
    assert per_task["boot_ci_low"].isna().all()  # n_boot=0 skips the bootstrap


def test_bootstrap_is_reproducible_and_seed_dependent(make_samples: Factory) -> None:
    df = make_samples(n_items=60)
    a = analysis.compare(df, n_boot=800, seed=1)
    b = analysis.compare(df, n_boot=800, seed=1)
    c = analysis.compare(df, n_boot=800, seed=2)
    cols = ["boot_ci_low", "boot_ci_high"]
    assert a[cols].equals(b[cols])
    assert not a[cols].equals(c[cols])


def test_a_variant_with_every_sample_errored(make_samples: Factory) -> None:
    df = make_samples(n_items=20)
    df.loc[df["variant"] == "few-shot", "error"] = "APIError"
    df.loc[df["variant"] == "few-shot", "score_exact"] = np.nan
    s = analysis.summary(df).set_index("variant")
    assert s.loc["few-shot", "n"] == 0 and np.isnan(s.loc["few-shot", "mean"])
    assert "no scored item" in s.loc["few-shot", "note"]
    assert s.loc["zero-shot", "n"] == 20
    row = analysis.compare(df, n_boot=100).iloc[0]
    assert row["n_pairs"] == 0 and np.isnan(row["p_value"]) and np.isnan(row["p_adjusted"])
    assert row["n_errors_skipped"] == 20 and "cannot compare" in row["verdict"]


def test_identical_variants_give_no_difference_not_a_crash(make_samples: Factory) -> None:
    df = make_samples(n_items=40)
    df.loc[df["variant"] == "few-shot", "score_exact"] = (
        df.loc[df["variant"] == "zero-shot", "score_exact"].to_numpy())
    row = analysis.compare(df, n_boot=200).iloc[0]
    assert row["diff"] == 0 and row["se"] == 0 and row["p_value"] == 1.0
    assert (row["discordant_a_only"], row["discordant_b_only"]) == (0, 0)
    assert (row["ci_low"], row["ci_high"]) == (0.0, 0.0)
    assert row["verdict"] == "no difference: both scored the same on all 40 paired items"


def test_one_item_works(make_samples: Factory) -> None:
    df = make_samples(n_items=1, binary=False)
    with pytest.warns(SmallSampleWarning, match="fewer than 30 items"):
        s = analysis.summary(df)
    assert (s["n"] == 1).all() and s["se"].isna().all()
    row = analysis.compare(df, n_boot=100).iloc[0]
    assert row["n_pairs"] == 1 and np.isnan(row["se"]) and np.isfinite(row["p_value"])
    assert np.isnan(row["mde"]) and "too few" in row["verdict"]


def test_small_graded_groups_warn_once_and_large_or_wilson_ones_do_not(
    make_samples: Factory,
) -> None:
    with pytest.warns(SmallSampleWarning, match="t/m/zero-shot, t/m/few-shot") as record:
        analysis.summary(make_samples(n_items=12, binary=False))
    assert len(record) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", SmallSampleWarning)
        analysis.summary(make_samples(n_items=12))  # pass/fail: Wilson copes with small n
        analysis.summary(make_samples(n_items=40, binary=False))


@pytest.mark.parametrize("bad", [pd.DataFrame(), pd.DataFrame(columns=["task", "model"])])
def test_empty_runs_raise_a_clear_error(bad: pd.DataFrame) -> None:
    with pytest.raises(StatsError, match="no samples"):
        analysis.summary(bad)
    with pytest.raises(StatsError, match="no samples"):
        analysis.compare(bad)


def test_a_run_without_score_columns_is_a_clear_error(make_samples: Factory) -> None:
    df = make_samples(n_items=5).drop(columns="score_exact")
    with pytest.raises(StatsError, match="no score_"):
        analysis.summary(df)


def test_a_path_is_loaded_through_the_results_module(
    make_samples: Factory, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import harness.results

    df = make_samples(n_items=10)
    seen = []
    monkeypatch.setattr(harness.results, "load_run", lambda path: seen.append(path) or df)
    out = analysis.summary("results/some-run")
    assert seen == ["results/some-run"] and len(out) == 2


def test_verdict_wording(make_samples: Factory) -> None:
    df = make_samples(variants={"zero-shot": 0.35, "few-shot": 0.8}, n_items=200, seed=3)
    row = analysis.compare(df, n_boot=500).iloc[0]
    assert row["significant"]
    assert row["verdict"].startswith("few-shot beats zero-shot by ")
    assert row["verdict"].endswith("p<0.001 adj.")
    df = make_samples(variants={"zero-shot": 0.6, "same": 0.6}, n_items=50, seed=3)
    row = analysis.compare(df, n_boot=500).iloc[0]
    assert not row["significant"]
    assert row["verdict"] == (
        f"no detectable difference: this run can detect >= {100 * row['mde']:.1f} points")
