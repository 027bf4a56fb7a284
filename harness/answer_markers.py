"""Finding the final answer of a reasoned output: "The answer is X", "**Answer:** X", \\boxed{X}.

Chain-of-thought outputs contain many numbers and candidate answers; the one that counts is the
one the model marked as final. The extracted text is left as the model wrote it (a sign, a
decimal point, a LaTeX fraction survive); only the decoration around it goes: markdown bold,
quotes, backticks, ``$...$``, ``\\text{...}`` and a sentence's closing period.

Rules (tests in ``tests/core/test_parsers_scorers.py``):

* markers: "answer is", "answer:", "answer =", "answer would/will/should be", optionally
  preceded by "final" or "correct", in any case, with markdown bold anywhere around them;
* the last marker or ``\\boxed{...}`` in the text wins;
* when nothing follows a marker on its line ("The answer is" then a line break), the answer is
  the next non-empty line;
* the answer ends where its sentence or clause ends: a number followed by words, a comma, a
  parenthesis or a new sentence is that number ("The answer is: 7. Checking with 8 items" is
  7, "The answer is -58 (17 - 75)" is -58), unless an operator follows it ("3 + 4 = 7" stays
  whole, for the next filter); a text answer ends at a full stop before a new capitalised
  sentence ("B. Because ..." is B), initials and common abbreviations excepted;
* no marker: the text is returned unchanged, for the next filter to search.
"""

from __future__ import annotations

import re

from harness import numbers

_MARKER = re.compile(
    r"""
    \b(?:(?:final|correct)\s+)?answer\b
    (?:\s+to\s+(?:the|this)\s+(?:question|problem))?
    [\s*_]*
    (?:(?:is|would\s+be|will\s+be|should\s+be)\b[\s*_]*:?|:|=)
    """,
    re.IGNORECASE | re.VERBOSE,
)
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
_WRAPPED = re.compile(r"^\\(?:text|textbf|mathrm|mathbf)\s*\{(.*)\}$", re.DOTALL)
_EDGE = "*_`\"' \t"
LOOKAHEAD_LINES = 3  # how far below a bare marker the answer may start
# Bounds that keep a pathological output (thousands of unclosed "\\boxed{", a megabyte of
# "$") linear: an answer is short, and decoration is a few layers deep.
MAX_BOXED_CHARS = 10_000
MAX_BOXED_TRIED = 20
MAX_CLEAN_PASSES = 8


def braced(text: str, open_at: int, limit: int = MAX_BOXED_CHARS) -> str | None:
    """The text inside the braces opened at ``open_at`` (nested braces kept); None if the
    braces do not close within ``limit`` characters."""
    depth = 0
    for i in range(open_at, min(len(text), open_at + limit)):
        ch = text[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[open_at + 1:i]
    return None


def clean(answer: str) -> str:
    """The answer without the decoration around it."""
    boxed = last_boxed(answer)
    if boxed is not None:
        answer = boxed[1]
    for _ in range(MAX_CLEAN_PASSES):
        previous = answer
        answer = answer.strip().strip(_EDGE).strip()
        if answer.endswith(".") and not answer.endswith(".."):
            answer = answer[:-1]
        for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
            if answer.startswith(left) and answer.endswith(right) and \
                    len(answer) >= len(left) + len(right):
                answer = answer[len(left):len(answer) - len(right)]
        wrapped = _WRAPPED.match(answer)
        if wrapped and braced(answer, answer.index("{"), len(answer)) == wrapped.group(1):
            answer = wrapped.group(1)
        if answer == previous:
            break
    return answer


def last_boxed(text: str) -> tuple[int, str] | None:
    """Where the last closed ``\\boxed{...}`` starts, and what it holds."""
    if "\\" not in text:
        return None
    for match in list(_BOXED.finditer(text))[::-1][:MAX_BOXED_TRIED]:
        inside = braced(text, match.end() - 1)
        if inside is not None:
            return match.start(), inside
    return None


# What may follow a leading number without ending the answer: an operator or another part of
# an expression ("3 + 4 = 7", "12 / 4"), which the next filter must see whole.
_CONTINUES = re.compile(r"\s*(?:[-+\u2212*/×x÷=^<>]|\\times|\\cdot|\\div)", re.IGNORECASE)
# A full stop (or ! ?) that ends a sentence: followed by space and a capitalised word.
_SENTENCE_END = re.compile(r"[.!?](?=\s+[\"'(*_]*[A-Z])")
_ABBREVIATIONS = frozenset({
    "dr", "mr", "mrs", "ms", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "no", "fig", "approx",
    "prof", "mt", "ft", "inc", "ltd", "co"})
_INITIAL_NEXT = re.compile(r"\s+[A-Z]\.")


def _leading_number(answer: str) -> str | None:
    """The number an answer starts with, when the words after it are not part of it."""
    found = numbers.find_numbers(answer, limit=1)
    if not found or found[0].start != 0 or numbers._unlatex(answer) != answer:
        return None
    end = found[0].end
    end += answer[end:].startswith("%")
    tail = answer[end:]
    if not tail.strip() or _CONTINUES.match(tail):
        return None
    return answer[:end]


def _first_sentence(answer: str) -> str:
    """The answer up to the end of its sentence, keeping initials and abbreviations."""
    for match in _SENTENCE_END.finditer(answer):
        words = answer[: match.start()].split()
        last = words[-1] if words else ""
        if last.lower().strip("(") in _ABBREVIATIONS:
            continue
        initial = len(last) == 1 and last.isupper()
        after_initial = len(words) > 1 and re.fullmatch(r"[A-Z]\.", words[-2]) is not None
        if initial and (_INITIAL_NEXT.match(answer, match.end()) or after_initial):
            continue  # "J. K. Rowling"
        return answer[: match.start()]
    return answer


def _one_answer(answer: str) -> str:
    """The answer itself, without the sentence or clause that follows it."""
    number = _leading_number(answer)
    return clean(number) if number is not None else clean(_first_sentence(answer))


def _after_marker(text: str, end: int) -> str:
    """The answer following a marker: the rest of its line, else the next non-empty line."""
    line_end = text.find("\n", end)
    rest = _one_answer(clean(text[end:] if line_end < 0 else text[end:line_end]))
    if rest or line_end < 0:
        return rest
    for line in text[line_end + 1:].split("\n", LOOKAHEAD_LINES)[:LOOKAHEAD_LINES]:
        found = _one_answer(clean(line))
        if found:
            return found
    return ""


def final_answer(text: str) -> str | None:
    """The answer the model marked as final, or None when it marked none."""
    candidates: list[tuple[int, str]] = []
    boxed = last_boxed(text)
    if boxed is not None:
        candidates.append((boxed[0], clean(boxed[1])))
    for match in reversed(list(_MARKER.finditer(text))):
        answer = _after_marker(text, match.end())
        if answer:
            candidates.append((match.start(), answer))
            break
    if not candidates:
        return None
    return max(candidates, key=lambda c: c[0])[1]
