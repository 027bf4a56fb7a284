"""The sample record holds everything a scorer reads (raw output, finish reason, tokens,
messages, the retrieved passages with their text, the item's own fields, the schema version),
and run folders written before it still load and can be scored again."""

from __future__ import annotations

import json
from pathlib import Path

from scoring_helpers import KEY_ENV

import harness
from harness.results import read_records
from harness.scoring.record import SCHEMA_VERSION, SampleRecord
from harness.testing.loopback import LoopbackServer

DOCS = {
    "cats": "Cats are small domesticated felines that purr when content.",
    "rust": "Rust is a systems programming language with ownership and borrowing.",
    "paris": "Paris is the capital and largest city of France.",
    "tea": "Green tea is brewed from unoxidised leaves of the tea plant.",
}
QUESTIONS = [("q0", "What sound do cats make when content?", "purr", "cats"),
             ("q1", "Which language uses ownership and borrowing?", "Rust", "rust"),
             ("q2", "What is the capital of France?", "Paris", "paris"),
             ("q3", "What is green tea brewed from?", "leaves", "tea")]

GROUNDED = '''
def grounded(record):
    """Whether the gold document's text reached the prompt: needs the passages' text."""
    gold = record.fields["doc"]
    return any(p.doc_id == gold and p.text and p.text in record.context
               for p in record.retrieved)
'''


def _rag_project(tmp_path: Path, url: str) -> Path:
    root = tmp_path / "tasks" / "kb"
    (root / "data").mkdir(parents=True)
    (root / "data" / "test.jsonl").write_text("".join(
        json.dumps({"id": i, "question": q, "answer": a, "doc": d, "docs": [d],
                    "note": {"source": "hand-written", "n": n}}) + "\n"
        for n, (i, q, a, d) in enumerate(QUESTIONS)), encoding="utf-8")
    (root / "corpus.jsonl").write_text("".join(
        json.dumps({"id": k, "text": v}) + "\n" for k, v in DOCS.items()), encoding="utf-8")
    (root / "grading.py").write_text(GROUNDED, encoding="utf-8")
    (root / "task.yaml").write_text(
        "name: kb\ndata: {test: data/test.jsonl}\n"
        "input: '{{ question }}'\ntarget: '{{ answer }}'\n"
        "corpus: {path: corpus.jsonl}\ngold_docs_field: docs\n"
        "scorers: [includes, grading:grounded]\n", encoding="utf-8")
    exp = tmp_path / "rag.yaml"
    exp.write_text(
        "name: rag\ntasks: [kb]\n"
        "variants: [{name: rag, template: zero-shot, rag: on, retriever: bm25, k: 2}]\n"
        f"models:\n  - {{model: openai/test-model, api_base: '{url}/v1', "
        f"api_key_env: {KEY_ENV}, max_tokens: 16}}\n"
        f"cache_dir: {tmp_path / 'cache'}\n", encoding="utf-8")
    return exp


def _answer(messages: list[dict[str, str]], body: dict) -> str:
    for _, question, answer, _ in QUESTIONS:
        if question in messages[-1]["content"]:
            return f"It is {answer}."
    return "No idea."


def test_records_hold_the_whole_sample(tmp_path: Path, key: str) -> None:
    with LoopbackServer(_answer) as server:
        samples = harness.run(_rag_project(tmp_path, server.url),
                              results_dir=tmp_path / "results", reports_dir=None, quiet=True)
    assert samples["scoring_error"].isna().all()
    # the scorer saw the passages' text, in the prompt, for every question (bm25 finds them)
    assert samples["score_grounded"].tolist() == [1.0] * len(QUESTIONS)
    stored = {r["item_id"]: r for r in read_records(Path(samples.attrs["run_dir"]))}
    record = stored["q2"]
    assert record["schema_version"] == SCHEMA_VERSION
    assert record["fields"] == {"id": "q2", "question": QUESTIONS[2][1], "answer": "Paris",
                                "doc": "paris", "docs": ["paris"],
                                "note": {"source": "hand-written", "n": 2}}
    top = record["retrieved"][0]
    assert top["doc_id"] == "paris" and top["text"] == DOCS["paris"]
    assert record["output"] == "It is Paris." and record["finish_reason"] == "stop"
    assert record["input_tokens"] > 0 and record["output_tokens"] > 0
    assert record["messages"][-1]["role"] == "user"
    assert DOCS["paris"] in record["messages"][-1]["content"]
    typed = SampleRecord.from_dict(record)
    assert typed.fields["note"]["n"] == 2 and typed.retrieved[0].text == DOCS["paris"]
    assert DOCS["paris"] in typed.context and typed.answered


OLD_RECORD = {  # a sample as runs wrote it before the schema was versioned
    "run_id": "old-run", "sample_id": "s-{i}", "task": "add", "variant": "careful",
    "model": "openai/test-model", "model_id": "openai/test-model", "item_id": "t{i}",
    "epoch": 0, "cluster": None, "input": "What is 1 + 3?", "target": "{t}",
    "messages": [{"role": "user", "content": "What is 1 + 3?"}],
    "output": "Step 9 of 9: adding. The answer is {t}.", "answer": "9",
    "scores": {"numeric": 0.0}, "error": None, "scoring_error": None, "latency_s": 0.1,
    "input_tokens": 5, "output_tokens": 9, "cost_usd": 0.0, "cached": False,
    "finish_reason": "stop", "response_model": "test-model", "incomplete": None,
    "retrieved": [{"doc_id": "d1", "chunk_id": "d1:0", "score": 1.5}], "gold_docs": [],
    "retrieval_recall": None, "retrieval_rr": None, "fingerprint": "x", "prompt_parts": {},
    "finished_at": "2026-11-01T00:00:00+00:00",
}


def _old_run(tmp_path: Path, experiment: Path) -> Path:
    run_dir = tmp_path / "results" / "old-run"
    run_dir.mkdir(parents=True)
    (run_dir / "manifest.json").write_text(json.dumps({
        "run_id": "old-run", "experiment": "exp", "experiment_file": str(experiment),
        "experiment_path": str(experiment), "status": "complete",
        "scorers": {"add": [{"name": "numeric", "kind": "binary"}]},
        "started_at": "2026-11-01T00:00:00+00:00"}), encoding="utf-8")
    lines = []
    for i in range(3):
        text = json.dumps(OLD_RECORD).replace("{i}", str(i)).replace("{t}", str(3 * i + 1))
        lines.append(text)
    (run_dir / "samples.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return run_dir


def test_old_format_run_folders_load_and_can_be_scored_again(tmp_path: Path) -> None:
    from scoring_helpers import write_project

    exp = write_project(tmp_path, "http://127.0.0.1:9", parser="[last_number]")
    run_dir = _old_run(tmp_path, exp)
    old = harness.load_run(run_dir)
    assert len(old) == 3 and old["score_numeric"].tolist() == [0.0, 0.0, 0.0]
    assert old.attrs["manifest"]["scoring"]["id"] == "run"  # written before scorings had ids
    typed = SampleRecord.from_dict(read_records(run_dir)[0])
    assert typed.schema_version == 1 and typed.fields == {}
    assert typed.retrieved[0].doc_id == "d1" and typed.retrieved[0].text == ""
    # the task's parser is fixed since: scoring the old records again reads the right number
    fixed = harness.score(run_dir)
    assert fixed["answer"].tolist() == ["1", "4", "7"]
    assert fixed["score_numeric"].tolist() == [1.0, 1.0, 1.0]
