"""The shipped kb-answers experiment end to end, with loopback models of known behaviour: a
model under test that is right exactly when it was given retrieved passages, and a judge that
passes an answer exactly when it states the key fact. The judged scores, the calibration rows
and the report's agreement figures are then checked against what those behaviours imply."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import harness
from harness.testing.loopback import LoopbackServer

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "tasks" / "kb-answers"
KEY_ENV = "HARNESS_KBA_TEST_KEY"
WRONG = "I believe the answer is 1900, in Ashford."


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


ITEMS = {r["question"]: r for r in read_jsonl(FOLDER / "data" / "test.jsonl")}


def states(fact: str, text: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(fact)}(?![\w])", text) is not None


def student(messages: list[dict[str, str]], body: dict) -> str:
    """Right (the reference) when the prompt holds retrieved context, else a wrong guess."""
    prompt = messages[-1]["content"]
    item = ITEMS[prompt.strip().splitlines()[-1]]
    return item["reference"] if "Context:" in prompt else WRONG


def key_fact_judge(messages: list[dict[str, str]], body: dict) -> str:
    """Passes an answer exactly when it states the key fact the rubric shows, as words."""
    text = messages[-1]["content"]
    fact = re.search(r"^The key fact: (.*)$", text, re.M)
    answer = re.search(r"^Answer to grade: (.*?)\n\nDoes the answer", text, re.S | re.M)
    assert "VERDICT: PASS" in text  # the rubric ends with the verdict instructions
    assert fact and answer, text
    verdict = "PASS" if states(fact.group(1), answer.group(1)) else "FAIL"
    said = "states" if verdict == "PASS" else "lacks"
    return f"The answer {said} the key fact.\nVERDICT: {verdict}"


def test_the_shipped_experiment_runs_with_a_judge_and_grades_the_calibration_rows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv(KEY_ENV, "sk-kba-test-3f1e9a77c2")
    config = yaml.safe_load((ROOT / "experiments" / "kb-answers.yaml").read_text("utf-8"))
    with LoopbackServer(student) as model, LoopbackServer(key_fact_judge) as judge:
        config["models"] = [{"model": "openai/kba-student", "api_base": f"{model.url}/v1",
                             "api_key_env": KEY_ENV, "max_tokens": 60}]
        config["judges"][0]["model"] = {"model": "anthropic/kba-judge", "api_base": judge.url,
                                        "api_key_env": KEY_ENV}
        shipped = config["judges"][0]["rubric"]
        config["judges"][0]["rubric"] = str((ROOT / "experiments" / shipped).resolve())
        for variant in config["variants"]:
            if variant.get("rag") in (True, "on"):
                # BM25: the subject here is the judge path, not the dense index's build time.
                variant["retriever"] = "bm25"
        config["limit"] = 4
        exp = tmp_path / "kb-answers.yaml"
        exp.write_text(yaml.safe_dump(config), encoding="utf-8")
        samples = harness.run(exp, results_dir=tmp_path / "results",
                              reports_dir=tmp_path / "reports", quiet=True)

    assert len(samples) == 16 and samples["error"].isna().all()
    assert samples["scoring_error"].isna().all()
    # The judge is primary and sees exactly what the student did: right only with retrieval.
    rag = samples["variant"].isin(["rag", "few-shot-rag"])
    assert (samples.loc[rag, "score_correct"] == 1).all()
    assert (samples.loc[~rag, "score_correct"] == 0).all()

    run_dir = next((tmp_path / "results").iterdir())
    graded = {r["id"]: r for r in read_jsonl(run_dir / "calibration.jsonl")}
    labelled = read_jsonl(FOLDER / "data" / "calibration.jsonl")
    assert set(graded) == {r["id"] for r in labelled}
    for row in labelled:
        expected = int(states(str(row["answer"]), row["output"]))
        assert (graded[row["id"]]["verdict"], graded[row["id"]]["label"]) == (
            expected, int(row["label"] == "pass")), row["id"]
