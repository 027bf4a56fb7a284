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
* no marker: the text is returned unchanged, for the next filter to search.
"""

from __future__ import annotations

import re

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


def _after_marker(text: str, end: int) -> str:
    """The answer following a marker: the rest of its line, else the next non-empty line."""
    line_end = text.find("\n", end)
    rest = clean(text[end:] if line_end < 0 else text[end:line_end])
    if rest or line_end < 0:
        return rest
    for line in text[line_end + 1:].split("\n", LOOKAHEAD_LINES)[:LOOKAHEAD_LINES]:
        found = clean(line)
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
