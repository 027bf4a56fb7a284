"""Helpers for the run tests: an experiment file pointed at a loopback server."""

from __future__ import annotations

from pathlib import Path

KEY_ENV = "HARNESS_RUN_TEST_KEY"
KEY = "sk-run-test-4e1b7d9c2a"


def write_experiment(
    tmp_path: Path,
    url: str,
    *,
    model: str = "openai/test-model",
    limit: int = 12,
    variants: str = "[zero-shot, {name: few-shot, shots: 2}]",
    model_extra: str = "",
    extra: str = "",
    name: str = "exp",
) -> Path:
    """An experiment over the shared ``add`` task (see tests/conftest.py) and one model."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"name: {name}\n"
        "tasks: [add]\n"
        f"variants: {variants}\n"
        "models:\n"
        f"  - {{model: {model}, api_base: '{url}/v1', api_key_env: {KEY_ENV}, "
        f"max_tokens: 32{', ' + model_extra if model_extra else ''}}}\n"
        f"limit: {limit}\n"
        f"{extra}",
        encoding="utf-8",
    )
    return path


def by_sample(samples) -> dict[str, tuple]:  # type: ignore[no-untyped-def]
    """What must not depend on how the run went: answer, scores, error, tokens, per sample."""
    score_cols = sorted(c for c in samples.columns if c.startswith("score_"))
    out = {}
    for row in samples.to_dict(orient="records"):
        out[row["sample_id"]] = (
            row["output"], row["answer"], tuple(row[c] for c in score_cols), row["error"],
            row["input_tokens"], row["output_tokens"],
        )
    return out
