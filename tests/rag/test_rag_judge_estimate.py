"""The RAG metrics' judge calls depend on the answers (faithfulness asks once per claim), so an
estimate cannot count them; it must say so, with the rule and what can be counted, rather than
print a total that looks complete. Checked against the calls a real run then makes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from rag_helpers import rule_judge

import harness
from harness.api import estimate as estimate_run
from harness.budget import needs_estimate
from harness.config import load_experiment
from harness.estimate import format_estimate
from harness.plan import build_plan
from harness.testing.loopback import LoopbackServer

KEY_ENV = "HARNESS_RAG_ESTIMATE_KEY"
N = 10
K = 2
JUDGED = ("{{name: {name}, judge: {{model: openai/gpt-4o, api_base: '{url}/v1', "
          "api_key_env: " + KEY_ENV + "}}}}")


def _reply(messages: list[dict[str, str]], body: dict[str, Any]) -> str:
    if body["model"] == "gpt-4o":
        return rule_judge(messages)
    prompt = messages[-1]["content"]
    n = re.findall(r"widget(\d+)", prompt)[-1]
    grounded = f"is C{int(n)}" in prompt  # the passage is in the prompt
    # two claims; the two variants' answers differ, so no judge prompt is asked twice
    return f"The code of widget{n} is C{int(n)}. It is {'useful' if grounded else 'unknown'}."


def _project(tmp_path: Path, url: str, *, judged: bool = True, model: str | None = None,
             extra: str = "") -> Path:
    root = tmp_path / "tasks" / "codes"
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "data" / "test.jsonl").write_text("".join(
        json.dumps({"id": f"q{n}", "question": f"What is the code of widget{n:02d}?",
                    "answer": f"C{n}"}) + "\n" for n in range(N)), encoding="utf-8")
    (root / "corpus.jsonl").write_text("".join(
        json.dumps({"id": f"d{n}", "text": f"The code of widget{n:02d} is C{n}."}) + "\n"
        for n in range(N)), encoding="utf-8")
    scorers = "  - exact_match\n" + ("".join(
        f"  - {JUDGED.format(name=name, url=url)}\n"
        for name in ("faithfulness", "answer_relevance", "context_precision")) if judged else "")
    (root / "task.yaml").write_text(
        "name: codes\ndata: {test: data/test.jsonl}\ninput: '{{ question }}'\n"
        f"target: '{{{{ answer }}}}'\ncorpus: {{path: corpus.jsonl}}\nscorers:\n{scorers}",
        encoding="utf-8")
    model = model or (f"{{model: openai/gpt-4o-mini, api_base: '{url}/v1', "
                      f"api_key_env: {KEY_ENV}, max_tokens: 32}}")
    exp = tmp_path / "rag.yaml"
    exp.write_text(
        "name: rag\ntasks: [codes]\nvariants:\n"
        f"  - {{name: grounded, template: zero-shot, rag: on, retriever: bm25, k: {K}}}\n"
        "  - {name: closed-book, template: zero-shot}\n"
        f"models:\n  - {model}\nconcurrency: 4\ncache_dir: {tmp_path / 'cache'}\n{extra}",
        encoding="utf-8")
    return exp


def test_the_estimate_names_the_rag_judge_calls_it_cannot_count(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-rag-estimate-1f2e3d")
    with LoopbackServer(responder=_reply) as server:
        exp = _project(tmp_path, server.url)
        estimate = estimate_run(exp)
        assert server.stats()["requests"] == 0
        harness.run(exp, results_dir=tmp_path / "results", reports_dir=None, quiet=True)
        judged = [r for r in server.received if r.body.get("model") == "gpt-4o"]
    text = format_estimate(estimate)
    assert "not counting the RAG judge calls below" in text
    found = {u.metric: u for u in estimate.unestimated}
    assert sorted(found) == ["answer_relevance", "context_precision", "faithfulness"]
    # what the estimate says, against what the run then did (20 answers, 10 of them grounded
    # with 2 passages each, 2 claims per answer)
    prompts = [r.body["messages"][-1]["content"] for r in judged]
    relevance = sum("How well does the answer address" in p for p in prompts)
    passages = sum("Is this passage useful" in p for p in prompts)
    claims = sum("List every factual claim" in p or "Can the claim be inferred" in p
                 for p in prompts)
    assert found["answer_relevance"].known == f"up to {2 * N} calls" and relevance == 2 * N
    assert found["context_precision"].known == f"{N * K} calls" and passages == N * K
    assert found["faithfulness"].known == f"at least {N} calls" and claims == N * (1 + 2)
    assert "- faithfulness (task codes, judge openai/gpt-4o): 1 call per answer" in text


def test_a_budget_checked_without_the_rag_judges_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-rag-estimate-1f2e3d")
    with LoopbackServer(responder=_reply) as server:
        harness.run(_project(tmp_path, server.url, extra="max_cost_usd: 50\n"),
                    results_dir=tmp_path / "results", reports_dir=None, quiet=True)
    warned = [line for line in capsys.readouterr().err.splitlines()
              if "leaves out the judge calls" in line]
    assert len(warned) == 1
    assert "answer_relevance, context_precision, faithfulness" in warned[0]


def test_without_rag_judges_the_estimate_is_complete_and_says_nothing_more(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-rag-estimate-1f2e3d")
    with LoopbackServer(responder=_reply) as server:
        exp = _project(tmp_path, server.url, judged=False, extra="max_cost_usd: 50\n")
        estimate = estimate_run(exp)
        harness.run(exp, results_dir=tmp_path / "results", reports_dir=None, quiet=True)
    assert estimate.unestimated == []
    assert "not counted" not in format_estimate(estimate)
    assert "leaves out" not in capsys.readouterr().err


def test_a_local_model_with_a_hosted_task_judge_is_still_estimated(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only an all-local run costs nothing; a judge in the task file pays per call."""
    monkeypatch.setenv(KEY_ENV, "sk-rag-estimate-1f2e3d")
    hosted = build_plan(load_experiment(_project(tmp_path / "a", "http://127.0.0.1:9",
                                                 model="hf/smollm2-135m-instruct",
                                                 extra="max_cost_usd: 1\n")))
    local = build_plan(load_experiment(_project(tmp_path / "b", "http://127.0.0.1:9",
                                                judged=False, model="hf/smollm2-135m-instruct",
                                                extra="max_cost_usd: 1\n")))
    assert needs_estimate(hosted, yes=True, force=False)
    assert not needs_estimate(local, yes=True, force=False)
