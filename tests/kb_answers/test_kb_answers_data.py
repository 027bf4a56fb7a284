"""The kb-answers task and its calibration file: they load through the harness's own loaders,
the references are true of the corpus, and the labels are what the task's README says they are
(counts, kinds, pass/fail mix, labels known by construction really hold)."""

from __future__ import annotations

import importlib.util
import json
import re
from collections import Counter
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from harness.config import load_task
from harness.dataset import load_items
from harness.judges.calibration import load_calibration

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "tasks" / "kb-answers"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@cache
def module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"kb_answers_{name}", FOLDER / f"{name}.py")
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


@cache
def calibration() -> list[dict[str, Any]]:
    return read_jsonl(FOLDER / "data" / "calibration.jsonl")


@cache
def items_by_id() -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in read_jsonl(FOLDER / "data" / "test.jsonl")}


def words(phrase: str, text: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(phrase)}(?![\w])", text) is not None


def test_task_loads_with_its_calibration_file() -> None:
    task = load_task(FOLDER)
    assert task.calibration == "data/calibration.jsonl"
    assert len(load_items(task, task.eval_split)) == 363
    rows = load_calibration(task.name, FOLDER / task.calibration)
    assert len(rows) >= 100
    assert len({r.id for r in rows}) == len(rows)
    assert {r.label for r in rows} == {0, 1}


def test_references_state_the_gold_answer_and_come_from_the_gold_passages() -> None:
    for split in ("test", "fewshot"):
        for row in read_jsonl(FOLDER / "data" / f"{split}.jsonl"):
            assert words(str(row["answer"]), row["reference"]), row["id"]
            titles = [t.split(": ", 1)[0] for t in row["passage"].split("\n\n")]
            passage = re.sub(r"the centre of (the town|\w+)", "the centre of", row["passage"])
            for sentence in re.split(r"(?<=\.)\s+", row["reference"]):
                # Each reference sentence is a corpus sentence, up to naming its subject.
                sentence = re.sub(r"the centre of (the town|\w+)", "the centre of", sentence)
                for title in titles:
                    sentence = re.sub(rf"^(The )?{re.escape(title)} ", "", sentence)
                assert sentence in passage, (row["id"], sentence)


def test_generator_and_calibration_builder_reproduce_the_shipped_files() -> None:
    generate = module("generate")
    corpus = {d["id"]: d for d in generate.read_jsonl(generate.KB_QA / "corpus.jsonl")}
    for split in ("test", "fewshot"):
        rebuilt = [generate.convert(r, corpus)
                   for r in generate.read_jsonl(generate.KB_QA / f"{split}.jsonl")]
        assert rebuilt == read_jsonl(FOLDER / "data" / f"{split}.jsonl")
    build = module("build_calibration")
    test = read_jsonl(FOLDER / "data" / "test.jsonl")
    rebuilt = build.model_rows({r["id"]: r for r in test}) + build.constructed_rows(test)
    assert rebuilt == calibration()


def test_calibration_mix_and_label_kinds_match_the_readme() -> None:
    rows = calibration()
    kinds = Counter((r["label_source"], r["label"]) for r in rows)
    assert kinds == {("agent", "pass"): 23, ("agent", "fail"): 77,
                     ("construction", "pass"): 60, ("construction", "fail"): 10}
    passes = sum(r["label"] == "pass" for r in rows)
    assert 0.4 <= passes / len(rows) <= 0.6
    assert all(r["label"] in ("pass", "fail") for r in rows)
    assert all(r["note"] for r in rows)
    assert sum(r["borderline"] for r in rows) == 14


def test_agent_rows_are_the_kept_model_answers_each_with_a_label() -> None:
    answers = {f"{a['variant']}-{a['item_id']}": a
               for a in read_jsonl(FOLDER / "candidates" / "model_answers.jsonl")}
    labels = {r["id"]: r for r in read_jsonl(FOLDER / "candidates" / "agent_labels.jsonl")}
    agent = [r for r in calibration() if r["label_source"] == "agent"]
    assert len(agent) == 100
    for row in agent:
        assert row["output"] == answers[row["id"]]["output"]
        assert row["label"] == labels[row["id"]]["label"]
        item = items_by_id()[row["item_id"]]
        assert (row["input"], row["target"]) == (item["question"], item["reference"])
        assert ("context" in row) == row["id"].startswith("rag-")
        # A plain fail never states the gold answer; one that does is a documented close call.
        if row["label"] == "fail" and words(str(item["answer"]), row["output"]):
            assert row["borderline"], row["id"]


def test_constructed_labels_hold_by_construction() -> None:
    constructed = [r for r in calibration() if r["label_source"] == "construction"]
    agent_items = {r["item_id"] for r in calibration() if r["label_source"] == "agent"}
    for row in constructed:
        item = items_by_id()[row["item_id"]]
        assert row["item_id"] not in agent_items
        form = row["id"].split("-kba-")[0]
        if form == "swapped":
            assert row["label"] == "fail"
            assert not words(str(item["answer"]), row["output"])
            assert row["output"] != item["reference"]
        else:
            assert form in ("terse", "reference", "attributed")
            assert row["label"] == "pass"
            assert words(str(item["answer"]), row["output"])


@pytest.mark.parametrize("output, expected", [
    ("Noemi Tambick was born in 1994.", 1.0),
    ("She was born in 19945.", 0.0),
    ("Born in Vaskholt.", 0.0),
])
def test_mentions_answer_matches_whole_words(output: str, expected: float) -> None:
    from harness.scoring.record import SampleRecord

    record = SampleRecord(run_id="r", sample_id="s", task="kb-answers", variant="v", model="m",
                          model_id="m", item_id="kba-0000", epoch=0, input="q", target="t",
                          output=output, answer=output, fields={"answer": "1994"})
    assert module("grading").mentions_answer(record) == expected
