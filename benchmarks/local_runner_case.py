"""Part (c) of bench_local_model.py: the local model through the runner vs plain ``generate``.

The harness side is ``harness.api.run`` on an experiment written into a temporary project (300
short-answer word problems, a zero-shot and a 4-shot experiment, max 8 answer tokens, cache
off, report written), so the runner's own arrival pattern (16 workers, each sending its next
request when its answer is scored and written) is what the batcher sees. The plain side is what
a user of transformers would write: the same rendered prompts in the plan's order, batches of
16, left padding, greedy ``generate`` with the same ``max_new_tokens``. Both sides run in this
one process, repeat after repeat, so a busy machine slows them alike; every output is compared.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

TASK_YAML = """\
name: wordprob
description: Short word problems with an integer answer.
data:
  test: data/test.jsonl
  fewshot: data/fewshot.jsonl
eval_split: test
fewshot_split: fewshot
id_field: id
input: "{{ question }}"
target: "{{ answer }}"
instructions: "Solve the word problem."
answer_format: "Reply with the final number only."
parser:
  - {name: last_number}
scorers:
  - {name: numeric}
"""

EXPERIMENT_YAML = """\
name: local-{name}
tasks: [wordprob]
variants:
  - {{name: {name}, {shots}max_tokens: {max_tokens}}}
models:
  - {model}
limit: {limit}
seed: 1
cache: false
incomplete_answers: keep
"""


def write_project(root: Path, items: list[tuple[list[dict[str, str]], str]],
                  fewshot: list[tuple[str, str]], model: str, max_tokens: int) -> dict[str, Path]:
    """The task and the zero-shot / 4-shot experiment files; returns the experiments."""
    data = root / "tasks" / "wordprob" / "data"
    data.mkdir(parents=True, exist_ok=True)
    (root / "tasks" / "wordprob" / "task.yaml").write_text(TASK_YAML)
    with open(data / "test.jsonl", "w") as out:
        for i, (messages, answer) in enumerate(items):
            question = messages[-1]["content"]
            row = {"id": f"q{i:04d}", "question": question, "answer": answer}
            out.write(json.dumps(row) + "\n")
    with open(data / "fewshot.jsonl", "w") as out:
        for i, (question, answer) in enumerate(fewshot):
            out.write(json.dumps({"id": f"s{i}", "question": question, "answer": answer}) + "\n")
    exps = root / "experiments"
    exps.mkdir(exist_ok=True)
    paths = {}
    for name, shots in (("zero-shot", ""), ("few-shot", f"shots: {len(fewshot)}, ")):
        path = exps / f"{name}.yaml"
        path.write_text(EXPERIMENT_YAML.format(name=name, shots=shots, max_tokens=max_tokens,
                                               model=model, limit=len(items)))
        paths[name] = path
    return paths


def plan_prompts(experiment: Path) -> list[tuple[str, list[int], int]]:
    """(sample id, token ids, max tokens) of every sample, in the order the runner sends them."""
    from harness.config.experiment import load_experiment
    from harness.models.hf_generation import encode_chat
    from harness.models.hf_loading import load_model
    from harness.plan import build_plan

    plan = build_plan(load_experiment(experiment))
    out = []
    for sample in plan.samples:
        lm = load_model(plan.models[sample.model].model.removeprefix("hf/"))
        out.append((sample.sample_id, encode_chat(lm, list(sample.messages)),
                    int(sample.params["max_tokens"])))
    return out


def plain_generate(lm: Any, prompts: list[tuple[str, list[int], int]],
                   batch: int = 16) -> tuple[float, dict[str, str], int]:
    """Plain transformers: batches in order, left padding, greedy; (wall, texts, calls)."""
    import torch

    texts: dict[str, str] = {}
    calls = 0
    ends = set(lm.eos_ids) | {lm.pad_id}
    started = time.perf_counter()
    for start in range(0, len(prompts), batch):
        chunk = prompts[start:start + batch]
        width = max(len(p) for _, p, _ in chunk)
        ids = torch.tensor([[lm.pad_id] * (width - len(p)) + p for _, p, _ in chunk])
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for _, p, _ in chunk])
        with torch.inference_mode():
            out = lm.model.generate(input_ids=ids, attention_mask=mask, do_sample=False,
                                    max_new_tokens=chunk[0][2], pad_token_id=lm.pad_id,
                                    eos_token_id=list(lm.eos_ids))
        calls += 1
        for (sid, _, _), row in zip(chunk, out[:, width:].tolist(), strict=True):
            n = next((i for i, t in enumerate(row) if t in ends), len(row))
            texts[sid] = lm.tokenizer.decode(row[:n], skip_special_tokens=True)
    return time.perf_counter() - started, texts, calls


def harness_run(experiment: Path, results: Path, lm: Any) -> tuple[float, dict[str, str], int]:
    """``harness.api.run`` as a user calls it (report included); (wall, texts, batches)."""
    import harness

    before = lm.batcher.batches if lm.batcher is not None else 0
    lm.prefix_store = None  # each run starts cold, as a fresh `harness run` process does
    started = time.perf_counter()
    samples = harness.run(experiment, results_dir=results / "results",
                          reports_dir=results / "reports", quiet=True)
    wall = time.perf_counter() - started
    calls = lm.batcher.batches - before
    return wall, dict(zip(samples["sample_id"], samples["output"], strict=True)), calls


def spread(values: list[float]) -> float:
    """(max - min) / median of repeated walls."""
    return (max(values) - min(values)) / statistics.median(values)


def bench_runner(model: str, n: int, repeats: int, max_tokens: int, workdir: Path,
                 items: list, fewshot: list) -> dict[str, Any]:
    from harness.models.hf_loading import load_model

    paths = write_project(workdir, items[:n], fewshot, model, max_tokens)
    lm = load_model(model.removeprefix("hf/"))
    prompts = {name: plan_prompts(path) for name, path in paths.items()}
    out: dict[str, Any] = {"items": n, "max_tokens": max_tokens, "repeats": []}
    for rep in range(repeats):
        row: dict[str, Any] = {}
        for name, path in paths.items():
            h_wall, h_texts, h_calls = harness_run(path, workdir / f"r{rep}", lm)
            p_wall, p_texts, p_calls = plain_generate(lm, prompts[name])
            same = sum(h_texts.get(sid) == text for sid, text in p_texts.items())
            row[name] = {"harness_s": round(h_wall, 1), "plain_s": round(p_wall, 1),
                         "ratio": round(h_wall / p_wall, 3), "identical": f"{same}/{n}",
                         "harness_batches": h_calls, "plain_generate_calls": p_calls}
        out["repeats"].append(row)
        print(json.dumps({f"runner_repeat_{rep + 1}": row}), flush=True)
    for name in paths:
        walls = [r[name]["harness_s"] for r in out["repeats"]]
        ratios = [r[name]["ratio"] for r in out["repeats"]]
        out[name] = {"harness_s": walls, "ratio_median": round(statistics.median(ratios), 3),
                     "harness_spread": round(spread(walls), 3) if len(walls) > 1 else None,
                     "max_batches": max(r[name]["harness_batches"] for r in out["repeats"])}
    return out
