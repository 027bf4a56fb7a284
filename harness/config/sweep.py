"""``sweep:`` axes: a variant matrix written as factors, expanded to the full product.

    sweep: {template: [zero-shot, cot], shots: [0, 4], rag: [off, on]}

gives 8 variants named from their levels (``zero-shot-shots0``, ``cot-shots4-rag``...). Keys are
variant keys; each axis lists its levels, the *first* being the reference level the factorial
analysis measures the others against (so write ``rag: [off, on]``, not ``[on, off]``). A key
with one value (or a bare scalar) is a setting shared by every generated variant: not a factor,
not part of the names. A sweep may stand alone or sit beside ``variants:``; the explicit
variants are kept as written and are outside the design (the factorial analysis ignores them).

The expansion is a pure function of the axes, so the design (which variant has which level of
which factor) can always be recomputed from the ``sweep`` the config records: the manifest
writes it out as ``factors`` and ``factor_levels`` for the analysis.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from pathlib import PurePath
from typing import Any

from pydantic import ValidationError

AXIS_KEYS = ("template", "shots", "fewshot", "reasoning", "rag", "retriever", "k",
             "chunk_size", "chunk_overlap", "store", "max_tokens", "system")
"""Variant keys that may be swept: the ones whose values are single scalars."""

MAX_VARIANTS = 1024
"""More combinations than this is a typo or a budget accident, not an experiment."""

_NAME_PART_BARE = ("template", "retriever", "store")  # the value alone reads well
_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]+")


class SweepError(ValueError):
    """A problem in ``sweep:``, located by key path (``("sweep", "shots", 1)``)."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


