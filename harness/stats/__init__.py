"""Statistics for comparing prompt variants, following Miller (2024), arXiv 2411.00640.

Start from :mod:`harness.analysis` (``summary``, ``compare``, ``compare_runs``, ``plan``); the
modules here are the parts, one concept each:

* :mod:`~harness.stats.samples` and :mod:`~harness.stats.reducers`: samples to one score per item
  (errors excluded and counted, repeats reduced by mean, majority vote or pass@k);
* :mod:`~harness.stats.intervals`: Wilson, Clopper-Pearson, CLT and clustered intervals;
* :mod:`~harness.stats.bootstrap`: the vectorised (cluster) bootstrap;
* :mod:`~harness.stats.variance`: between- vs within-item variance, repeats vs items;
* :mod:`~harness.stats.paired_tests`, :mod:`~harness.stats.pairwise`: paired differences, McNemar,
  Wilcoxon, sign-flip tests;
* :mod:`~harness.stats.multiple`: Holm and Benjamini-Hochberg;
* :mod:`~harness.stats.power`, :mod:`~harness.stats.planning`: MDE and sample-size planning.

Empty data: functions about one sample raise :class:`StatsError` with a plain message; table
builders give the empty group's row NaN values and a note instead, and raise only when the whole
input is unusable (no samples, no score column).
"""

from harness.stats.errors import SmallSampleWarning, StatsError
from harness.stats.intervals import (
    MeanInterval,
    clopper_pearson_interval,
    clustered_se,
    mean_interval,
    wilson_interval,
)
from harness.stats.multiple import adjust_pvalues, benjamini_hochberg, holm
from harness.stats.paired_tests import (
    TestResult,
    mcnemar_exact,
    sign_flip_test,
    wilcoxon_signed_rank,
)
from harness.stats.planning import format_plan, plan_table
from harness.stats.power import items_needed, minimum_detectable_effect, paired_sd, power_at
from harness.stats.reducers import pass_at_k
from harness.stats.tables import compare_table, summary_table
from harness.stats.variance import VarianceSplit, variance_split

__all__ = [
    "MeanInterval",
    "SmallSampleWarning",
    "StatsError",
    "TestResult",
    "VarianceSplit",
    "adjust_pvalues",
    "benjamini_hochberg",
    "clopper_pearson_interval",
    "clustered_se",
    "compare_table",
    "format_plan",
    "holm",
    "items_needed",
    "mcnemar_exact",
    "mean_interval",
    "minimum_detectable_effect",
    "paired_sd",
    "pass_at_k",
    "plan_table",
    "power_at",
    "sign_flip_test",
    "summary_table",
    "variance_split",
    "wilcoxon_signed_rank",
    "wilson_interval",
]
