"""A simulated judged run with known truth: true pass rates per variant, a judge of known
sensitivity and specificity (and judge epochs), a labelled calibration set, and pairwise
preferences with a known position bias. Shaped like what the judges write."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from harness.report.judge_data import JudgeData
from harness.results import RunWriter

TASK, MODEL, JUDGE = "open", "m", "helpful"


@dataclass
class Truth:
    rates: dict[str, float]
    se: float
    sp: float
    judge_epochs: int
    first_bias: float
    strengths: dict[str, float]


def _verdicts(truth: np.ndarray, se: float, sp: float, rng: np.random.Generator,
              epochs: int = 1) -> np.ndarray:
    u = rng.random((*truth.shape, epochs))
    return np.where(truth[..., None] == 1, u < se, u >= sp).astype(float)


def simulate(*, rates: dict[str, float] | None = None, se: float = 0.9, sp: float = 0.8,
             n_items: int = 300, n_labels: tuple[int, int] = (100, 100), judge_epochs: int = 1,
             first_bias: float = 0.0, strengths: dict[str, float] | None = None,
             labels: bool = True, pairwise: bool = True, seed: int = 0
             ) -> tuple[pd.DataFrame, JudgeData, Truth]:
    rng = np.random.default_rng(seed)
    rates = rates or {"terse": 0.3, "friendly": 0.6}
    strengths = strengths or {v: float(i) * -0.8 for i, v in enumerate(rates)}
    rows = []
    for variant, rate in rates.items():
        truth = (rng.random(n_items) < rate).astype(float)
        verdicts = _verdicts(truth, se, sp, rng, judge_epochs)
        for i in range(n_items):
            v = verdicts[i]
            rows.append({
                "sample_id": f"{TASK}/{variant}/{MODEL}/q{i}/0", "task": TASK, "model": MODEL,
                "variant": variant, "item_id": f"q{i:04d}", "epoch": 0, "cluster": None,
                "error": None, "scoring_error": None, "output": "an answer", "answer": "x",
                "target": "", "input": f"question {i}", f"score_{JUDGE}": float(v.mean()),
                "score_details": {JUDGE: {"explanation": "ok", "metadata": {
                    "judge": "openai/judge", "verdicts": [
                        {"judge_epoch": e, "value": float(v[e])} for e in range(judge_epochs)]}}},
                "latency_s": 0.1, "input_tokens": 10, "output_tokens": 5, "cost_usd": np.nan,
                "cached": False,
            })
    samples = pd.DataFrame(rows)
    samples.attrs["manifest"] = {"scorers": {TASK: [
        {"name": JUDGE, "kind": "binary" if judge_epochs == 1 else "graded", "type": "judge"}]}}
    calibration = None
    if labels:
        lab = np.r_[np.ones(n_labels[0]), np.zeros(n_labels[1])]
        cv = _verdicts(lab, se, sp, rng, judge_epochs)
        calibration = pd.DataFrame([
            {"task": TASK, "judge": JUDGE, "id": f"c{i}", "judge_epoch": e,
             "verdict": float(cv[i, e]), "label": int(lab[i]), "explanation": ""}
            for i in range(lab.size) for e in range(judge_epochs)])
    pair_rows = []
    if pairwise:
        names = list(rates)
        for i in range(n_items // 3):
            for a, b in itertools.combinations(names, 2):
                for first in ("a", "b"):
                    logit = strengths[a] - strengths[b] + (first_bias if first == "a"
                                                           else -first_bias)
                    won = rng.random() < 1 / (1 + np.exp(-logit))
                    pair_rows.append({"task": TASK, "model": MODEL, "item_id": f"q{i:04d}",
                                      "epoch": 0, "judge": "prefer", "variant_a": a,
                                      "variant_b": b, "shown_first": first,
                                      "winner": "a" if won else "b", "explanation": ""})
    data = JudgeData(calibration=calibration,
                     pairwise=pd.DataFrame(pair_rows) if pair_rows else None)
    return samples, data, Truth(rates, se, sp, judge_epochs, first_bias, strengths)


def write_judged_run(root: Path, samples: pd.DataFrame, data: JudgeData,
                     run_id: str = "judged") -> Path:
    """The simulated run as a run folder, with calibration.jsonl and pairwise.jsonl."""
    run_dir = root / run_id
    writer = RunWriter(run_dir)
    writer.write_manifest({
        "run_id": run_id, "experiment": "open", "experiment_file": "open.yaml",
        "status": "complete", "config": {"epochs": 1}, "versions": {},
        "models": {MODEL: {"model": "openai/x", "api_base": None}},
        "scorers": samples.attrs["manifest"]["scorers"]})
    for r in samples.to_dict("records"):
        record = {k: v for k, v in r.items() if not k.startswith("score_")
                  and not (isinstance(v, float) and np.isnan(v))}
        record["scores"] = {JUDGE: r[f"score_{JUDGE}"]}
        record["score_details"] = r["score_details"]
        record["run_id"] = run_id
        writer.append(record)
    writer.close()
    if data.calibration is not None:
        data.calibration.to_json(run_dir / "calibration.jsonl", orient="records", lines=True)
    if data.pairwise is not None:
        data.pairwise.to_json(run_dir / "pairwise.jsonl", orient="records", lines=True)
    return run_dir
