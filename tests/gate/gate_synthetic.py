"""Run folders written directly (no model, no LiteLLM), for fast tests of the gate's logic."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.results import RunWriter


def write_run(root: Path, run_id: str, scores: dict[str, Sequence[Any]], *,
              kind: str = "binary", outputs: dict[str, Sequence[str]] | None = None,
              clusters: Sequence[str | None] | None = None, task: str = "toy",
              templates: dict[str, str] | None = None, model: str = "openai/x") -> Path:
    """A run whose variant ``v`` scores ``scores[v][i]`` on item ``i`` (a list: one per epoch)."""
    run_dir = root / run_id
    writer = RunWriter(run_dir)
    writer.write_manifest({
        "run_id": run_id, "experiment": "toy", "experiment_file": "toy.yaml",
        "status": "complete", "config_hash": f"hash-{run_id}",
        "config": {"epochs": 1}, "versions": {"prompt-harness": "0.1.0"},
        "templates": {v: {"sha256": (templates or {}).get(v, "same")} for v in scores},
        "models": {"m": {"model": model, "api_base": None}},
        "scorers": {task: [{"name": "score", "kind": kind}]},
    })
    for variant, values in scores.items():
        for i, value in enumerate(values):
            per_epoch = value if isinstance(value, list) else [value]
            for epoch, score in enumerate(per_epoch):
                text = (outputs or {}).get(variant, [f"out {variant} {i}"] * len(values))[i]
                writer.append({
                    "run_id": run_id, "sample_id": f"{task}/{variant}/m/i{i:03d}/{epoch}",
                    "task": task, "variant": variant, "model": "m", "model_id": model,
                    "item_id": f"i{i:03d}", "epoch": epoch,
                    "cluster": clusters[i] if clusters else None, "input": f"input {i}",
                    "target": "yes", "output": None if score is None else text,
                    "answer": text, "scores": {} if score is None else {"score": score},
                    "error": "boom" if score is None else None, "cost_usd": 0.001,
                    "latency_s": 0.1 + 0.01 * i, "input_tokens": 10, "output_tokens": 2,
                    "cached": False,
                })
    writer.close()
    return run_dir
