"""``harness run --ray [ADDRESS]``: a run's model calls spread over the workers of a Ray cluster.

The design keeps everything that makes a run trustworthy in the one process that started it
(the *driver*): the plan, the run lock, the manifest, the response cache, retries, per-model
limits and replicas, scoring and the records in ``samples.jsonl``, resume, the budget, the
sequential monitor and Ctrl-C. Only the model calls leave it: each goes to one of a set of
Ray actors (``worker_plan``: one per GPU for local models; ``--ray-workers`` says
otherwise). Each actor holds its own model client
(a local model loaded once per actor, on its GPU; its own HTTP session for hosted calls) and
takes many calls at once, so a local model batches them as in a local run.

Why calls and not whole shards of the plan: a shard that writes its own files needs the run
folder (and the cache) on a filesystem every machine shares, and merging them must then
re-implement resume, the budget and the cache's "one call per distinct request". With the
calls dispatched, the records, the cache and resume are those of a local run *by
construction* (the same code writes them), and the samples of a sharded run equal those of a
local one. The *shards* are the calls each actor has in flight: the driver sends each call to
the actor with the fewest in flight, so a slow GPU takes less.

A killed worker: Ray restarts the actor (``max_restarts``) and sends it again the calls it
had in flight (``max_task_retries``); samples already answered are in ``samples.jsonl`` and
are never sent again. A call the dead worker had sent may reach the server a second time,
since its answer was lost with the worker; no finished sample is repeated. A worker that
stays dead fails its calls as retryable errors, which the driver's retries send elsewhere.

Workers need what a local run needs on their machine: the harness installed (the same
version), the local model files at the same path, and the API keys in their environment
(keys are never shipped through Ray).
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from harness.config import ModelConfig
from harness.errors import ConfigError
from harness.models.client import Completion, LiteLLMClient, ModelCallError

MAX_RESTARTS = 3


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("--ray needs Ray: pip install 'prompt-harness[ray]' (or pip install "
                          "ray) on this machine and every worker") from None
    return ray


class CallWorker:
    """A Ray actor's body: one model client, calls answered as data (never as exceptions,
    which Ray would wrap and which the driver must read as the harness's own errors)."""

    def __init__(self) -> None:
        self.client = LiteLLMClient()

    async def complete(self, model: ModelConfig, messages: list[dict[str, str]],
                       params: dict[str, Any], epoch: int) -> tuple[Any, ...]:
        try:
            return ("ok", await self.client.complete(model, messages, params, epoch=epoch))
        except ModelCallError as error:
            return ("error", str(error), error.retryable, error.retry_after, error.status,
                    error.failover)
        except ConfigError as error:
            return ("config", str(error))

    def identity(self, model: ModelConfig) -> dict[str, Any]:
        """The model's identity as this worker sees it (a local model's device and dtype)."""
        from harness.models.identity import model_identity

        return model_identity(model)

    def pid(self) -> int:
        return os.getpid()

    async def aclose(self) -> None:
        await self.client.aclose()


# Hosted calls need little CPU per worker (they wait on the network); more processes than
# this mostly cost memory (each imports LiteLLM) while the driver scores every answer.
MAX_HOSTED_WORKERS = 16


def worker_plan(ray: Any, models: list[ModelConfig],
                workers: int | None) -> tuple[int, dict[str, Any]]:
    """How many actors, and the resources each holds: local models get one per GPU, or one
    per machine without GPUs (a CPU model uses all of a machine's cores; two copies would
    fight over them); hosted calls one per CPU, up to ``MAX_HOSTED_WORKERS``."""
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    cpus = max(1, int(resources.get("CPU", 1)))
    # More workers than the cluster has GPUs (CPUs) share them: an actor asking for a whole
    # one that is not there would never start, and the calls sent to it would wait forever.
    if any(m.model.startswith("hf/") for m in models):
        if gpus:
            count = workers or gpus
            return count, {"num_gpus": min(1.0, gpus / count), "num_cpus": 0}
        nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
        count = workers or max(1, nodes)
        return count, {"num_cpus": min(1.0, cpus / count), "scheduling_strategy": "SPREAD"}
    count = workers or min(cpus, MAX_HOSTED_WORKERS)
    return count, {"num_cpus": min(1.0, cpus / count)}


class RayClient:
    """The innermost client of a ``--ray`` run: each call to the least busy actor."""

    def __init__(self, address: str | None, models: list[ModelConfig], *,
                 workers: int | None = None) -> None:
        if workers is not None and workers < 1:
            raise ConfigError(f"--ray-workers {workers}: must be at least 1")
        ray = import_ray()
        self.ray = ray
        self.started = not ray.is_initialized()
        if self.started:
            try:
                ray.init(address=address or None, log_to_driver=False,
                         logging_level="warning")
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise ConfigError(f"--ray {address or ''}: cannot reach a Ray cluster "
                                  f"({str(exc).splitlines()[0]}); start one with `ray start "
                                  "--head` or give its address") from None
        count, resources = worker_plan(ray, models, workers)
        actor = ray.remote(CallWorker).options(
            max_restarts=MAX_RESTARTS, max_task_retries=MAX_RESTARTS,
            max_concurrency=1000, **resources)
        self.actors = [actor.remote() for _ in range(count)]
        self.in_flight = [0] * count
        self.resources = resources
        self.address = address
        self._local = LiteLLMClient()  # what a call sends, worked out here for the cache

    def describe(self) -> dict[str, Any]:
        """For the manifest: where the calls went."""
        return {"address": self.address or "local", "workers": len(self.actors),
                **{k.removeprefix("num_"): v for k, v in self.resources.items()
                   if k.startswith("num_")}}

    def sent_params(self, model: ModelConfig, params: dict[str, Any]) -> dict[str, Any]:
        return self._local.sent_params(model, params)

    def model_identity(self, model: ModelConfig) -> dict[str, Any]:
        """A local model's identity as a worker sees it: its device and dtype, not the
        driver's, decide its answers."""
        return self.ray.get(self.actors[0].identity.remote(model))

    def price(self, model: str) -> Any:
        return self._local.price(model)

    async def complete(
        self,
        model: ModelConfig,
        messages: list[dict[str, str]],
        params: dict[str, Any],
        *,
        epoch: int = 0,
    ) -> Completion:
        index = min(range(len(self.actors)), key=self.in_flight.__getitem__)
        self.in_flight[index] += 1
        try:
            reply = await self.actors[index].complete.remote(model, messages, params, epoch)
        except self.ray.exceptions.RayError as exc:  # the actor is gone for good
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelCallError(f"RayWorkerError: {text}"[:500], retryable=True) from None
        finally:
            self.in_flight[index] -= 1
        if reply[0] == "ok":
            return reply[1]  # type: ignore[no-any-return]
        if reply[0] == "config":
            raise ConfigError(reply[1])
        _, message, retryable, retry_after, status, failover = reply
        raise ModelCallError(message, retryable=retryable, retry_after=retry_after,
                             status=status, failover=failover)

    async def aclose(self) -> None:
        for actor in self.actors:
            with contextlib.suppress(self.ray.exceptions.RayError):
                await actor.aclose.remote()

    def close(self) -> None:
        """Stop the actors; shut Ray down when this run started it."""
        for actor in self.actors:
            self.ray.kill(actor)
        if self.started:
            self.ray.shutdown()
