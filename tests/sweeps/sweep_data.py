"""Synthetic sweeps with known effects, for the factorial and repeats tests."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

LEVELS = {"template": ["zero-shot", "cot"], "shots": ["0", "4"], "rag": ["off", "on"]}


def design() -> dict[str, dict[str, str]]:
    out = {}
    for combo in itertools.product(*LEVELS.values()):
        levels = dict(zip(LEVELS, combo, strict=True))
        out["-".join(combo)] = levels
    return out


def graded_sweep(rng: np.random.Generator, n_items: int = 40, *, rag: float = 0.12,
                 cot: float = 0.05, shots: float = 0.0, rag_x_cot: float = 0.06,
                 item_sd: float = 0.15, noise_sd: float = 0.08, epochs: int = 1,
                 clusters: int | None = None) -> pd.DataFrame:
    """Scores = 0.5 + item effect + additive factor effects + a rag x template interaction
    (rag helps ``rag_x_cot`` more with cot) + noise; ground truth is in the arguments."""
    item_effect = rng.normal(0, item_sd, n_items)
    if clusters:
        item_effect += np.repeat(rng.normal(0, item_sd, clusters), -(-n_items // clusters))[
            :n_items]
    rows = []
    for name, lv in design().items():
        on_rag, on_cot, on_shots = lv["rag"] == "on", lv["template"] == "cot", lv["shots"] == "4"
        mu = 0.5 + rag * on_rag + cot * on_cot + shots * on_shots + rag_x_cot * (on_rag and on_cot)
        for i in range(n_items):
            for e in range(epochs):
                rows.append({"task": "t", "model": "m", "variant": name, "item_id": f"i{i:03d}",
                             "epoch": e, "error": None,
                             "cluster": f"c{i * clusters // n_items}" if clusters else None,
                             "score_s": mu + item_effect[i] + rng.normal(0, noise_sd)})
    df = pd.DataFrame(rows)
    df.attrs["manifest"] = {"factors": design(), "factor_levels": LEVELS,
                            "scorers": {"t": [{"name": "s", "kind": "graded"}]}}
    return df
