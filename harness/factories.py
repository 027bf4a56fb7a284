"""Checking a config's named step (parser or scorer) against its registered factory."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any


def check_factory(what: str, name: str, factory: Callable[..., Any] | None,
                  known: list[str], args: dict[str, Any]) -> None:
    """Build the step once so a bad name, argument, pattern or schema fails at config load.

    Raises ValueError with a message for the person who wrote the config, never a traceback.
    """
    if factory is None:
        raise ValueError(f"unknown {what} '{name}' (known: {', '.join(known)})")
    try:
        inspect.signature(factory).bind(**args)
        factory(**args)
    except TypeError:
        params = ", ".join(inspect.signature(factory).parameters) or "no arguments"
        raise ValueError(f"{what} '{name}' takes {params}; got {', '.join(args)}") from None
    except Exception as exc:  # a bad pattern or JSON schema, say
        from harness.userpattern import pattern_error

        bad = pattern_error(exc)
        if bad is not None:
            raise ValueError(f"{what} '{name}': {bad}") from None
        raise ValueError(f"{what} '{name}': {exc}".splitlines()[0]) from None
