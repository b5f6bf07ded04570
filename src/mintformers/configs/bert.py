"""BertConfig: the `config.json` of BERT checkpoints, shared by the PyTorch, TensorFlow and Flax classes."""

from __future__ import annotations

from ..config import ConfigError, PretrainedConfig

__all__ = ["BertConfig", "POSITION_TYPES"]

POSITION_TYPES = ("absolute", "relative_key", "relative_key_query")


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
