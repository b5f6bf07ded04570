"""Flax building blocks written once: activations, attention (additive bias, key/value cache, head mask) and the
BERT-style blocks whose parameter names are the checkpoints' (`dense`, `LayerNorm`), as in `layers/` for PyTorch.

Shapes: B batch, T query length, K key length, H heads, D head size.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax.linen.attention import dot_product_attention_weights
from jax import lax

__all__ = [
    "ACTIVATIONS",
    "activation",
    "normal_init",
    "attention_bias",
    "attend",
    "cached_key_value",
    "Intermediate",
    "ResidualOutput",
    "Pooler",
    "PredictionHeadTransform",
]

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "gelu": partial(nn.gelu, approximate=False),
    "gelu_python": partial(nn.gelu, approximate=False),
    "gelu_new": partial(nn.gelu, approximate=True),
    "gelu_fast": partial(nn.gelu, approximate=True),
    "gelu_pytorch_tanh": partial(nn.gelu, approximate=True),
    "quick_gelu": lambda x: x * jax.nn.sigmoid(1.702 * x),
    "relu": nn.relu,
    "relu6": jax.nn.relu6,
    "silu": nn.swish,
    "swish": nn.swish,
    "tanh": nn.tanh,
    "sigmoid": nn.sigmoid,
    "mish": lambda x: x * jnp.tanh(jax.nn.softplus(x)),
    "leaky_relu": nn.leaky_relu,
    "linear": lambda x: x,
}


def activation(name: str) -> Callable[[jax.Array], jax.Array]:
    """The function for a config's `hidden_act`."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"Unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}.") from None


def normal_init(config) -> Callable:
    """BERT-style init: normal(0, initializer_range)."""
    return jax.nn.initializers.normal(stddev=config.initializer_range)


# ---- attention ----------------------------------------------------------------------------------------------------


def attention_bias(
    attention_mask: jax.Array | None, q_pos: jax.Array, key_length: int, causal: bool, dtype: jnp.dtype
) -> jax.Array | None:
    """1/0 keep-mask → additive bias (B or 1, 1, T, K): 0 where kept, finfo(dtype).min where masked.

    attention_mask is (B, K) padding or (B, T, K); q_pos (T,) are the queries' positions among the K keys (a decoder
    with a cache has T new queries after `past` cached keys), so `causal` keeps keys at positions ≤ the query's.
    """
    keep = None
    if attention_mask is not None:
        keep = attention_mask[:, None, None, :] if attention_mask.ndim == 2 else attention_mask[:, None, :, :]
        keep = keep > 0
    if causal:
        causal_keep = (jnp.arange(key_length)[None, :] <= q_pos[:, None])[None, None]  # (1, 1, T, K)
        keep = causal_keep if keep is None else keep & causal_keep
    if keep is None:
        return None
    return jnp.where(keep, jnp.array(0, dtype), jnp.array(jnp.finfo(dtype).min, dtype))


def attend(
    module: nn.Module,
    q: jax.Array,
    k: jax.Array,
    v: jax.Array,
    bias: jax.Array | None,
    *,
    dropout: float,
    deterministic: bool,
    head_mask: jax.Array | None,
    dtype: jnp.dtype,
) -> tuple[jax.Array, jax.Array]:
    """softmax(q·kᵀ/√D + bias)·v for q (B, T, H, D), k/v (B, K, H, D) → context (B, T, H·D), weights (B, H, T, K).

    Dropout on the weights draws from `module`'s "dropout" rng (one mask shared by batch and heads, as the
    reference); head_mask (H,) scales each head's weights after it.
    """
    rng = module.make_rng("dropout") if not deterministic and dropout > 0.0 else None
    weights = dot_product_attention_weights(
        q, k, bias=bias, dropout_rng=rng, dropout_rate=dropout, broadcast_dropout=True,
        deterministic=deterministic, dtype=dtype,
    )
    if head_mask is not None:
        weights = weights * head_mask.astype(weights.dtype)[:, None, None]
    context = jnp.einsum("...hqk,...khd->...qhd", weights, v)
    return context.reshape(context.shape[:2] + (-1,)), weights


def cached_key_value(module: nn.Module, k: jax.Array, v: jax.Array, past: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Write this step's keys/values (B, T, H, D) at position `past` of the module's cache (B, max_length, H, D) and
    return the whole cache. While `init_cache` builds it (module.init), only the zero buffers are created."""
    cached_key = module.variable("cache", "cached_key", jnp.zeros, k.shape, k.dtype)
    cached_value = module.variable("cache", "cached_value", jnp.zeros, v.shape, v.dtype)
    if module.is_initializing():
        return k, v
    cached_key.value = lax.dynamic_update_slice(cached_key.value, k.astype(cached_key.value.dtype), (0, past, 0, 0))
    cached_value.value = lax.dynamic_update_slice(cached_value.value, v.astype(cached_value.value.dtype), (0, past, 0, 0))
    return cached_key.value, cached_value.value


# ---- BERT-style blocks (parameter names = checkpoint keys) ----------------------------------------------------------


class Intermediate(nn.Module):
    """`dense` to the feed-forward width, then the activation."""

    config: object
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, hidden_states: jax.Array) -> jax.Array:
        c = self.config
        hidden_states = nn.Dense(c.intermediate_size, kernel_init=normal_init(c), dtype=self.dtype, name="dense")(hidden_states)
        return activation(c.hidden_act)(hidden_states)


class ResidualOutput(nn.Module):
    """`dense` → dropout → `LayerNorm`(· + residual): the post-LN end of every BERT sublayer."""

    config: object
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, hidden_states: jax.Array, residual: jax.Array, deterministic: bool = True) -> jax.Array:
        c = self.config
        hidden_states = nn.Dense(c.hidden_size, kernel_init=normal_init(c), dtype=self.dtype, name="dense")(hidden_states)
        hidden_states = nn.Dropout(rate=c.hidden_dropout_prob)(hidden_states, deterministic=deterministic)
        return nn.LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype, name="LayerNorm")(hidden_states + residual)


class Pooler(nn.Module):
    """First token's state → `dense` → tanh: (B, T, H) → (B, H)."""

    config: object
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, hidden_states: jax.Array) -> jax.Array:
        dense = nn.Dense(self.config.hidden_size, kernel_init=normal_init(self.config), dtype=self.dtype, name="dense")
        return nn.tanh(dense(hidden_states[:, 0]))


class PredictionHeadTransform(nn.Module):
    """`dense` → activation → `LayerNorm`, before an LM head's vocabulary projection."""

    config: object
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, hidden_states: jax.Array) -> jax.Array:
        c = self.config
        hidden_states = nn.Dense(c.hidden_size, kernel_init=normal_init(c), dtype=self.dtype, name="dense")(hidden_states)
        hidden_states = activation(c.hidden_act)(hidden_states)
        return nn.LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype, name="LayerNorm")(hidden_states)
