"""A RAG run end to end: a loopback model answers with or without invented claims, a loopback
judge checks each claim against the retrieved passages, and the report must say what the truth
is: the variant that invents claims is less faithful by the known amount, twins are not
distinguishable, a closed-book variant is not scored, and a malformed verdict is a scoring
error."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from rag_helpers import claims_of, rule_judge

import harness
from harness.testing.loopback import LoopbackServer

KEY_ENV = "HARNESS_RAG_TEST_KEY"
N = 40
BROKEN = 5  # the item whose claims the judge answers with prose, not a verdict


def _name(n: int) -> str:
    """A word of its own per item, so BM25 retrieves the item's passage first."""
    return f"widget{n:02d}"


def _fact(n: int) -> str:
    return f"The code of {_name(n)} is C{n}. The {_name(n)} weighs {n + 3} kg."


def _truth(variant: str, n: int) -> float:
    """Faithfulness by construction: both claims from the passage, or one of two invented."""
    return 1.0 if variant != "embellish" or n % 4 == 0 else 0.5


def _model(messages: list[dict[str, str]], body: dict[str, Any]) -> str:
    if body["model"] == "judge-model":
        prompt = messages[-1]["content"]
        if "Can the claim" in prompt and _name(BROKEN) in prompt.split("Claim:")[1]:
            return "Hard to say; the passage is ambiguous."
        return rule_judge(messages)
    n = int(re.findall(r"code of widget(\d+)\?", messages[-1]["content"])[-1])
    system = " ".join(m["content"] for m in messages if m["role"] == "system")
    if "Invent" in system and n % 4 != 0:
        return f"The code of {_name(n)} is C{n}. The {_name(n)} was made in Norway."
    return _fact(n)


def _project(tmp_path: Path, url: str, *, judged: bool = True) -> Path:
    root = tmp_path / "tasks" / "codes"
    (root / "data").mkdir(parents=True)
    (root / "data" / "test.jsonl").write_text("".join(
        json.dumps({"id": f"q{n}", "question": f"What is the code of {_name(n)}?",
                    "answer": f"C{n}"}) + "\n" for n in range(N)), encoding="utf-8")
    (root / "corpus.jsonl").write_text("".join(
        json.dumps({"id": f"d{n}", "text": _fact(n)}) + "\n" for n in range(N)),
        encoding="utf-8")
    judge = (f"{{model: openai/judge-model, api_base: '{url}/v1', api_key_env: {KEY_ENV}, "
             "max_tokens: 200}")
    (root / "task.yaml").write_text(
        "name: codes\ndata: {test: data/test.jsonl}\n"
        "input: '{{ question }}'\ntarget: '{{ answer }}'\n"
        "corpus: {path: corpus.jsonl}\n"
        "scorers:\n  - includes\n"
        + (f"  - {{name: faithfulness, judge: {judge}}}\n" if judged else ""),
        encoding="utf-8")
    model = (f"{{model: openai/test-model, api_base: '{url}/v1', api_key_env: {KEY_ENV}, "
             "max_tokens: 64}")
    exp = tmp_path / "rag.yaml"
    exp.write_text(
        "name: rag\ntasks: [codes]\nvariants:\n"
        "  - {name: grounded, template: zero-shot, rag: on, retriever: bm25, k: 2, "
        "system: Stick to the passages.}\n"
        "  - {name: twin, template: zero-shot, rag: on, retriever: bm25, k: 3, "
        "system: Stick to the passages only.}\n"
        "  - {name: embellish, template: zero-shot, rag: on, retriever: bm25, k: 2, "
        "system: Invent details.}\n"
        "  - {name: closed-book, template: zero-shot, system: Stick to what you know.}\n"
        f"models:\n  - {model}\nconcurrency: 8\n"
        f"cache_dir: {tmp_path / 'cache'}\n", encoding="utf-8")
    return exp


