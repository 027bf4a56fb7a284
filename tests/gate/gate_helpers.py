"""A tiny offline project for the gate: a toy task, a few templates, a loopback "model".

The loopback responder is deterministic and knows each item's label. It answers correctly only
when the task's instruction is in the prompt (dropping the instruction really degrades the
variant); it misses every fifth item anyway (so scores are not all 100%); and when the prompt
says "Be concise." it gets two items wrong and one right that it otherwise would not, which is
the "tiny noisy difference" the gate must not flag.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

N_ITEMS = 40
INSTRUCTION = "INSTRUCTION: Decide whether the review is positive or negative."
CONCISE = "Be concise."
TEMPLATES = {
    # distinct file names per content: templates are cached by path within a process
    "plain": '{{ role("user") }}\n{{ task.instructions }}\n\n{{ input }}\n',
    "fewshot": '{{ role("system") }}\nYou are careful.\n{{ role("user") }}\n'
               '{{ task.instructions }}\nExample: great -> positive\n\n{{ input }}\n',
    "fewshot_no_instruction": '{{ role("system") }}\nYou are careful.\n{{ role("user") }}\n'
                              'Example: great -> positive\n\n{{ input }}\n',
    "fewshot_concise": '{{ role("system") }}\nYou are careful.\n{{ role("user") }}\n'
                       '{{ task.instructions }}\n' + CONCISE + '\nExample: great -> positive\n\n'
                       '{{ input }}\n',
}
NOISY_WRONG = {3, 7}
NOISY_RIGHT = {10}


def label(i: int) -> str:
    return "positive" if i % 2 else "negative"


def item_text(i: int) -> str:
    return f"Review {i:03d}: it was {'lovely' if i % 2 else 'dreadful'}."


def responder(messages: list[dict[str, str]], body: dict[str, Any]) -> str:
    prompt = "\n".join(m["content"] for m in messages)
    user = messages[-1]["content"]
    marker = user.rsplit("Review ", 1)[-1][:3]
    i = int(marker) if marker.isdigit() else -1
    right, wrong = label(i), "negative" if label(i) == "positive" else "positive"
    if "XSS" in user:
        return '<script>document.title="pwned"</script><b id="injected">bold</b>'
    if INSTRUCTION not in prompt:
        return wrong
    if CONCISE in prompt and i in NOISY_WRONG:
        return wrong
    if CONCISE in prompt and i in NOISY_RIGHT:
        return right
    return wrong if i % 5 == 0 else right


class GateProject:
    """A folder with tasks/, prompts/ and a cache, and a way to write experiment files."""

    def __init__(self, root: Path, url: str) -> None:
        self.root = root
        self.url = url
        task = root / "tasks" / "toy"
        (task / "data").mkdir(parents=True)
        with (task / "data" / "test.jsonl").open("w") as fh:
            for i in range(N_ITEMS):
                fh.write(json.dumps({"id": f"r{i:03d}", "review": item_text(i),
                                     "label": label(i)}) + "\n")
        (task / "task.yaml").write_text(
            "name: toy\ndata: {test: data/test.jsonl}\ninput: \"{{ review }}\"\n"
            "target: \"{{ label }}\"\n"
            f"instructions: \"{INSTRUCTION}\"\n"
            "choices: [positive, negative]\nparser: [first_line, choice]\n"
            "scorers: [exact_match]\n")
        (root / "prompts").mkdir()
        for name, text in TEMPLATES.items():
            (root / "prompts" / f"{name}.j2").write_text(text)

    def experiment(self, name: str = "toy", *, fewshot: str = "fewshot", limit: int | None = None,
                   model: str = "openai/loopback", extra: str = "") -> Path:
        lines = [f"name: {name}", "tasks: [toy]", "variants:",
                 "  - {name: zero-shot, template: plain}",
                 f"  - {{name: few-shot, template: {fewshot}}}",
                 f"models: [{{model: {model}, name: loop, api_base: '{self.url}/v1'}}]",
                 f"cache_dir: {self.root / 'cache'}", "concurrency: 8"]
        if limit:
            lines.append(f"limit: {limit}")
        # A key written twice is an error, so a setting in ``extra`` replaces the default line.
        given = {line.split(":", 1)[0] for line in extra.splitlines() if ":" in line}
        lines = [line for line in lines if line.split(":", 1)[0] not in given]
        path = self.root / "experiments" / f"{name}.yaml"
        path.parent.mkdir(exist_ok=True)
        path.write_text("\n".join(lines) + "\n" + extra)
        return path
