"""Per-token prices from LiteLLM's bundled price map, read as JSON without importing LiteLLM.

``import litellm`` takes 2-4 s and ~190 MB; a run on an OpenAI-compatible model needs neither
LiteLLM's code nor most of its map, only the prices of the models it calls. LiteLLM itself
reads ``model_prices_and_context_window_backup.json`` from its package folder when
``LITELLM_LOCAL_MODEL_COST_MAP`` is set, which the harness always sets
(``harness.models._litellm``), so this module reads the same file and answers what
``litellm.get_model_info`` answers for the look-ups the harness does.

Only providers whose look-up is checked equal to LiteLLM's (``tests/run/test_direct_route.py``)
are answered here; for any other one :func:`json_price` says it does not know, and the caller
asks LiteLLM. The 3.5 MB file is parsed once per process (about 40 ms) and kept only as what
:func:`json_price` reads of each row (:func:`price_table`), not as 4,000 full rows.
"""

from __future__ import annotations

import json
import os
import sys
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

# Providers whose price look-up below was checked equal to ``litellm.get_model_info``.
JSON_PRICED = frozenset({"openai", "hosted_vllm"})

# What json_price answers when LiteLLM must be asked instead.
UNSURE = object()

_MAP_FILE = "model_prices_and_context_window_backup.json"
# What json_price reads of a row.
_PRICE_KEYS = ("input_cost_per_token", "output_cost_per_token", "cache_read_input_token_cost",
               "litellm_provider")


def map_path() -> Path | None:
    """LiteLLM's bundled price map, found without importing the package."""
    spec = find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / _MAP_FILE
    return path if path.is_file() else None


def usable() -> bool:
    """Whether the bundled file is what LiteLLM would price with: it fetches the map from
    the internet instead when ``LITELLM_LOCAL_MODEL_COST_MAP`` is off, and a process that has
    imported LiteLLM may have changed ``litellm.model_cost`` (``register_model``)."""
    local = os.environ.get("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    return local.strip().lower() == "true" and "litellm" not in sys.modules


class PriceMap(dict[str, dict[str, Any]]):
    """The price map's rows by name, with the names that are aliases of another row."""

    aliases: frozenset[str] = frozenset()


def load_map() -> PriceMap | None:
    """The price map with LiteLLM's aliases expanded (``alias_of`` rows served as the row they
    name, ``aliases`` lists adding names), or None when it cannot be read."""
    path = map_path()
    if path is None:
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    table = PriceMap((k, v) for k, v in raw.items() if isinstance(v, dict))
    aliases = {k for k, v in table.items() if isinstance(v.get("alias_of"), str)}
    for row in table.values():
        aliases.update(a for a in row.get("aliases") or () if isinstance(a, str))
    for key in [k for k, v in table.items() if isinstance(v.get("alias_of"), str)]:
        owner = table[key]["alias_of"]
        if isinstance(table.get(owner), dict):
            table[key] = table[owner]
    for row in list(table.values()):
        for alias in row.get("aliases") or ():
            if isinstance(alias, str) and alias not in table:
                table[alias] = row
    table.aliases = frozenset(aliases)
    return table


@cache
def price_table() -> PriceMap | None:
    """:func:`load_map` parsed once for the process, each row cut to what :func:`json_price`
    reads (rows shared by aliases stay shared): the client's route, the budget check and the
    estimate all price from it."""
    full = load_map()
    if full is None:
        return None
    cut: dict[int, dict[str, Any]] = {}
    table = PriceMap()
    for name, row in full.items():
        if id(row) not in cut:
            cut[id(row)] = {k: row[k] for k in _PRICE_KEYS if k in row}
        table[name] = cut[id(row)]
    table.aliases = full.aliases
    return table


def json_price(model: str, table: dict[str, dict[str, Any]] | None) -> Any:
    """``(input, output, cache_read)`` USD per token, None when the map has no price for
    ``model``, or :data:`UNSURE` when LiteLLM must answer (another provider, no map)."""
    provider, _, name = model.partition("/")
    if provider not in JSON_PRICED or table is None or not name:
        return UNSURE
    entry = table.get(model) or table.get(name)
    if not entry:
        return None
    # get_model_info finds a row of the model's own provider and gives it 0 for a price the
    # row does not list; any other row is read as it is (LiteLLM's raw-table fallback).
    if entry.get("input_cost_per_token") is None and entry.get("litellm_provider") != provider:
        return None
    cache_read = entry.get("cache_read_input_token_cost")
    return (float(entry.get("input_cost_per_token") or 0.0),
            float(entry.get("output_cost_per_token") or 0.0),
            float(cache_read) if cache_read is not None else None)


def prices_without_litellm(models: list[str]) -> dict[str, Any]:
    """``json_price`` for each model, the map read once; every one UNSURE when LiteLLM's own
    table is the one to ask (see :func:`usable`)."""
    if not usable() or not any(m.partition("/")[0] in JSON_PRICED for m in models):
        return {m: UNSURE for m in models}
    table = price_table()
    return {m: json_price(m, table) for m in models}
