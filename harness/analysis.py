"""The statistics API the report, the CLI and the CI gate call: one implementation for all three.

Every function accepts the samples DataFrame of :func:`harness.results.load_run`, or a run path
or id, which is loaded here. The methods follow Miller (2024), "Adding Error Bars to Evals"
(arXiv 2411.00640); see :mod:`harness.stats` for the conventions and their reasons.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import pandas as pd

from harness.stats.errors import StatsError
from harness.stats.planning import format_plan, plan_table
from harness.stats.tables import compare_table, summary_table

RunLike = pd.DataFrame | str | os.PathLike[str]

__all__ = ["compare", "compare_runs", "factorial", "format_plan", "plan", "summary"]


def _samples(run: RunLike) -> pd.DataFrame:
    """Load lazily: the results module belongs to the runner and must not be needed to test us."""
    if isinstance(run, pd.DataFrame):
        return run
    if isinstance(run, (str, os.PathLike)):
        try:
            from harness.results import load_run
        except ImportError as exc:  # pragma: no cover - depends on the rest of the harness
            raise StatsError(f"cannot load {run}: the run loader is not available ({exc})") from exc
        return load_run(run)
    raise StatsError(f"expected a samples DataFrame or a run path, got {type(run).__name__}")


def summary(
    run: RunLike,
    *,
    metric: str | None = None,
    ci_method: str | None = None,
    reducer: str = "mean",
    alpha: float = 0.05,
    n_boot: int = 10_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Mean score, n, SE and confidence interval per task x model x variant.

    ``ci_method``: None picks Wilson for pass/fail items and the CLT (t) interval otherwise, or
    whenever items are clustered; "clopper-pearson", "clt" and "bootstrap" force one. ``reducer``
    turns each item's repeats into one score: "mean", "majority" or "pass@k" (e.g. "pass@5").
    """
    return summary_table(_samples(run), metric=metric, ci_method=ci_method, reducer=reducer,
                         alpha=alpha, n_boot=n_boot, seed=seed)


def compare(
    run: RunLike,
    *,
    metric: str | None = None,
    axis: str = "variant",
    correction: str | None = "holm",
    n_boot: int = 10_000,
    seed: int = 0,
    pair_on: str = "item_id",
    reducer: str = "mean",
    family: str = "task",
    alpha: float = 0.05,
    power: float = 0.8,
    graded_test: str = "wilcoxon",
    order: Sequence[str] | None = None,
    n_permutations: int = 10_000,
) -> pd.DataFrame:
    """Every pair of levels of ``axis`` (variants, models or runs), paired on ``pair_on``.

    Comparisons are made within each combination of the other key columns (for ``axis="variant"``,
    per task and model). ``diff = mean_a - mean_b`` with ``a`` before ``b`` in ``order`` (default:
    order of first appearance). p-values are adjusted by ``correction`` ("holm", "bh" or "none")
    over each ``family``: "task" (default: one report table), "group" or "all".
    ``graded_test`` is "wilcoxon" or "permutation" for graded scores. ``n_permutations``: draws
    of the sign-flip tests (the permutation test, and every test on clustered items); a p-value
    at their resolution floor, 1/(n_permutations + 1), says so in ``note``.
    """
    return compare_table(_samples(run), metric=metric, axis=axis, pair_on=pair_on,
                         reducer=reducer, correction=correction, family=family, n_boot=n_boot,
                         seed=seed, alpha=alpha, power=power, graded_test=graded_test, order=order,
                         n_permutations=n_permutations)


def compare_runs(
    baseline: RunLike,
    new: RunLike,
    *,
    labels: tuple[str, str] = ("baseline", "new"),
    metric: str | None = None,
    correction: str | None = "holm",
    n_boot: int = 10_000,
    seed: int = 0,
    **kwargs: object,
) -> pd.DataFrame:
    """Compare a new run with a baseline on the items both ran: ``diff = new - baseline``.

    The same paired machinery as :func:`compare`, with a ``run`` column as the axis, so the CI
    gate and the report cannot disagree. Rows are per task x model x variant.
    """
    base_label, new_label = labels
    if base_label == new_label:
        raise StatsError("the two runs need different labels")
    frames = []
    for label, run in ((base_label, baseline), (new_label, new)):
        frame = _samples(run).copy()
        frame["run"] = label
        frames.append(frame)
    both = pd.concat(frames, ignore_index=True)
    both.attrs["manifest"] = frames[1].attrs.get("manifest") or frames[0].attrs.get("manifest")
    return compare_table(both, metric=metric, axis="run", correction=correction, n_boot=n_boot,
                         seed=seed, order=[new_label, base_label], **kwargs)  # type: ignore[arg-type]


def plan(
    samples_df: RunLike | None,
    effect: float,
    alpha: float = 0.05,
    power: float = 0.8,
    *,
    metric: str | None = None,
    axis: str = "variant",
    reducer: str = "mean",
    sd_diff: float | None = None,
) -> pd.DataFrame:
    """Items needed per task/model/pair to detect ``effect`` (a fraction: 0.03 = 3 points).

    Uses the pilot's observed spread of paired differences (its discordance, for pass/fail); with
    no pilot, pass ``samples_df=None`` and an assumed ``sd_diff``. :func:`format_plan` renders it.
    """
    samples = None if samples_df is None else _samples(samples_df)
    return plan_table(samples, effect, alpha, power, metric=metric, axis=axis, reducer=reducer,
                      sd_diff=sd_diff)


def factorial(run: RunLike, **options: object) -> pd.DataFrame:
    """Main effects and two-way interactions of a run's ``sweep:`` factors, one row an effect
    (see :func:`harness.stats.factorial.factorial` for the options and the method)."""
    from harness.stats.factorial import factorial as _factorial

    return _factorial(_samples(run), **options)  # type: ignore[arg-type]
