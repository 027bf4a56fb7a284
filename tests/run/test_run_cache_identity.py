"""A replay from the cache is the run it replays: sampled answers come back sample for sample,
identical requests of one run share one call, a stored answer is never replaced, and the key
identifies the model (where it is served from, what its weights hold, where it runs) and the
parameters LiteLLM really sends."""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path

import pytest
from run_helpers import write_experiment

import harness
from harness.cache import ResponseCache, cache_key, identity_text
from harness.cached_client import CachedClient
from harness.config import ModelConfig
from harness.models import hf_identity
from harness.models.client import Completion
from harness.models.identity import is_sampled, model_identity
from harness.testing.loopback import LoopbackServer

MESSAGES = [{"role": "user", "content": "hi"}]
GREEDY = {"temperature": 0.0, "max_tokens": 8}


def random_answer(messages: list[dict[str, str]], body: dict) -> str:
    """Truly random (not seeded by the request): only the cache can reproduce an answer."""
    return f"The answer is {secrets.randbelow(10**12)}."


def outputs(samples) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return dict(zip(samples["sample_id"], samples["output"], strict=True))


@pytest.mark.parametrize("transport", ["auto", "litellm"])
def test_a_cached_rerun_of_a_sampled_run_reproduces_every_sample(
    tmp_path: Path, add_task: Path, key: str, transport: str
) -> None:
    cache_dir = tmp_path / "cache"
    variants = "[zero-shot, {name: same-prompt, template: zero-shot}, {name: few-shot, shots: 2}]"
    with LoopbackServer(random_answer) as server:
        exp = write_experiment(
            tmp_path, server.url, limit=6, variants=variants,
            model_extra=f"temperature: 0.9, transport: {transport}",
            extra=f"epochs: 3\nconcurrency: 8\ncache_dir: {cache_dir}\n")
        first = harness.run(exp, results_dir=tmp_path / "r1", reports_dir=None, quiet=True)
        # 6 items x 2 distinct prompts x 3 epochs: the two variants with one prompt share it.
        assert len(server.received) == 36
        again = harness.run(exp, results_dir=tmp_path / "r2", reports_dir=None, quiet=True)
        assert len(server.received) == 36  # nothing asked again
    assert len(first) == 54 and first["error"].isna().all()
    assert again["cached"].all()
    assert outputs(again) == outputs(first)  # every sample, every epoch
    # Repeats of a sampled item still differ: the within-item variance is not collapsed.
    per_item = first[first["variant"] == "zero-shot"].groupby("item_id")["output"].nunique()
    assert (per_item == 3).all()
    # Identical requests got one answer within the run, as they do in its replay.
    pairs = first.pivot_table(index=["item_id", "epoch"], columns="variant", values="output",
                              aggfunc="first")
    assert (pairs["zero-shot"] == pairs["same-prompt"]).all()


def test_identical_requests_in_one_run_share_one_call(
    tmp_path: Path, add_task: Path, key: str
) -> None:
    """10 distinct prompts, each asked 6 times (2 identical variants x 3 greedy epochs), many
    of them while the first is still in flight: 10 calls reach the server."""
    variants = "[zero-shot, {name: again, template: zero-shot}]"
    with LoopbackServer(random_answer, latency=0.05) as server:
        exp = write_experiment(tmp_path, server.url, limit=10, variants=variants,
                               extra=f"epochs: 3\ncache_dir: {tmp_path / 'cache'}\n")
        samples = harness.run(exp, results_dir=tmp_path / "r", reports_dir=None, quiet=True)
        assert len(server.received) == 10
    assert len(samples) == 60 and samples["error"].isna().all()
    assert (samples.groupby("item_id")["output"].nunique() == 1).all()
    # Only the call that reached the server is paid for; the others are shared answers.
    assert int((~samples["cached"]).sum()) == 10


