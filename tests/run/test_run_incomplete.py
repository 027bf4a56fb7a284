"""Answers cut off at max_tokens, withheld by a content filter, or empty are not wrong answers:
they are recorded with their finish_reason, counted per cell, shown in the report, and errors
(kept out of every score) unless the experiment says ``incomplete_answers: keep``."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from run_helpers import write_experiment

import harness
from harness.testing.loopback import LoopbackServer, Reply

# Item t<i> asks "What is i + (2i+1)?": i % 6 picks what the model does with it.
KINDS = {0: "truncated", 1: "filtered", 2: "empty", 3: "empty"}


def troubled(messages: list[dict[str, str]], body: dict) -> str | Reply:
    a, b = map(int, re.findall(r"What is (\d+) \+ (\d+)\?", messages[-1]["content"])[-1])
    case = a % 6
    if case == 0:
        return Reply("Let me think step by step. First", "length")
    if case == 1:
        return Reply(None, "content_filter")
    if case == 2:
        return Reply(None, "stop")  # content: null
    if case == 3:
        return Reply("", "stop")
    return f"The answer is {a + b}."


def _run(tmp_path: Path, url: str, transport: str, setting: str | None, name: str):  # type: ignore[no-untyped-def]
    extra = "max_error_rate: 1.0\ncache: false\n"
    if setting:
        extra += f"incomplete_answers: {setting}\n"
    exp = write_experiment(tmp_path, url, limit=12, variants="[zero-shot]", name=name,
                           model_extra=f"transport: {transport}", extra=extra)
    return harness.run(exp, results_dir=tmp_path / name, reports_dir=tmp_path / "reports",
                       quiet=True)


@pytest.mark.parametrize("transport", ["auto", "litellm"])
def test_incomplete_answers_are_errors_counted_and_reported(
    tmp_path: Path, add_task: Path, key: str, transport: str
) -> None:
    with LoopbackServer(troubled) as server:
        samples = _run(tmp_path, server.url, transport, None, "exp")
    by_item = samples.set_index("item_id")
    for i in range(12):
        row = by_item.loc[f"t{i}"]
        kind = KINDS.get(i % 6)
        assert (pd.isna(row["incomplete"]) if kind is None else row["incomplete"] == kind)
        assert row["response_model"] == "test-model"
        if kind is None:
            assert pd.isna(row["error"]) and row["score_numeric"] == 1.0
            assert row["finish_reason"] == "stop"
            continue
        # An error with a message saying what happened, never a wrong answer.
        assert pd.isna(row["score_numeric"]) and pd.isna(row["answer"])  # out of every score
        if kind == "truncated":
            assert row["finish_reason"] == "length"
            assert "stopped at max_tokens" in row["error"]
            assert "incomplete_answers: keep" in row["error"]
            assert row["output"] == "Let me think step by step. First"
        elif kind == "filtered":
            assert row["finish_reason"] == "content_filter"
            assert "content filter" in row["error"]
        else:
            assert row["output"] == "" and "empty answer" in row["error"]
    counts = samples["incomplete"].value_counts().to_dict()
    assert counts == {"truncated": 2, "filtered": 2, "empty": 4}
    # The summary scores only the complete answers: 4 of 4 right, not 4 of 12.
    summary = harness.summary(samples)
    assert summary["n"].tolist() == [4] and summary["mean"].tolist() == [1.0]
    report = Path(samples.attrs["report"]).read_text()
    section = report.split("### Incomplete answers", 1)[1]
    row = next(line for line in section.splitlines() if "zero-shot" in line)
    assert re.search(r"\|\s*2\s*\|\s*2\s*\|\s*4\s*\|", row), row


@pytest.mark.parametrize("transport", ["auto", "litellm"])
def test_keep_scores_incomplete_answers_and_still_counts_them(
    tmp_path: Path, add_task: Path, key: str, transport: str
) -> None:
    with LoopbackServer(troubled) as server:
        samples = _run(tmp_path, server.url, transport, "keep", "kept")
    assert samples["error"].isna().all()
    assert samples["incomplete"].value_counts().to_dict() == {
        "truncated": 2, "filtered": 2, "empty": 4}
    incomplete = samples[samples["incomplete"].notna()]
    assert (incomplete["score_numeric"] == 0.0).all()  # scored, as wrong answers
    summary = harness.summary(samples)
    assert summary["n"].tolist() == [12]
    assert summary["mean"].tolist() == [pytest.approx(4 / 12)]
    report = Path(samples.attrs["report"]).read_text()
    assert "scored as answers (incomplete_answers: keep)" in report


@pytest.mark.parametrize("model", ["anthropic/claude-3-5-haiku-20241022",
                                   "gemini/gemini-1.5-flash"])
def test_other_wire_formats_report_the_same_kinds(
    tmp_path: Path, add_task: Path, key: str, model: str
) -> None:
    """Anthropic's max_tokens and refusal, Gemini's MAX_TOKENS and SAFETY: LiteLLM names them
    as OpenAI does, and they are counted as the same kinds."""
    with LoopbackServer(troubled) as server:
        exp = write_experiment(tmp_path, server.url, model=model, limit=12,
                               variants="[zero-shot]",
                               extra="max_error_rate: 1.0\ncache: false\n")
        samples = harness.run(exp, results_dir=tmp_path / "r", reports_dir=None, quiet=True)
    assert samples["incomplete"].value_counts().to_dict() == {
        "truncated": 2, "filtered": 2, "empty": 4}
    assert samples["error"].notna().sum() == 8
    assert (samples.loc[samples["incomplete"].isna(), "score_numeric"] == 1.0).all()
