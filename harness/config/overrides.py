"""Command-line settings laid over an experiment file (``--limit``, ``--model``...)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from harness.config.experiment import ExperimentConfig
from harness.errors import ConfigError


def apply_overrides(
    experiment: ExperimentConfig,
    *,
    limit: int | None = None,
    models: list[str] | None = None,
    epochs: int | None = None,
    seed: int | None = None,
    concurrency: int | None = None,
    max_error_rate: float | None = None,
    max_cost_usd: float | None = None,
    cache: bool | None = None,
    cache_dir: str | None = None,
    confirm_above_usd: float | None = None,
) -> ExperimentConfig:
    """Command-line settings win over the file; the result is validated like the file."""
    update: dict[str, Any] = {}
    for key, value in (("limit", limit), ("epochs", epochs), ("seed", seed),
                       ("concurrency", concurrency), ("max_error_rate", max_error_rate),
                       ("max_cost_usd", max_cost_usd), ("cache", cache),
                       ("cache_dir", cache_dir), ("confirm_above_usd", confirm_above_usd)):
        if value is not None:
            update[key] = value
    if models:
        update["models"] = list(models)
    if not update:
        return experiment
    data = experiment.model_dump()
    data.update(update)
    try:
        updated = ExperimentConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = str(first["loc"][0]) if first["loc"] else ""
        value = update.get(key)
        if key == "models" and len(first["loc"]) > 1 and isinstance(first["loc"][1], int):
            value = update["models"][first["loc"][1]]
        flag = {"models": "--model", "confirm_above_usd": "--confirm-above"}.get(
            key, "--" + key.replace("_", "-"))
        message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        raise ConfigError(f"{flag} {value}: {message}") from None
    updated.source = experiment.source
    updated._lines = experiment._lines
    updated._flags = {**experiment._flags, **({"models": "--model"} if models else {})}
    return updated