def test_shared_calls_share_their_failure_and_nothing_is_cached(tmp_path: Path) -> None:
    calls = []

    class Failing:
        async def complete(self, model, messages, params, *, epoch=0):  # type: ignore[no-untyped-def]
            calls.append(epoch)
            await asyncio.sleep(0.05)
            raise RuntimeError("boom")

    cache = ResponseCache(tmp_path / "c.sqlite")
    client = CachedClient(Failing(), cache)
    model = ModelConfig(model="openai/m", api_base="http://x")

    async def main() -> list[object]:
        return await asyncio.gather(*[client.complete(model, MESSAGES, GREEDY, epoch=e)
                                      for e in range(4)], return_exceptions=True)

    results = asyncio.run(main())
    assert len(calls) == 1 and all(isinstance(r, RuntimeError) for r in results)
    assert cache.get(cache_key(model, MESSAGES, GREEDY, 0)) is None


def test_a_stored_answer_is_never_overwritten_and_pending_answers_are_visible(
    tmp_path: Path
) -> None:
    path = tmp_path / "c.sqlite"
    first = ResponseCache(path, flush_every=100, flush_interval=3600)
    first.put("k", "m", Completion(text="first", finish_reason="stop", response_model="m-1"))
    hit = first.get("k")  # not yet written to the file: still served
    assert hit is not None and hit.text == "first" and hit.cached
    first.put("k", "m", Completion(text="second"))
    assert first.get("k").text == "first"  # type: ignore[union-attr]
    # Another process answers the same key later, and writes first.
    other = ResponseCache(path)
    other.put("k", "m", Completion(text="other"))
    other.flush()
    first.flush()
    assert first.get("k").text == "first"  # type: ignore[union-attr]  # its run stays consistent
    fresh = ResponseCache(path).get("k")
    assert fresh is not None and fresh.text == "other"  # the first writer's answer stays
    other.put("k", "m", Completion(text="later"))
    other.close()
    stored = ResponseCache(path).get("k")
    assert stored is not None and stored.text == "other"
    first.close()
    again = ResponseCache(path).get("k")
    assert again is not None and again.text == "other"


def test_finish_reason_and_response_model_survive_the_cache(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    cache.put("k", "m", Completion(text="x", finish_reason="length", response_model="gpt-x-01"))
    cache.close()
    hit = ResponseCache(tmp_path / "c.sqlite").get("k")
    assert hit is not None and (hit.finish_reason, hit.response_model) == ("length", "gpt-x-01")


def test_the_api_base_from_the_environment_is_part_of_the_key(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    model = ModelConfig(model="openai/gpt-4o-mini")
    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://one.example/v1")
    one = cache_key(model, MESSAGES, GREEDY, 0)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://two.example/v1")
    two = cache_key(model, MESSAGES, GREEDY, 0)
    assert one != two
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.setenv("OPENAI_API_BASE", "http://two.example/v1/")
    assert cache_key(model, MESSAGES, GREEDY, 0) == two  # LiteLLM's other name for it
    # A base in the config is where the call goes, whatever the environment says.
    pinned = ModelConfig(model="openai/gpt-4o-mini", api_base="http://one.example/v1")
    assert cache_key(pinned, MESSAGES, GREEDY, 0) == one


def _fake_checkpoint(folder: Path, weights: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text('{"model_type": "llama"}')
    (folder / "model.safetensors").write_bytes(weights)
    (folder / "README.md").write_text("notes")
    return folder


@pytest.fixture
def cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """No torch in fast tests: the device the loader would pick, stated."""
    monkeypatch.setattr(hf_identity, "device_and_dtype", lambda: ("cpu", "float32"))


def test_a_local_model_is_identified_by_its_absolute_path_and_its_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cpu: None
) -> None:
    digests = tmp_path / "cache"
    _fake_checkpoint(tmp_path / "a" / "ckpt", b"weights-1" * 1000)
    _fake_checkpoint(tmp_path / "b" / "ckpt", b"weights-2" * 1000)
    model = ModelConfig(model="hf/ckpt")

    def key() -> str:
        return cache_key(model, MESSAGES, GREEDY, 0,
                         identity=identity_text(model_identity(model, digests)))

    monkeypatch.chdir(tmp_path / "a")
    identity = model_identity(model, digests)
    assert identity["source"] == str((tmp_path / "a" / "ckpt").resolve())
    in_a = key()
    monkeypatch.chdir(tmp_path / "b")
    assert key() != in_a  # same relative name, another model
    # Retrained in place: same path, same size, new content.
    monkeypatch.chdir(tmp_path / "a")
    weights = tmp_path / "a" / "ckpt" / "model.safetensors"
    before = weights.stat()
    weights.write_bytes(b"weights-3" * 1000)
    os.utime(weights, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000))
    retrained = key()
    assert retrained != in_a
    # A note beside the weights is not the model.
    (tmp_path / "a" / "ckpt" / "README.md").write_text("other notes")
    assert key() == retrained
    # Device and dtype are part of it.
    monkeypatch.setattr(hf_identity, "device_and_dtype", lambda: ("cuda", "bfloat16"))
    assert key() != retrained


def test_weights_are_hashed_once_not_once_per_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cpu: None
) -> None:
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(os.urandom(4096))
    model = ModelConfig(model=f"hf/{gguf}")
    hashed: list[Path] = []
    real = hf_identity.hash_file
    monkeypatch.setattr(hf_identity, "hash_file", lambda p: hashed.append(p) or real(p))
    first = model_identity(model, tmp_path / "cache")
    second = model_identity(model, tmp_path / "cache")
    assert first == second and hashed == [gguf]
    assert first["files"] == {"tiny.gguf": real(gguf)}


