"""The report's first screen and the console's last lines answer "which prompt is best, and is
it real?"; checked against runs where the truth is known. Also the smaller honesty fixes: no
0.0 MDE from a pair without discordant items, no "-0.0", a cost total that says what it
leaves out, and a latency column named for what it measures."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from harness import analysis
from harness.report.console import summary_table
from harness.report.markdown import render_markdown
from harness.report.matrix import matrix_markdown
from harness.report.verdicts import best_variant_sentences

Factory = Callable[..., pd.DataFrame]
MANIFEST = {"run_id": "r", "models": {"m": {}}, "config": {},
            "scorers": {"t": [{"name": "exact", "kind": "binary"}]}}


def _sentences(df: pd.DataFrame) -> list[str]:
    return best_variant_sentences(analysis.summary(df), analysis.compare(df, n_boot=0))


def _report(df: pd.DataFrame) -> str:
    df = df.copy()
    df["cached"] = False
    df["sample_id"] = [f"s{i}" for i in range(len(df))]
    df["input"] = "q"
    df.attrs = {"manifest": MANIFEST}
    return render_markdown(df, MANIFEST)


def test_a_large_true_difference_is_called_significant(make_samples: Factory) -> None:
    df = make_samples(variants={"weak": 0.3, "strong": 0.85}, n_items=200)
    [sentence] = _sentences(df)
    assert "best is `strong`" in sentence
    assert "significantly better than `weak`" in sentence
    assert "not significantly" not in sentence
    assert "points, 95% CI uncorrected [" in sentence  # the effect and its interval


def test_equal_variants_are_not_called_different(make_samples: Factory) -> None:
    for seed in range(5):
        df = make_samples(variants={"a": 0.6, "b": 0.6}, n_items=150, seed=seed)
        [sentence] = _sentences(df)
        assert "not significantly different from" in sentence or "tie for best" in sentence
        assert "significantly better than" not in sentence.replace(
            "not significantly", "")


def test_three_variants_mixed_verdicts(make_samples: Factory) -> None:
    df = make_samples(variants={"low": 0.2, "top": 0.8, "near": 0.78}, n_items=300, seed=1)
    [sentence] = _sentences(df)
    best = "top" if "best is `top`" in sentence else "near"
    other = "near" if best == "top" else "top"
    assert f"best is `{best}`" in sentence
    assert "significantly better than `low`" in sentence
    assert f"not significantly different from `{other}`" in sentence


def test_a_tie_for_best_is_said_to_be_a_tie(make_samples: Factory) -> None:
    df = make_samples(variants={"a": 0.3, "b": 0.8}, n_items=120)
    twin = df[df["variant"] == "b"].assign(variant="c")
    [sentence] = _sentences(pd.concat([df, twin], ignore_index=True))
    assert "`b` and `c` tie for best" in sentence
    assert "`b` is significantly better than `a`" in sentence
    assert "`c` is significantly better than `a`" in sentence


def test_a_single_variant_has_nothing_to_compare(make_samples: Factory) -> None:
    [sentence] = _sentences(make_samples(variants={"only": 0.6}, n_items=40))
    assert "only one variant, `only`" in sentence and "nothing to compare" in sentence


def _all_failed(df: pd.DataFrame, variant: str) -> pd.DataFrame:
    """Every sample of ``variant`` failed (a judge with no key, a dead endpoint)."""
    df = df.copy()
    failed = df["variant"] == variant
    df.loc[failed, "error"] = "AuthenticationError: 401"
    df.loc[failed, "score_exact"] = np.nan
    return df


def test_a_variant_with_no_scored_item_is_named_not_silently_dropped(
        make_samples: Factory) -> None:
    """Three variants were run; one has no score at all. The verdict between the other two
    stands, and the sentence says which variant it could not judge."""
    df = make_samples(variants={"weak": 0.3, "strong": 0.85, "broken": 0.9}, n_items=200)
    [sentence] = _sentences(_all_failed(df, "broken"))
    assert "best is `strong`" in sentence
    assert "significantly better than `weak`" in sentence
    assert "`broken` has no scored item" in sentence and "leaves it out" in sentence
    assert "every other variant" not in sentence  # broken was not beaten, only not scored


def test_one_scored_variant_beside_unscored_ones_is_not_called_the_only_variant(
        make_samples: Factory) -> None:
    df = make_samples(variants={"closed": 0.6, "rag-a": 0.7, "rag-b": 0.8}, n_items=40)
    [sentence] = _sentences(_all_failed(_all_failed(df, "rag-a"), "rag-b"))
    assert "only one variant" not in sentence
    assert "only `closed` has scored items" in sentence
    assert "`rag-a` and `rag-b` have none" in sentence
    assert "no variant is best" in sentence


def test_the_first_screen_is_the_answer(make_samples: Factory) -> None:
    df = make_samples(variants={"weak": 0.3, "strong": 0.85}, n_items=200,
                      models={"m1": 0.0, "m2": 0.5})
    md = _report(df)
    first = md.index("## Which prompt is best")
    assert first < md.index("## Task")
    screen = md[first:md.index("## Task")]
    for model in ("m1", "m2"):
        assert f"`t` / `{model}`: best is `strong`" in screen
    assert screen.count("significantly better than `weak`") == 2


def test_the_console_table_ends_with_the_answer(make_samples: Factory) -> None:
    df = make_samples(variants={"weak": 0.3, "strong": 0.85}, n_items=200)
    last = summary_table(df).rstrip().splitlines()[-1]
    assert last.startswith("t / m: best is strong")
    assert "significantly better than weak" in last


def test_no_discordant_pair_has_no_mde_of_zero(make_samples: Factory) -> None:
    df = make_samples(variants={"a": 0.6}, n_items=50)
    df = pd.concat([df, df.assign(variant="b")], ignore_index=True)  # identical on every item
    row = analysis.compare(df, n_boot=0).iloc[0]
    assert not np.isfinite(row["mde"])
    assert "both scored the same on all 50" in row["verdict"]
    md = _report(df)
    assert "Minimum detectable effect (80% power, two-sided alpha 0.05): 0.0" not in md
    assert "| 0.0 | no difference" not in md


def test_the_matrix_never_shows_minus_zero(make_samples: Factory) -> None:
    df = make_samples(variants={"a": 0.5, "b": 0.5}, n_items=2001, binary=False, seed=4)
    # A difference of -0.0004 rounds to zero points: it must read 0.0, not -0.0.
    a = df["variant"] == "a"
    df.loc[a, "score_exact"] = df.loc[~a, "score_exact"].to_numpy()
    df.loc[a & (df["item_id"] == "q0000"), "score_exact"] -= 0.8
    md = matrix_markdown(df, "t")
    assert "-0.0" not in md and "0.0" in md


def test_the_cost_total_names_the_models_it_leaves_out(make_samples: Factory) -> None:
    df = make_samples(variants={"a": 0.5}, n_items=10, models={"priced": 0.0, "local": 0.0})
    df.loc[df["model"] == "priced", "cost_usd"] = 0.001
    md = _report(df)
    cost = md[md.index("## Cost"):]
    assert "Total cost: $0.0100." in cost
    assert "leaves out `local`" in cost and "`priced`" not in cost.split("|")[0]


def test_latency_is_labelled_service_time(make_samples: Factory) -> None:
    md = _report(make_samples(variants={"a": 0.5, "b": 0.6}, n_items=20))
    assert "service time s" in md and "latency s" not in md
    assert "not time spent queued" in md


def test_an_interval_that_excludes_zero_only_before_correction_is_said_so() -> None:
    """The pair's own interval excludes 0 but the Holm-adjusted p does not pass alpha: the
    sentence must not read as "not different" beside an interval that says otherwise."""
    from harness.report.verdicts import best_variant_sentence

    summary = pd.DataFrame({"task": "t", "model": "m", "variant": ["z", "f", "c"],
                            "mean": [0.75, 0.55, 0.50], "n": 40})
    comparisons = pd.DataFrame({
        "task": "t", "model": "m", "a": ["z", "z", "f"], "b": ["f", "c", "c"],
        "diff": [0.20, 0.25, 0.05], "ci_low": [0.035, 0.11, -0.1],
        "ci_high": [0.365, 0.39, 0.2], "p_adjusted": [0.077, 0.006, 0.6],
        "significant": [False, True, False], "n_pairs": 40, "correction": "holm"})
    sentence = best_variant_sentence(summary, comparisons, "t", "m")
    assert ("not significantly different from `f` once corrected for multiple comparisons "
            "(+20.0 points, 95% CI uncorrected [3.5, 36.5], p adj.=0.077)") in sentence
    assert ("significantly better than `c` (+25.0 points, 95% CI uncorrected [11.0, 39.0], "
            "p adj.=0.006)") in sentence
    plain = comparisons.assign(correction="none", p_adjusted=[0.03, 0.002, 0.6],
                               significant=[True, True, False])
    sentence = best_variant_sentence(summary, plain, "t", "m")
    assert "uncorrected" not in sentence and "once corrected" not in sentence
    assert "significantly better than every other variant" in sentence


def _says_better(sentence: str) -> bool:
    return "significantly better than" in sentence.replace("not significantly", "")


def test_the_sentence_claims_a_winner_no_more_often_than_alpha_when_none_exists(
        make_samples: Factory) -> None:
    # The null is true: three variants with the same success rate. Over 300 simulated runs,
    # the first screen must claim "significantly better" in at most alpha (5%) of them, up to
    # simulation error (3 standard errors of a 5% rate over 300 runs: 3.8 points).
    claims = sum(_says_better(_sentences(make_samples(
        variants={"a": 0.6, "b": 0.6, "c": 0.6}, n_items=80, seed=1000 + seed))[0])
        for seed in range(300))
    assert claims / 300 <= 0.05 + 0.038
    # ...and the same check has power: a true 20-point gap is found in nearly every run.
    found = sum(_says_better(_sentences(make_samples(
        variants={"a": 0.55, "b": 0.75}, n_items=250, seed=2000 + seed))[0])
        for seed in range(40))
    assert found >= 36
