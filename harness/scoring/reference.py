"""Reference-based scorers: BLEU and ROUGE of the answer against the target.

Computed by the libraries everyone quotes, so a number here is the number a paper or another
tool reports for the same strings: sacreBLEU's sentence BLEU (its defaults: 13a tokenisation,
exponential smoothing) and Google's ``rouge-score`` (F-measure of ROUGE-1, ROUGE-2 and
ROUGE-L). Both are on a 0-1 scale here (sacreBLEU's 0-100 divided by 100). They are graded
scores, compared between variants with the paired tests for graded scores.

ROUGE's own tokenizer keeps only ASCII letters and digits, so a Russian or Chinese answer would
score 0 against an identical target. Here the tokenizer keeps every Unicode letter and digit
and stems only ASCII words (with the library's Porter stemmer, as its ``use_stemmer`` does): on
English text the tokens, and so the scores, are the library's own.

The libraries are the ``metrics`` extra (``pip install -e ".[metrics]"``); a task naming these
scorers without them installed is refused when it loads, saying what to install.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from harness.scoring.record import SampleRecord
from harness.scoring.registry import ScorerSpec, ScoringContext, register_scorer_type
from harness.scoring.score import Score, ScorerFn

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
_INSTALL = "install the metrics extra: pip install -e \".[metrics]\" (sacrebleu, rouge-score)"
_WORD = re.compile(r"[^\W_]+")
_ASCII_WORD = re.compile(r"^[a-z0-9]+$")


def _require(module: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise ValueError(f"the {module} package is not installed; {_INSTALL}")


def reference_text(record: SampleRecord) -> str:
    """What is compared with the target: the parsed answer."""
    return record.answer if record.answer is not None else record.output or ""


# --- BLEU ---------------------------------------------------------------------------------

_BLEU_KEYS = {"tokenize", "lowercase", "smooth_method"}


def bleu_score(hypothesis: str, reference: str, *, tokenize: str = "13a",
               lowercase: bool = False, smooth_method: str = "exp") -> float:
    """sacreBLEU's sentence BLEU of ``hypothesis`` against one reference, on 0-1."""
    import sacrebleu

    result = sacrebleu.sentence_bleu(hypothesis, [reference], tokenize=tokenize,
                                     lowercase=lowercase, smooth_method=smooth_method)
    return min(1.0, max(0.0, float(result.score) / 100.0))


def _bleu_check(spec: ScorerSpec, task_file: Path) -> None:
    _require("sacrebleu")
    unknown = set(spec.args) - _BLEU_KEYS
    if unknown:
        raise ValueError(f"unknown key(s) for bleu: {', '.join(sorted(unknown))} (allowed: "
                         f"{', '.join(sorted(_BLEU_KEYS))})")
    try:
        bleu_score("a b c d", "a b c d", **dict(spec.args))  # a bad tokenizer fails here
    except KeyError as exc:
        raise ValueError(f"bleu: no sacreBLEU tokenizer {exc}; use one of 13a, intl, zh, "
                         "char, none...") from None
    except Exception as exc:
        raise ValueError(f"bleu: {type(exc).__name__}: {exc}".splitlines()[0]) from None


def _bleu_build(spec: ScorerSpec, context: ScoringContext) -> ScorerFn:
    args = dict(spec.args)

    def bleu(record: SampleRecord) -> Score:
        return Score(value=bleu_score(reference_text(record), record.target, **args))

    return bleu


# --- ROUGE --------------------------------------------------------------------------------

class _Tokenizer:
    """rouge-score's tokenisation, widened from ASCII to every Unicode letter and digit."""

    def __init__(self, stem: bool) -> None:
        self.stemmer = None
        if stem:
            from nltk.stem import porter

            self.stemmer = porter.PorterStemmer()

    def tokenize(self, text: str) -> list[str]:
        tokens = _WORD.findall(text.lower())
        if self.stemmer is None:
            return tokens
        return [self.stemmer.stem(t) if len(t) > 3 and _ASCII_WORD.match(t) else t
                for t in tokens]


@cache
def _rouge(types: tuple[str, ...], stem: bool) -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(list(types), tokenizer=_Tokenizer(stem))


def rouge_scores(hypothesis: str, reference: str, *, types: tuple[str, ...] = ROUGE_TYPES,
                 stem: bool = True) -> dict[str, float]:
    """The F-measure of each ROUGE type of ``hypothesis`` against ``reference``."""
    scores = _rouge(tuple(types), stem).score(reference, hypothesis)
    return {name: float(scores[name].fmeasure) for name in types}


def _rouge_args(spec: ScorerSpec) -> tuple[tuple[str, ...], bool]:
    args = dict(spec.args)
    types = args.pop("types", list(ROUGE_TYPES))
    stem = args.pop("stem", True)
    if args:
        raise ValueError(f"unknown key(s) for rouge: {', '.join(sorted(args))} (allowed: "
                         "types, stem)")
    if isinstance(types, str):
        types = [types]
    if not isinstance(types, list) or not types or any(t not in ROUGE_TYPES for t in types):
        raise ValueError(f"types: a list of {', '.join(ROUGE_TYPES)}; got {types!r}")
    if not isinstance(stem, bool):
        raise ValueError(f"stem: true or false; got {stem!r}")
    return tuple(dict.fromkeys(types)), stem


def _rouge_check(spec: ScorerSpec, task_file: Path) -> None:
    _require("rouge_score")
    _rouge_args(spec)


def _rouge_build(spec: ScorerSpec, context: ScoringContext) -> ScorerFn:
    """One score named after the entry for one ROUGE type, else one score per type
    (``rouge1``, ``rouge2``, ``rougeL``)."""
    types, stem = _rouge_args(spec)

    def rouge(record: SampleRecord) -> Score | dict[str, Score]:
        scores = rouge_scores(reference_text(record), record.target, types=types, stem=stem)
        if len(types) == 1:
            return Score(value=scores[types[0]])
        return {name: Score(value=value) for name, value in scores.items()}

    return rouge


register_scorer_type("bleu", _bleu_build, check=_bleu_check, kind=lambda spec: "graded")
register_scorer_type("rouge", _rouge_build, check=_rouge_check, kind=lambda spec: "graded")
