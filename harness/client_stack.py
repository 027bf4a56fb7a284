"""The client stack every model call of a run goes through: response cache, retries with
back-off, per-model concurrency limits, replicas, then the model client itself."""

from __future__ import annotations

from typing import Any

from harness.config import ExperimentConfig
from harness.models.client import Client, LiteLLMClient


def build_client(
    experiment: ExperimentConfig, client: Client | None = None, progress: Any = None
) -> tuple[Client, Any, Client]:
    """The production stack: cache -> retries -> per-model limits -> replicas -> LiteLLM.

    Returns the stack, the cache (None when off) and the innermost client, whose ``aclose``
    (when it has one) must run inside the run's event loop. ``progress`` (a
    ``harness.progress.Progress``) is told where to read each model's concurrency limit.
    """
    from harness.cache import ResponseCache, cache_file
    from harness.cached_client import CachedClient
    from harness.models.limits import LimitedClient
    from harness.models.replicas import ReplicaClient
    from harness.models.retry import RetryingClient

    inner: Client = client or LiteLLMClient()
    # Retries stay above the replicas: one sample's attempts are counted once, whichever
    # replica each went to.
    replicas = ReplicaClient(inner, default_cap=experiment.concurrency)
    limited = LimitedClient(replicas, default_cap=experiment.concurrency)
    if progress is not None:
        progress.concurrency = limited.describe
    stack: Client = RetryingClient(limited, retries=experiment.retries)
    cache = None
    if experiment.cache:
        cache = ResponseCache.open(cache_file(experiment.cache_dir))
    if cache is not None:
        # The LiteLLM client says what each call really sends (after drop_params).
        mapper = inner if hasattr(inner, "sent_params") else None
        stack = CachedClient(stack, cache, mapper)  # type: ignore[arg-type]
    return stack, cache, inner


async def execute_and_close(work: Any, client: Client) -> Any:
    """Run ``work``, then close the client's connections while their event loop still runs."""
    try:
        return await work
    finally:
        close = getattr(client, "aclose", None)
        if close is not None:
            await close()
