"""The five families' configurations: plain data (the config.json keys, typed, with the reference's defaults)
shared by the PyTorch, TensorFlow and Flax models.

Kept apart from the model files so that reading a config never imports a framework: AutoConfig, tokenizers, the
command line's `info`, and the TensorFlow and Flax backends load these without torch.
"""

from __future__ import annotations

from typing import Any

from ..config import ConfigError, PretrainedConfig, _check_type, _type_hints

__all__ = [
    "BertConfig",
    "MobileBertConfig",
    "MPNetConfig",
    "MptAttentionConfig",
    "MptConfig",
    "ErnieMConfig",
    "kv_heads",
    "POSITION_TYPES",
    "NORMALIZATION_TYPES",
]

POSITION_TYPES = ("absolute", "relative_key", "relative_key_query")  # BERT
NORMALIZATION_TYPES = ("no_norm", "layer_norm")  # MobileBERT
MPNET_NUM_BUCKETS = 32  # the reference always buckets into 32, whatever relative_attention_num_buckets says
# Position ids are shifted by 2 before the lookup: rows 0 and 1 of the table are unused by default.
ERNIE_M_POSITION_OFFSET = 2
ATTN_TYPES = ("multihead_attention", "multiquery_attention", "grouped_query_attention")  # MPT
NORM_TYPES = ("low_precision_layernorm", "layernorm", "low_precision_rmsnorm", "rmsnorm")  # MPT


class BertConfig(PretrainedConfig):
    model_type = "bert"

    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072  # feed-forward width
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1  # embeddings, sublayer outputs, pooler
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2  # segments (token_type_ids)
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    pad_token_id: int | None = 0
    position_embedding_type: str = "absolute"  # or relative_key / relative_key_query
    use_cache: bool = True
    classifier_dropout: float | None = None  # heads; None → hidden_dropout_prob

    def validate(self) -> None:
        super().validate()
        self._check_heads(self.hidden_size, self.num_attention_heads)
        if self.position_embedding_type not in POSITION_TYPES:
            raise ConfigError(
                f"position_embedding_type={self.position_embedding_type!r} is not supported; use one of {POSITION_TYPES}."
            )


class MobileBertConfig(PretrainedConfig):
    model_type = "mobilebert"

    vocab_size: int = 30522
    hidden_size: int = 512  # the residual stream between layers
    num_hidden_layers: int = 24
    num_attention_heads: int = 4
    intermediate_size: int = 512  # feed-forward width
    hidden_act: str = "relu"
    hidden_dropout_prob: float = 0.0
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    pad_token_id: int | None = 0
    embedding_size: int = 128  # word embedding width (narrower than hidden_size)
    trigram_input: bool = True  # concat [next, this, previous] token embeddings before the input projection
    use_bottleneck: bool = True  # layers compute at intra_bottleneck_size, not hidden_size
    intra_bottleneck_size: int = 128
    use_bottleneck_attention: bool = False  # query/key/value all read the bottlenecked input
    key_query_shared_bottleneck: bool = True  # query/key read a second bottleneck of their own
    num_feedforward_networks: int = 4  # feed-forward blocks per layer
    normalization_type: str = "no_norm"  # or "layer_norm"
    classifier_activation: bool = True  # pooler = dense + tanh on the first token; False: the raw first token
    classifier_dropout: float | None = None  # heads; None → hidden_dropout_prob

    def __init__(self, **kwargs: Any):
        kwargs.pop("true_hidden_size", None)  # derived; the reference writes it to config.json and ignores it on load
        super().__init__(**kwargs)

    @property
    def true_hidden_size(self) -> int:
        """The width layers compute at: intra_bottleneck_size with bottlenecks, else hidden_size."""
        return self.intra_bottleneck_size if self.use_bottleneck else self.hidden_size

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["true_hidden_size"] = self.true_hidden_size  # as the reference writes it
        return out

    def validate(self) -> None:
        super().validate()
        if self.normalization_type not in NORMALIZATION_TYPES:
            raise ConfigError(
                f"normalization_type={self.normalization_type!r} is not supported; use one of {NORMALIZATION_TYPES}."
            )
        self._check_heads(self.true_hidden_size, self.num_attention_heads, "true_hidden_size")
        if self.num_feedforward_networks < 1:
            raise ConfigError(f"num_feedforward_networks={self.num_feedforward_networks} must be at least 1.")
        wide_query = self.use_bottleneck and not self.use_bottleneck_attention and not self.key_query_shared_bottleneck
        if wide_query and self.intra_bottleneck_size != self.hidden_size:
            raise ConfigError(
                "With use_bottleneck=True, use_bottleneck_attention=False and key_query_shared_bottleneck=False, "
                f"query and key read the hidden_size={self.hidden_size} states through projections of width "
                f"intra_bottleneck_size={self.intra_bottleneck_size}; the two must be equal. Set "
                "key_query_shared_bottleneck=True or use_bottleneck_attention=True, or make them equal."
            )


