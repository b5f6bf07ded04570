"""The BERT and MobileBERT configurations: plain data shared by the PyTorch, TensorFlow and Flax models.

Kept apart from the model files so that reading a config never imports a framework (the TensorFlow and Flax
backends, and AutoConfig, load these without torch).
"""

from __future__ import annotations

from typing import Any

from ..config import ConfigError, PretrainedConfig

__all__ = ["BertConfig", "MobileBertConfig", "POSITION_TYPES", "NORMALIZATION_TYPES"]

POSITION_TYPES = ("absolute", "relative_key", "relative_key_query")
NORMALIZATION_TYPES = ("no_norm", "layer_norm")


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
