"""A plan's renders share one armed timer (``templating.render_session``): the bound each
render gets must be the one it had with a timer of its own, and no alarm may outlive the
session (a later SIGALRM user, such as pytest-timeout, would receive it)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

import harness.templating as templating
from harness.templating import TemplateLimit, render_session, render_string

# Loops over a string with an empty body: no call the sandbox sees, only the timer stops it.
EMPTY_LOOPS = ("{% set s = input * 70 %}{% for a in s %}{% for b in s %}{% for c in s %}"
               "{% endfor %}{% endfor %}{% endfor %}")


def _armed() -> float:
    return signal.getitimer(signal.ITIMER_REAL)[0]


def _timed_bomb() -> float:
    started = time.monotonic()
    with pytest.raises(TemplateLimit):
        render_string(EMPTY_LOOPS, {"input": "abcdefghij"})
    return time.monotonic() - started


def test_a_render_reusing_the_session_timer_is_still_stopped(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(templating, "RENDER_SECONDS", 0.3)
    with render_session():
        assert render_string("{{ a }}", {"a": "x"}) == "x"  # arms the session's timer
        took = _timed_bomb()  # right after: reuses it
    assert 0.3 <= took < 3
    assert _armed() == 0


def test_a_render_long_after_the_last_arming_gets_its_whole_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Armed 0.6 s before the bomb starts, the old timer would fire 0.4 s into it, before its
    0.5 s are up: the render must arm again and be stopped only after its own time."""
    monkeypatch.setattr(templating, "RENDER_SECONDS", 0.5)
    with render_session():
        render_string("{{ a }}", {"a": "x"})
        time.sleep(0.6)
        took = _timed_bomb()
    assert 0.5 <= took < 3


def test_the_session_timer_firing_between_renders_does_no_harm(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(templating, "RENDER_SECONDS", 0.05)  # fires 0.55 s after arming
    with render_session():
        render_string("{{ a }}", {"a": "x"})
        time.sleep(0.8)  # the alarm arrives here, with no render running
        assert render_string("{{ a }}!", {"a": "y"}) == "y!"
        took = _timed_bomb()  # and the timer works again after it
    assert took < 3
    assert _armed() == 0


def test_no_alarm_outlives_a_session_or_a_plan(tmp_path: Path) -> None:
    with render_session():
        for n in range(50):
            render_string("{{ n }}", {"n": n})
        assert _armed() > 0
    assert _armed() == 0
    from harness.config import load_experiment
    from harness.plan import build_plan

    shipped = Path(__file__).resolve().parents[2] / "experiments" / "quickstart.yaml"
    plan = build_plan(load_experiment(shipped))
    assert plan.samples
    assert _armed() == 0


def test_an_alarm_that_is_not_ours_still_reaches_its_handler() -> None:
    """Outside any render and session, SIGALRM belongs to whoever set it."""
    got: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: got.append(signum))
    try:
        with render_session():  # someone else's handler: the session arms nothing
            render_string("{{ a }}", {"a": "x"})
            assert _armed() == 0
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        time.sleep(0.3)
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert got == [signal.SIGALRM]