class MPNetConfig(PretrainedConfig):
    model_type = "mpnet"

    vocab_size: int = 30527
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072  # feed-forward width
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1  # embeddings, sublayer outputs, heads
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512  # positions start at 2, so this holds max_position_embeddings - 2 tokens
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    relative_attention_num_buckets: int = 32  # rows of the relative bias table; 32 of them are used
    pad_token_id: int | None = 1
    bos_token_id: int | None = 0
    eos_token_id: int | list | None = 2

    def validate(self) -> None:
        super().validate()
        self._check_heads(self.hidden_size, self.num_attention_heads)
        if self.relative_attention_num_buckets < MPNET_NUM_BUCKETS:
            raise ConfigError(
                f"relative_attention_num_buckets={self.relative_attention_num_buckets} is too small: MPNet buckets "
                f"relative positions into {MPNET_NUM_BUCKETS} buckets (as the reference does), so the table needs at least "
                f"{MPNET_NUM_BUCKETS} rows. Use relative_attention_num_buckets={MPNET_NUM_BUCKETS}."
            )


class MptAttentionConfig:
    """`attn_config`: the attention settings, a nested dict in config.json (unknown keys kept, `[]` access works)."""

    attn_type: str = "multihead_attention"
    attn_pdrop: float = 0
    attn_impl: str = "torch"  # "torch" / "flash" / "triton": all run torch SDPA here
    clip_qkv: float | None = None  # clamp the fused q/k/v projection to ±clip_qkv
    softmax_scale: float | None = None  # None → 1/sqrt(head_dim)
    prefix_lm: bool = False  # kept, unused (as in the reference)
    qk_ln: bool = False
    attn_uses_sequence_id: bool = False  # kept, unused (as in the reference)
    alibi: bool = True
    alibi_bias_max: float = 8

    def __init__(self, **kwargs: Any):
        fields = self.field_names()
        for name in fields:
            setattr(self, name, kwargs.pop(name, getattr(type(self), name)))
        kwargs.setdefault("model_type", "")  # the reference writes it into the nested dict
        self._extra_keys = list(kwargs)
        for key, value in kwargs.items():
            setattr(self, key, value)
        hints = _type_hints(type(self))
        for name in fields:
            _check_type("MptAttentionConfig", name, getattr(self, name), hints.get(name))
        if self.attn_type not in ATTN_TYPES:
            raise ConfigError(f"attn_config.attn_type={self.attn_type!r} is not supported; use one of {ATTN_TYPES}.")
        if self.clip_qkv is not None and self.clip_qkv <= 0:
            raise ConfigError(f"attn_config.clip_qkv must be positive or None, got {self.clip_qkv}.")

    @classmethod
    def field_names(cls) -> list[str]:
        return [n for n in cls.__annotations__ if not n.startswith("_")]

    @classmethod
    def coerce(cls, value: Any) -> MptAttentionConfig:
        """None → defaults; a dict (or the reference's MptAttentionConfig) → MptAttentionConfig."""
        if value is None or isinstance(value, cls):
            return cls() if value is None else value
        if isinstance(value, dict):
            return cls(**value)
        if hasattr(value, "to_dict"):
            return cls(**{k: v for k, v in value.to_dict().items() if k in cls.field_names()})
        raise ConfigError(f"attn_config must be a dict or MptAttentionConfig, got {type(value).__name__}.")

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.field_names() + self._extra_keys}

    def __getitem__(self, key: str) -> Any:  # MosaicML's code reads attn_config["alibi"]
        return getattr(self, key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MptAttentionConfig) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"MptAttentionConfig({self.to_dict()})"


