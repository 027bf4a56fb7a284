"""The record field ``score_details`` (scorers' explanations) is never taken for a score."""

from __future__ import annotations

import pandas as pd
import pytest

from harness.stats.samples import resolve_metric, score_columns


def test_score_details_is_not_a_score_and_not_the_fallback_metric() -> None:
    # Without scorers in the manifest the metric is the first score column with values; the
    # explanations column sorts first and holds values, so it used to be taken for the metric.
    df = pd.DataFrame({
        "task": ["t", "t"], "variant": ["a", "b"], "model": ["m", "m"],
        "item_id": ["i1", "i1"], "error": [None, None], "scoring_error": [None, None],
        "score_details": [{"right": {"explanation": "x"}}, {"right": {"explanation": "y"}}],
        "score_right": [1.0, 0.0],
    })
    assert score_columns(df) == ["score_right"]
    info = resolve_metric(df, "t")
    assert info is not None and info.column == "score_right" and info.kind == "binary"


def test_a_scorer_named_details_is_refused_at_load(tmp_path) -> None:
    from harness.config.task import TaskConfig

    with pytest.raises(Exception, match="may not be named 'details'"):
        TaskConfig.model_validate(
            {"name": "t", "data": {"test": "x.jsonl"}, "input": "{{ q }}", "target": "{{ a }}",
             "scorers": [{"name": "details", "type": "python", "function": "m:f"}]},
            context={"file": str(tmp_path / "task.yaml")})
