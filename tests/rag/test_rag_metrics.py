"""The RAG answer metrics with a deterministic fake judge: the exact score each must give is
known from the judge's rules, and a judge's malformed answer is a scoring error, never a
number."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rag_helpers import FakeJudge, record, rule_judge

from harness.retrieval.metrics import recall_at_k, reciprocal_rank
from harness.scoring.rag import faithfulness
from harness.scoring.rag_judge import Judge, MalformedVerdict, read_object
from harness.scoring.record import SampleRecord
from harness.scoring.registry import ScoringContext, build_spec, check_spec, spec_from_entry
from harness.scoring.stage import ScoringStage, StageScorer


def _stage(entries: list[tuple[str, dict[str, Any]]], ask: Any, *,
           gold_field: str | None = None) -> ScoringStage:
    task = SimpleNamespace(gold_docs_field=gold_field)
    context = ScoringContext(task=task, task_file=Path("task.yaml"), resources={"ask": ask})
    scorers = []
    for name, args in entries:
        spec = spec_from_entry(name, args)
        check_spec(spec, Path("task.yaml"))
        scorers.append(StageScorer(spec=spec, fn=build_spec(spec, context)))
    return ScoringStage({("t", "v"): lambda text: text}, {"t": scorers})


def _score(stage: ScoringStage, rec: SampleRecord) -> Any:
    return stage.score_sync(rec)


JUDGE = {"judge": "openai/judge-model"}


def test_faithfulness_is_supported_claims_over_claims_with_each_verdict_kept() -> None:
    fake = FakeJudge()
    answer = ("Refunds are paid within 14 days. Refunds need a receipt. "
              "Refunds are paid in cash. The shop closes at 6 pm. The shop sells bikes.")
    scored = _score(_stage([("faithfulness", JUDGE)], fake), record(answer))
    assert scored.error is None
    assert scored.scores == {"faithfulness": pytest.approx(3 / 5)}
    meta = scored.details["faithfulness"]["metadata"]
    assert (meta["supported"], meta["total"]) == (3, 5)
    assert [c["supported"] for c in meta["claims"]] == [True, True, False, True, False]
    assert meta["claims"][2]["claim"] == "Refunds are paid in cash."
    assert meta["judge"] == "openai/judge-model" and len(meta["raw"]) == 6
    # one call to split the answer, then one per claim, each with the passages in the prompt
    assert len(fake.calls) == 6
    assert all("Refunds need a receipt." in c[1][-1]["content"] for c in fake.calls[1:])
    assert fake.calls[0][2]["temperature"] == 0.0


@pytest.mark.parametrize(("answer", "want"), [
    ("Refunds are paid within 14 days.", 1.0),
    ("Refunds are paid in gold.", 0.0),
    ("Refunds need a receipt. The shop opens at 9 am. The moon is cheese. Cats fly.", 0.5),
])
def test_faithfulness_exact_on_known_answers(answer: str, want: float) -> None:
    judge = Judge(model="j", ask=FakeJudge())
    score = asyncio.run(faithfulness(record(answer), judge))
    assert score is not None and score.value == want


def test_not_applicable_without_passages_or_claims() -> None:
    stage = _stage([("faithfulness", JUDGE), ("answer_relevance", JUDGE),
                    ("context_precision", JUDGE), ("context_recall", JUDGE)], FakeJudge())
    closed_book = record("Refunds are paid within 14 days.", passages=[])
    assert _score(stage, closed_book).scores == {
        "faithfulness": None, "answer_relevance": 1.0, "context_precision": None,
        "context_recall": None}  # relevance needs no passages: rag vs none compares on it
    empty = FakeJudge(lambda m: '{"claims": []}' if "List every" in m[-1]["content"]
                      else rule_judge(m))
    scored = _score(_stage([("faithfulness", JUDGE)], empty), record("Hello!"))
    assert scored.error is None and scored.scores == {"faithfulness": None}  # not a 1


@pytest.mark.parametrize("bad", [
    "I think the claim is supported.",                          # no JSON at all
    '{"reason": "fine"}',                                        # no verdict key
    '{"supported": "maybe"}',                                    # not a yes/no
    '{"supported": true} ... on reflection {"supported": false}',  # two different verdicts
    "",
])
def test_a_malformed_verdict_is_a_scoring_error_not_a_number(bad: str) -> None:
    def judge(messages: list[dict[str, str]]) -> str:
        if "Can the claim" in messages[-1]["content"] and "cash" in messages[-1]["content"]:
            return bad
        return rule_judge(messages)

    stage = _stage([("faithfulness", JUDGE)], FakeJudge(judge))
    scored = _score(stage, record("Refunds need a receipt. Refunds are paid in cash."))
    assert scored.scores == {}
    assert scored.error is not None and "MalformedVerdict" in scored.error
    assert "faithfulness" in scored.error


@pytest.mark.parametrize("bad", ['{"claims": "Refunds."}', '{"claims": [1, 2]}', "[]",
                                 '{"claims": ["", "x"]}'])
def test_malformed_claim_lists_are_scoring_errors(bad: str) -> None:
    fake = FakeJudge(lambda m: bad if "List every" in m[-1]["content"] else rule_judge(m))
    scored = _score(_stage([("faithfulness", JUDGE)], fake), record("Refunds need a receipt."))
    assert scored.error is not None and "MalformedVerdict" in scored.error


def test_read_object_accepts_fences_and_prose_but_not_guesses() -> None:
    assert read_object('```json\n{"supported": true}\n```', {"supported": "bool"})[
        "supported"] is True
    assert read_object('Reasoning first. {"supported": "No"}', {"supported": "bool"})[
        "supported"] is False
    assert read_object('{"grade": "4"}', {"grade": "int"})["grade"] == 4
    for bad in ('{"grade": 4.5}', '{"grade": true}', '{"grade": "four"}'):
        with pytest.raises(MalformedVerdict):
            read_object(bad, {"grade": "int"})


def test_answer_relevance_maps_the_grade_and_refuses_one_off_the_scale() -> None:
    stage = _stage([("answer_relevance", JUDGE)], FakeJudge())
    assert _score(stage, record("Refunds take 14 days.")).scores == {"answer_relevance": 1.0}
    assert _score(stage, record("The shop opens at 9.")).scores == {"answer_relevance": 0.25}
    off = FakeJudge(lambda m: json.dumps({"reason": "r", "grade": 7}))
    scored = _score(_stage([("answer_relevance", JUDGE)], off), record("x"))
    assert scored.error is not None and "1-5 scale" in scored.error


def test_context_metrics_use_gold_documents_where_items_name_them() -> None:
    fake = FakeJudge()
    stage = _stage([("context_precision", {}), ("context_recall", {})], fake, gold_field="gold")
    ids = ["d3", "d1", "d7", "d2"]
    for gold in (("d1",), ("d2", "d9"), ("d3", "d7"), ("d8",)):
        rec = record("x", passages=["a", "b", "c", "d"], doc_ids=ids, gold=gold)
        scores = _score(stage, rec).scores
        assert scores["context_precision"] == reciprocal_rank(ids, gold)
        assert scores["context_recall"] == recall_at_k(ids, gold, len(ids))
    assert scores == {"context_precision": 0.0, "context_recall": 0.0}
    assert fake.calls == []  # gold ids need no judge


def test_context_metrics_are_judged_where_no_gold_documents_exist() -> None:
    passages = ["The sky is blue.", "A useful fact: refunds are paid within 14 days.",
                "Another useful passage.", "Refunds need a receipt."]
    rec = record("x", passages=passages,
                 target="Refunds need a receipt. Refunds are paid by cheque.")
    scored = _score(_stage([("context_precision", JUDGE), ("context_recall", JUDGE)],
                           FakeJudge()), rec)
    # the first passage judged relevant is the second: 1/2; one of the reference's two
    # claims is in the passages: 1/2
    assert scored.scores == {"context_precision": 0.5, "context_recall": 0.5}
    passages_meta = scored.details["context_precision"]["metadata"]["passages"]
    assert [p["relevant"] for p in passages_meta] == [False, True, True, False]


def test_a_metric_without_judge_or_gold_is_refused_before_scoring() -> None:
    with pytest.raises(ValueError, match="judge"):
        check_spec(spec_from_entry("faithfulness", {}), Path("task.yaml"))
    with pytest.raises(ValueError, match="gold_docs_field"):
        _stage([("context_recall", {})], FakeJudge())
    with pytest.raises(ValueError, match="rubric"):
        check_spec(spec_from_entry("faithfulness", {**JUDGE, "rubric": "x"}), Path("t.yaml"))
    with pytest.raises(ValueError, match=r"judge\.temperature"):
        check_spec(spec_from_entry("faithfulness", {"judge": {"model": "openai/j",
                                                              "temperature": 9}}),
                   Path("task.yaml"))


def test_a_judge_cut_off_before_its_verdict_says_so() -> None:
    from harness.models.client import Completion

    async def cut(model: Any, messages: list[dict[str, str]], params: Any = None) -> Completion:
        return Completion(text='Let me think about each claim in turn. The first',
                          finish_reason="length")

    scored = _score(_stage([("faithfulness", JUDGE)], cut), record("Refunds need a receipt."))
    assert scored.error is not None and "max_tokens (512)" in scored.error
