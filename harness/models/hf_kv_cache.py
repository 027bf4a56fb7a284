"""A key/value cache that grows in place, preloaded with each row's reused prefix.

transformers' ``DynamicLayer`` grows by ``torch.cat`` at every step: each new token copies the
whole cache of every layer again. With a reused 4-shot prefix (~300 positions x 16 rows x 30
layers) that was about a fifth of the batch's time (py-spy, ``DynamicLayer.update``). Here
each layer writes into a buffer allocated once per batch, sized for the prompt and every token
the batch may generate, and hands attention a view of the filled part: the same values, no
copies.

Rows may reuse prefixes of different lengths (see hf_prefix_cache): row ``i``'s ``k_i`` prefix
positions come first, then zeros up to the longest prefix; the attention mask hides those
positions, and position ids come from the mask, so every row continues at its own ``k_i``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from transformers.cache_utils import DynamicLayer

#: Per row: (that row's prefix layers, batch 1, or None; how many of their positions it uses).
Rows = Sequence[tuple[list[tuple[Any, Any]] | None, int]]


class GrowingLayer(DynamicLayer):
    """A ``DynamicLayer`` whose tensors are views of a buffer allocated once."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity
        self._kbuf: Any = None
        self._vbuf: Any = None

    def preload_rows(self, rows: Sequence[tuple[tuple[Any, Any] | None, int]], width: int,
                     like: Any) -> None:
        """Row ``i`` starts from the first ``k_i`` positions of its own (batch 1) keys and
        values; the rest of the first ``width`` positions stay zero (masked)."""
        self._allocate(len(rows), like, width)
        shared = rows[0][0]
        if all(kv is shared and k == width for kv, k in rows):  # one prefix for all: broadcast
            self._kbuf[..., :width, :].copy_(shared[0][..., :width, :])
            self._vbuf[..., :width, :].copy_(shared[1][..., :width, :])
        else:
            for row, (kv, k) in enumerate(rows):
                if kv is not None and k:
                    self._kbuf[row, :, :k, :].copy_(kv[0][0, :, :k, :])
                    self._vbuf[row, :, :k, :].copy_(kv[1][0, :, :k, :])
                if k < width:  # masked, but must be finite: 0 x NaN is NaN in attention
                    self._kbuf[row, :, k:width, :].zero_()
                    self._vbuf[row, :, k:width, :].zero_()
        self.keys, self.values = self._kbuf[..., :width, :], self._vbuf[..., :width, :]

    def update(self, key_states: Any, value_states: Any, *args: Any, **kwargs: Any
               ) -> tuple[Any, Any]:
        n = self.keys.shape[-2] if self.is_initialized and self.keys is not None else 0
        end = n + key_states.shape[-2]
        if self._kbuf is None or end > self._kbuf.shape[-2]:
            self._grow(key_states, end)
        self._kbuf[..., n:end, :].copy_(key_states)
        self._vbuf[..., n:end, :].copy_(value_states)
        self.keys, self.values = self._kbuf[..., :end, :], self._vbuf[..., :end, :]
        return self.keys, self.values

    def _allocate(self, batch: int, like: Any, needed: int) -> None:
        import torch

        size = max(needed, self.capacity)
        # Not zeroed: every position is written before attention reads it (views end at the
        # filled length), and preload_rows zeroes the masked gaps itself.
        self._kbuf = torch.empty(batch, like.shape[-3], size, like.shape[-1], dtype=like.dtype,
                                 device=like.device)
        self._vbuf = torch.empty_like(self._kbuf)
        self.device = like.device
        self.is_initialized = True

    def _grow(self, like: Any, needed: int) -> None:
        """A larger buffer keeping what is filled (a caller generating past the planned
        capacity: doubling keeps that amortized)."""
        old_k, old_v = self._kbuf, self._vbuf
        filled = self.keys.shape[-2] if old_k is not None and self.keys is not None else 0
        size = max(needed, 2 * (old_k.shape[-2] if old_k is not None else 0))
        self._allocate(like.shape[0], like, size)
        if filled:
            self._kbuf[..., :filled, :].copy_(old_k[..., :filled, :])
            self._vbuf[..., :filled, :].copy_(old_v[..., :filled, :])


def growing_cache(model: Any, capacity: int) -> Any:
    """An empty cache for ``model`` whose layers grow in place up to ``capacity`` positions."""
    from transformers import DynamicCache

    cache = DynamicCache(config=model.config)
    cache.layers = [GrowingLayer(capacity) for _ in cache.layers]
    return cache


def preloaded_cache(model: Any, rows: Rows, capacity: int) -> Any:
    """A cache holding, for row ``i``, the first ``k_i`` positions of its prefix layers,
    zero-padded to the longest ``k_i``."""
    cache = growing_cache(model, capacity)
    width = max(k for _, k in rows)
    like = next(layers[0][0] for layers, _ in rows if layers is not None)
    for index, layer in enumerate(cache.layers):
        layer.preload_rows([(None if layers is None else layers[index], k) for layers, k in rows],
                           width, like)
    return cache
