"""Key/value caches for incremental decoding, with the reference's `Cache` API.

`DynamicCache` grows by concatenation (simple, any length). `EncoderDecoderCache` pairs a self-attention cache with
a cross-attention one, whose keys/values are computed once from the encoder states (BERT decoder mode).
`StaticCache` preallocates fixed-size buffers written in place, so a decode step keeps the same shapes every step
and can be compiled once (`torch.compile(fullgraph=True)`, CUDA graphs).
Legacy tuples — per layer `(k, v)` or `(k, v, cross_k, cross_v)`, each (B, heads, T, D) — convert both ways.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

__all__ = ["Cache", "DynamicCache", "EncoderDecoderCache", "StaticCache", "as_cache"]


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
    """A cache that grows along the sequence axis with every update.

    From the first append on, a layer's keys/values live in buffers with `spare` free slots along the sequence
    axis, so a decode step writes its token in place instead of copying the whole cache (torch.cat) every step;
    `layer.keys` is a view of the filled part. Tensors handed out earlier never change: writes go past their end.
    """

    spare = 256  # free slots added whenever a buffer is (re)allocated

    def __init__(self, *args: Any, **kwargs: Any):  # accepts (and ignores) the reference's `config=` argument
        self.layers = []
        self._buffers: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}  # layer index → (keys, values) with room

    def _layer(self, layer_idx: int) -> CacheLayer:
        while len(self.layers) <= layer_idx:
            self.layers.append(CacheLayer())
        return self.layers[layer_idx]

    def update(self, key_states, value_states, layer_idx, cache_kwargs=None):
        """Append (B, H, T_new, D) keys/values for `layer_idx`; return the full (B, H, T_all, D) pair."""
        layer = self._layer(layer_idx)
        if layer.keys is None:
            layer.keys, layer.values = key_states, value_states
            return layer.keys, layer.values
        n, t = layer.keys.shape[-2], key_states.shape[-2]
        room = self._buffers.get(layer_idx)
        if room is None or not (_fills(layer.keys, room[0], n + t) and _fills(layer.values, room[1], n + t)):
            room = (_with_room(layer.keys, n + t + self.spare), _with_room(layer.values, n + t + self.spare))
            self._buffers[layer_idx] = room
        room[0][..., n : n + t, :].copy_(key_states)
        room[1][..., n : n + t, :].copy_(value_states)
        layer.keys, layer.values = room[0][..., : n + t, :], room[1][..., : n + t, :]
        return layer.keys, layer.values

    def get_seq_length(self, layer_idx: int = 0) -> int:
        if layer_idx >= len(self.layers) or self.layers[layer_idx].keys is None:
            return 0
        return self.layers[layer_idx].keys.shape[-2]

    def crop(self, max_length: int) -> None:
        """Keep only the first `max_length` positions (negative: drop that many from the end)."""
        if max_length < 0:
            max_length = self.get_seq_length() + max_length
        self._buffers.clear()  # appends after a crop must not overwrite what earlier views still show
        for layer in self.layers:
            if layer.keys is not None:
                layer.keys, layer.values = layer.keys[..., :max_length, :], layer.values[..., :max_length, :]

    def reorder_cache(self, beam_idx: torch.LongTensor) -> None:
        """Select batch rows (beam search)."""
        for i, layer in enumerate(self.layers):
            if layer.keys is not None:
                idx = beam_idx.to(layer.keys.device)
                n, room = layer.keys.shape[-2], self._buffers.get(i)
                if room is not None and _fills(layer.keys, room[0], n) and _fills(layer.values, room[1], n):
                    room = (room[0].index_select(0, idx), room[1].index_select(0, idx))  # keep the spare slots
                    self._buffers[i] = room
                    layer.keys, layer.values = room[0][..., :n, :], room[1][..., :n, :]
                else:
                    layer.keys, layer.values = layer.keys.index_select(0, idx), layer.values.index_select(0, idx)

    batch_select_indices = reorder_cache

    def batch_repeat_interleave(self, repeats: int) -> None:
        self._buffers.clear()
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


def _fills(view: torch.Tensor, buffer: torch.Tensor, length: int) -> bool:
    """Whether `view` is the filled front of `buffer` and the buffer holds `length` positions."""
    return (
        view.data_ptr() == buffer.data_ptr() and view.stride() == buffer.stride()
        and view.shape[:-2] == buffer.shape[:-2] and length <= buffer.shape[-2]
    )


def _with_room(x: torch.Tensor, capacity: int) -> torch.Tensor:
    """A (…, capacity, D) buffer whose first positions hold x (…, T, D)."""
    buffer = x.new_empty(*x.shape[:-2], capacity, x.shape[-1])
    buffer[..., : x.shape[-2], :].copy_(x)
    return buffer


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


class StaticCache(Cache):
    """Preallocated (max_batch_size, heads, max_cache_len, head_dim) keys/values per layer, written in place.

    `update(k, v, layer_idx, {"cache_position": pos})` copies the new (B, H, T, D) states into slots `pos` (a (T,)
    LongTensor) and returns the *whole* buffers: attention runs over all `max_cache_len` slots and the model masks
    the slots after the current position. A batch smaller than `max_batch_size` uses the first rows.
    """

    def __init__(
        self,
        max_batch_size: int,
        max_cache_len: int,
        num_layers: int,
        num_heads: int,
        head_dim: int,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ):
        if min(max_batch_size, max_cache_len, num_layers, num_heads, head_dim) <= 0:
            raise ValueError(
                f"StaticCache sizes must be positive, got max_batch_size={max_batch_size}, max_cache_len="
                f"{max_cache_len}, num_layers={num_layers}, num_heads={num_heads}, head_dim={head_dim}."
            )
        self.max_batch_size, self.max_cache_len = max_batch_size, max_cache_len
        shape = (max_batch_size, num_heads, max_cache_len, head_dim)
        self.layers = [
            CacheLayer(torch.zeros(shape, dtype=dtype, device=device), torch.zeros(shape, dtype=dtype, device=device))
            for _ in range(num_layers)
        ]
        # Slots written so far (tracked on layer 0), so get_seq_length() needs no guess from the buffer contents.
        self._written = torch.zeros(max_cache_len, dtype=torch.bool, device=device)
        if self._written.device.type != "cpu" and not torch.compiler.is_compiling():
            # fixed addresses: CUDA graphs (torch.compile mode="reduce-overhead") then neither copy nor re-record the
            # buffers mutated in place. Skipped on CPU, which has no graphs to capture (and importing dynamo is slow).
            for layer in self.layers:
                torch._dynamo.mark_static_address(layer.keys)
                torch._dynamo.mark_static_address(layer.values)

    def update(self, key_states, value_states, layer_idx, cache_kwargs=None):
        """Write (B, H, T, D) states at `cache_kwargs["cache_position"]`; return the full (B, H, max_len, D) pair."""
        position = None if cache_kwargs is None else cache_kwargs.get("cache_position")
        if position is None:
            raise ValueError(
                "StaticCache.update needs the slots to write: pass cache_kwargs={'cache_position': positions} "
                "(a LongTensor of shape (new_tokens,))."
            )
        batch = key_states.shape[0]
        if batch > self.max_batch_size:
            raise ValueError(f"Batch size {batch} exceeds the StaticCache's max_batch_size={self.max_batch_size}.")
        layer = self.layers[layer_idx]
        keys, values = layer.keys, layer.values
        if batch != self.max_batch_size:
            keys, values = keys[:batch], values[:batch]
        keys.index_copy_(2, position, key_states)
        values.index_copy_(2, position, value_states)
        if layer_idx == 0:
            self._written.index_fill_(0, position, True)
        return keys, values

    def get_seq_length(self, layer_idx: int = 0) -> int:
        """Number of slots written (a device→host sync: pass cache_position in a decode loop instead)."""
        return int(self._written.sum())

    def get_max_cache_shape(self) -> int:
        return self.max_cache_len

    def reset(self) -> None:
        """Empty the cache for a new sequence, keeping the buffers (and their addresses)."""
        for layer in self.layers:
            layer.keys.zero_()
            layer.values.zero_()
        self._written.zero_()

    def reorder_cache(self, beam_idx: torch.LongTensor) -> None:
        """Select batch rows in place (beam search)."""
        for layer in self.layers:
            idx = beam_idx.to(layer.keys.device)
            layer.keys.copy_(layer.keys.index_select(0, idx))
            layer.values.copy_(layer.values.index_select(0, idx))


def as_cache(past: Any, cls: type[Cache] = DynamicCache) -> Cache | None:
    """Accept a Cache or the legacy tuple format; tuples become `cls` via from_legacy_cache."""
    if past is None or isinstance(past, Cache):
        return past
    if isinstance(past, (tuple, list)):
        return cls.from_legacy_cache(tuple(past))
    raise TypeError(f"past_key_values must be a Cache or a tuple of per-layer (key, value) tensors, got {type(past)}.")
