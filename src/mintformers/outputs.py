"""PyTorch model outputs: dataclasses readable by attribute (`out.logits`), key (`out["logits"]`) and index
(`out[0]`) — the access rules live in output_base.py, shared with the TensorFlow and Flax outputs.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import torch

from .output_base import OutputBase

__all__ = [
    "ModelOutput",
    "BaseModelOutput",
    "BaseModelOutputWithPooling",
    "BaseModelOutputWithPast",
    "BaseModelOutputWithPastAndCrossAttentions",
    "BaseModelOutputWithPoolingAndCrossAttentions",
    "CausalLMOutputWithPast",
    "CausalLMOutputWithCrossAttentions",
    "MaskedLMOutput",
    "NextSentencePredictorOutput",
    "PreTrainingOutput",
    "SequenceClassifierOutput",
    "SequenceClassifierOutputWithPast",
    "MultipleChoiceModelOutput",
    "TokenClassifierOutput",
    "QuestionAnsweringModelOutput",
]

Tensor = torch.Tensor
Tensors = tuple[torch.Tensor, ...]


@dataclass
class ModelOutput(OutputBase):
    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Every output class is a pytree node (its set fields are the children), so torch.export, torch.compile
        and torch.utils._pytree see through it to the tensors."""
        super().__init_subclass__(**kwargs)
        torch.utils._pytree.register_pytree_node(
            cls, _flatten_output, functools.partial(_unflatten_output, cls),
            serialized_type_name=f"{cls.__module__}.{cls.__qualname__}",
        )


def _flatten_output(output: ModelOutput) -> tuple[list[Any], list[str]]:
    return output.values(), output.keys()


def _unflatten_output(cls: type[ModelOutput], values: Any, keys: list[str]) -> ModelOutput:
    return cls(**dict(zip(keys, values)))


@dataclass
class BaseModelOutput(ModelOutput):
    last_hidden_state: Tensor | None = None  # (B, T, H)
    hidden_states: Tensors | None = None  # embeddings + one per layer, each (B, T, H)
    attentions: Tensors | None = None  # one per layer, each (B, heads, T, T)


@dataclass
class BaseModelOutputWithPooling(ModelOutput):
    last_hidden_state: Tensor | None = None
    pooler_output: Tensor | None = None  # (B, H)
    hidden_states: Tensors | None = None
    attentions: Tensors | None = None


@dataclass
class BaseModelOutputWithPast(ModelOutput):
    last_hidden_state: Tensor | None = None
    past_key_values: Any = None  # a Cache
    hidden_states: Tensors | None = None
    attentions: Tensors | None = None


@dataclass
class BaseModelOutputWithPastAndCrossAttentions(ModelOutput):
    last_hidden_state: Tensor | None = None
    past_key_values: Any = None
    hidden_states: Tensors | None = None
    attentions: Tensors | None = None
    cross_attentions: Tensors | None = None


@dataclass
class BaseModelOutputWithPoolingAndCrossAttentions(ModelOutput):
    last_hidden_state: Tensor | None = None
    pooler_output: Tensor | None = None
    hidden_states: Tensors | None = None
    past_key_values: Any = None
    attentions: Tensors | None = None
    cross_attentions: Tensors | None = None


@dataclass
class CausalLMOutputWithPast(ModelOutput):
    loss: Tensor | None = None
    logits: Tensor | None = None  # (B, T, V)
    past_key_values: Any = None
    hidden_states: Tensors | None = None
    attentions: Tensors | None = None


@dataclass
class CausalLMOutputWithCrossAttentions(ModelOutput):
    loss: Tensor | None = None
    logits: Tensor | None = None
    past_key_values: Any = None
    hidden_states: Tensors | None = None
    attentions: Tensors | None = None
    cross_attentions: Tensors | None = None


@dataclass
class MaskedLMOutput(ModelOutput):
    loss: Tensor | None = None
    logits: Tensor | None = None  # (B, T, V)
    hidden_states: Tensors | None = None
    attentions: Tensors | None = None


@dataclass
class NextSentencePredictorOutput(ModelOutput):
    loss: Tensor | None = None
    logits: Tensor | None = None  # (B, 2): 0 = B continues A, 1 = B is random
    hidden_states: Tensors | None = None
    attentions: Tensors | None = None


@dataclass
class PreTrainingOutput(ModelOutput):
    """BertForPreTrainingOutput / MobileBertForPreTrainingOutput: loss = MLM loss + NSP loss."""

    loss: Tensor | None = None
    prediction_logits: Tensor | None = None  # (B, T, V)
    seq_relationship_logits: Tensor | None = None  # (B, 2)
    hidden_states: Tensors | None = None
    attentions: Tensors | None = None


@dataclass
class SequenceClassifierOutput(ModelOutput):
    loss: Tensor | None = None
    logits: Tensor | None = None  # (B, num_labels)
    hidden_states: Tensors | None = None
    attentions: Tensors | None = None


@dataclass
class SequenceClassifierOutputWithPast(ModelOutput):
    loss: Tensor | None = None
    logits: Tensor | None = None
    past_key_values: Any = None
    hidden_states: Tensors | None = None
    attentions: Tensors | None = None


@dataclass
class MultipleChoiceModelOutput(ModelOutput):
    loss: Tensor | None = None
    logits: Tensor | None = None  # (B, num_choices)
    hidden_states: Tensors | None = None
    attentions: Tensors | None = None


@dataclass
class TokenClassifierOutput(ModelOutput):
    loss: Tensor | None = None
    logits: Tensor | None = None  # (B, T, num_labels)
    hidden_states: Tensors | None = None
    attentions: Tensors | None = None


@dataclass
class QuestionAnsweringModelOutput(ModelOutput):
    loss: Tensor | None = None
    start_logits: Tensor | None = None  # (B, T)
    end_logits: Tensor | None = None  # (B, T)
    hidden_states: Tensors | None = None
    attentions: Tensors | None = None
