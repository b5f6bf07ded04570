"""Key/value caches for incremental decoding, with the reference's `Cache` API.

`DynamicCache` grows by concatenation (simple, any length). `EncoderDecoderCache` pairs a self-attention cache with
a cross-attention one, whose keys/values are computed once from the encoder states (BERT decoder mode).
Legacy tuples — per layer `(k, v)` or `(k, v, cross_k, cross_v)`, each (B, heads, T, D) — convert both ways.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

__all__ = ["Cache", "DynamicCache", "EncoderDecoderCache", "as_cache"]


class CacheLayer:
    """One layer's keys and values, (B, heads, T, D) each; None until the first update."""

    __slots__ = ("keys", "values")

    def __init__(self, keys: torch.Tensor | None = None, values: torch.Tensor | None = None):
        self.keys = keys
        self.values = values


class Cache:
    """Base class: a list of per-layer key/value pairs addressed by layer index."""

    layers: list[CacheLayer]

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, layer_idx: int, cache_kwargs: dict | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def get_seq_length(self, layer_idx: int = 0) -> int:
        raise NotImplementedError

    def get_max_cache_shape(self) -> int | None:
        return None

    def __len__(self) -> int:
        return sum(1 for layer in self.layers if layer.keys is not None)

    def __getitem__(self, layer_idx: int) -> tuple[torch.Tensor, torch.Tensor]:
        layer = self.layers[layer_idx]
        return layer.keys, layer.values

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for i in range(len(self)):
            yield self[i]


class DynamicCache(Cache):
    """A cache that grows along the sequence axis with every update."""

    def __init__(self, *args: Any, **kwargs: Any):  # accepts (and ignores) the reference's `config=` argument
        self.layers = []

    def _layer(self, layer_idx: int) -> CacheLayer:
        while len(self.layers) <= layer_idx:
            self.layers.append(CacheLayer())
        return self.layers[layer_idx]

    def update(self, key_states, value_states, layer_idx, cache_kwargs=None):
        """Append (B, H, T_new, D) keys/values for `layer_idx`; return the full (B, H, T_all, D) pair."""
        layer = self._layer(layer_idx)
        if layer.keys is None:
            layer.keys, layer.values = key_states, value_states
        else:
            layer.keys = torch.cat([layer.keys, key_states], dim=-2)
            layer.values = torch.cat([layer.values, value_states], dim=-2)
        return layer.keys, layer.values

    def get_seq_length(self, layer_idx: int = 0) -> int:
        if layer_idx >= len(self.layers) or self.layers[layer_idx].keys is None:
            return 0
        return self.layers[layer_idx].keys.shape[-2]

    def crop(self, max_length: int) -> None:
        """Keep only the first `max_length` positions (negative: drop that many from the end)."""
        if max_length < 0:
            max_length = self.get_seq_length() + max_length
        for layer in self.layers:
            if layer.keys is not None:
                layer.keys, layer.values = layer.keys[..., :max_length, :], layer.values[..., :max_length, :]

    def reorder_cache(self, beam_idx: torch.LongTensor) -> None:
        """Select batch rows (beam search)."""
        for layer in self.layers:
            if layer.keys is not None:
                idx = beam_idx.to(layer.keys.device)
                layer.keys, layer.values = layer.keys.index_select(0, idx), layer.values.index_select(0, idx)

    batch_select_indices = reorder_cache

    def batch_repeat_interleave(self, repeats: int) -> None:
        for layer in self.layers:
            if layer.keys is not None:
                layer.keys = layer.keys.repeat_interleave(repeats, dim=0)
                layer.values = layer.values.repeat_interleave(repeats, dim=0)

    def to_legacy_cache(self) -> tuple[tuple[torch.Tensor, torch.Tensor], ...]:
        return tuple((layer.keys, layer.values) for layer in self.layers if layer.keys is not None)

    @classmethod
    def from_legacy_cache(cls, past: tuple | None) -> DynamicCache:
        cache = cls()
        for i, (k, v) in enumerate(past or ()):
            cache.update(k, v, i)
        return cache


class EncoderDecoderCache(Cache):
    """Self-attention cache + cross-attention cache; `is_updated[layer]` marks cross keys already computed."""

    def __init__(self, self_attention_cache: Cache | None = None, cross_attention_cache: Cache | None = None):
        self.self_attention_cache = self_attention_cache if self_attention_cache is not None else DynamicCache()
        self.cross_attention_cache = cross_attention_cache if cross_attention_cache is not None else DynamicCache()
        self.is_updated = {i: True for i in range(len(self.cross_attention_cache))}

    @property
    def layers(self) -> list[CacheLayer]:
        return self.self_attention_cache.layers

    def update(self, key_states, value_states, layer_idx, cache_kwargs=None):
        return self.self_attention_cache.update(key_states, value_states, layer_idx, cache_kwargs)

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return self.self_attention_cache.get_seq_length(layer_idx)

    def __getitem__(self, layer_idx: int) -> tuple[torch.Tensor, ...]:
        out = self.self_attention_cache[layer_idx]
        if layer_idx < len(self.cross_attention_cache):
            out = out + self.cross_attention_cache[layer_idx]
        return out

    def to_legacy_cache(self) -> tuple[tuple[torch.Tensor, ...], ...]:
        self_legacy = self.self_attention_cache.to_legacy_cache()
        if len(self.cross_attention_cache) == 0:
            return self_legacy
        cross = self.cross_attention_cache.to_legacy_cache()
        return tuple(s + c for s, c in zip(self_legacy, cross))

    @classmethod
    def from_legacy_cache(cls, past: tuple | None) -> EncoderDecoderCache:
        cache = cls()
        for i, layer in enumerate(past or ()):
            cache.self_attention_cache.update(layer[0], layer[1], i)
            if len(layer) > 2:
                cache.cross_attention_cache.update(layer[2], layer[3], i)
                cache.is_updated[i] = True
        return cache

    def crop(self, max_length: int) -> None:
        self.self_attention_cache.crop(max_length)

    def reorder_cache(self, beam_idx: torch.LongTensor) -> None:
        self.self_attention_cache.reorder_cache(beam_idx)
        self.cross_attention_cache.reorder_cache(beam_idx)

    batch_select_indices = reorder_cache

    def batch_repeat_interleave(self, repeats: int) -> None:
        self.self_attention_cache.batch_repeat_interleave(repeats)
        self.cross_attention_cache.batch_repeat_interleave(repeats)


def as_cache(past: Any, cls: type[Cache] = DynamicCache) -> Cache | None:
    """Accept a Cache or the legacy tuple format; tuples become `cls` via from_legacy_cache."""
    if past is None or isinstance(past, Cache):
        return past
    if isinstance(past, (tuple, list)):
        return cls.from_legacy_cache(tuple(past))
    raise TypeError(f"past_key_values must be a Cache or a tuple of per-layer (key, value) tensors, got {type(past)}.")
