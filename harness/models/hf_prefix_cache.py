"""Reusing the key/value cache of a prompt prefix shared by many requests.

Few-shot prompts repeat the same instructions and examples in front of every item, and on a CPU
the prefill of that prefix is most of the work. We run the prefix through the model once, keep
its key/value tensors, and start each batch's ``generate`` from a copy of them, so only the
per-item suffixes (and the decoding) are computed.

Layout of a batch that reuses a prefix of ``k`` tokens: every row is ``prefix + pad... + suffix``
with attention mask ``1...1 0...0 1...1``. transformers derives position ids from the cumulative
mask, so each suffix continues at position ``k`` exactly as in the unpadded prompt, and the masked
pads are invisible to attention. The result equals plain generation up to float rounding (see
``benchmarks/README.md`` for how that was checked).

Prefixes are found at the token level (longest common prefix of the tokenized prompts), so the
split can never change how a prompt is tokenized. A few prefixes are remembered, least recently
used first out, and a stored one is cropped when a later batch shares only part of it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_MIN_TOKENS = 16
DEFAULT_MAX_ENTRIES = 8


def common_prefix_len(seqs: Sequence[Sequence[int]]) -> int:
    """Length of the longest token prefix shared by all of ``seqs``."""
    if not seqs:
        return 0
    first = seqs[0]
    limit = min(len(s) for s in seqs)
    for i in range(limit):
        token = first[i]
        if any(s[i] != token for s in seqs):
            return i
    return limit


@dataclass
class _Entry:
    tokens: tuple[int, ...]
    layers: list[tuple[Any, Any]]  # per layer (keys, values), batch 1, shape [1, heads, len, dim]
    last_used: float


@dataclass
class PrefixPlan:
    """What a batch reuses: its first ``length`` tokens come from ``layers`` (batch 1)."""

    length: int
    layers: list[tuple[Any, Any]]


class PrefixStore:
    """The remembered prefixes of one model. Not thread-safe: callers hold the device lock."""

    def __init__(
        self, min_tokens: int = DEFAULT_MIN_TOKENS, max_entries: int = DEFAULT_MAX_ENTRIES
    ) -> None:
        self.min_tokens = min_tokens
        self.max_entries = max_entries
        self._entries: list[_Entry] = []
        self.hits = 0
        self.builds = 0

    def __len__(self) -> int:
        return len(self._entries)

    def plan(self, model: Any, prompts: Sequence[Sequence[int]]) -> PrefixPlan | None:
        """The prefix ``prompts`` should start from, computing and storing it when worthwhile.

        None when the shared part is too short to pay for the bookkeeping. At least one token of
        every prompt is left out of the prefix, because ``generate`` needs fresh input to start.
        """
        if not prompts or not supports_prefix_reuse(model):
            return None
        shared = min(common_prefix_len(prompts), min(len(p) for p in prompts) - 1)
        if shared < self.min_tokens:
            return None
        head = tuple(prompts[0][:shared])
        best, best_len = None, 0
        for entry in self._entries:
            n = common_prefix_len([entry.tokens, head])
            if n > best_len:
                best, best_len = entry, n
        if best is not None and best_len < self.min_tokens:
            best, best_len = None, 0
        if best is not None:
            best.last_used = time.monotonic()
            if shared - best_len < self.min_tokens:
                self.hits += 1
                return PrefixPlan(best_len, _crop(best.layers, best_len))
        start = _crop(best.layers, best_len) if best is not None else None
        layers = _extend(model, start, head[best_len:])
        self.builds += 1
        self._entries.append(_Entry(head, layers, time.monotonic()))
        if len(self._entries) > self.max_entries:
            self._entries.remove(min(self._entries, key=lambda e: e.last_used))
        return PrefixPlan(shared, layers)


def supports_prefix_reuse(model: Any) -> bool:
    """Only plain per-layer caches can be cropped and copied; sliding-window or recurrent layers
    keep state that a prefix copy would get wrong, so those models take the plain path."""
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    try:
        cache = DynamicCache(config=model.config)
    except TypeError:  # transformers 4.x: no per-layer cache objects
        return False
    layers = getattr(cache, "layers", None)
    return bool(layers) and all(type(layer) is DynamicLayer for layer in layers)


def cache_kwarg(model: Any) -> str:
    """transformers 5 renamed ``past_key_values`` to ``cache``; use whichever forward takes."""
    import inspect

    params = inspect.signature(model.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def batch_cache(model: Any, layers: list[tuple[Any, Any]], batch: int) -> Any:
    """A fresh cache holding ``layers`` for each of ``batch`` rows.

    ``expand`` makes views, and the cache's update concatenates into new tensors, so the stored
    prefix is never written to and can serve the next batch.
    """
    from transformers import DynamicCache

    cache = DynamicCache(config=model.config)
    for layer, (keys, values) in zip(cache.layers, layers, strict=True):
        layer.update(keys.expand(batch, -1, -1, -1), values.expand(batch, -1, -1, -1))
    return cache


def _crop(layers: list[tuple[Any, Any]], length: int) -> list[tuple[Any, Any]]:
    return [(k[..., :length, :], v[..., :length, :]) for k, v in layers]


def _extend(
    model: Any, start: list[tuple[Any, Any]] | None, tokens: Sequence[int]
) -> list[tuple[Any, Any]]:
    """Run ``tokens`` through the model after ``start`` and return the grown per-layer tensors."""
    import torch
    from transformers import DynamicCache

    cache = batch_cache(model, start, 1) if start is not None else DynamicCache(config=model.config)
    ids = torch.tensor([list(tokens)], dtype=torch.long, device=model.device)
    with torch.inference_mode():
        # logits_to_keep=1: the prefix's own next-token logits are never used, skip the big lm_head.
        model(input_ids=ids, use_cache=True, logits_to_keep=1, **{cache_kwarg(model): cache})
    return [(layer.keys, layer.values) for layer in cache.layers]
