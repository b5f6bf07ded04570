"""Flax task heads written once for every encoder family, as layers/heads.py is for PyTorch.

A family declares a head by naming its base module:

    class FlaxBertForTokenClassificationModule(FlaxTokenClassificationModule):
        base_module_class = FlaxBertModule
        base_model_prefix = "bert"

The base module's parameters live under `base_model_prefix` and the head's under the reference's names
(`classifier`, `qa_outputs`), so the tree is the reference's. No labels and no loss, as in the reference's Flax
classes: a training loop computes its loss from the logits (e.g. with optax).
"""

from __future__ import annotations

from typing import Any, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp

from ..config import PretrainedConfig, classifier_dropout
from .layers import normal_init
from .outputs import (
    FlaxMultipleChoiceModelOutput,
    FlaxQuestionAnsweringModelOutput,
    FlaxSequenceClassifierOutput,
    FlaxTokenClassifierOutput,
)

__all__ = [
    "FlaxTaskModule",
    "FlaxSequenceClassificationModule",
    "FlaxTokenClassificationModule",
    "FlaxQuestionAnsweringModule",
    "FlaxMultipleChoiceModule",
    "classifier_dropout",
]


class FlaxTaskModule(nn.Module):
    """Shared plumbing: the base module under `base_model_prefix`, with a pooler only where the head reads it."""

    config: PretrainedConfig
    dtype: jnp.dtype = jnp.float32
    gradient_checkpointing: bool = False
    base_module_class: ClassVar[type[nn.Module]]
    base_model_prefix: ClassVar[str]
    uses_pooler: ClassVar[bool] = False

    def base(self) -> nn.Module:
        return self.base_module_class(
            self.config, self.dtype, add_pooling_layer=self.uses_pooler,
            gradient_checkpointing=self.gradient_checkpointing, name=self.base_model_prefix,
        )

    def dense(self, features: int, name: str) -> nn.Dense:
        return nn.Dense(features, kernel_init=normal_init(self.config), dtype=self.dtype, name=name)


class FlaxSequenceClassificationModule(FlaxTaskModule):
    """pooled output → dropout → `classifier` (num_labels)."""

    uses_pooler = True

    @nn.compact
    def __call__(self, input_ids: jax.Array, *args: Any, deterministic: bool = True, **kwargs: Any):
        out = self.base()(input_ids, *args, deterministic=deterministic, **kwargs)
        pooled = nn.Dropout(rate=classifier_dropout(self.config))(out.pooler_output, deterministic=deterministic)
        logits = self.dense(self.config.num_labels, "classifier")(pooled)  # (B, num_labels)
        return FlaxSequenceClassifierOutput(logits, out.hidden_states, out.attentions)


class FlaxTokenClassificationModule(FlaxTaskModule):
    """token states → dropout → `classifier` (num_labels)."""

    @nn.compact
    def __call__(self, input_ids: jax.Array, *args: Any, deterministic: bool = True, **kwargs: Any):
        out = self.base()(input_ids, *args, deterministic=deterministic, **kwargs)
        hidden = nn.Dropout(rate=classifier_dropout(self.config))(out.last_hidden_state, deterministic=deterministic)
        logits = self.dense(self.config.num_labels, "classifier")(hidden)  # (B, T, num_labels)
        return FlaxTokenClassifierOutput(logits, out.hidden_states, out.attentions)


class FlaxQuestionAnsweringModule(FlaxTaskModule):
    """token states → `qa_outputs` (2) → start and end logits of the answer span."""

    @nn.compact
    def __call__(self, input_ids: jax.Array, *args: Any, deterministic: bool = True, **kwargs: Any):
        out = self.base()(input_ids, *args, deterministic=deterministic, **kwargs)
        logits = self.dense(self.config.num_labels, "qa_outputs")(out.last_hidden_state)  # (B, T, 2)
        return FlaxQuestionAnsweringModelOutput(logits[..., 0], logits[..., 1], out.hidden_states, out.attentions)


class FlaxMultipleChoiceModule(FlaxTaskModule):
    """(B, choices, T) inputs run as (B·choices, T); pooled → dropout → `classifier` (1) → (B, choices)."""

    uses_pooler = True

    @nn.compact
    def __call__(
        self,
        input_ids: jax.Array,
        attention_mask: jax.Array | None = None,
        token_type_ids: jax.Array | None = None,
        position_ids: jax.Array | None = None,
        *args: Any,
        deterministic: bool = True,
        **kwargs: Any,
    ):
        num_choices = input_ids.shape[1]

        def rows(x):
            return None if x is None else x.reshape(-1, x.shape[-1])

        out = self.base()(
            rows(input_ids), rows(attention_mask), rows(token_type_ids), rows(position_ids), *args,
            deterministic=deterministic, **kwargs,
        )
        pooled = nn.Dropout(rate=classifier_dropout(self.config))(out.pooler_output, deterministic=deterministic)
        logits = self.dense(1, "classifier")(pooled).reshape(-1, num_choices)  # (B, choices)
        return FlaxMultipleChoiceModelOutput(logits, out.hidden_states, out.attentions)
