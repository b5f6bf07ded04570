"""Building blocks shared by the TensorFlow families, named as the checkpoints name them.

Every layer creates its weights when it is constructed (like a PyTorch module), so a model is complete — and can be
loaded into — as soon as it exists. Keras layer names are the reference TensorFlow classes' names (`query`,
`LayerNorm`, `layer_._3`, ...): `checkpoint.py` turns them into the PyTorch keys and they are `tf_model.h5`'s names.

Attention takes a boolean *keep* mask (True = may attend) broadcastable to (B, heads, Tq, Tk) rather than an
additive bias: Keras casts float arguments of a layer call to the compute dtype, and a large negative bias does not
survive float16. Scores and softmax run in float32 whatever the compute dtype (mixed precision, and MobileBERT's
large NoNorm activations, overflow float16 in q·kᵀ).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ..validation import check_head_mask_shape
from ._backend import keras, tf

__all__ = [
    "ACTIVATIONS",
    "get_activation",
    "dense",
    "layer_norm",
    "WeightLayer",
    "Embedding",
    "split_heads",
    "merge_heads",
    "attend",
    "padding_mask",
    "causal_padding_mask",
    "head_mask_per_layer",
    "SelfAttention",
    "Pooler",
    "Intermediate",
    "ResidualOutput",
    "PredictionHeadTransform",
]


def _gelu_new(x: tf.Tensor) -> tf.Tensor:
    # the tanh approximation used by GPT-2 / the original BERT TF code
    return 0.5 * x * (1.0 + tf.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * tf.pow(x, 3.0))))


# The names configs use (`hidden_act`), as in layers/activations.py.
ACTIVATIONS: dict[str, Callable[[tf.Tensor], tf.Tensor]] = {
    "gelu": lambda x: tf.nn.gelu(x, approximate=False),
    "gelu_python": lambda x: tf.nn.gelu(x, approximate=False),
    "gelu_new": _gelu_new,
    "gelu_fast": lambda x: 0.5 * x * (1.0 + tf.tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x))),
    "gelu_pytorch_tanh": lambda x: tf.nn.gelu(x, approximate=True),
    "quick_gelu": lambda x: x * tf.sigmoid(1.702 * x),
    "relu": tf.nn.relu,
    "relu6": tf.nn.relu6,
    "silu": tf.nn.silu,
    "swish": tf.nn.silu,
    "tanh": tf.tanh,
    "sigmoid": tf.sigmoid,
    "mish": lambda x: x * tf.tanh(tf.nn.softplus(x)),
    "leaky_relu": lambda x: tf.nn.leaky_relu(x, alpha=0.01),
    "linear": lambda x: x,
}


def get_activation(name: str | Callable) -> Callable[[tf.Tensor], tf.Tensor]:
    if callable(name):
        return name
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"Unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}.") from None


def _init(std: float) -> keras.initializers.Initializer:
    return keras.initializers.TruncatedNormal(stddev=std)


def dense(units: int, in_features: int, name: str, std: float = 0.02, **kwargs) -> keras.layers.Dense:
    """A built Dense (`kernel` (in, out) = the PyTorch Linear weight transposed, `bias`)."""
    layer = keras.layers.Dense(units, kernel_initializer=_init(std), name=name, **kwargs)
    layer.build((None, in_features))
    return layer


def layer_norm(size: int, eps: float, name: str = "LayerNorm") -> keras.layers.LayerNormalization:
    """A built LayerNormalization (`gamma`, `beta` = the PyTorch weight, bias)."""
    layer = keras.layers.LayerNormalization(epsilon=eps, name=name)
    layer.build((None, size))
    return layer


class WeightLayer(keras.layers.Layer):
    """One named weight: the tables and matrices that are not a Dense kernel (embeddings, MobileBERT's extra LM
    rows, NoNorm's scale), so that `name/weight_name` is the checkpoint's name for it."""

    def __init__(self, shape: tuple[int, ...], name: str, weight_name: str = "weight", std: float = 0.02):
        super().__init__(name=name)
        self.weight = self.add_weight(shape=shape, initializer=_init(std), name=weight_name)
        self.built = True


class Embedding(WeightLayer):
    """A lookup table (rows, dim): ids (...) → (..., dim) in the compute dtype."""

    def __init__(self, rows: int, dim: int, name: str, weight_name: str = "embeddings", std: float = 0.02):
        super().__init__((rows, dim), name, weight_name, std)

    def call(self, ids: tf.Tensor) -> tf.Tensor:
        return tf.cast(tf.gather(self.weight, ids), self.compute_dtype)


# ---- attention ----------------------------------------------------------------------------------------------------


def split_heads(x: tf.Tensor, num_heads: int, head_size: int) -> tf.Tensor:
    """(B, T, heads*D) → (B, heads, T, D)"""
    shape = tf.shape(x)
    return tf.transpose(tf.reshape(x, (shape[0], shape[1], num_heads, head_size)), (0, 2, 1, 3))


def merge_heads(x: tf.Tensor) -> tf.Tensor:
    """(B, heads, T, D) → (B, T, heads*D)"""
    x = tf.transpose(x, (0, 2, 1, 3))
    shape = tf.shape(x)
    return tf.reshape(x, (shape[0], shape[1], x.shape[2] * x.shape[3]))


def attend(
    q: tf.Tensor,
    k: tf.Tensor,
    v: tf.Tensor,
    keep: tf.Tensor | None = None,
    scores_bias: tf.Tensor | None = None,
    *,
    dropout: keras.layers.Dropout | None = None,
    training: bool = False,
    head_mask: tf.Tensor | None = None,
) -> tuple[tf.Tensor, tf.Tensor]:
    """softmax(q·kᵀ/√D + scores_bias, masked by `keep`)·v.

    q (B, H, Tq, D), k/v (B, H, Tk, D), keep (bool) and scores_bias (float32) broadcastable to (B, H, Tq, Tk),
    head_mask broadcastable to (B, H, 1, 1). Returns the context (B, H, Tq, D) and the probabilities (B, H, Tq, Tk).
    Masked scores get float32's minimum, as the PyTorch models do (finite: a fully masked row never gives NaN).
    """
    scale = 1.0 / math.sqrt(q.shape[-1])
    scores = tf.matmul(tf.cast(q, tf.float32), tf.cast(k, tf.float32), transpose_b=True) * scale
    if scores_bias is not None:
        scores = scores + scores_bias
    if keep is not None:
        scores = tf.where(keep, scores, tf.float32.min)
    probs = tf.cast(tf.nn.softmax(scores, axis=-1), v.dtype)
    if dropout is not None:
        probs = dropout(probs, training=training)
    if head_mask is not None:
        probs = probs * tf.cast(head_mask, probs.dtype)
    return tf.matmul(probs, v), probs


def padding_mask(attention_mask: tf.Tensor | None) -> tf.Tensor | None:
    """Encoder mask: (B, Tk) → (B, 1, 1, Tk); (B, Tq, Tk) → (B, 1, Tq, Tk); as booleans (True = attend)."""
    if attention_mask is None:
        return None
    # expand_dims, not [:, None]: TFLite has no kernel for a strided slice that adds axes
    if attention_mask.shape.rank == 2:
        return tf.not_equal(tf.expand_dims(tf.expand_dims(attention_mask, 1), 1), 0)
    if attention_mask.shape.rank == 3:
        return tf.not_equal(tf.expand_dims(attention_mask, 1), 0)
    raise ValueError(
        "attention_mask must have shape (batch, key_length) or (batch, query_length, key_length), "
        f"got {tuple(attention_mask.shape)}."
    )


def causal_padding_mask(attention_mask: tf.Tensor, query_length: tf.Tensor | int) -> tf.Tensor:
    """Decoder mask: (B, past+Tq) padding mask → (B, 1, Tq, past+Tq), query i sees keys ≤ past+i."""
    key_length = tf.shape(attention_mask)[1]
    q_pos = tf.range(query_length)[:, None] + (key_length - query_length)
    k_pos = tf.range(key_length)[None, :]
    return tf.logical_and((k_pos <= q_pos)[None, None], padding_mask(attention_mask))


def head_mask_per_layer(head_mask: tf.Tensor | None, num_layers: int) -> list:
    """(heads,) or (layers, heads) → per-layer (1, heads, 1, 1) multipliers (None when no mask)."""
    if head_mask is None:
        return [None] * num_layers
    head_mask = tf.convert_to_tensor(head_mask)
    check_head_mask_shape(head_mask.shape, num_layers)
    if head_mask.shape.rank == 1:
        head_mask = tf.repeat(head_mask[None], num_layers, axis=0)
    return [tf.reshape(head_mask[i], (1, -1, 1, 1)) for i in range(num_layers)]


class SelfAttention(keras.layers.Layer):
    """`query`/`key`/`value` projections around `attend`, plus BERT's relative position scores.

    Query, key and value inputs may differ (MobileBERT's bottlenecks, cross-attention over encoder states); `in_*`
    give their widths. With `position_embedding_type` relative_key(_query) (Shaw et al. / Huang et al.), the scores
    gain q·r (and k·r) terms from a `distance_embedding` of the query-key offset; query i of a step sits at
    position past_length + i, as in the PyTorch models.
    """

    def __init__(
        self,
        hidden_size: int,
        num_heads: int,
        dropout: float = 0.0,
        *,
        std: float = 0.02,
        in_query: int | None = None,
        in_key: int | None = None,
        in_value: int | None = None,
        position_embedding_type: str = "absolute",
        max_position_embeddings: int = 512,
        name: str = "self",
    ):
        super().__init__(name=name)
        if hidden_size % num_heads:
            raise ValueError(f"hidden_size={hidden_size} is not a multiple of num_attention_heads={num_heads}.")
        self.num_attention_heads = num_heads
        self.attention_head_size = hidden_size // num_heads
        self.query = dense(hidden_size, in_query or hidden_size, "query", std)
        self.key = dense(hidden_size, in_key or hidden_size, "key", std)
        self.value = dense(hidden_size, in_value or hidden_size, "value", std)
        self.dropout = keras.layers.Dropout(dropout)
        self.position_embedding_type = position_embedding_type
        if position_embedding_type != "absolute":
            self.max_position_embeddings = max_position_embeddings
            self.distance_embedding = Embedding(
                2 * max_position_embeddings - 1, self.attention_head_size, "distance_embedding", std=std
            )
        self.built = True

    def project_kv(self, key_states: tf.Tensor, value_states: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        h, d = self.num_attention_heads, self.attention_head_size
        return split_heads(self.key(key_states), h, d), split_heads(self.value(value_states), h, d)

    def position_scores(self, q: tf.Tensor, k: tf.Tensor) -> tf.Tensor | None:
        """The relative terms (B, H, Tq, Tk) in float32, already scaled like q·k; None for absolute positions."""
        if self.position_embedding_type == "absolute":
            return None
        tq, tk = tf.shape(q)[2], tf.shape(k)[2]
        q_pos = tf.range(tk - tq, tk)[:, None]  # queries are the last tq of tk positions
        k_pos = tf.range(tk)[None, :]
        rel = tf.cast(self.distance_embedding(q_pos - k_pos + self.max_position_embeddings - 1), tf.float32)
        scores = tf.einsum("bhld,lrd->bhlr", tf.cast(q, tf.float32), rel)  # (B, H, Tq, Tk)
        if self.position_embedding_type == "relative_key_query":
            scores = scores + tf.einsum("bhrd,lrd->bhlr", tf.cast(k, tf.float32), rel)
        return scores / math.sqrt(self.attention_head_size)

    def call(
        self,
        query_states: tf.Tensor,
        key_states: tf.Tensor | None = None,
        value_states: tf.Tensor | None = None,
        keep: tf.Tensor | None = None,
        head_mask: tf.Tensor | None = None,
        kv: tuple[tf.Tensor, tf.Tensor] | None = None,
        training: bool = False,
    ) -> tuple[tf.Tensor, tf.Tensor, tuple[tf.Tensor, tf.Tensor]]:
        """query_states (B, Tq, in_query) → context (B, Tq, hidden), probs (B, H, Tq, Tk) and the projected
        keys/values (B, H, Tk, D) (for a cache). `kv` passes keys/values already projected (a cache)."""
        q = split_heads(self.query(query_states), self.num_attention_heads, self.attention_head_size)
        if kv is None:
            key_states = query_states if key_states is None else key_states
            value_states = key_states if value_states is None else value_states
            kv = self.project_kv(key_states, value_states)
        k, v = kv
        context, probs = attend(
            q, k, v, keep, self.position_scores(q, k), dropout=self.dropout, training=training, head_mask=head_mask
        )
        return merge_heads(context), probs, (k, v)


# ---- blocks (layers/blocks.py) ------------------------------------------------------------------------------------


class Pooler(keras.layers.Layer):
    """`dense` + tanh on the first token: (B, T, H) → (B, H)."""

    def __init__(self, hidden_size: int, std: float = 0.02, name: str = "pooler"):
        super().__init__(name=name)
        self.dense = dense(hidden_size, hidden_size, "dense", std, activation="tanh")
        self.built = True

    def call(self, hidden_states: tf.Tensor) -> tf.Tensor:
        return self.dense(hidden_states[:, 0])


class Intermediate(keras.layers.Layer):
    """The feed-forward expansion: `dense` (H → I) + activation."""

    def __init__(self, hidden_size: int, intermediate_size: int, act: str, std: float = 0.02, name: str = "intermediate"):
        super().__init__(name=name)
        self.dense = dense(intermediate_size, hidden_size, "dense", std)
        self.intermediate_act_fn = get_activation(act)
        self.built = True

    def call(self, hidden_states: tf.Tensor) -> tf.Tensor:
        return self.intermediate_act_fn(self.dense(hidden_states))


class ResidualOutput(keras.layers.Layer):
    """Post-LN sublayer output: LayerNorm(dropout(dense(x)) + residual)."""

    def __init__(self, in_size: int, hidden_size: int, eps: float, dropout: float, std: float = 0.02, name: str = "output"):
        super().__init__(name=name)
        self.dense = dense(hidden_size, in_size, "dense", std)
        self.LayerNorm = layer_norm(hidden_size, eps)
        self.dropout = keras.layers.Dropout(dropout)
        self.built = True

    def call(self, hidden_states: tf.Tensor, residual: tf.Tensor, training: bool = False) -> tf.Tensor:
        return self.LayerNorm(self.dropout(self.dense(hidden_states), training=training) + residual)


class PredictionHeadTransform(keras.layers.Layer):
    """The LM head's `dense` + activation + `LayerNorm` before the vocabulary projection."""

    def __init__(self, hidden_size: int, act: str, eps: float, std: float = 0.02, name: str = "transform"):
        super().__init__(name=name)
        self.dense = dense(hidden_size, hidden_size, "dense", std)
        self.transform_act_fn = get_activation(act)
        self.LayerNorm = layer_norm(hidden_size, eps)
        self.built = True

    def call(self, hidden_states: tf.Tensor) -> tf.Tensor:
        return self.LayerNorm(self.transform_act_fn(self.dense(hidden_states)))
