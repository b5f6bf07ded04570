"""Flax model outputs: immutable dataclasses that are JAX pytrees (so they cross `jax.jit` and `jax.grad`), with
`replace(...)` and the attribute / key / index access of every mintformers output (output_base.py).

Field names and order are the reference's (`transformers.modeling_flax_outputs`): no `loss`, as Flax models take no
labels; `past_key_values` holds the cache pytree of `init_cache`.
"""

from __future__ import annotations

from typing import Any

import flax.struct
import jax

from ..output_base import OutputBase

__all__ = [
    "FlaxModelOutput",
    "FlaxBaseModelOutputWithPooling",
    "FlaxBaseModelOutputWithPoolingAndCrossAttentions",
    "FlaxBertForPreTrainingOutput",
    "FlaxCausalLMOutputWithCrossAttentions",
    "FlaxMaskedLMOutput",
    "FlaxNextSentencePredictorOutput",
    "FlaxSequenceClassifierOutput",
    "FlaxMultipleChoiceModelOutput",
    "FlaxTokenClassifierOutput",
    "FlaxQuestionAnsweringModelOutput",
]

Array = jax.Array
Arrays = tuple[jax.Array, ...]


class FlaxModelOutput(OutputBase):
    def __setitem__(self, key: str, value: Any) -> None:
        raise TypeError(f"{type(self).__name__} is immutable (a JAX pytree); use output.replace({key}=...).")


@flax.struct.dataclass
class FlaxBaseModelOutputWithPooling(FlaxModelOutput):
    last_hidden_state: Array | None = None  # (B, T, H)
    pooler_output: Array | None = None  # (B, H)
    hidden_states: Arrays | None = None  # embeddings + one per layer, each (B, T, H)
    attentions: Arrays | None = None  # one per layer, each (B, heads, T, T)


@flax.struct.dataclass
class FlaxBaseModelOutputWithPoolingAndCrossAttentions(FlaxModelOutput):
    last_hidden_state: Array | None = None
    pooler_output: Array | None = None
    hidden_states: Arrays | None = None
    past_key_values: Any = None  # the cache pytree (decoders)
    attentions: Arrays | None = None
    cross_attentions: Arrays | None = None  # one per layer, each (B, heads, T, T_encoder)


@flax.struct.dataclass
class FlaxBertForPreTrainingOutput(FlaxModelOutput):
    prediction_logits: Array | None = None  # (B, T, V)
    seq_relationship_logits: Array | None = None  # (B, 2)
    hidden_states: Arrays | None = None
    attentions: Arrays | None = None


@flax.struct.dataclass
class FlaxCausalLMOutputWithCrossAttentions(FlaxModelOutput):
    logits: Array | None = None  # (B, T, V)
    past_key_values: Any = None
    hidden_states: Arrays | None = None
    attentions: Arrays | None = None
    cross_attentions: Arrays | None = None


@flax.struct.dataclass
class FlaxMaskedLMOutput(FlaxModelOutput):
    logits: Array | None = None  # (B, T, V)
    hidden_states: Arrays | None = None
    attentions: Arrays | None = None


@flax.struct.dataclass
class FlaxNextSentencePredictorOutput(FlaxModelOutput):
    logits: Array | None = None  # (B, 2): 0 = B continues A, 1 = B is random
    hidden_states: Arrays | None = None
    attentions: Arrays | None = None


@flax.struct.dataclass
class FlaxSequenceClassifierOutput(FlaxModelOutput):
    logits: Array | None = None  # (B, num_labels)
    hidden_states: Arrays | None = None
    attentions: Arrays | None = None


@flax.struct.dataclass
class FlaxMultipleChoiceModelOutput(FlaxModelOutput):
    logits: Array | None = None  # (B, num_choices)
    hidden_states: Arrays | None = None
    attentions: Arrays | None = None


@flax.struct.dataclass
class FlaxTokenClassifierOutput(FlaxModelOutput):
    logits: Array | None = None  # (B, T, num_labels)
    hidden_states: Arrays | None = None
    attentions: Arrays | None = None


@flax.struct.dataclass
class FlaxQuestionAnsweringModelOutput(FlaxModelOutput):
    start_logits: Array | None = None  # (B, T)
    end_logits: Array | None = None  # (B, T)
    hidden_states: Arrays | None = None
    attentions: Arrays | None = None
