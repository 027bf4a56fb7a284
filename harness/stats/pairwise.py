"""Every paired comparison within one group (say one task and model), from an item x level matrix.

This is the numeric core shared by the report, the CI gate and ``plan``: the caller builds a
:class:`Block` (rows are the pairing unit, usually items; columns the levels being compared,
usually variants, models or runs) and gets one record per pair. Pairs use only the items both
sides scored; errored samples on either side are skipped and counted. Per pair:

* the mean difference ``a - b`` and its paired SE (clustered when items share clusters), with a
  Student t interval on n - 1 (or G - 1) degrees of freedom, in the same scale as the scores;
* a p-value: McNemar's exact test when both sides are one pass/fail outcome per item, else the
  Wilcoxon signed-rank test (or a sign-flip permutation test on request); with clusters, a
  sign-flip test over whole clusters, because the item-level tests assume independent items;
* a paired bootstrap percentile interval, resampling items (or clusters) with a fixed seed;
* the minimum detectable effect at the requested power.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from harness.stats.bootstrap import bootstrap_ratio_means, cluster_totals, percentile_interval
from harness.stats.errors import StatsError
from harness.stats.intervals import SMALL_N, has_real_clusters, standard_error, t_interval
from harness.stats.paired_tests import (
    EXACT_SIGN_FLIP_MAX,
    mcnemar_exact,
    paired_differences,
    sign_flip_pvalues,
    wilcoxon_signed_rank,
)
from harness.stats.power import minimum_detectable_effect

GRADED_TESTS = ("wilcoxon", "permutation")


@dataclass(frozen=True)
class Block:
    """Per-item scores of several levels, aligned on the pairing unit.

    ``scores`` is NaN where a level has no valid sample for an item; ``errors`` counts errored
    samples; ``present`` says a level had any sample at all for the item; ``binary`` marks
    scores that are one pass/fail outcome; ``clusters`` holds integer cluster codes or None.
    """

    levels: list[str]
    scores: NDArray[np.float64]
    binary: NDArray[np.bool_]
    present: NDArray[np.bool_]
    errors: NDArray[np.int64]
    clusters: NDArray[np.intp] | None = None


def _empty_record(a: str, b: str, note: str) -> dict[str, Any]:
    nan = float("nan")
    return {
        "a": a, "b": b, "n_pairs": 0, "mean_a": nan, "mean_b": nan, "diff": nan, "se": nan,
        "ci_low": nan, "ci_high": nan, "boot_ci_low": nan, "boot_ci_high": nan, "test": "none",
        "statistic": nan, "p_value": nan, "discordant_a_only": nan, "discordant_b_only": nan,
        "mde": nan, "sd_diff": nan, "correlation": nan, "note": note,
    }


def compare_block(
    block: Block,
    *,
    graded_test: str = "wilcoxon",
    n_boot: int = 10_000,
    seed: int = 0,
    alpha: float = 0.05,
    power: float = 0.8,
    n_permutations: int = 10_000,
) -> list[dict[str, Any]]:
    """One record per pair (i < j in level order), ``diff = mean_a - mean_b``."""
    if graded_test not in GRADED_TESTS:
        raise StatsError(f"unknown test for graded scores {graded_test!r}; use {GRADED_TESTS}")
    scores = np.asarray(block.scores, dtype=float)
    n_levels = scores.shape[1]
    pairs = [(i, j) for i in range(n_levels) for j in range(i + 1, n_levels)]
    if not pairs:
        return []
    ia = np.array([p[0] for p in pairs])
    ib = np.array([p[1] for p in pairs])
    finite = np.isfinite(scores)
    paired = finite[:, ia] & finite[:, ib]
    diffs = np.where(paired, paired_differences(np.nan_to_num(scores[:, ia]),
                                                np.nan_to_num(scores[:, ib])), 0.0)
    codes = block.clusters
    clustered = has_real_clusters(codes)
    boot_codes = codes if clustered else None
    seq = np.random.SeedSequence(seed)
    boot_rng, perm_rng = (np.random.default_rng(s) for s in seq.spawn(2))

    boot_low = np.full(len(pairs), np.nan)
    boot_high = np.full(len(pairs), np.nan)
    if n_boot > 0 and scores.shape[0] > 0:
        if finite.all():
            means = bootstrap_ratio_means(scores, clusters=boot_codes, n_boot=n_boot, seed=boot_rng)
            boot = means[:, ia] - means[:, ib]
        else:
            boot = bootstrap_ratio_means(
                diffs, paired, clusters=boot_codes, n_boot=n_boot, seed=boot_rng
            )
        boot_low, boot_high = percentile_interval(boot, alpha)

    records: list[dict[str, Any]] = []
    flip_columns: list[int] = []
    for p, (i, j) in enumerate(pairs):
        a, b = block.levels[i], block.levels[j]
        m = paired[:, p]
        n = int(m.sum())
        errors = int(block.errors[:, i].sum() + block.errors[:, j].sum())
        dropped = int(((block.present[:, i] | block.present[:, j]) & ~m).sum())
        if n == 0:
            rec = _empty_record(a, b, "no item was scored on both sides")
            rec.update(n_errors_skipped=errors, n_items_dropped=dropped, clustered=clustered,
                       n_clusters=np.nan)
            records.append(rec)
            continue
        xa, xb = scores[m, i], scores[m, j]
        d = paired_differences(xa, xb)
        pair_codes = codes[m] if clustered and codes is not None else None
        se, df = standard_error(d, pair_codes)
        diff = float(d.mean())
        low, high = t_interval(diff, se, df, alpha, bounds=(-1.0, 1.0))
        n_units = len(np.unique(pair_codes)) if pair_codes is not None else n
        notes = []
        both_binary = bool(block.binary[m, i].all() and block.binary[m, j].all())
        a_only: float | int = float("nan")  # discordant counts exist only for pass/fail pairs
        b_only: float | int = float("nan")
        if both_binary:
            a_only = int(np.sum((xa == 1.0) & (xb == 0.0)))
            b_only = int(np.sum((xa == 0.0) & (xb == 1.0)))
        if clustered:
            test, stat, pval = "cluster sign-flip permutation", diff, np.nan
            flip_columns.append(p)
            notes.append(f"clustered SE (Miller 2024, times sqrt(G/(G-1))) and test over "
                         f"{n_units} clusters")
        elif both_binary:
            res = mcnemar_exact(a_only, b_only)
            test, stat, pval = res.test, res.statistic, res.p_value
        elif graded_test == "wilcoxon":
            res = wilcoxon_signed_rank(d)
            test, stat, pval = res.test, res.statistic, res.p_value
        else:
            test, stat, pval = "sign-flip permutation", diff, np.nan
            flip_columns.append(p)
        if n < 2:
            notes.append("one paired item: no spread, so no SE, interval or MDE")
        elif n_units < SMALL_N:
            what = "clusters" if clustered else "paired items"
            notes.append(f"only {n_units} {what}: intervals are approximate")
        if dropped:
            notes.append(f"{dropped} item(s) scored on one side only were left out")
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = float(np.corrcoef(xa, xb)[0, 1]) if n >= 2 and xa.std() > 0 and xb.std() > 0 \
                else float("nan")
        records.append({
            "a": a, "b": b, "n_pairs": n, "n_items_dropped": dropped, "n_errors_skipped": errors,
            "mean_a": float(xa.mean()), "mean_b": float(xb.mean()), "diff": diff, "se": se,
            "ci_low": low, "ci_high": high,
            "boot_ci_low": float(boot_low[p]) if n >= 2 else float("nan"),
            "boot_ci_high": float(boot_high[p]) if n >= 2 else float("nan"),
            "test": test, "statistic": float(stat), "p_value": float(pval),
            "discordant_a_only": a_only, "discordant_b_only": b_only,
            # No spread in the differences (no discordant pair): the run cannot estimate the
            # SE a true difference would have, so the MDE is unknown, not zero.
            "mde": minimum_detectable_effect(se, alpha, power) if se > 0 else float("nan"),
            "sd_diff": se * np.sqrt(n), "correlation": corr,
            "clustered": clustered, "n_clusters": n_units if clustered else np.nan,
            "note": "; ".join(notes),
        })

    if flip_columns:
        cols = np.array(flip_columns)
        units = diffs[:, cols]
        if clustered and codes is not None:
            units = cluster_totals(units, codes, int(codes.max()) + 1)
        pvals = sign_flip_pvalues(units, n_resamples=n_permutations, seed=perm_rng)
        exact = units.shape[0] <= EXACT_SIGN_FLIP_MAX
        how = "exact" if exact else f"{n_permutations:,} Monte Carlo draws"
        floor = 1.0 / (1.0 + n_permutations)
        for col, pval in zip(cols, pvals, strict=True):
            records[col]["p_value"] = float(pval)
            records[col]["test"] = f"{records[col]['test']} ({how})"
            if not exact and pval <= floor * (1 + 1e-9):
                note = (f"p-value at the resolution floor of {n_permutations:,} draws "
                        f"(1/{n_permutations + 1:,}): the true p may be smaller; more draws "
                        "(n_permutations) would resolve it")
                records[col]["note"] = "; ".join(x for x in (records[col]["note"], note) if x)
    return records
