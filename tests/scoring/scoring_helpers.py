"""A small project for the scoring tests: an addition task whose model is right only in the
``careful`` variant, so the truth about every verdict is known."""

from __future__ import annotations

import json
import re
from pathlib import Path

KEY_ENV = "HARNESS_SCORING_TEST_KEY"
KEY = "sk-scoring-test-5c2e8a1f7b"
N_ITEMS = 30


def careful_adder(messages: list[dict[str, str]], body: dict) -> str:
    """Right when the system prompt says 'careful', off by one otherwise; the sum is written
    after a distracting number, so a parser that takes the first number gets it wrong."""
    a, b = (int(x) for x in re.findall(r"What is (\d+) \+ (\d+)\?",
                                       messages[-1]["content"])[-1])
    careful = any("careful" in m["content"] for m in messages if m["role"] == "system")
    total = a + b if careful else a + b + 1
    return f"Step 9 of 9: adding. The answer is {total}."


def write_project(tmp_path: Path, url: str, *, parser: str = "[last_number]",
                  scorers: str = "[numeric]", module: str | None = None,
                  name: str = "exp") -> Path:
    """``tmp_path/tasks/add`` (30 items, ``grading.py`` beside it when ``module`` is given)
    and an experiment with two variants on one loopback model; returns the experiment."""
    root = tmp_path / "tasks" / "add"
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "data" / "test.jsonl").write_text(
        "".join(json.dumps({"id": f"t{i}", "a": i, "b": 2 * i + 1, "level": i % 3}) + "\n"
                for i in range(N_ITEMS)), encoding="utf-8")
    set_task(tmp_path, parser=parser, scorers=scorers)
    if module is not None:
        (root / "grading.py").write_text(module, encoding="utf-8")
    exp = tmp_path / f"{name}.yaml"
    exp.write_text(
        f"name: {name}\n"
        "tasks: [add]\n"
        "variants:\n"
        "  - {name: careful, template: zero-shot, system: 'Be careful.'}\n"
        "  - {name: hasty, template: zero-shot, system: 'Be quick.'}\n"
        "models:\n"
        f"  - {{model: openai/test-model, api_base: '{url}/v1', api_key_env: {KEY_ENV}, "
        "max_tokens: 32}\n"
        f"limit: {N_ITEMS}\nconcurrency: 4\ncache_dir: {tmp_path / 'cache'}\n",
        encoding="utf-8")
    return exp


def set_task(tmp_path: Path, *, parser: str, scorers: str) -> Path:
    path = tmp_path / "tasks" / "add" / "task.yaml"
    path.write_text(
        "name: add\n"
        "data: {test: data/test.jsonl}\n"
        "input: 'What is {{ a }} + {{ b }}?'\n"
        "target: '{{ a + b }}'\n"
        "instructions: Add the two numbers.\n"
        f"parser: {parser}\n"
        f"scorers: {scorers}\n",
        encoding="utf-8")
    return path
