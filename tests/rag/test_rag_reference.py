"""BLEU and ROUGE agree with hand-computed values and with the libraries' own results on the
same strings; embedding similarity ranks a paraphrase above an unrelated sentence."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from rag_helpers import record

from harness.scoring.reference import bleu_score, rouge_scores
from harness.scoring.registry import ScoringContext, build_spec, check_spec, spec_from_entry
from harness.scoring.stage import ScoringStage, StageScorer

sacrebleu = pytest.importorskip("sacrebleu")
rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer")

HYP, REF = "the cat sat on the mat", "the cat sat on a mat"
PAIRS = [
    (HYP, REF),
    ("Refunds are paid within fourteen days of the return.",
     "A refund is paid within 14 days after the item is returned."),
    ("The quick brown fox jumps over the lazy dog.", "A fast brown fox leaped over lazy dogs."),
    ("nothing in common here", "completely different words entirely"),
    ("Running runners ran; they're running!", "The runner runs and is running."),
]


def _stage(entries: list[tuple[str, dict[str, Any]]], **resources: Any) -> ScoringStage:
    context = ScoringContext(task=SimpleNamespace(gold_docs_field=None),
                             task_file=Path("task.yaml"), resources=resources)
    scorers = []
    for name, args in entries:
        spec = spec_from_entry(name, args)
        check_spec(spec, Path("task.yaml"))
        scorers.append(StageScorer(spec=spec, fn=build_spec(spec, context)))
    return ScoringStage({("t", "v"): lambda text: text.strip()}, {"t": scorers})


def test_bleu_matches_a_hand_computation_and_sacrebleu() -> None:
    # 1- to 4-gram precisions 5/6, 3/5, 2/4, 1/3, equal lengths (no brevity penalty)
    by_hand = (5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25
    assert bleu_score(HYP, REF) == pytest.approx(by_hand, abs=1e-9)
    for hyp, ref in PAIRS:
        assert bleu_score(hyp, ref) == pytest.approx(
            sacrebleu.sentence_bleu(hyp, [ref]).score / 100, abs=1e-12)
    assert bleu_score(REF, REF) == pytest.approx(1.0)
    assert bleu_score("", REF) == 0.0


def test_rouge_matches_a_hand_computation_and_the_library_on_english() -> None:
    # unigrams: 5 of 6 shared; bigrams: 3 of 5; longest common subsequence: 5 of 6 words
    assert rouge_scores(HYP, REF) == pytest.approx(
        {"rouge1": 5 / 6, "rouge2": 3 / 5, "rougeL": 5 / 6})
    library = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    plain = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])
    for hyp, ref in PAIRS:
        ours, theirs = rouge_scores(hyp, ref), library.score(ref, hyp)
        assert ours == pytest.approx({k: v.fmeasure for k, v in theirs.items()}, abs=1e-12)
        unstemmed = rouge_scores(hyp, ref, stem=False)
        assert unstemmed == pytest.approx(
            {k: v.fmeasure for k, v in plain.score(ref, hyp).items()}, abs=1e-12)


def test_rouge_reads_text_the_library_tokenizer_would_drop() -> None:
    ru = "Возврат выплачивается в течение двух недель"
    other = "Возврат через две недели"
    library = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)
    assert library.score(ru, ru)["rouge1"].fmeasure == 0.0  # the defect worked around
    assert rouge_scores(ru, ru)["rouge1"] == 1.0
    # one shared word of 4 and 6: precision 1/4, recall 1/6
    assert rouge_scores(other, ru)["rouge1"] == pytest.approx(2 * (1 / 24) / (1 / 4 + 1 / 6))


def test_reference_scorers_through_the_stage() -> None:
    stage = _stage([("bleu", {}), ("rouge", {}),
                    ("rouge_l", {"type": "rouge", "types": ["rougeL"]})])
    scored = stage.score_sync(record(HYP, target=REF))
    assert scored.error is None
    assert scored.scores == pytest.approx({"bleu": (1 / 12) ** 0.25, "rouge1": 5 / 6,
                                           "rouge2": 0.6, "rougeL": 5 / 6, "rouge_l": 5 / 6})


@pytest.mark.parametrize(("name", "args", "message"), [
    ("bleu", {"tokenize": "klingon"}, "bleu"),
    ("bleu", {"smoothing": 1}, "unknown key"),
    ("rouge", {"types": ["rouge9"]}, "types"),
    ("rouge", {"stem": "yes"}, "stem"),
    ("embedding_similarity", {"model": "x"}, "no options"),
])
def test_bad_options_are_refused_when_the_task_loads(name: str, args: dict[str, Any],
                                                     message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_spec(spec_from_entry(name, args), Path("task.yaml"))


class _Words:
    """A stand-in embedder: a text's vector is its bag of words, normalised."""

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.embedded += texts
        vocab = ["refund", "paid", "days", "shop", "opens"]
        rows = [[float(w in t.lower()) for w in vocab] for t in texts]
        out = np.array(rows, dtype=np.float32)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def test_embedding_similarity_is_the_cosine_and_reuses_target_vectors() -> None:
    words = _Words()
    stage = _stage([("embedding_similarity", {})], embedder=words)
    target = "refund paid in days"
    same = stage.score_sync(record("days: the refund is paid", target=target))
    half = stage.score_sync(record("refund at the shop opens", target=target))
    assert same.scores["embedding_similarity"] == pytest.approx(1.0)
    # one of three words shared
    assert half.scores["embedding_similarity"] == pytest.approx(1 / math.sqrt(3 * 3))
    assert words.embedded.count(target) == 1  # the target's vector was kept


@pytest.mark.slow
def test_minilm_ranks_a_paraphrase_above_an_unrelated_sentence() -> None:
    stage = _stage([("embedding_similarity", {})])
    target = "Refunds are paid back within fourteen days of the return."
    outputs = {
        "identical": target,
        "paraphrase": "You get your money back in two weeks after returning the item.",
        "unrelated": "The mountain village hosts a cheese festival every autumn.",
    }
    got = {k: stage.score_sync(record(v, target=target)).scores["embedding_similarity"]
           for k, v in outputs.items()}
    assert got["identical"] == pytest.approx(1.0, abs=1e-5)
    assert got["paraphrase"] > got["unrelated"] + 0.2
    # ROUGE, which counts shared words, cannot tell the paraphrase from the unrelated text
    assert rouge_scores(outputs["paraphrase"], target)["rouge2"] == 0.0
