"""Throughput of the in-process HF model through LiteLLM, as the runner drives it.

    nice .venv/bin/python benchmarks/bench_local_model.py          # full (~10 min on 2 cores)
    nice .venv/bin/python benchmarks/bench_local_model.py --quick  # smaller, ~2 min

(a) decode-heavy: prompts that make the model write at length, sent one at a time
    (batch_size=1) vs all at once (batched, batch_size=16); tokens per second.
(b) prefill-heavy: short-answer items behind one long 4-shot prompt, all in flight at batch 16,
    plain batched ``generate`` vs prefix KV-cache reuse; wall time and identical outputs.

Every figure and ratio comes from this one run, so a busy machine slows both sides alike.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness.models._litellm import import_litellm
from harness.models.local_hf import register_local_provider

TOPICS = [
    "the water cycle",
    "how a bicycle works",
    "the history of the printing press",
    "why leaves change colour in autumn",
    "how vaccines train the immune system",
    "the life of a honeybee",
    "how a refrigerator keeps food cold",
    "the causes of the tides",
    "how bread rises",
    "the phases of the Moon",
    "how airplanes stay in the air",
    "the invention of the telephone",
    "how volcanoes form",
    "the journey of a letter by post",
    "how solar panels make electricity",
    "why the sky is blue",
]
STYLES = [
    "Explain {t} step by step, in detail, to a curious twelve-year-old.",
    "Write a long, friendly blog post about {t}.",
    "Think step by step and describe {t} thoroughly, with examples.",
    "Write a detailed story in which a teacher explains {t} to her class.",
]

FEWSHOT = [
    (
        "A baker made 48 muffins in the morning and 36 more in the afternoon. She sold 59 of "
        "them before closing. How many muffins were left at the end of the day?",
        "25",
    ),
    (
        "A train leaves at 9:15 and the trip takes 2 hours and 50 minutes. The train was delayed "
        "by 25 minutes on the way. At what time did it arrive? Give the hour only.",
        "12",
    ),
    (
        "Sam has three boxes with 14 marbles each. He gives 9 marbles to his sister and then "
        "buys a bag of 20 more marbles. How many marbles does Sam have now?",
        "53",
    ),
    (
        "A rectangle is 7 metres long and 5 metres wide. A second rectangle has twice the "
        "length and the same width. What is the area of the second rectangle in square metres?",
        "70",
    ),
]
SYSTEM = (
    "You are a careful math tutor grading short word problems. Read each problem, work it out "
    "silently, and reply with the final number only: no units, no words, no explanation. "
    "If a problem asks for a time, reply with the hour only. Keep every answer on one line."
)
NAMES = ["Ana", "Ben", "Chloe", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivan", "Jo"]
THINGS = ["apples", "stickers", "coins", "books", "shells", "pencils", "cards", "eggs"]


def decode_prompts(n: int) -> list[list[dict[str, str]]]:
    out = []
    for i in range(n):
        text = STYLES[i % len(STYLES)].format(t=TOPICS[(i // len(STYLES)) % len(TOPICS)])
        if i >= len(TOPICS) * len(STYLES):
            text += f" (version {i})"
        out.append([{"role": "user", "content": text}])
    return out


def fewshot_items(n: int, seed: int = 7) -> list[tuple[list[dict[str, str]], str]]:
    rng = random.Random(seed)
    items = []
    for _ in range(n):
        name, thing = rng.choice(NAMES), rng.choice(THINGS)
        a, b, c = rng.randint(5, 60), rng.randint(5, 60), rng.randint(1, 30)
        question = (
            f"{name} has {a} {thing} and gets {b} more from a friend, then loses {c}. "
            f"How many {thing} does {name} have now?"
        )
        messages = [{"role": "system", "content": SYSTEM}]
        for q, ans in FEWSHOT:
            messages += [{"role": "user", "content": q}, {"role": "assistant", "content": ans}]
        messages.append({"role": "user", "content": question})
        items.append((messages, str(a + b - c)))
    return items


async def call(litellm: Any, model: str, messages: list, **kw: Any) -> Any:
    return await litellm.acompletion(model=model, messages=messages, temperature=0, **kw)


async def timed_gather(litellm: Any, model: str, prompts: list, **kw: Any) -> tuple[float, list]:
    start = time.perf_counter()
    responses = await asyncio.gather(*[call(litellm, model, m, **kw) for m in prompts])
    return time.perf_counter() - start, responses


async def bench_decode(litellm: Any, model: str, n: int, max_tokens: int) -> dict[str, Any]:
    prompts = decode_prompts(n)
    kw = {"max_tokens": max_tokens, "prefix_cache": False}  # isolate batching
    start = time.perf_counter()
    single = [await call(litellm, model, m, batch_size=1, **kw) for m in prompts]
    t_single = time.perf_counter() - start
    t_batch, batched = await timed_gather(litellm, model, prompts, batch_size=16, **kw)
    tok_single = sum(r.usage.completion_tokens for r in single)
    tok_batch = sum(r.usage.completion_tokens for r in batched)
    same = sum(
        a.choices[0].message.content == b.choices[0].message.content
        for a, b in zip(single, batched, strict=True)
    )
    return {
        "prompts": n,
        "max_tokens": max_tokens,
        "min_tokens_generated": min(r.usage.completion_tokens for r in batched),
        "one_at_a_time_s": round(t_single, 1),
        "one_at_a_time_tok_s": round(tok_single / t_single, 1),
        "batched_s": round(t_batch, 1),
        "batched_tok_s": round(tok_batch / t_batch, 1),
        "speedup": round((tok_batch / t_batch) / (tok_single / t_single), 2),
        "identical_outputs": f"{same}/{n}",
    }


async def bench_prefill(litellm: Any, model: str, n: int, max_tokens: int) -> dict[str, Any]:
    items = fewshot_items(n)
    prompts = [m for m, _ in items]
    kw = {"max_tokens": max_tokens, "stop": ["\n"], "batch_size": 16}
    t_plain, plain = await timed_gather(litellm, model, prompts, prefix_cache=False, **kw)
    from harness.models.hf_loading import load_model

    batcher = load_model(model.removeprefix("hf/")).batcher
    before = batcher.batches if batcher is not None else 0
    t_prefix, cached = await timed_gather(litellm, model, prompts, prefix_cache=True, **kw)
    batcher = load_model(model.removeprefix("hf/")).batcher
    calls = batcher.batches - before if batcher is not None else None
    texts_plain = [r.choices[0].message.content for r in plain]
    texts_prefix = [r.choices[0].message.content for r in cached]
    same = sum(a == b for a, b in zip(texts_plain, texts_prefix, strict=True))
    return {
        "items": n,
        "prompt_tokens_mean": round(sum(r.usage.prompt_tokens for r in plain) / n),
        "plain_batched_s": round(t_plain, 1),
        "prefix_reuse_s": round(t_prefix, 1),
        "speedup": round(t_plain / t_prefix, 2),
        "identical_outputs": f"{same}/{n}",
        "generate_calls_prefix_reuse": calls,
        "generate_calls_target": -(-n // 16) + 1,
        "completion_tokens_mean": round(sum(r.usage.completion_tokens for r in cached) / n, 1),
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    litellm = import_litellm()
    register_local_provider()
    start = time.perf_counter()
    await call(litellm, args.model, [{"role": "user", "content": "Hi"}], max_tokens=2)
    results: dict[str, Any] = {"model": args.model, "load_s": round(time.perf_counter() - start, 1)}
    import torch

    results["torch_threads"] = torch.get_num_threads()
    # Set by the local route before torch loads (hf_threads.prefer_passive_openmp); both sides
    # of every ratio run in this process under it.
    results["omp_wait_policy"] = os.environ.get("OMP_WAIT_POLICY")
    results["load_avg_before"] = [round(x, 1) for x in os.getloadavg()]
    if "a" in args.parts:
        n, tokens = (16, 32) if args.quick else (64, 64)
        results["decode_heavy"] = await bench_decode(litellm, args.model, n, tokens)
        print(json.dumps({"decode_heavy": results["decode_heavy"]}), flush=True)
    if "b" in args.parts:
        n = 64 if args.quick else 300
        results["prefill_heavy"] = await bench_prefill(litellm, args.model, n, 8)
        print(json.dumps({"prefill_heavy": results["prefill_heavy"]}), flush=True)
    if "c" in args.parts:
        import tempfile

        from local_runner_case import bench_runner

        n, repeats = (32, 1) if args.quick else (300, 3)
        with tempfile.TemporaryDirectory(prefix="bench-local-") as tmp:
            results["runner"] = await asyncio.to_thread(
                bench_runner, args.model, args.items or n, args.repeats or repeats, 8,
                Path(tmp), fewshot_items(args.items or n), FEWSHOT)
        print(json.dumps({"runner": results["runner"]}), flush=True)
    results["load_avg_after"] = [round(x, 1) for x in os.getloadavg()]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer prompts and tokens")
    parser.add_argument("--model", default="hf/smollm2-135m-instruct")
    parser.add_argument("--parts", default="abc",
                        help="a = decode-heavy, b = prefill-heavy, c = through the runner")
    parser.add_argument("--items", type=int, help="items of part c (default 300, quick 32)")
    parser.add_argument("--repeats", type=int, help="repeats of part c (default 3, quick 1)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--threads", type=int, help="torch CPU threads (HARNESS_HF_THREADS)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.threads:
        os.environ["HARNESS_HF_THREADS"] = str(args.threads)
    results = asyncio.run(main_async(args))
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
