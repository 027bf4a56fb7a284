"""A progress line on stderr for index builds.

Building an index embeds every chunk and can take minutes on a CPU, so the user needs to see
that it is moving. A dependency-free line is enough: on a terminal it redraws in place; in a log
(CI, a redirected run) it prints a line at most every ten percent so logs stay short.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Counts finished items of a known total and reports them on ``stream``."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = max(total, 0)
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._started = time.monotonic()
        self._last_decile = -1
        self._draw()

    def advance(self, n: int) -> None:
        self.done = min(self.total, self.done + n)
        self._draw()

    def close(self) -> None:
        """Prints the final state with the elapsed time, and ends the line."""
        elapsed = time.monotonic() - self._started
        end = "\r" if self._tty else ""
        self.stream.write(f"{end}{self._text()} in {elapsed:.1f}s\n")
        self.stream.flush()

    def _text(self) -> str:
        pct = 100 if self.total == 0 else 100 * self.done // self.total
        width = 24
        filled = width * pct // 100
        bar = "#" * filled + "." * (width - filled)
        return f"{self.label} [{bar}] {self.done}/{self.total} ({pct}%)"

    def _draw(self) -> None:
        if self._tty:
            self.stream.write(f"\r{self._text()}")
            self.stream.flush()
            return
        decile = 10 if self.total == 0 else 10 * self.done // self.total
        if decile != self._last_decile and self.done < self.total:
            self._last_decile = decile
            self.stream.write(self._text() + "\n")
            self.stream.flush()
