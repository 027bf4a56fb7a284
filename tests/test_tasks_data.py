"""The shipped tasks' data: present, well-formed, leak-free and reproducible from their seeds.

These checks read only the files under ``tasks/`` (plus PyYAML and Jinja2), so they guard the
data even while the loader, runner and scorers change around it. Validation through the
project's pydantic loader is a separate test.
"""

from __future__ import annotations

import filecmp
import importlib.util
import json
import re
import sys
from collections import Counter
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from jinja2 import Environment, StrictUndefined

TASKS_DIR = Path(__file__).resolve().parent.parent / "tasks"
TASKS = ["arithmetic", "sentiment", "kb-qa", "extraction", "multiple-choice"]
REQUIRED_KEYS = {"name", "description", "data", "eval_split", "fewshot_split", "id_field",
                 "input", "target", "rationale", "instructions", "answer_format", "parser",
                 "scorers"}
MIN_TEST = {"kb-qa": 300}


@cache
def config(task: str) -> dict[str, Any]:
    with (TASKS_DIR / task / "task.yaml").open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@cache
def rows(task: str, split: str) -> list[dict[str, Any]]:
    path = TASKS_DIR / task / config(task)["data"][split]
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@cache
def corpus() -> list[dict[str, Any]]:
    path = TASKS_DIR / "kb-qa" / config("kb-qa")["corpus"]["path"]
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@cache
def template(source: str) -> Any:
    return Environment(undefined=StrictUndefined).from_string(source)


def render(source: str, row: dict[str, Any]) -> str:
    return template(source).render(row).strip()


