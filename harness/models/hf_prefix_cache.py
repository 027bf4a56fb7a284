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

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_MIN_TOKENS = 16
DEFAULT_MAX_ENTRIES = 64


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
    """What a batch reuses: row ``i`` starts from the first ``lengths[i]`` positions of
    ``layers[i]`` (batch 1; None with length 0 for a row that reuses nothing)."""

    lengths: list[int]
    layers: list[list[tuple[Any, Any]] | None]

    @property
    def rows(self) -> list[tuple[list[tuple[Any, Any]] | None, int]]:
        return list(zip(self.layers, self.lengths, strict=True))


class PrefixStore:
    """The remembered prefixes of one model. Not thread-safe: callers hold the device lock."""

    def __init__(
        self, min_tokens: int = DEFAULT_MIN_TOKENS, max_entries: int = DEFAULT_MAX_ENTRIES,
        max_bytes: int | None = None,
    ) -> None:
        self.min_tokens = min_tokens
        self.max_entries = max_entries
        self.max_bytes = max_bytes if max_bytes is not None else _budget_bytes()
        self._entries: list[_Entry] = []
        self.hits = 0
        self.builds = 0

    def __len__(self) -> int:
        return len(self._entries)

    def plan(self, model: Any, prompts: Sequence[Sequence[int]]) -> PrefixPlan | None:
        """The prefix each of ``prompts`` should start from, computing and storing the missing
        ones; None when no row shares enough to pay for the bookkeeping.

        A row's prefix is the longer of the part the whole batch shares and the row's own
        ``context`` (the conversation before its last message: with few-shot examples drawn
        per item, each row has its own examples, and rows share them with rows of other
        batches rather than with their batch-mates). At least one token of every prompt is
        left out, because ``generate`` needs fresh input to start.
        """
        if not prompts or not supports_prefix_reuse(model):
            return None
        shared = common_prefix_len(prompts)
        wanted = []
        for prompt in prompts:
            own = int(getattr(prompt, "context", 0) or 0)
            k = min(max(shared, own), len(prompt) - 1)
            wanted.append(k if k >= self.min_tokens else 0)
        if not any(wanted):
            return None
        found: dict[tuple[int, ...], tuple[list[tuple[Any, Any]], int]] = {}
        lengths, layers = [], []
        for prompt, k in zip(prompts, wanted, strict=True):
            if not k:
                lengths.append(0)
                layers.append(None)
                continue
            head = tuple(prompt[:k])
            if head not in found:
                found[head] = self._layers_for(model, head)
            row_layers, n = found[head]
            lengths.append(n)
            layers.append(row_layers)
        return PrefixPlan(lengths, layers)

    def _layers_for(self, model: Any, head: tuple[int, ...]) -> tuple[list[tuple[Any, Any]], int]:
        """Stored layers covering ``head`` (or all but fewer than ``min_tokens`` of it), and how
        many of their positions to use; built from the longest stored overlap when missing."""
        best, best_len = None, 0
        for entry in self._entries:
            n = common_prefix_len([entry.tokens, head])
            if n > best_len:
                best, best_len = entry, n
        if best is not None and best_len < self.min_tokens:
            best, best_len = None, 0
        if best is not None:
            best.last_used = time.monotonic()
            if len(head) - best_len < self.min_tokens:
                self.hits += 1
                return best.layers, best_len
        start = _crop(best.layers, best_len) if best is not None else None
        layers = _extend(model, start, head[best_len:])
        self.builds += 1
        self._entries.append(_Entry(head, layers, time.monotonic()))
        self._evict()
        return layers, len(head)

    def _evict(self) -> None:
        """Least recently used first, down to ``max_entries`` and ``max_bytes`` (the newest
        entry always stays: the batch being planned uses it)."""
        def size() -> int:
            return sum(_nbytes(e.layers) for e in self._entries)

        while len(self._entries) > 1 and (len(self._entries) > self.max_entries
                                          or size() > self.max_bytes):
            self._entries.remove(min(self._entries[:-1], key=lambda e: e.last_used))


def _budget_bytes() -> int:
    """``HARNESS_HF_PREFIX_CACHE_MB`` (default 512): a 4-shot prefix of SmolLM2-135M is about
    12 MB, and examples drawn per item make a few dozen distinct prefixes."""
    try:
        return int(float(os.environ.get("HARNESS_HF_PREFIX_CACHE_MB", 512)) * 2**20)
    except ValueError:
        return 512 * 2**20


def _nbytes(layers: list[tuple[Any, Any]]) -> int:
    return sum(k.numel() * k.element_size() + v.numel() * v.element_size() for k, v in layers)


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
