"""Deterministic loopback 'models' for the judge tests: a model under test that is right or
wrong on purpose, and judges that grade it the way a perfect (or a broken) judge would."""

from __future__ import annotations

import re
from pathlib import Path

KEY_ENV = "HARNESS_JUDGE_TEST_KEY"
KEY = "sk-judge-test-91c2d7e4aa"
SLOPPY = "Be sloppy."


def student(messages: list[dict[str, str]], body: dict) -> str:
    """The model under test: adds correctly, except when told to be sloppy, when items with
    an odd first number get an answer one too high."""
    if "[Response" in messages[-1]["content"]:
        return judge(messages, body)
    found = re.findall(r"What is (\d+) \+ (\d+)\?", messages[-1]["content"])
    if not found:
        return "I do not know."
    a, b = (int(x) for x in found[-1])
    sloppy = any(SLOPPY in m["content"] for m in messages)
    total = a + b + (1 if sloppy and a % 2 else 0)
    return f"Let me add. The answer is {total}."


def _section(text: str, name: str) -> str:
    match = re.search(rf"\[{re.escape(name)}\]\n(.*?)(?:\n\n\[|\n\n[A-Z][a-z]+ |\Z)", text,
                      re.DOTALL)
    return match.group(1).strip() if match else ""


def _right(response: str, reference: str) -> bool:
    numbers = re.findall(r"-?\d+", response)
    return bool(numbers) and numbers[-1] == reference.strip()


def judge(messages: list[dict[str, str]], body: dict) -> str:
    """A perfect judge of the ``add`` task: reads the rubric's sections and answers in the
    verdict format the rubric asks for. A response containing 'MALFORMED' gets an answer with
    no verdict line; with a temperature above 0 a scale judge varies its grade by one."""
    text = messages[-1]["content"]
    reference = _section(text, "Reference answer") or _section(text, "A reference answer")
    if "[Response A]" in text:
        a = _right(_section(text, "Response A"), reference)
        b = _right(_section(text, "Response B"), reference)
        choice = "TIE" if a == b else ("A" if a else "B")
        return f"Comparing the two.\nVERDICT: {choice}"
    response = _section(text, "Response")
    if "MALFORMED" in response:
        return "I would rather not say."
    right = _right(response, reference)
    if "GRADE: <n>" in text:
        grade = 5 if right else 2
        if (body.get("temperature") or 0) > 0 and "!" in response:
            grade -= 1
        return f"The sum is {'right' if right else 'wrong'}.\nGRADE: {grade}"
    if "SCORE: <x>" in text:
        return f"Checked.\nSCORE: {1.0 if right else 0.0}"
    return f"The response says {response!r}.\nVERDICT: {'PASS' if right else 'FAIL'}"


def write_experiment(tmp_path: Path, url: str, *, judges: str, model: str = "openai/gpt-4o-mini",
                     extra: str = "", limit: int = 6, name: str = "jexp",
                     variants: str | None = None) -> Path:
    """An experiment over the shared ``add`` task: a good and a sloppy variant, one model
    under test on ``url``, and the judge keys as given."""
    variants = variants or (f"[{{name: good, template: zero-shot}}, "
                            f"{{name: sloppy, template: zero-shot, system: '{SLOPPY}'}}]")
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"name: {name}\n"
        "tasks: [add]\n"
        f"variants: {variants}\n"
        "models:\n"
        f"  - {{model: {model}, api_base: '{url}/v1', api_key_env: {KEY_ENV}, max_tokens: 32}}\n"
        f"limit: {limit}\n"
        "concurrency: 4\n"
        f"{judges}{extra}",
        encoding="utf-8",
    )
    return path