def test_faithfulness_difference_is_reported_as_the_truth_says(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-rag-test-0a9b8c7d6e")
    with LoopbackServer(responder=_model) as server:
        samples = harness.run(_project(tmp_path, server.url),
                              results_dir=tmp_path / "results",
                              reports_dir=tmp_path / "reports", quiet=True)
        judge_calls = [r for r in server.received if r.body.get("model") == "judge-model"]
    assert samples["error"].isna().all()
    # the judge was called through the run's client stack, greedily
    assert judge_calls and all(r.body.get("temperature") == 0 for r in judge_calls)
    # and its calls are counted apart from the models under test's
    usage = samples.attrs["manifest"]["judge_usage"]
    mine = [u for u in usage.values() if u["model"] == "openai/judge-model"]
    assert [u["calls"] - u["cached"] for u in mine] == [len(judge_calls)], mine

    broken = samples[samples["item_id"] == f"q{BROKEN}"]
    rag = broken[broken["variant"] != "closed-book"]
    assert rag["scoring_error"].str.contains("MalformedVerdict").all()
    assert samples.loc[samples["item_id"] != f"q{BROKEN}", "scoring_error"].isna().all()
    assert samples.loc[samples["variant"] == "closed-book", "score_faithfulness"].isna().all()

    ok = range(N)
    kept = [n for n in ok if n != BROKEN]
    want = {v: sum(_truth(v, n) for n in kept) / len(kept)
            for v in ("grounded", "twin", "embellish")}
    summ = harness.summary(samples, metric="faithfulness").set_index("variant")
    for variant, mean in want.items():
        assert summ.loc[variant, "mean"] == pytest.approx(mean)
        assert summ.loc[variant, "n"] == len(kept)
        assert summ.loc[variant, "ci_low"] <= mean <= summ.loc[variant, "ci_high"]
    detail = samples.loc[(samples["variant"] == "embellish") & (samples["item_id"] == "q1"),
                         "score_details"].iloc[0]["faithfulness"]["metadata"]
    assert [c["supported"] for c in detail["claims"]] == [True, False]
    assert [c["claim"] for c in detail["claims"]] == claims_of(
        "The code of widget01 is C1. The widget01 was made in Norway.")

    pairs = harness.compare(samples, metric="faithfulness")
    pair = pairs[pairs["a"].isin(["grounded", "embellish"])
                 & pairs["b"].isin(["grounded", "embellish"])].iloc[0]
    sign = 1 if pair["a"] == "grounded" else -1
    assert sign * pair["diff"] == pytest.approx(want["grounded"] - want["embellish"])
    assert pair["p_adjusted"] < 0.001
    twins = pairs[pairs["a"].isin(["grounded", "twin"]) & pairs["b"].isin(["grounded", "twin"])]
    assert twins["diff"].iloc[0] == 0 and twins["p_adjusted"].iloc[0] >= 0.05

    report = next((tmp_path / "reports").glob("*.md")).read_text(encoding="utf-8")
    section = report.split("#### `faithfulness` (graded)", 1)[1].split("## Errors", 1)[0]
    assert f"{100 * want['embellish']:.1f}" in section and "100.0" in section
    row = next(line for line in section.splitlines()
               if "grounded" in line and "embellish" in line)
    assert f"{100 * (want['grounded'] - want['embellish']):.1f}" in row
    assert "grounded beats embellish" in row
    twin_row = next(line for line in section.splitlines()
                    if "grounded" in line and "twin" in line)
    assert "beats" not in twin_row and "no difference" in twin_row
    assert "Not scored for `closed-book`" in section and "| closed-book |" not in section
    assert "`details`" not in report  # the record's score_details is not a score
    assert "MalformedVerdict" in report  # the scoring errors are listed, not averaged away


def test_harness_score_adds_faithfulness_to_a_finished_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-rag-test-0a9b8c7d6e")
    with LoopbackServer(responder=_model) as server:
        exp = _project(tmp_path, server.url, judged=False)
        first = harness.run(exp, results_dir=tmp_path / "results",
                            reports_dir=tmp_path / "reports", quiet=True)
        assert "score_faithfulness" not in first.columns
        asked = len(server.received)
        _project(tmp_path / "again", server.url)  # the same task, now with the judge
        task = tmp_path / "tasks" / "codes" / "task.yaml"
        task.write_text((tmp_path / "again" / "tasks" / "codes" / "task.yaml").read_text(
            encoding="utf-8"), encoding="utf-8")
        run_dir = next((tmp_path / "results").iterdir())
        again = harness.score(run_dir)
        new_calls = server.received[asked:]
    assert new_calls and all(r.body.get("model") == "judge-model" for r in new_calls)
    means = again[again["scoring_error"].isna()].groupby("variant")["score_faithfulness"].mean()
    kept = [n for n in range(N) if n != BROKEN]
    assert means["embellish"] == pytest.approx(sum(_truth("embellish", n) for n in kept)
                                               / len(kept))
    assert means["grounded"] == 1.0 and means["twin"] == 1.0
