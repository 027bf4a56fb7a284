"""The Jinja2 environment every user-written template runs in.

Templates and task fields come from config files that may be shared, so they render in
Jinja2's immutable sandbox; ``StrictUndefined`` makes a misspelt variable an error instead of
silently rendering an empty string into a prompt.

The sandbox stops a template from reaching Python, not from exhausting the machine:
``{{ 9**(10**8) }}`` or ``{{ "x" * 10**10 }}`` would run for minutes or fill memory while the
run is still planning. So rendering is bounded too: operators that can make huge numbers or
strings check the size of their result before computing it, ranges are capped per render,
the output is capped, and each render has a deadline (checked on every operator, call and
output chunk, and enforced by a timer signal when rendering on the main thread). Crossing a
bound is a :class:`TemplateLimit`, one line naming the template, like any template error.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from functools import cache, wraps
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

MAX_OUTPUT_CHARS = 1_000_000  # one rendered prompt (or string built inside it)
MAX_RANGE_ITEMS = 1_000_000  # range() items created in one render, all ranges together
MAX_INT_BITS = 65_536  # integers computed by ** or * (about 20,000 digits)
RENDER_SECONDS = 2.0  # one render; real templates take well under a millisecond
_WIDTH = re.compile(r"(\d{7,})")  # a format width of a million or more, e.g. %9999999d


class TemplateLimit(SecurityError):
    """A template went past a size or time bound."""


class MissingValue(ValueError):
    """A data row's field is null where a template prints it (see ``harness.dataset``)."""


class _Budget:
    __slots__ = ("deadline", "range_items")

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.range_items = 0


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("budget", default=None)


def _tick() -> _Budget | None:
    budget = _BUDGET.get()
    if budget is not None and time.monotonic() > budget.deadline:
        raise TemplateLimit(f"rendering took more than {RENDER_SECONDS:g} s")
    return budget


def _too_long(size: int) -> None:
    if size > MAX_OUTPUT_CHARS:
        raise TemplateLimit(f"the template would build a value of {size:,} items or characters "
                            f"(the limit is {MAX_OUTPUT_CHARS:,})")


def _check_int(value: Any) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_OUTPUT_CHARS:
        raise TemplateLimit(f"a width or count of {value:,} (the limit is {MAX_OUTPUT_CHARS:,})")


def _check_widths(fmt: Any) -> None:
    if isinstance(fmt, str) and _WIDTH.search(fmt):
        raise TemplateLimit(f"a format width of {_WIDTH.search(fmt).group(1)} (the limit is "
                            f"{MAX_OUTPUT_CHARS:,})")


def _check_binop(operator: str, left: Any, right: Any) -> None:
    numbers = (int, float)
    if operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
        if abs(left) > 1 and right * math.log2(abs(left)) > MAX_INT_BITS:
            raise TemplateLimit(f"{left} ** {right} is a number too large to compute "
                                f"(over {MAX_INT_BITS:,} bits)")
    elif operator == "*":
        if isinstance(left, int) and isinstance(right, int):
            if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise TemplateLimit(f"a product of over {MAX_INT_BITS:,} bits")
        elif isinstance(right, int) and not isinstance(left, numbers) and hasattr(left, "__len__"):
            _too_long(len(left) * max(right, 0))
        elif isinstance(left, int) and not isinstance(right, numbers) and hasattr(right,
                                                                                   "__len__"):
            _too_long(len(right) * max(left, 0))
    elif operator == "+" and hasattr(left, "__len__") and hasattr(right, "__len__"):
        _too_long(len(left) + len(right))
    elif operator == "%" and isinstance(left, str):
        _check_widths(left)
        if "*" in left:  # widths given as arguments: "%*d" % (10**9, 1)
            for value in right if isinstance(right, tuple) else (right,):
                _check_int(value)


def _bounded_range(*args: int) -> range:
    _tick()
    items = range(*args)
    budget = _BUDGET.get()
    count = len(items)
    if budget is not None:
        budget.range_items += count
        count = budget.range_items
    if count > MAX_RANGE_ITEMS:
        raise TemplateLimit(f"range() would produce {count:,} items in one render (the limit "
                            f"is {MAX_RANGE_ITEMS:,})")
    return items


