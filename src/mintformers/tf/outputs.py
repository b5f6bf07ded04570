"""The TensorFlow output classes: the framework-free dataclasses of `mintformers.outputs` under their TF names.

They read by attribute, key and index like the PyTorch outputs, return from `tf.function` (TensorFlow's nest
protocol) and pass through Keras' `predict` (registered here as Keras tree nodes: set fields are the children).
`past_key_values` is the reference's TF format: per layer a tuple (key, value[, cross key, cross value]), each
(batch, heads, sequence, head size).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import optree  # Keras 3's tree library

from .. import outputs as _out

__all__ = [
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

TFBaseModelOutputWithPooling = _out.BaseModelOutputWithPooling
TFCausalLMOutputWithCrossAttentions = _out.CausalLMOutputWithCrossAttentions
TFMaskedLMOutput = _out.MaskedLMOutput
TFNextSentencePredictorOutput = _out.NextSentencePredictorOutput
TFSequenceClassifierOutput = _out.SequenceClassifierOutput
TFMultipleChoiceModelOutput = _out.MultipleChoiceModelOutput
TFTokenClassifierOutput = _out.TokenClassifierOutput
TFQuestionAnsweringModelOutput = _out.QuestionAnsweringModelOutput
TFBertForPreTrainingOutput = _out.PreTrainingOutput
TFMobileBertForPreTrainingOutput = _out.PreTrainingOutput


@dataclass
class TFBaseModelOutputWithPoolingAndCrossAttentions(_out.ModelOutput):
    """The reference's TF field order (past_key_values before hidden_states), unlike the PyTorch class."""

    last_hidden_state: Any = None  # (B, T, H)
    pooler_output: Any = None  # (B, H)
    past_key_values: Any = None  # per layer (key, value[, cross key, cross value]), each (B, heads, T, D)
    hidden_states: Any = None
    attentions: Any = None
    cross_attentions: Any = None


def _register_keras_tree_nodes() -> None:
    for name in __all__:
        cls = globals()[name]
        try:
            optree.register_pytree_node(
                cls,
                lambda o: (o.values(), o.keys(), o.keys()),
                lambda keys, values, cls=cls: cls(**dict(zip(keys, values))),
                namespace="keras",
            )
        except ValueError:  # registered already (an alias of a class above)
            pass


_register_keras_tree_nodes()
