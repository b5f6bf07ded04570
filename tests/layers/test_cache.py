"""Key/value caches: DynamicCache, EncoderDecoderCache and StaticCache follow the reference's Cache API."""

from __future__ import annotations

import pytest
import torch

from mintformers.layers.cache import Cache, DynamicCache, EncoderDecoderCache, StaticCache, as_cache

B, H, D = 2, 3, 4


def kv(t: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, H, t, D, generator=g), torch.randn(B, H, t, D, generator=g)


# ---- DynamicCache -------------------------------------------------------------------------------------------------


def test_dynamic_cache_appends_along_the_sequence_axis():
    cache = DynamicCache()
    assert cache.get_seq_length() == 0 and len(cache) == 0
    k1, v1 = kv(5, 0)
    k2, v2 = kv(1, 1)
    cache.update(k1, v1, 0)
    keys, values = cache.update(k2, v2, 0)
    assert torch.equal(keys, torch.cat([k1, k2], dim=2)) and torch.equal(values, torch.cat([v1, v2], dim=2))
    assert cache.get_seq_length() == 6 and cache.get_seq_length(layer_idx=1) == 0
    assert cache.get_max_cache_shape() is None


def test_dynamic_cache_appends_in_place_without_changing_earlier_views():
    cache = DynamicCache()
    steps = [kv(4, 0)] + [kv(1, s) for s in range(1, 6)]
    seen = []
    for k, v in steps:
        seen.append(cache.update(k, v, 0)[0])
    assert seen[2].data_ptr() == seen[5].data_ptr()  # appends after the first write into spare room, no copy
    expected = torch.cat([k for k, _ in steps], dim=2)
    for i, keys in enumerate(seen):  # what each step returned still shows that step's keys
        assert torch.equal(keys, expected[:, :, : keys.shape[2]]), i
    assert torch.equal(cache[0][1], torch.cat([v for _, v in steps], dim=2))


def test_dynamic_cache_room_is_regrown_and_dropped_where_it_would_alias():
    cache = DynamicCache()
    cache.spare = 2
    keys = [kv(1, s)[0] for s in range(7)]
    for k in keys:
        out = cache.update(k, k, 0)[0]
    assert torch.equal(out, torch.cat(keys, dim=2))  # outgrew the buffer twice
    before = cache[0][0]
    cache.crop(3)
    cache.update(*kv(1, 9), 0)
    assert torch.equal(before, torch.cat(keys, dim=2))  # a crop never lets later appends overwrite old views
    cache.reorder_cache(torch.tensor([1, 0]))
    k, _ = kv(1, 10)
    out = cache.update(k, k, 0)[0]
    assert torch.equal(out[:, :, :3], torch.cat(keys[:3], dim=2).flip(0)) and torch.equal(out[:, :, 4:], k)


def test_dynamic_cache_legacy_round_trip_crop_and_reorder():
    layers = (kv(4, 0), kv(4, 1))
    cache = DynamicCache.from_legacy_cache(layers)
    assert len(cache) == 2
    for (k, v), (k2, v2) in zip(cache.to_legacy_cache(), layers):
        assert torch.equal(k, k2) and torch.equal(v, v2)
    cache.reorder_cache(torch.tensor([1, 0]))
    assert torch.equal(cache[0][0], layers[0][0].flip(0))
    cache.crop(3)
    assert cache.get_seq_length() == 3
    cache.crop(-1)
    assert cache.get_seq_length() == 2
    cache.batch_repeat_interleave(2)
    assert cache[1][0].shape == (2 * B, H, 2, D)


def test_encoder_decoder_cache_pairs_self_and_cross_attention():
    cache = EncoderDecoderCache.from_legacy_cache((kv(3, 0) + kv(7, 1),))
    assert cache.get_seq_length() == 3 and cache.is_updated[0]
    assert len(cache[0]) == 4 and cache[0][2].shape[2] == 7
    cache.update(*kv(1, 2), 0)
    assert cache.get_seq_length() == 3 + 1
    assert [len(layer) for layer in cache.to_legacy_cache()] == [4]


def test_as_cache_accepts_caches_and_legacy_tuples_only():
    static = StaticCache(B, 8, 1, H, D)
    assert as_cache(static) is static and as_cache(None) is None
    assert isinstance(as_cache((kv(2),)), DynamicCache)
    with pytest.raises(TypeError, match="past_key_values must be a Cache"):
        as_cache("cache")


# ---- StaticCache --------------------------------------------------------------------------------------------------


def test_static_cache_preallocates_and_writes_in_place():
    cache = StaticCache(B, 8, 2, H, D, dtype=torch.float32, device="cpu")
    assert isinstance(cache, Cache) and len(cache) == 2
    buffer = cache.layers[0].keys
    assert buffer.shape == (B, H, 8, D) and not buffer.any()
    k, v = kv(3)
    keys, values = cache.update(k, v, 0, {"cache_position": torch.arange(3)})
    assert keys.data_ptr() == buffer.data_ptr() and keys.shape == (B, H, 8, D)  # the whole buffer, same memory
    assert torch.equal(keys[:, :, :3], k) and torch.equal(values[:, :, :3], v) and not keys[:, :, 3:].any()
    k1, v1 = kv(1, 5)
    keys, _ = cache.update(k1, v1, 0, {"cache_position": torch.tensor([3])})
    assert torch.equal(keys[:, :, 3:4], k1) and torch.equal(keys[:, :, :3], k)
    assert cache.get_seq_length() == 4 and cache.get_max_cache_shape() == 8


def test_static_cache_counts_written_slots_not_contents():
    cache = StaticCache(B, 6, 1, H, D)
    zeros = torch.zeros(B, H, 2, D)  # a written slot counts even when its values are zero
    cache.update(zeros, zeros, 0, {"cache_position": torch.tensor([0, 1])})
    assert cache.get_seq_length() == 2
    cache.reset()
    assert cache.get_seq_length() == 0 and not cache.layers[0].keys.any()


def test_static_cache_smaller_batch_uses_the_first_rows():
    cache = StaticCache(4, 5, 1, H, D)
    k, v = kv(2)
    keys, values = cache.update(k, v, 0, {"cache_position": torch.arange(2)})
    assert keys.shape == (B, H, 5, D) and torch.equal(cache.layers[0].keys[:B, :, :2], k)
    assert not cache.layers[0].keys[B:].any()


def test_static_cache_reorder_selects_rows_in_place():
    cache = StaticCache(B, 4, 1, H, D)
    k, v = kv(4)
    cache.update(k, v, 0, {"cache_position": torch.arange(4)})
    ptr = cache.layers[0].keys.data_ptr()
    cache.reorder_cache(torch.tensor([1, 1]))
    assert cache.layers[0].keys.data_ptr() == ptr
    assert torch.equal(cache.layers[0].keys[0], k[1]) and torch.equal(cache.layers[0].values[0], v[1])


def test_static_cache_errors_name_the_problem():
    cache = StaticCache(B, 4, 1, H, D)
    with pytest.raises(ValueError, match="cache_position"):
        cache.update(*kv(1), 0)
    with pytest.raises(ValueError, match="max_batch_size=2"):
        cache.update(torch.zeros(3, H, 1, D), torch.zeros(3, H, 1, D), 0, {"cache_position": torch.tensor([0])})
    with pytest.raises(ValueError, match="must be positive"):
        StaticCache(B, 0, 1, H, D)
