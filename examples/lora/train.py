"""Train a LoRA adapter for the sentiment task on SmolLM2-135M-Instruct, on CPU, in minutes.

    .venv/bin/python examples/lora/train.py           # writes examples/lora/adapters/sentiment
    .venv/bin/python examples/lora/train.py --steps 20 --out /tmp/a   # a quick smoke run

What it does, and why each step:

1. **A training split disjoint from the evaluation items.** The shipped task's generator
   (``tasks/sentiment/generate.py``) is run again with other seeds, so the training reviews
   come from the same distribution (same products, films, negations and contrast forms) but
   are new draws. Every draw whose review text, normalised (case and white space), equals a
   review of the task's ``test`` or ``fewshot`` split is dropped, as are repeats. The result
   is written to ``examples/lora/data/sentiment-train.jsonl`` with ids ``train-NNNN``.
2. **The prompt the adapter will be evaluated with.** Each training review is rendered with
   the harness's own ``zero-shot`` template and the model's chat template, exactly as a run
   sends it; the loss is on the answer tokens only (the label and the end-of-turn token).
3. **LoRA with peft**: rank 8 on the attention projections of the top 10 of 30 layers (about
   0.3 M trainable weights, 0.2% of the model), AdamW, 60 steps of 8, 2 CPU threads, fixed
   seeds.
4. **What it was trained on** goes into the adapter folder as ``harness_training.json`` (ids
   and hashes of the normalised inputs): ``harness run`` refuses an experiment whose
   evaluation items overlap it, naming the items.

Needs the ``lora`` extra (``pip install -e ".[lora]"``) and the embedded SmolLM2 wheel.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from harness.adapter_data import normalise, write_training_record  # noqa: E402

BASE = "smollm2-135m-instruct"
TASK = ROOT / "tasks" / "sentiment"
TRAIN_FILE = ROOT / "examples" / "lora" / "data" / "sentiment-train.jsonl"
TEMPLATE = "zero-shot"


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("sentiment_generate", TASK / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def make_training_split(n: int, first_seed: int = 1) -> list[dict[str, Any]]:
    """``n`` reviews from new generator seeds, none equal to a shipped test or few-shot review."""
    from harness.config import load_task
    from harness.dataset import load_items

    task = load_task(TASK)
    taken = {normalise(i.input) for split in (task.eval_split, task.fewshot_split) if split
             for i in load_items(task, split)}
    generate = _generator().generate
    rows: list[dict[str, Any]] = []
    seed = first_seed
    while len(rows) < n:
        for split in generate(seed).values():
            for row in split:
                key = normalise(row["review"])
                if key not in taken:
                    taken.add(key)
                    rows.append({k: v for k, v in row.items() if k not in ("id", "rationale")})
        seed += 1
    random.Random(0).shuffle(rows)
    return [{"id": f"train-{i:04d}", **row} for i, row in enumerate(rows[:n])]


def write_split(rows: list[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def rendered_examples(path: Path) -> list[tuple[str, str, list[dict[str, str]]]]:
    """(id, input, chat messages) of each training row, rendered as a zero-shot run renders
    them: the task turns the row into input and target, the template into messages."""
    from harness.config import load_task
    from harness.dataset import load_items
    from harness.prompting import load_template, render_messages, resolve_template

    task = load_task(TASK)
    task = task.model_copy(update={"data": {**task.data, "lora-train": str(path)}})
    template = load_template(resolve_template(TEMPLATE, ROOT))
    task_context = {"name": task.name, "description": task.description,
                    "instructions": task.instructions, "answer_format": task.answer_format,
                    "choices": task.choices or []}
    out = []
    for item in load_items(task, "lora-train"):
        context = {"input": item.input, "item": item.fields, "shots": [], "documents": [],
                   "context": "", "task": task_context, "reasoning": False, "system": None,
                   "vars": {}}
        messages = render_messages(template, context, where=f"training item {item.id}")
        out.append((item.id, item.input, [*messages,
                                          {"role": "assistant", "content": item.target}]))
    return out


def encode(tokenizer: Any, messages: list[dict[str, str]]) -> tuple[list[int], list[int]]:
    """Token ids and labels: -100 (no loss) on the prompt, the answer's tokens after it."""
    prompt = tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True,
                                           tokenize=True)
    full = tokenizer.apply_chat_template(messages, tokenize=True)
    prompt = list(prompt["input_ids"] if hasattr(prompt, "keys") else prompt)
    full = list(full["input_ids"] if hasattr(full, "keys") else full)
    assert full[:len(prompt)] == prompt, "the chat template changed the prompt's tokens"
    # The answer, its end-of-turn token; not the newline some templates add after it.
    answer = full[len(prompt):]
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    if end in answer:
        answer = answer[:answer.index(end) + 1]
    ids = prompt + answer
    return ids, [-100] * len(prompt) + answer


