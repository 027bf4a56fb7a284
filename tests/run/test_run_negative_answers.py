"""End to end: a chain-of-thought variant with negative answers scores what it truly scores.

Issue 10: on an arithmetic task, "The answer is -58." was parsed as 58, chain-of-thought scored
73% against 89%, and the report said "zero-shot beats cot by 16.0 points, p<0.001". Here a
loopback model answers every item correctly in the chain-of-thought styles real models use
(ASCII and typographic minus signs, "**Answer:**", \\boxed, the answer on the next line,
thousands separators), and answers one item wrong without reasoning. The truth is known: cot
100%, zero-shot (n-1)/n, and no significant difference.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from run_helpers import KEY_ENV

import harness
from harness.testing.loopback import LoopbackServer

PAIRS = [(17, 75), (3, 10), (100, 250), (1000, 2234), (5, 5), (42, 7), (8, 90), (0, 13),
         (250, 1484), (64, 65), (7, 3000), (12, 19)]


def _fmt(value: int, minus: str = "-") -> str:
    return f"{minus if value < 0 else ''}{abs(value):,}"


def cot_style(a: int, b: int, style: int) -> str:
    r = a - b
    styles = [
        f"We need {a} - {b}. Computing it gives {r}. The answer is {r}.",
        f"{a} - {b} = {_fmt(r, '−')}\n**Answer:** {_fmt(r, '−')}",
        f"Subtracting: {a}-{b}. The final answer is $\\boxed{{{r}}}$.",
        f"Let me compute {a} - {b}.\nThe answer is:\n{_fmt(r)}",
        f"First {b} - {a} = {b - a}, so {a} - {b} is the negative of that. "
        f"The answer is: {_fmt(r)}",
        f"{a} minus {b}... Final answer: {r}",
        # the answer's clause ends before later numbers: they are not the answer
        f"The answer is: {r}. Checking with {b} items: {a} - {b} = {r}, and {b} + {r} = {a}.",
        f"The answer is {_fmt(r)} ({a} - {b}).",
    ]
    return styles[style % len(styles)]


def responder(messages: list[dict[str, str]], body: dict) -> str:
    text = messages[-1]["content"]
    a, b = (int(x) for x in re.findall(r"What is (\d+) minus (\d+)\?", text)[-1])
    index = PAIRS.index((a, b))
    if "Think step by step" in text:
        return cot_style(a, b, index)
    return str(abs(a - b)) if index == 0 else str(a - b)  # one wrong direct answer


@pytest.fixture
def sub_task(tmp_path: Path) -> Path:
    root = tmp_path / "tasks" / "sub"
    (root / "data").mkdir(parents=True)
    (root / "data" / "test.jsonl").write_text("".join(
        json.dumps({"id": f"s{i}", "a": a, "b": b}) + "\n" for i, (a, b) in enumerate(PAIRS)),
        encoding="utf-8")
    (root / "task.yaml").write_text(
        "name: sub\n"
        "data: {test: data/test.jsonl}\n"
        "input: 'What is {{ a }} minus {{ b }}?'\n"
        "target: '{{ a - b }}'\n"
        "instructions: Subtract the second number from the first.\n"
        "answer_format: Reply with the number only.\n"
        "parser: [last_number]\n"
        "scorers: [numeric, exact_match, includes]\n",
        encoding="utf-8",
    )
    return root


def test_cot_with_negative_answers_scores_its_true_score(
    tmp_path: Path, sub_task: Path, key: str
) -> None:
    with LoopbackServer(responder) as server:
        exp = tmp_path / "exp.yaml"
        exp.write_text(
            "name: signs\ntasks: [sub]\nvariants: [zero-shot, cot]\n"
            f"models:\n  - {{model: openai/test-model, api_base: '{server.url}/v1', "
            f"api_key_env: {KEY_ENV}, max_tokens: 64}}\n"
            f"limit: {len(PAIRS)}\n",
            encoding="utf-8",
        )
        samples = harness.run(exp, results_dir=tmp_path / "results",
                              reports_dir=tmp_path / "reports", quiet=True)
    n = len(PAIRS)
    cot = samples[samples["variant"] == "cot"]
    # every chain-of-thought answer parsed to its true value, sign included
    expected = {f"s{i}": str(a - b) for i, (a, b) in enumerate(PAIRS)}
    assert dict(zip(cot["item_id"], cot["answer"], strict=True)) == expected
    assert cot["error"].isna().all() and cot["scoring_error"].isna().all()
    for scorer in ("score_numeric", "score_exact_match", "score_includes"):
        assert cot[scorer].mean() == 1.0, scorer

    summary = harness.summary(samples).set_index("variant")
    assert summary.loc["cot", "mean"] == 1.0
    assert summary.loc["zero-shot", "mean"] == pytest.approx((n - 1) / n)

    [pair] = harness.compare(samples).to_dict(orient="records")
    assert not pair["significant"]
    assert pair["p_value"] > 0.5  # one discordant item out of twelve
    assert abs(pair["diff"]) == pytest.approx(1 / n)

    report = Path(samples.attrs["report"]).read_text(encoding="utf-8")
    assert "beats" not in report
    # the disagreement is shown with each side's parsed answer beside its raw output
    assert "answer **58** · output: 58" in report
    assert "| ✓ answer **-58** · output: We need 17 - 75. Computing it gives -58." in report
