"""Turn pydantic's validation errors into the one-line errors users see."""

from __future__ import annotations

import difflib
import re
import types
from pathlib import Path
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError, ValidationInfo, field_validator

from harness.config.yaml_lines import KeyPath, dotted, line_for
from harness.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def _number_types(annotation: Any) -> set[type]:
    if get_origin(annotation) in (Union, types.UnionType):
        return {t for arg in get_args(annotation) for t in _number_types(arg)}
    return {annotation} if annotation in (bool, int, float) else set()


class NoBoolNumbers(BaseModel):
    """A base for config models: a YAML ``true``/``yes``/``on`` where a number belongs is an
    error, not the number 1 (pydantic's lax mode reads ``limit: yes`` as a limit of 1 item,
    and ``epochs: on`` as 1 epoch: a silently wrong run)."""

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_number(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool) and info.field_name in cls.model_fields:
            kinds = _number_types(cls.model_fields[info.field_name].annotation)
            if kinds and bool not in kinds:
                raise ValueError(f"Input should be a number, not {str(value).lower()} (YAML "
                                 "reads yes/no/on/off/true/false as a switch); write a number")
        return value


class Located(ValueError):
    """A validator's error about one key below the model it validates (``loc``, relative).

    pydantic places a model validator's error on the model itself; raising this instead lets
    the message point at the offending key's line (the second of two equal names, say).
    """

    def __init__(self, message: str, loc: KeyPath) -> None:
        super().__init__(message)
        self.loc = loc


# Which of several errors to report: an unknown key first (a typo also makes the key it meant
# "missing", and the typo is the line to fix), a missing key last.
_PRIORITY = {"extra_forbidden": 0, "missing": 2}


def _location(error: dict[str, Any]) -> KeyPath:
    # pydantic appends union-member names to the location; drop what the file can't contain.
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p[:1].isupper()))
    loc = tuple(p for p in loc if not (isinstance(p, str) and "[" in p))
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, Located):
        loc = (*loc, *cause.loc)
    return loc


def _message(error: dict[str, Any], model: type[BaseModel], loc: KeyPath) -> str:
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        guess = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"; did you mean '{guess[0]}'?" if guess else ""
        return f"unknown key{hint} (allowed: {', '.join(sorted(allowed))})"
    if kind == "missing":
        return f"required key is missing: add '{loc[-1]}: ...'" if loc else \
            "required key is missing"
    if kind == "string_pattern_mismatch":
        return (f"{error.get('input')!r} is not a valid name: use letters, digits, '_', '.', "
                "'+' or '-', starting with a letter or digit")
    msg = str(error.get("msg", "invalid value"))
    if kind == "value_error":  # the harness's own validators say what to do
        return msg.removeprefix("Value error, ")
    value = error.get("input")
    if isinstance(value, (str, int, float, bool)) and len(repr(value)) <= 60:
        msg += f" (got {value!r})"  # pydantic's own checks: show what was written
    if kind == "literal_error" and isinstance(value, str):
        options = re.findall(r"'([^']*)'", str((error.get("ctx") or {}).get("expected", "")))
        guess = difflib.get_close_matches(value, options, n=1)
        if guess:
            msg += f"; did you mean '{guess[0]}'?"
    return msg


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
        return [name for name, f in current.model_fields.items() if not f.exclude]
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
        first = min(errors, key=lambda e: _PRIORITY.get(str(e.get("type", "")), 1))
        loc = _location(first)
        more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(
            errors
        ) > 1 else ""
        raise ConfigError(
            _message(first, model, loc) + more,
            file=file,
            line=line_for(lines, loc),
            key=dotted(loc),
        ) from None