class MptConfig(PretrainedConfig):
    model_type = "mpt"
    attribute_map = {"hidden_size": "d_model", "num_attention_heads": "n_heads", "num_hidden_layers": "n_layers"}

    d_model: int = 2048
    n_heads: int = 16
    n_layers: int = 24
    expansion_ratio: int | float = 4  # MLP width = expansion_ratio · d_model
    max_seq_len: int = 2048  # limits the input only with learned positions (wpe); ALiBi has no table
    vocab_size: int = 50368
    resid_pdrop: float = 0.0
    layer_norm_epsilon: float = 1e-5
    emb_pdrop: float = 0.0
    learned_pos_emb: bool = True  # a wpe table, used when the checkpoint has one (see the module docstring)
    attn_config: MptAttentionConfig | None = None
    init_device: str = "cpu"  # kept for compatibility; construction device is the caller's choice
    logit_scale: float | str | None = None  # multiplies the LM logits; "inv_sqrt_d_model" = 1/sqrt(d_model)
    no_bias: bool = True  # True: no bias in any linear layer or norm
    verbose: int = 0
    embedding_fraction: float = 1.0  # scales the gradient reaching the embeddings (forward values unchanged)
    norm_type: str = "low_precision_layernorm"
    use_cache: bool = False
    initializer_range: float = 0.02

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "attn_config":
            value = MptAttentionConfig.coerce(value)
        super().__setattr__(name, value)

    def validate(self) -> None:
        super().validate()
        self._check_heads(self.d_model, self.n_heads, "d_model", "n_heads")
        kv = kv_heads(self)
        if not isinstance(kv, int) or kv <= 0 or self.n_heads % kv:
            raise ConfigError(f"n_heads={self.n_heads} is not a multiple of attn_config.kv_n_heads={kv}.")
        if self.norm_type.lower() not in NORM_TYPES:
            raise ConfigError(f"norm_type={self.norm_type!r} is not supported; use one of {NORM_TYPES}.")
        if isinstance(self.logit_scale, str) and self.logit_scale != "inv_sqrt_d_model":
            raise ConfigError(f"logit_scale={self.logit_scale!r}: use a number, None or 'inv_sqrt_d_model'.")
        if not 0 < self.embedding_fraction <= 1:
            raise ConfigError(f"embedding_fraction={self.embedding_fraction} must be in (0, 1].")
        if self.expansion_ratio <= 0 or self.max_seq_len <= 0:
            raise ConfigError("expansion_ratio and max_seq_len must be positive.")


def kv_heads(config: MptConfig) -> int:
    """Key/value heads: n_heads (multi-head), 1 (multi-query) or attn_config.kv_n_heads (grouped-query)."""
    kind = config.attn_config.attn_type
    if kind == "multihead_attention":
        return config.n_heads
    return 1 if kind == "multiquery_attention" else getattr(config.attn_config, "kv_n_heads", 1)


class ErnieMConfig(PretrainedConfig):
    model_type = "ernie_m"
    attribute_map = {"dropout": "classifier_dropout", "num_classes": "num_labels"}

    vocab_size: int = 250002
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072  # feed-forward width
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1  # embeddings, sublayer outputs
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 514  # 512 tokens + the position offset of 2
    initializer_range: float = 0.02
    pad_token_id: int | None = 1
    layer_norm_eps: float = 1e-5
    classifier_dropout: float | None = None  # heads; None → hidden_dropout_prob
    act_dropout: float | None = 0.0  # after the feed-forward activation; None → hidden_dropout_prob

    def validate(self) -> None:
        super().validate()
        self._check_heads(self.hidden_size, self.num_attention_heads)
        if self.max_position_embeddings <= ERNIE_M_POSITION_OFFSET:
            raise ConfigError(
                f"max_position_embeddings={self.max_position_embeddings} leaves no room for tokens: ErnieM positions "
                f"start at {ERNIE_M_POSITION_OFFSET}, so it must be at least {ERNIE_M_POSITION_OFFSET + 1} (512 tokens need 514)."
            )
        pad = self.pad_token_id
        if pad is not None and not (0 <= pad < min(self.vocab_size, self.max_position_embeddings)):
            raise ConfigError(
                f"pad_token_id={pad} must index both the vocabulary (vocab_size={self.vocab_size}) and the position "
                f"table (max_position_embeddings={self.max_position_embeddings}): both embeddings use it as padding row."
            )

    @property
    def max_tokens(self) -> int:
        """The longest input (including any past_key_values prefix) the position table holds."""
        return self.max_position_embeddings - ERNIE_M_POSITION_OFFSET
