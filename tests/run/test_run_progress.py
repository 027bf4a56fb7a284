"""Progress: a bar on a terminal, plain periodic lines in CI, both with rate, ETA, errors and
cost so far."""

from __future__ import annotations

import io

from harness.progress import Progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_when_not_a_terminal() -> None:
    stream = io.StringIO()
    progress = Progress(4, stream=stream, interval=0.0)
    progress.update(error=False, cost=0.25, cached=False)
    progress.update(error=True, cost=None, cached=False)
    progress.update(error=False, cost=0.0, cached=True)
    progress.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4  # one per update (interval 0) and the closing totals
    assert lines[1].startswith("[harness] 2/4 samples (50%), ")
    assert "/s, eta " in lines[1] and "errors=1 cost=$0.2500" in lines[1]
    assert lines[-1].endswith("errors=1 cost=$0.2500 cached=1")
    assert "\r" not in stream.getvalue()


def test_lines_are_periodic_not_per_sample() -> None:
    stream = io.StringIO()
    progress = Progress(1000, stream=stream, interval=3600.0)
    for _ in range(1000):
        progress.update(error=False, cost=0.001, cached=False)
    progress.close()
    assert stream.getvalue().count("\n") == 1
    assert "1000/1000 samples (100%)" in stream.getvalue() and "eta 0s" in stream.getvalue()


def test_a_bar_on_a_terminal_with_errors_and_cost() -> None:
    stream = _Terminal()
    progress = Progress(10, done=2, stream=stream)
    for n in range(8):
        progress.update(error=n == 3, cost=0.5, cached=False)
    progress.close()
    screen = stream.getvalue()
    assert "\r" in screen and "10/10" in screen
    assert "errors=1" in screen and "cost=$4.0000" in screen
    assert "sample/s" in screen or "s/sample" in screen


def test_quiet_writes_nothing() -> None:
    stream = _Terminal()
    progress = Progress(3, stream=stream, quiet=True)
    progress.update(error=False, cost=1.0, cached=False)
    progress.close()
    assert stream.getvalue() == "" and progress.cost == 1.0
