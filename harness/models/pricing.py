"""What a model's tokens cost: per-token prices from LiteLLM's price map.

Looked up once per model, never per response. For the providers ``harness.models.price_map``
answers (checked equal to ``litellm.get_model_info``), the map is read as JSON and LiteLLM is
not imported; for the others LiteLLM answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Price:
    """USD per token, read once per model from LiteLLM's price map."""

    input: float
    output: float
    cache_read: float | None = None

    def cost(self, tokens_in: int, tokens_out: int, cached_in: int = 0) -> float:
        cached_in = min(max(cached_in, 0), tokens_in) if self.cache_read is not None else 0
        return ((tokens_in - cached_in) * self.input + cached_in * (self.cache_read or 0.0)
                + tokens_out * self.output)


def lookup_price(litellm: Any, model: str) -> Price | None:
    """The model's per-token prices, or None when LiteLLM's price map does not know it.

    ``litellm.get_model_info`` resolves provider prefixes and dated aliases the way LiteLLM's
    own cost calculator does (``openai/gpt-4o-mini`` is priced under ``gpt-4o-mini``); a plain
    look-up of the map with and without the prefix is the fallback.
    """
    entry: Any = None
    try:
        entry = litellm.get_model_info(model)
    except Exception:
        table = litellm.model_cost
        entry = table.get(model) or table.get(model.split("/", 1)[-1])
    if not entry or entry.get("input_cost_per_token") is None:
        return None
    cache_read = entry.get("cache_read_input_token_cost")
    return Price(
        input=float(entry.get("input_cost_per_token") or 0.0),
        output=float(entry.get("output_cost_per_token") or 0.0),
        cache_read=float(cache_read) if cache_read is not None else None,
    )


def cached_prompt_tokens(usage: Any) -> int:
    details = getattr(usage, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", None) if details is not None else None
    return int(cached) if isinstance(cached, int) else 0


def price_of(model: str) -> Price | None:
    """The model's prices, from the JSON map where it answers, else from LiteLLM."""
    from harness.models.price_map import prices_without_litellm

    return price_from(model, prices_without_litellm([model])[model])


def price_from(model: str, found: Any) -> Price | None:
    """A :mod:`harness.models.price_map` answer as a Price, asking LiteLLM when it is UNSURE."""
    from harness.models.price_map import UNSURE

    if found is UNSURE:
        from harness.models._litellm import import_litellm

        return lookup_price(import_litellm(), model)
    return None if found is None else Price(*found)
