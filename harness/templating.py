"""The Jinja2 environment every user-written template runs in.

Templates and task fields come from config files that may be shared, so they render in
Jinja2's immutable sandbox; ``StrictUndefined`` makes a misspelt variable an error instead of
silently rendering an empty string into a prompt.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError


@cache
def environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
    )
    env.filters["letter"] = lambda i: "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[int(i)]
    return env


RenderErrors = (UndefinedError, TemplateSyntaxError, SecurityError, TypeError, ValueError)


def describe(exc: Exception) -> str:
    """A short reason for a template failure, in the words a template author needs."""
    if isinstance(exc, UndefinedError):
        return f"{exc.message} (the variable is not defined for this item)"
    if isinstance(exc, TemplateSyntaxError):
        return f"template syntax error at template line {exc.lineno}: {exc.message}"
    if isinstance(exc, SecurityError):
        return f"not allowed in a sandboxed template: {exc}"
    return f"{type(exc).__name__}: {exc}"


@cache
def _compiled(source: str) -> Any:
    return environment().from_string(source)


def render_string(source: str, context: dict[str, Any]) -> str:
    """Render a small template (a task's ``input`` or ``target`` field)."""
    return _compiled(source).render(context)
