"""A RAG variant whose search finds nothing for some items must say so, before the run and in
the report: those prompts go out with an empty context, and a score that quietly mixes
open- and closed-book answers would make "retrieval does not help" look measured.

Ground truth by construction: BM25 returns no chunk that shares no word with the query, and
the items below either ask for a widget's code (words the corpus holds) or ask about things
the corpus never mentions."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import harness
from harness.testing.loopback import LoopbackServer

KEY_ENV = "HARNESS_EMPTY_RAG_TEST_KEY"
ON_TOPIC = 6
OFF_TOPIC = ["Which painter moved north in spring?", "Where did the violinist sleep?",
             "How tall is the lighthouse?", "When does the ferry leave?"]


def _answer(messages: list[dict[str, str]], body: dict[str, Any]) -> str:
    found = re.findall(r"C\d+", messages[-1]["content"])
    return found[0] if found else "unknown"


def _project(tmp_path: Path, url: str, *, off_topic: list[str]) -> Path:
    root = tmp_path / "tasks" / "codes"
    (root / "data").mkdir(parents=True)
    rows = [{"id": f"q{n}", "question": f"What is the code of widget{n:02d}?",
             "answer": f"C{n}"} for n in range(ON_TOPIC)]
    rows += [{"id": f"x{n}", "question": q, "answer": "none"} for n, q in enumerate(off_topic)]
    (root / "data" / "test.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (root / "corpus.jsonl").write_text("".join(
        json.dumps({"id": f"d{n}", "text": f"The code of widget{n:02d} is C{n}."}) + "\n"
        for n in range(ON_TOPIC)), encoding="utf-8")
    (root / "task.yaml").write_text(
        "name: codes\ndata: {test: data/test.jsonl}\n"
        "input: '{{ question }}'\ntarget: '{{ answer }}'\n"
        "corpus: {path: corpus.jsonl}\nscorers:\n  - exact_match\n", encoding="utf-8")
    model = (f"{{model: openai/test-model, api_base: '{url}/v1', api_key_env: {KEY_ENV}, "
             "max_tokens: 16}")
    exp = tmp_path / "rag.yaml"
    exp.write_text(
        "name: rag\ntasks: [codes]\nvariants:\n"
        "  - {name: lookup, template: zero-shot, rag: on, retriever: bm25, k: 1}\n"
        "  - {name: closed-book, template: zero-shot}\n"
        f"models:\n  - {model}\nconcurrency: 4\ncache_dir: {tmp_path / 'cache'}\n",
        encoding="utf-8")
    return exp


def _run(tmp_path: Path, off_topic: list[str]) -> tuple[Any, str]:
    with LoopbackServer(responder=_answer) as server:
        samples = harness.run(_project(tmp_path, server.url, off_topic=off_topic),
                              results_dir=tmp_path / "results",
                              reports_dir=tmp_path / "reports", quiet=True)
    report = next((tmp_path / "reports").glob("*.md")).read_text(encoding="utf-8")
    return samples, report


def test_items_that_retrieved_nothing_are_counted_before_the_run_and_in_the_report(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-empty-rag-0a9b8c7d")
    samples, report = _run(tmp_path, OFF_TOPIC)
    lookup = samples[samples["variant"] == "lookup"]
    empty = lookup[lookup["retrieved"].map(len) == 0]
    assert sorted(empty["item_id"]) == [f"x{n}" for n in range(len(OFF_TOPIC))]  # the truth

    err = capsys.readouterr().err
    warned = [line for line in err.splitlines() if "retrieved no passage" in line]
    assert len(warned) == 1, err  # the RAG variant only; closed-book retrieves by design
    assert "'lookup'" in warned[0] and "4 of 10 items of task 'codes'" in warned[0]

    task = report.split("## Task `codes`", 1)[1].split("## Errors", 1)[0]
    notes = [line for line in task.splitlines() if line.startswith("**Empty retrieval:**")]
    assert notes == [notes[0]] and "`lookup` found no passage for 4 of 10 items (40%)" in notes[0]
    assert "closed-book" not in notes[0]


def test_a_rag_variant_that_found_passages_for_every_item_gets_no_note(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-empty-rag-0a9b8c7d")
    samples, report = _run(tmp_path, [])
    assert (samples.loc[samples["variant"] == "lookup", "retrieved"].map(len) > 0).all()
    assert "retrieved no passage" not in capsys.readouterr().err
    assert "Empty retrieval" not in report


def test_a_run_refused_by_its_budget_prints_its_error_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The warning comes after every check that refuses a run, the budget's included."""
    from harness.errors import ConfigError

    monkeypatch.setenv(KEY_ENV, "sk-empty-rag-0a9b8c7d")
    with LoopbackServer(responder=_answer) as server:
        exp = _project(tmp_path, server.url, off_topic=OFF_TOPIC)
        exp.write_text(exp.read_text(encoding="utf-8").replace("openai/test-model",
                                                               "openai/gpt-4o")
                       + "max_cost_usd: 0.0000001\n", encoding="utf-8")
        with pytest.raises(ConfigError, match="over max_cost_usd"):
            harness.run(exp, results_dir=tmp_path / "results", reports_dir=None, quiet=True)
        assert server.stats()["requests"] == 0
    assert "retrieved no passage" not in capsys.readouterr().err
