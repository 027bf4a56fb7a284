"""Replicas behind one model name: the ``deployments`` of a model entry.

One model is often served many times: several vLLM replicas of one checkpoint, or one hosted
model reached with several API keys or in several regions. A model entry lists them as
``deployments``; the harness spreads the calls over them (``harness.models.replicas``), keeps
each within its own limits, and sends a failed call's retry to another one. They answer for
one model, so the run, the records, the statistics and the response cache see one model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict, Field, field_validator

from harness.config.validation import NoBoolNumbers

if TYPE_CHECKING:
    from harness.config.experiment import ModelConfig


def check_http_url(value: str | None) -> str | None:
    """A base that cannot work (no scheme, another scheme, no host, a bad port) would fail
    every call only after its retries; refuse it before the first. (A key in its query is
    allowed, as Gemini-style endpoints want it, and redacted wherever it is written.)"""
    if value is None:
        return value
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError as exc:
        raise ValueError(f"not a URL ({exc}); write it as http://host:port/v1") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not an http(s) URL with a host; write it as "
                         "http://host:port/v1 or https://host/v1")
    return value


class Deployment(NoBoolNumbers):
    """One server (or key, or region) that serves the entry's model.

    ``model`` overrides the entry's LiteLLM string for this deployment only (an Azure
    deployment name, another provider's route to the same weights); everything left out is
    the entry's own value.
    """

    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    api_base: str | None = None
    api_key_env: str | None = None
    timeout: float | None = Field(default=None, gt=0)
    max_concurrency: int | None = Field(default=None, ge=1)
    rpm: float | None = Field(default=None, gt=0)
    tpm: float | None = Field(default=None, gt=0)

    @field_validator("api_base")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return check_http_url(value)

    @field_validator("model")
    @classmethod
    def _has_provider(cls, value: str | None) -> str | None:
        if value is not None and ("/" not in value or not value.split("/", 1)[1].strip("/ ")):
            raise ValueError(f"'{value}' has no provider prefix; write it as LiteLLM does, "
                             "e.g. hosted_vllm/<served model name>")
        return value


def expand(model: ModelConfig) -> list[ModelConfig]:
    """The entry as one ModelConfig per deployment (itself alone when it lists none).

    Each carries its deployment's server, key variable and limits; its ``name`` says which
    replica it is (``label@2``), for messages and per-replica counts.
    """
    if not model.deployments:
        return [model]
    out = []
    for index, deployment in enumerate(model.deployments):
        given: dict[str, Any] = deployment.model_dump(exclude_none=True)
        out.append(model.model_copy(update={
            "deployments": None, "allowed_fails": None, "cooldown_time": None,
            "name": f"{model.label}@{index}", "api_base": None,
            # An entry-wide limit applies to the replicas together (harness.models.limits);
            # each replica has only its own.
            "max_concurrency": None, "rpm": None, "tpm": None,
            **given}))
    return out
