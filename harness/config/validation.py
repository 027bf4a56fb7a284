"""Turn pydantic's validation errors into the one-line errors users see."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from harness.config.yaml_lines import KeyPath, line_for
from harness.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def dotted(loc: KeyPath) -> str:
    """``("variants", 2, "shots")`` -> ``variants[2].shots``: the way people name keys."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _message(error: dict[str, Any], model: type[BaseModel], loc: KeyPath) -> str:
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        guess = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"; did you mean '{guess[0]}'?" if guess else ""
        return f"unknown key{hint} (allowed: {', '.join(sorted(allowed))})"
    if kind == "missing":
        return "required key is missing"
    msg = str(error.get("msg", "invalid value"))
    return msg.removeprefix("Value error, ")


def _allowed_keys(model: type[BaseModel], loc: KeyPath) -> list[str]:
    """Walk the model's fields along ``loc`` to list the keys valid at that place."""
    current: Any = model
    for part in loc:
        is_model = isinstance(current, type) and issubclass(current, BaseModel)
        if isinstance(part, int) or not is_model:
            continue
        field = current.model_fields.get(str(part))
        if field is None:
            return []
        current = _first_model(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _first_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _first_model(arg)
        if found is not None:
            return found
    return None


def validate(model: type[M], data: Any, *, file: Path, lines: dict[KeyPath, int]) -> M:
    """Validate ``data`` as ``model``; on failure raise one ConfigError for the first problem."""
    if data is None:
        raise ConfigError("the file is empty", file=file)
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping of keys to values at the top level", file=file,
                          line=1)
    try:
        return model.model_validate(data, context={"file": file})
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        # pydantic appends union-member names to the location; drop what the file can't contain.
        loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p[:1].isupper()))
        loc = tuple(p for p in loc if not (isinstance(p, str) and "[" in p))
        more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(
            errors
        ) > 1 else ""
        raise ConfigError(
            _message(first, model, loc) + more,
            file=file,
            line=line_for(lines, loc),
            key=dotted(loc),
        ) from None