def _guard_filter(function: Any) -> Any:
    """A filter whose extra arguments (widths, counts) are bounded: ``center(10**9)``."""
    skip = 2 if getattr(function, "jinja_pass_arg", None) else 1

    @wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _tick()
        for value in (*args[skip:], *kwargs.values()):
            _check_int(value)
        if function.__name__ == "do_format" and len(args) >= skip:
            _check_widths(args[skip - 1])
        return function(*args, **kwargs)

    return guarded


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with sizes and time bounded (see the module docstring)."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.globals["range"] = _bounded_range
        self.filters = {name: _guard_filter(f) for name, f in self.filters.items()}

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _tick()
        _check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _tick()
        target = getattr(__obj, "__wrapped__", __obj)
        if target is not _bounded_range:  # "x".center(10**9), lipsum(10**8): sizes, counts
            for value in (*args, *kwargs.values()):
                _check_int(value)
        if isinstance(getattr(target, "__self__", None), str):  # "{:999999999}".format(1)
            _check_widths(target.__self__)
        return super().call(__context, __obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _tick()
        return super().getattr(obj, attribute)


@cache
def environment() -> BoundedSandbox:
    env = BoundedSandbox(
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
    )
    env.filters["letter"] = _guard_filter(lambda i: "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[int(i)])
    return env


RenderErrors = (UndefinedError, TemplateSyntaxError, SecurityError, TypeError, ValueError,
                ArithmeticError, LookupError, AttributeError, MemoryError, RecursionError)


def describe(exc: BaseException) -> str:
    """A short reason for a template failure, in the words a template author needs."""
    if isinstance(exc, UndefinedError):
        return f"{exc.message} (the variable is not defined for this item)"
    if isinstance(exc, TemplateSyntaxError):
        return f"template syntax error at template line {exc.lineno}: {exc.message}"
    if isinstance(exc, TemplateLimit):
        return f"template too costly to render: {exc}; simplify the template"
    if isinstance(exc, SecurityError):
        return f"not allowed in a sandboxed template: {exc}"
    if isinstance(exc, MissingValue):
        return str(exc)
    if isinstance(exc, RecursionError):
        return "the template calls itself too deeply (a recursive macro?)"
    if isinstance(exc, MemoryError):
        return "the template ran out of memory"
    if "no loader" in str(exc):
        return ("{% include %}, {% import %} and {% extends %} are not available: put the text "
                "in the template itself, or pass it in with vars")
    if type(exc) is ValueError:
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _expired(signum: int, frame: Any) -> None:
    if _BUDGET.get() is not None:
        raise TemplateLimit(f"rendering took more than {RENDER_SECONDS:g} s")
    if _SESSION.armed_at is not None:  # a session's timer, between two of its renders
        _SESSION.armed_at = None  # the next render arms it again
        return
    # An alarm someone else set while no render runs: act as if this handler were not here.
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGALRM)


def _timer_usable() -> bool:
    """SIGALRM is ours to use: main thread, no handler or timer of anyone else's. The handler
    is installed once (installing it per render would cost more than the render)."""
    if threading.current_thread() is not threading.main_thread() \
            or not hasattr(signal, "setitimer"):
        return False
    current = signal.getsignal(signal.SIGALRM)
    if current is not _expired:
        if current not in (signal.SIG_DFL, None):
            return False
        signal.signal(signal.SIGALRM, _expired)
    return signal.getitimer(signal.ITIMER_REAL)[0] == 0


class _Session:
    """The timer state of :func:`render_session` (main thread only)."""

    __slots__ = ("active", "armed_at")

    def __init__(self) -> None:
        self.active = False
        self.armed_at: float | None = None  # when the session last armed the timer


_SESSION = _Session()
_REARM_AFTER = 0.25  # a session's timer fires 2.25-2.5 s after any of its renders starts


@contextlib.contextmanager
def render_session() -> Iterator[None]:
    """Many renders in a row (a plan renders one prompt per item and variant) share one armed
    timer instead of two ``setitimer`` calls each (about 0.04 s over 3,000 renders).

    A render in a session uses the armed timer while it was armed under ``_REARM_AFTER`` ago,
    so it still fires between ``RENDER_SECONDS`` and ``RENDER_SECONDS + 0.5`` s after the
    render started, as a render's own timer would; it fires between renders to no effect, and
    the session disarms it when it ends, so no alarm of ours outlives the session.
    """
    if _SESSION.active or not _timer_usable():  # nested, or renders use no timer at all
        yield
        return
    _SESSION.active = True
    try:
        yield
    finally:
        _SESSION.active = False
        if _SESSION.armed_at is not None:
            _SESSION.armed_at = None
            signal.setitimer(signal.ITIMER_REAL, 0)


@contextlib.contextmanager
def _timer(seconds: float) -> Iterator[None]:
    """On the main thread, SIGALRM interrupts a render that makes no call the sandbox sees
    (an empty loop over a large data field); elsewhere the sandbox's own checks bound it."""
    if _SESSION.active and threading.current_thread() is threading.main_thread():
        now = time.monotonic()
        if _SESSION.armed_at is None or now - _SESSION.armed_at > _REARM_AFTER:
            signal.setitimer(signal.ITIMER_REAL, seconds + 0.5)
            _SESSION.armed_at = now
        yield
        return
    if not _timer_usable():
        yield
        return
    signal.setitimer(signal.ITIMER_REAL, seconds + 0.5)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def bounded_render(template: Template, context: dict[str, Any]) -> str:
    """Render within the bounds: time, output size, range items."""
    token = _BUDGET.set(_Budget(RENDER_SECONDS))
    try:
        with _timer(RENDER_SECONDS):
            size = 0
            parts = []
            for chunk in template.generate(context):
                size += len(chunk)
                _too_long(size)
                _tick()
                parts.append(chunk)
            return "".join(parts)
    finally:
        _BUDGET.reset(token)


@cache
def _compiled(source: str) -> Any:
    return environment().from_string(source)


def render_string(source: str, context: dict[str, Any]) -> str:
    """Render a small template (a task's ``input`` or ``target`` field)."""
    return bounded_render(_compiled(source), context)