def train(args: argparse.Namespace) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from harness.models.hf_aliases import alias_folder

    torch.manual_seed(args.seed)
    random.seed(args.seed)
    torch.set_num_threads(args.threads)
    rows = make_training_split(args.examples)
    write_split(rows, args.data)
    examples = rendered_examples(args.data)
    folder = alias_folder(BASE)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32,
                                                 local_files_only=True)
    # Only the top layers: the backward pass then stops there, which halves a step's time on
    # a CPU, and the top layers are where a label decision is made.
    layers = model.config.num_hidden_layers
    config = LoraConfig(r=args.rank, lora_alpha=2 * args.rank, lora_dropout=0.0,
                        target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
                        layers_to_transform=list(range(layers - args.layers, layers)),
                        task_type="CAUSAL_LM")
    model = get_peft_model(model, config)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    print(f"{len(examples)} training examples; LoRA r={args.rank}: {trainable:,} trainable "
          f"weights of {total:,}", flush=True)
    encoded = [encode(tokenizer, messages) for _, _, messages in examples]
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad],
                                  lr=args.lr)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    order = random.Random(args.seed)
    model.train()
    started = time.perf_counter()
    batches = [encoded[i:i + args.batch] for i in range(0, len(encoded), args.batch)]
    step = 0
    while step < args.steps:
        order.shuffle(batches)
        for batch in batches:
            if step >= args.steps:
                break
            width = max(len(ids) for ids, _ in batch)
            ids = torch.tensor([[pad] * (width - len(i)) + i for i, _ in batch])
            labels = torch.tensor([[-100] * (width - len(lab)) + lab for _, lab in batch])
            mask = torch.tensor([[0] * (width - len(i)) + [1] * len(i) for i, _ in batch])
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            step += 1
            if step <= 2 or step % 10 == 0 or step == args.steps:
                print(f"step {step}/{args.steps} loss {loss.item():.4f} "
                      f"({time.perf_counter() - started:.0f} s)", flush=True)
    model.peft_config["default"].base_model_name_or_path = f"hf/{BASE}"
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(args.out))
    (args.out / "README.md").unlink(missing_ok=True)  # peft's blank model card
    write_training_record(
        args.out, task="sentiment", split="lora-train",
        items=[(item_id, text) for item_id, text, _ in examples],
        extra={"base": f"hf/{BASE}", "template": TEMPLATE, "steps": args.steps,
               "batch": args.batch, "lr": args.lr, "rank": args.rank, "layers": args.layers,
               "seed": args.seed,
               "train_seconds": round(time.perf_counter() - started, 1),
               "data": os.path.relpath(args.data, ROOT)})
    print(f"adapter written to {args.out}", flush=True)
    return args.out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "examples/lora/adapters/sentiment")
    parser.add_argument("--data", type=Path, default=TRAIN_FILE)
    parser.add_argument("--examples", type=int, default=400)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--layers", type=int, default=10, help="LoRA on the top N layers")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    train(parser.parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
