"""TensorFlow model outputs: dataclasses with the attribute / key / index access of every mintformers output
(output_base.py) that also cross `tf.function` (TensorFlow's nest protocol) and Keras' `predict` (Keras tree nodes:
the set fields are the children).

Field names and order are the reference's (`transformers.modeling_tf_outputs`); note that TF puts `past_key_values`
before `hidden_states`, which PyTorch does not. `past_key_values` is the reference's TF format: per layer a tuple
(key, value[, cross key, cross value]), each (batch, heads, sequence, head size). Losses have the reference's TF
shapes (tf/losses.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import optree  # Keras 3's tree library

from ..output_base import OutputBase

__all__ = [
    "TFModelOutput",
    "TFBaseModelOutputWithPooling",
    "TFBaseModelOutputWithPoolingAndCrossAttentions",
    "TFCausalLMOutputWithCrossAttentions",
    "TFMaskedLMOutput",
    "TFNextSentencePredictorOutput",
    "TFSequenceClassifierOutput",
    "TFMultipleChoiceModelOutput",
    "TFTokenClassifierOutput",
    "TFQuestionAnsweringModelOutput",
    "TFBertForPreTrainingOutput",
    "TFMobileBertForPreTrainingOutput",
]

Tensor = Any  # tf.Tensor (or a numpy array, from predict)
Tensors = Any  # tuple of tf.Tensor


class TFModelOutput(OutputBase):
    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        optree.register_pytree_node(
            cls, lambda o: (o.values(), o.keys(), o.keys()),
            lambda keys, values: cls(**dict(zip(keys, values))), namespace="keras",
        )

    # TensorFlow's nest protocol: a tf.function returns outputs of these classes from its graph
    def __tf_flatten__(self) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        return tuple(self.keys()), tuple(self.values())

    @classmethod
    def __tf_unflatten__(cls, keys: tuple[str, ...], values: tuple[Any, ...]) -> TFModelOutput:
        return cls(**dict(zip(keys, values)))


@dataclass
class TFBaseModelOutputWithPooling(TFModelOutput):
    last_hidden_state: Tensor = None  # (B, T, H)
    pooler_output: Tensor = None  # (B, H)
    hidden_states: Tensors = None  # embeddings + one per layer, each (B, T, H)
    attentions: Tensors = None  # one per layer, each (B, heads, T, T)


@dataclass
class TFBaseModelOutputWithPoolingAndCrossAttentions(TFModelOutput):
    last_hidden_state: Tensor = None
    pooler_output: Tensor = None
    past_key_values: Any = None  # decoders with use_cache
    hidden_states: Tensors = None
    attentions: Tensors = None
    cross_attentions: Tensors = None  # one per layer, each (B, heads, T, T_encoder)


@dataclass
class TFCausalLMOutputWithCrossAttentions(TFModelOutput):
    loss: Tensor = None  # (1,)
    logits: Tensor = None  # (B, T, V)
    past_key_values: Any = None
    hidden_states: Tensors = None
    attentions: Tensors = None
    cross_attentions: Tensors = None


@dataclass
class TFMaskedLMOutput(TFModelOutput):
    loss: Tensor = None  # (1,)
    logits: Tensor = None  # (B, T, V)
    hidden_states: Tensors = None
    attentions: Tensors = None


@dataclass
class TFNextSentencePredictorOutput(TFModelOutput):
    loss: Tensor = None  # (B,)
    logits: Tensor = None  # (B, 2): 0 = B continues A, 1 = B is random
    hidden_states: Tensors = None
    attentions: Tensors = None


@dataclass
class TFSequenceClassifierOutput(TFModelOutput):
    loss: Tensor = None  # (B,)
    logits: Tensor = None  # (B, num_labels)
    hidden_states: Tensors = None
    attentions: Tensors = None


@dataclass
class TFMultipleChoiceModelOutput(TFModelOutput):
    loss: Tensor = None  # (B,)
    logits: Tensor = None  # (B, num_choices)
    hidden_states: Tensors = None
    attentions: Tensors = None


@dataclass
class TFTokenClassifierOutput(TFModelOutput):
    loss: Tensor = None  # (1,)
    logits: Tensor = None  # (B, T, num_labels)
    hidden_states: Tensors = None
    attentions: Tensors = None


@dataclass
class TFQuestionAnsweringModelOutput(TFModelOutput):
    loss: Tensor = None  # (B,)
    start_logits: Tensor = None  # (B, T)
    end_logits: Tensor = None  # (B, T)
    hidden_states: Tensors = None
    attentions: Tensors = None


@dataclass
class TFBertForPreTrainingOutput(TFModelOutput):
    """loss = masked LM loss + next sentence loss, (1,)."""

    loss: Tensor = None
    prediction_logits: Tensor = None  # (B, T, V)
    seq_relationship_logits: Tensor = None  # (B, 2)
    hidden_states: Tensors = None
    attentions: Tensors = None


@dataclass
class TFMobileBertForPreTrainingOutput(TFBertForPreTrainingOutput):
    pass