def _level_label(value: Any) -> str:
    """How a level is written in the design and the report: on/off for switches."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return "default" if value is None else str(value)


def _slug(text: str, limit: int = 24) -> str:
    slug = _UNSAFE.sub("-", text).strip("-.+_")
    if slug and slug == text and len(slug) <= limit:
        return slug
    digest = hashlib.sha1(text.encode()).hexdigest()[:6]
    return f"{slug[:limit].rstrip('-.+_')}-{digest}" if slug else digest


def _name_part(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return key if value else ""
    if key == "template":
        text = str(value)
        stem = PurePath(text).stem if "/" in text or text.endswith((".j2", ".jinja", ".jinja2")) \
            else text
        return _slug(stem)
    if key in _NAME_PART_BARE:
        return _slug(str(value))
    if isinstance(value, int) or value is None:
        return f"{key}{_level_label(value)}"
    return f"{key}-{_slug(str(value))}"


def _check_value(key: str, index: int, value: Any) -> Any:
    """Validate one level as that variant key alone; return the value as a variant holds it."""
    from harness.config.experiment import VariantConfig

    probe = {"name": "sweep", "template": "zero-shot", key: value}
    try:
        return getattr(VariantConfig.model_validate(probe), key)
    except ValidationError as exc:
        own = [e for e in exc.errors() if tuple(e["loc"])[:1] == (key,)]
        if not own:  # a cross-key rule (chunk_overlap < chunk_size): judged per combination
            return value
        msg = str(own[0].get("msg", "invalid value")).removeprefix("Value error, ")
        raise SweepError(("sweep", key, index), msg) from None


def _axes(sweep: Any) -> tuple[dict[str, list[Any]], dict[str, Any]]:
    """Split the sweep into factors (2+ levels) and shared settings (1 value)."""
    if not isinstance(sweep, dict) or not sweep:
        raise SweepError(("sweep",), "expected a mapping of variant keys to lists of levels, "
                                     "e.g. {template: [zero-shot, cot], shots: [0, 4]}")
    factors: dict[str, list[Any]] = {}
    shared: dict[str, Any] = {}
    for key, raw in sweep.items():
        if key not in AXIS_KEYS:
            import difflib

            guess = difflib.get_close_matches(str(key), AXIS_KEYS, n=1)
            hint = f"did you mean '{guess[0]}'? " if guess else ""
            raise SweepError(("sweep", key), f"cannot sweep this key; {hint}(sweepable: "
                                             f"{', '.join(AXIS_KEYS)})")
        values = raw if isinstance(raw, list) else [raw]
        if not values:
            raise SweepError(("sweep", key), "lists no levels; give at least one value")
        checked = [_check_value(str(key), i, v) for i, v in enumerate(values)]
        labels: dict[str, int] = {}
        parts: dict[str, int] = {}
        for i, v in enumerate(checked):
            label, part = _level_label(v), _name_part(str(key), v)
            if label in labels:
                first = labels[label]
                raise SweepError(("sweep", key, i),
                                 f"repeats the level {label} (already sweep.{key}[{first}])")
            if part in parts:
                raise SweepError(("sweep", key, i),
                                 f"gives the same variant name part '{part}' as "
                                 f"sweep.{key}[{parts[part]}]; rename one of them")
            labels[label], parts[part] = i, i
        if len(checked) == 1:
            shared[str(key)] = checked[0]
        else:
            factors[str(key)] = checked
    return factors, shared


def _variant_name(levels: dict[str, Any]) -> str:
    parts = [p for p in (_name_part(k, v) for k, v in levels.items()) if p]
    if not parts:  # every factor is a switch turned off
        parts = [f"no{k}" for k in levels]
    return "-".join(parts)


def design(sweep: Any) -> tuple[list[dict[str, Any]], dict[str, dict[str, str]],
                                dict[str, list[str]]]:
    """The generated variants (as variant dicts, in product order, first axis slowest), each
    variant's factor levels, and each factor's levels in order (reference first)."""
    factors, shared = _axes(sweep)
    if "template" not in factors and "template" not in shared:
        raise SweepError(("sweep",), "a sweep needs a template: sweep it "
                                     "(template: [zero-shot, cot]) or give one value "
                                     "(template: zero-shot)")
    total = math.prod(len(v) for v in factors.values())
    if total > MAX_VARIANTS:
        raise SweepError(("sweep",), f"expands to {total:,} variants (at most {MAX_VARIANTS:,}); "
                                     "sweep fewer keys or levels")
    variants, levels_of = [], {}
    for combo in itertools.product(*factors.values()):
        levels = dict(zip(factors, combo, strict=True))
        name = _variant_name(levels)
        variant = {**shared, **levels, "name": name}
        variants.append(variant)
        levels_of[name] = {k: _level_label(v) for k, v in levels.items()}
    order = {k: [_level_label(v) for v in vs] for k, vs in factors.items()}
    return variants, levels_of, order


def expand_sweep(data: Any) -> Any:
    """The experiment data with the sweep's variants appended to ``variants``.

    Idempotent: a variant already present with the generated name and the same settings (a
    config that was expanded, dumped and validated again) is not added twice; one with the
    same name and other settings is an error. Each combination is validated as a variant.
    """
    if not isinstance(data, dict) or data.get("sweep") is None:
        return data
    from harness.config.experiment import VariantConfig

    generated, _, _ = design(data["sweep"])
    explicit = data.get("variants") or []
    if not isinstance(explicit, list):
        return data  # the variants' own validation reports it
    existing: dict[str, Any] = {}
    for entry in explicit:
        try:
            v = VariantConfig.model_validate(entry)
        except ValidationError:
            continue
        existing[v.name] = v
    added = []
    for variant in generated:
        try:
            model = VariantConfig.model_validate(variant)
        except ValidationError as exc:
            msg = str(exc.errors()[0].get("msg", "invalid")).removeprefix("Value error, ")
            raise SweepError(("sweep",), f"the combination {variant['name']}: {msg}") from None
        if variant["name"] in existing:
            if existing[variant["name"]] == model:
                continue
            raise SweepError(("sweep",), f"generates the variant name '{variant['name']}', "
                                         "which variants: already uses; rename that variant")
        added.append(variant)
    return {**data, "variants": [*explicit, *added]}


def manifest_design(sweep: Any) -> dict[str, Any]:
    """What the manifest records of a sweep: ``factors`` ({variant: {factor: level}}) and
    ``factor_levels`` ({factor: [levels, reference first]}); empty without a sweep."""
    if not sweep:
        return {}
    _, levels_of, order = design(sweep)
    return {"factors": levels_of, "factor_levels": order}
