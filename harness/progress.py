"""Progress on long runs: a live bar on a terminal, periodic plain lines otherwise (CI logs)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(
        self, total: int, *, done: int = 0, stream: TextIO | None = None, quiet: bool = False,
        interval: float = 10.0,
    ) -> None:
        self.total = total
        self.done = done
        self.errors = 0
        self.cost = 0.0
        self.cached = 0
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.interval = interval
        self.started = time.monotonic()
        self.last_line = self.started
        self._start_done = done
        self._bar = None
        if not quiet and self.stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, initial=done, file=self.stream, unit="sample",
                             dynamic_ncols=True, smoothing=0.1)

    def _postfix(self) -> str:
        return f"errors={self.errors} cost=${self.cost:.4f} cached={self.cached}"

    def update(self, *, error: bool, cost: float | None, cached: bool) -> None:
        self.done += 1
        self.errors += int(error)
        self.cost += cost or 0.0
        self.cached += int(cached)
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.set_postfix_str(self._postfix(), refresh=False)
            self._bar.update(1)
            return
        current = time.monotonic()
        if current - self.last_line >= self.interval or self.done == self.total:
            self.last_line = current
            self.stream.write(self.line() + "\n")
            self.stream.flush()

    def line(self) -> str:
        elapsed = time.monotonic() - self.started
        fresh = self.done - self._start_done
        rate = fresh / elapsed if elapsed > 0 else 0.0
        left = self.total - self.done
        eta = f"{left / rate:.0f}s" if rate > 0 else "?"
        return (f"[harness] {self.done}/{self.total} samples, {rate:.1f}/s, eta {eta}, "
                f"{self._postfix()}")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
