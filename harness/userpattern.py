"""Regular expressions written by users, matched against model answers with a time limit.

A pattern such as ``(a+)+$`` takes exponential time on some inputs; Python's ``re`` cannot be
interrupted, so one hostile (or merely unlucky) answer would hang the whole run. Patterns from
task files are compiled with the ``regex`` package, whose matching takes a timeout: a match
that runs past :data:`MATCH_TIMEOUT_S` raises :class:`TimeoutError`, which the scoring stage
records as that sample's scoring error. Its syntax is ``re``'s (VERSION0).
"""

from __future__ import annotations

from typing import Any

MATCH_TIMEOUT_S = 1.0


class UserPattern:
    """A compiled user pattern whose every search is bounded in time."""

    def __init__(self, pattern: str, *, ignore_case: bool = True) -> None:
        import regex

        self.pattern = pattern
        self._compiled = regex.compile(pattern, regex.IGNORECASE if ignore_case else 0)

    @property
    def groups(self) -> int:
        return int(self._compiled.groups)

    @property
    def groupindex(self) -> dict[str, int]:
        return dict(self._compiled.groupindex)

    def search(self, text: str) -> Any:
        try:
            return self._compiled.search(text, timeout=MATCH_TIMEOUT_S)
        except TimeoutError:
            raise TimeoutError(
                f"pattern {self.pattern[:60]!r} took over {MATCH_TIMEOUT_S:g} s on this answer "
                "(catastrophic backtracking?); simplify it, e.g. avoid nested quantifiers "
                "such as (a+)+") from None


def pattern_error(exc: BaseException) -> str | None:
    """The message of a pattern that does not compile, or None for any other exception."""
    import re

    import regex

    if isinstance(exc, (re.error, regex.error)):
        return f"bad regular expression: {exc}"
    return None
