"""Model outputs: dataclasses readable by attribute (`out.logits`), key (`out["logits"]`) and index (`out[0]`).

As in the reference, only fields that are set (not None) count as keys, in index order and in `to_tuple()`, so
`return_dict=False` is simply `output.to_tuple()`.

Framework-free and shared by every backend (the TensorFlow names, e.g. `TFMaskedLMOutput`, are these classes). Each
class is a pytree node for torch (torch.export, torch.compile) — registered once torch is imported, so a TensorFlow
or JAX user never imports it — and a nest structure for TensorFlow (`__tf_flatten__`, for tf.function).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: the classes hold torch, TensorFlow or JAX arrays alike
    import torch

    Tensor = torch.Tensor
    Tensors = tuple[torch.Tensor, ...]

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
    "register_torch_pytrees",
]

_OUTPUT_CLASSES: list[type] = []
_TORCH_REGISTERED: set[type] = set()


@dataclass
class ModelOutput:
    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _OUTPUT_CLASSES.append(cls)
        if "torch" in sys.modules:
            register_torch_pytrees()

    def keys(self) -> list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]

    def values(self) -> list[Any]:
        return [getattr(self, k) for k in self.keys()]

    def items(self) -> list[tuple[str, Any]]:
        return [(k, getattr(self, k)) for k in self.keys()]

    def to_tuple(self) -> tuple[Any, ...]:
        return tuple(self.values())

    def __getitem__(self, key: str | int | slice) -> Any:
        if isinstance(key, str):
            if key not in self.keys():
                raise KeyError(key)
            return getattr(self, key)
        return self.to_tuple()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if key not in {f.name for f in fields(self)}:
            raise KeyError(f"{type(self).__name__} has no field {key!r}")
        setattr(self, key, value)

    def __contains__(self, key: object) -> bool:
        return key in self.keys()

    def __iter__(self) -> Iterator[str]:
        # Dict-like, as in the reference: iterating yields the names of the set fields.
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in self.keys() else default

    # TensorFlow's nest protocol: tf.function returns outputs of these classes from a graph
    def __tf_flatten__(self) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        return tuple(self.keys()), tuple(self.values())

    @classmethod
    def __tf_unflatten__(cls, keys: tuple[str, ...], values: tuple[Any, ...]) -> ModelOutput:
        return cls(**dict(zip(keys, values)))


def _flatten_output(output: ModelOutput) -> tuple[list[Any], list[str]]:
    return output.values(), output.keys()


def _unflatten_output(cls: type[ModelOutput], values: Any, keys: list[str]) -> ModelOutput:
    return cls(**dict(zip(keys, values)))


def register_torch_pytrees() -> None:
    """Make every output class a torch pytree node (their set fields are the children), so torch.export,
    torch.compile and torch.utils._pytree see through them. Called as classes are defined once torch is loaded,
    and by the PyTorch model base for classes defined before."""
    import torch.utils._pytree as pytree

    for cls in _OUTPUT_CLASSES:
        if cls not in _TORCH_REGISTERED:
            pytree.register_pytree_node(
                cls, _flatten_output, functools.partial(_unflatten_output, cls),
                serialized_type_name=f"{cls.__module__}.{cls.__qualname__}",
            )
            _TORCH_REGISTERED.add(cls)


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