def test_sampled_is_judged_by_what_is_sent() -> None:
    assert not is_sampled({"temperature": 0.0})
    assert is_sampled({"temperature": 0.5})
    assert is_sampled({"max_completion_tokens": 8})  # temperature dropped: provider default


def test_a_temperature_litellm_drops_makes_the_answers_sampled(tmp_path: Path) -> None:
    """OpenAI's reasoning models take no temperature: LiteLLM drops it (the harness sets
    drop_params), the model samples, and the epochs of a run must not share one answer."""
    from harness.models.client import LiteLLMClient

    model = ModelConfig(model="openai/o1", api_base="http://127.0.0.1:9/v1")
    client = CachedClient(LiteLLMClient(), ResponseCache(tmp_path / "c.sqlite"),
                          LiteLLMClient())
    sent = client.sent_params(model, GREEDY)
    assert "temperature" not in sent
    assert client.key(model, MESSAGES, GREEDY, 0) != client.key(model, MESSAGES, GREEDY, 1)
    plain = ModelConfig(model="openai/gpt-4o-mini", api_base="http://127.0.0.1:9/v1")
    assert client.sent_params(plain, GREEDY)["temperature"] == 0.0
    assert client.key(plain, MESSAGES, GREEDY, 0) == client.key(plain, MESSAGES, GREEDY, 1)


def test_a_cache_file_of_the_previous_format_is_upgraded_in_place(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE responses (key TEXT PRIMARY KEY, model TEXT NOT NULL, text TEXT NOT "
               "NULL, input_tokens INTEGER, output_tokens INTEGER, cost_usd REAL, latency_s "
               "REAL, created REAL NOT NULL)")
    db.execute("INSERT INTO responses VALUES ('old', 'm', 'kept', 1, 2, 0.0, 0.1, 0)")
    db.commit()
    db.close()
    cache = ResponseCache(path)
    cache.put("new", "m", Completion(text="x", finish_reason="length"))
    cache.close()
    cache = ResponseCache(path)
    old, new = cache.get("old"), cache.get("new")
    assert old is not None and old.text == "kept" and old.finish_reason is None
    assert new is not None and new.finish_reason == "length"
