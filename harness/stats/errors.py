"""The one error the statistics raise, so callers can catch "the data cannot answer this".

Functions about a single sample (an interval, a test) raise :class:`StatsError` when they get no
data; functions that build tables never raise for one empty group: they give that row NaN and a
note, so one failed variant does not hide the others. A :class:`StatsError` is both a
``ValueError`` (plain Python callers) and the harness's user-facing error when that exists, so
the CLI prints its message without a traceback.
"""

from __future__ import annotations

try:  # the CLI's error type; the statistics must still work where it is absent
    from harness.errors import HarnessError as _UserError
except ImportError:  # pragma: no cover - only when the package is used on its own
    _UserError = Exception  # type: ignore[misc,assignment]


class StatsError(_UserError, ValueError):  # type: ignore[misc]
    """The data cannot answer the question asked; the message says why in plain words."""


class SmallSampleWarning(UserWarning):
    """An interval was computed on too few items for its approximation to be trusted."""
