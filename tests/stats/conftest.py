"""Synthetic runs for the statistics tests, shaped like ``harness.results.load_run`` output."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
import pytest


def synthetic_samples(
    *,
    variants: Mapping[str, float] | None = None,
    n_items: int = 60,
    epochs: int = 1,
    models: Mapping[str, float] | None = None,
    task: str = "t",
    binary: bool = True,
    cluster_size: int | None = None,
    error_rate: float = 0.0,
    item_sd: float = 1.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Samples with item difficulty shared across variants, so pairs are correlated like real runs.

    ``variants`` maps variant -> pass rate (binary) or mean grade (graded); ``models`` adds a
    shift in log-odds (binary) or grade (graded) per model.
    """
    rng = np.random.default_rng(seed)
    variants = dict(variants or {"zero-shot": 0.6, "few-shot": 0.7})
    models = dict(models or {"m": 0.0})
    difficulty = rng.normal(0.0, item_sd, n_items)
    if cluster_size:
        per_cluster = rng.normal(0.0, item_sd, n_items // cluster_size + 1)
        difficulty = difficulty * 0.5 + per_cluster[np.arange(n_items) // cluster_size]
    rows = []
    for model, shift in models.items():
        for variant, level in variants.items():
            for e in range(epochs):
                if binary:
                    logit = np.log(level / (1 - level)) + difficulty + shift
                    score = (rng.random(n_items) < 1 / (1 + np.exp(-logit))).astype(float)
                else:
                    noise = rng.normal(0, 0.15, n_items)
                    score = np.clip(level + 0.15 * difficulty + shift + noise, 0, 1)
                failed = rng.random(n_items) < error_rate
                for i in range(n_items):
                    err = "RateLimitError: 429" if failed[i] else None
                    rows.append({
                        "task": task, "model": model, "variant": variant, "item_id": f"q{i:04d}",
                        "epoch": e,
                        "cluster": f"p{i // cluster_size}" if cluster_size else None,
                        "error": err, "output": "",
                        "answer": None if err else str(int(score[i] > 0.5)),
                        "target": "1", "score_exact": np.nan if err else float(score[i]),
                        "latency_s": 0.1, "input_tokens": 10, "output_tokens": 5,
                        "cost_usd": np.nan,
                    })
    return pd.DataFrame(rows)


@pytest.fixture
def make_samples() -> Callable[..., pd.DataFrame]:
    return synthetic_samples
