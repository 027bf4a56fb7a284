"""Progress on long runs: a live bar on a terminal, periodic plain lines otherwise (CI logs).

Both show samples done of planned, rate, ETA, errors so far, money spent so far and the
current limit on requests in flight (``conc=5/32``: the adaptive limit and its cap, per model
when there are several; see ``harness.models.adaptive``). Answers
served from the cache count as done but cost nothing, and are left out of the rate, so the ETA
of a resumed or partly cached run reflects the calls still to make.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO


class Progress:
    def __init__(
        self, total: int, *, done: int = 0, cost: float = 0.0, stream: TextIO | None = None,
        quiet: bool = False, interval: float = 10.0, tty: bool | None = None,
    ) -> None:
        self.total = total
        self.done = done  # a resumed run starts with the samples and cost it already had
        self.errors = 0
        self.cost = cost
        self.cached = 0
        # Judge calls (harness.judges) are counted apart: they are not samples, and their
        # cost is not the cost of the models under test.
        self.judge_calls = 0
        self.judge_errors = 0
        self.judge_cost = 0.0
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.interval = interval
        self.started = time.monotonic()
        self.last_line = self.started
        self._start_done = done
        self._bar: Any = None
        self._closed = False
        # Set by the client stack (``harness.client_stack.build_client``): the models' limits now.
        self.concurrency: Callable[[], str] | None = None
        if tty is None:
            isatty = getattr(self.stream, "isatty", None)
            tty = bool(isatty and isatty())
        if not quiet and tty:
            from tqdm import tqdm

            self._bar = tqdm(total=total, initial=done, file=self.stream, unit="sample",
                             dynamic_ncols=True, smoothing=0.1, mininterval=0.2)
            self._bar.set_postfix_str(self._postfix(), refresh=False)

    def _postfix(self) -> str:
        cached = f" cached={self.cached}" if self.cached else ""
        limits = self.concurrency() if self.concurrency is not None else ""
        conc = f" conc={limits}" if limits else ""
        judge = (f" judge={self.judge_calls} calls ${self.judge_cost:.4f}"
                 if self.judge_calls else "")
        return f"errors={self.errors} cost=${self.cost:.4f}{cached}{conc}{judge}"

    def update(self, *, error: bool, cost: float | None, cached: bool) -> None:
        """One sample finished; ``cost`` is what it spent now (0 for a cached answer)."""
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
        if current - self.last_line >= self.interval:
            self.last_line = current
            self._write(self.line())

    def judge_update(self, *, cost: float, cached: bool, error: bool) -> None:
        """One judge call finished (``cost``: what it spent now, 0 when cached)."""
        self.judge_calls += 1
        self.judge_errors += int(error)
        self.judge_cost += cost
        if self._bar is not None and not self.quiet:
            self._bar.set_postfix_str(self._postfix(), refresh=False)

    def rate(self) -> float:
        """Fresh (not cached) samples a second since the start."""
        elapsed = time.monotonic() - self.started
        fresh = self.done - self._start_done - self.cached
        return fresh / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        rate = self.rate()
        left = self.total - self.done
        eta = "0s" if left <= 0 else (f"{left / rate:.0f}s" if rate > 0 else "?")
        percent = 100 * self.done / self.total if self.total else 100.0
        return (f"[harness] {self.done}/{self.total} samples ({percent:.0f}%), {rate:.1f}/s, "
                f"eta {eta}, {self._postfix()}")

    def _write(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        """End the bar, or write the last plain line (every log ends with the totals)."""
        if self._closed:
            return
        self._closed = True
        if self._bar is not None:
            self._bar.close()
        elif not self.quiet:
            self._write(self.line())