def load_generator(task: str) -> ModuleType:
    """Import ``tasks/<task>/generate.py`` by path (task folders are not packages)."""
    path = TASKS_DIR / task / "generate.py"
    spec = importlib.util.spec_from_file_location(f"generate_{task.replace('-', '_')}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("task", TASKS)
def test_task_yaml_has_required_keys(task: str) -> None:
    cfg = config(task)
    missing = REQUIRED_KEYS - set(cfg)
    assert not missing, f"{task}/task.yaml lacks {sorted(missing)}"
    assert cfg["name"] == task
    assert cfg["eval_split"] in cfg["data"] and cfg["fewshot_split"] in cfg["data"]
    assert cfg["parser"] and cfg["scorers"]
    for step in cfg["parser"] + cfg["scorers"]:
        assert isinstance(step, dict) and "name" in step
    for name in ("README.md", "generate.py"):
        assert (TASKS_DIR / task / name).is_file()


@pytest.mark.parametrize("task", TASKS)
def test_splits_exist_with_unique_ids_and_enough_rows(task: str) -> None:
    cfg = config(task)
    for split in cfg["data"]:
        data = rows(task, split)
        ids = [r[cfg["id_field"]] for r in data]
        assert all(isinstance(i, str) and i for i in ids)
        assert len(ids) == len(set(ids)), f"{task}/{split}: duplicate ids"
        for r in data:  # every row renders: no template names a missing field
            assert render(cfg["input"], r) and render(cfg["target"], r)
    assert len(rows(task, cfg["eval_split"])) >= MIN_TEST.get(task, 200)
    assert 20 <= len(rows(task, cfg["fewshot_split"])) <= 40


@pytest.mark.parametrize("task", TASKS)
def test_fewshot_is_disjoint_from_test(task: str) -> None:
    cfg = config(task)
    test, shots = rows(task, cfg["eval_split"]), rows(task, cfg["fewshot_split"])
    assert not {r["id"] for r in test} & {r["id"] for r in shots}
    test_inputs = {render(cfg["input"], r) for r in test}
    assert not test_inputs & {render(cfg["input"], r) for r in shots}
    assert len(test_inputs) == len(test), f"{task}: two test items share an input"


@pytest.mark.parametrize("task", TASKS)
def test_fewshot_rationale_ends_in_the_answer(task: str) -> None:
    """Chain-of-thought examples must end the way answers are parsed: "The answer is X"."""
    cfg = config(task)
    for r in rows(task, cfg["fewshot_split"]):
        rationale, target = render(cfg["rationale"], r), render(cfg["target"], r)
        assert rationale.endswith(f"The answer is {target}") or rationale.endswith(
            f"The answer is {target}."
        ), (r["id"], rationale)
    for r in rows(task, cfg["eval_split"]):
        assert "rationale" not in r, f"{task}: worked solution on eval row {r['id']}"


@pytest.mark.parametrize("task", TASKS)
def test_generator_is_deterministic_and_matches_shipped_data(task: str, tmp_path: Path) -> None:
    gen = load_generator(task)
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert gen.main(["--out", str(first)]) == 0
    assert gen.main(["--out", str(second)]) == 0
    shipped = TASKS_DIR / task / "data"
    names = sorted(p.name for p in shipped.glob("*.jsonl"))
    assert names == sorted(p.name for p in first.glob("*.jsonl"))
    for name in names:
        assert filecmp.cmp(first / name, second / name, shallow=False), f"{name} not stable"
        assert filecmp.cmp(first / name, shipped / name, shallow=False), (
            f"tasks/{task}/data/{name} differs from what generate.py writes; regenerate it"
        )
    assert gen.main(["--out", str(other), "--seed", "7"]) == 0
    assert (other / "test.jsonl").read_bytes() != (first / "test.jsonl").read_bytes()


def test_arithmetic_targets() -> None:
    for split in ("test", "fewshot"):
        for r in rows("arithmetic", split):
            assert isinstance(r["answer"], int) and not isinstance(r["answer"], bool)
            assert r["answer"] >= 0
            assert r["difficulty"] in {"easy", "medium", "hard"}
            assert r["steps"] in {1, 2, 3} and r["digits"] in {1, 2, 3}
    # The few-shot worked solutions are real arithmetic: every "a op b = c" in them holds.
    step = re.compile(r"(\d+) ([-+*/]) (\d+) = (\d+)")
    ops = {"+": int.__add__, "-": int.__sub__, "*": int.__mul__, "/": int.__floordiv__}
    for r in rows("arithmetic", "fewshot"):
        found = step.findall(r["rationale"])
        assert len(found) == r["steps"]
        for a, op, b, c in found:
            assert ops[op](int(a), int(b)) == int(c), r["rationale"]
            assert op != "/" or int(a) % int(b) == 0
        assert int(found[-1][3]) == r["answer"]
    cells = Counter((r["steps"], r["digits"]) for r in rows("arithmetic", "test"))
    assert len(cells) == 9 and len(set(cells.values())) == 1


def test_sentiment_labels_and_kinds() -> None:
    for split in ("test", "fewshot"):
        data = rows("sentiment", split)
        assert {r["label"] for r in data} == set(config("sentiment")["choices"])
        counts = Counter((r["kind"], r["label"]) for r in data)
        kinds = {k for k, _ in counts}
        assert kinds == {"plain", "negated", "mixed"}
        for kind in kinds:  # each kind exactly half positive, so per-kind accuracy is fair
            assert counts[kind, "positive"] == counts[kind, "negative"], (split, counts)
        for r in data:
            assert len(r["review"].split()) <= 40, "quickstart reviews must stay short"
            assert 1 <= len(re.findall(r"[.!?](?:\s|$)", r["review"])) <= 4
    plain = [r["review"].lower() for r in rows("sentiment", "test") if r["kind"] == "plain"]
    assert not [t for t in plain if re.search(r"\b(not|never|no)\b|n't", t)]


def test_kb_qa_corpus_and_gold_documents() -> None:
    docs = corpus()
    by_id = {d["id"]: d for d in docs}
    assert len(by_id) == len(docs) >= 200
    for d in docs:
        assert 60 <= len(d["text"].split()) <= 150, d["id"]
        first_sentence = d["text"].split(". ")[0]
        assert d["title"] in first_sentence, d["id"]
    questions = rows("kb-qa", "test") + rows("kb-qa", "fewshot")
    assert len(rows("kb-qa", "test")) >= 300
    cluster = config("kb-qa")["cluster_field"]
    for q in questions:
        gold = q[config("kb-qa")["gold_docs_field"]]
        assert 1 <= len(gold) <= 2 and len(gold) == q["hops"]
        assert all(g in by_id for g in gold), q["id"]
        assert q[cluster] == gold[0]
        # The answer is written in the document that holds it (the bridge, for two hops).
        assert q["answer"] in by_id[gold[-1]]["text"], q["id"]
        # The question names its entity, so a retriever has something to match.
        assert by_id[gold[0]]["title"] in q["question"], q["id"]
    assert sum(q["hops"] == 2 for q in rows("kb-qa", "test")) >= 30
    shot_entities = {q["entity"] for q in rows("kb-qa", "fewshot")}
    assert not shot_entities & {q["entity"] for q in rows("kb-qa", "test")}


def test_extraction_targets_match_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    cfg = config("extraction")
    schema = next(s["schema"] for s in cfg["scorers"] if s["name"] == "json_valid")
    fields = next(s["fields"] for s in cfg["scorers"] if s["name"] == "json_fields")
    validator = jsonschema.validators.validator_for(schema)(schema)
    for split in ("test", "fewshot"):
        for r in rows("extraction", split):
            target = render(cfg["target"], r)
            gold = json.loads(target)
            validator.validate(gold)
            assert list(gold) == fields
            assert target == json.dumps(gold, ensure_ascii=False, separators=(",", ":"))
            assert gold["name"] in r["text"] and gold["city"] in r["text"]
            assert gold["amount"] != int(gold["amount"]), "whole amounts score as 120 vs 120.0"


def test_multiple_choice_targets_are_balanced_letters() -> None:
    for split in ("test", "fewshot"):
        data = rows("multiple-choice", split)
        letters = Counter(r["answer"] for r in data)
        assert set(letters) == set("ABCD")
        expected = len(data) / 4
        assert all(abs(n - expected) <= max(3, 0.2 * expected) for n in letters.values())
        for r in data:
            options = [r[k] for k in "ABCD"]
            assert len(set(options)) == 4, r["id"]
            assert r[r["answer"]] == r["answer_text"]
            rendered = render(config("multiple-choice")["input"], r)
            assert all(f"\n{k}. {r[k]}" in rendered for k in "ABCD")


@pytest.mark.parametrize(
    ("task", "n", "field"),
    [("sentiment", 40, "label"), ("sentiment", 40, "kind"), ("multiple-choice", 40, "answer"),
     ("arithmetic", 45, "difficulty"), ("extraction", 30, "doc_type")],
)
def test_test_split_prefix_is_a_fair_sample(task: str, n: int, field: str) -> None:
    """``limit: N`` runs the first N items (the quickstart uses 40), so prefixes must not be
    lopsided: every stratum's share of the first N is within a few items of its overall share."""
    data = rows(task, "test")
    overall = Counter(r[field] for r in data)
    head = Counter(r[field] for r in data[:n])
    for value, count in overall.items():
        assert abs(head[value] - n * count / len(data)) <= 2, (task, field, head)
