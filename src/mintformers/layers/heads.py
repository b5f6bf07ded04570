"""Task heads written once for every encoder family.

A family declares its heads by combining a mixin with its pretrained-model base, e.g.

    class BertForTokenClassification(TokenClassificationModel, BertPreTrainedModel):
        base_model_class = BertModel

The mixin builds the base model under `base_model_prefix` (so checkpoint keys are `bert.…`), the head modules under
the reference's names (`classifier`, `qa_outputs`), and computes the reference's loss. Positional arguments follow
the base model's forward signature (or `forward_order`, where the reference's head orders them differently).
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import torch
from torch import nn

from ..config import classifier_dropout
from ..outputs import (
    ModelOutput,
    MultipleChoiceModelOutput,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)
from .losses import question_answering_loss, sequence_classification_loss, token_classification_loss

__all__ = [
    "TaskModel",
    "SequenceClassificationModel",
    "TokenClassificationModel",
    "QuestionAnsweringModel",
    "MultipleChoiceModel",
    "classifier_dropout",
    "MLMHead",
    "NSPHead",
    "PreTrainingHeads",
]


class TaskModel:
    """Shared plumbing for heads: build the base model, bind inputs, finish the output."""

    base_model_class: ClassVar[type]
    # Whether the head reads the pooler (sequence classification, multiple choice) or the token states.
    uses_pooler: ClassVar[bool] = False
    # Names of forward's positional inputs when they differ from the base model's order.
    forward_order: ClassVar[tuple[str, ...] | None] = None

    def _build_base(self, config) -> None:
        kwargs = {}
        if "add_pooling_layer" in inspect.signature(self.base_model_class.__init__).parameters:
            kwargs["add_pooling_layer"] = self.uses_pooler
        setattr(self, self.base_model_prefix, self.base_model_class(config, **kwargs))

    def _bind(self, args: tuple, kwargs: dict) -> tuple[dict[str, Any], bool]:
        """Name positional inputs; split off return_dict. Returns (base model kwargs, return_dict)."""
        if args:
            order = self.forward_order
            if order is None:
                params = list(inspect.signature(self.base_model.forward).parameters)
                order = tuple(p for p in params if p not in ("self", "args", "kwargs"))
            if len(args) > len(order):
                raise TypeError(f"{type(self).__name__}.forward takes at most {len(order)} positional inputs.")
            for name, value in zip(order, args):
                if name in kwargs:
                    raise TypeError(f"{type(self).__name__}.forward got multiple values for {name!r}.")
                kwargs[name] = value
        return_dict = kwargs.pop("return_dict", None)
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        return kwargs, return_dict

    def _run_base(self, inputs: dict[str, Any]) -> ModelOutput:
        return self.base_model(**inputs, return_dict=True)

    @staticmethod
    def _finish(output: ModelOutput, return_dict: bool):
        return output if return_dict else output.to_tuple()


class SequenceClassificationModel(TaskModel):
    """pooled output → dropout → `classifier` (num_labels). Loss by problem_type (see losses)."""

    uses_pooler = True

    def __init__(self, config, *args: Any, **kwargs: Any):
        super().__init__(config, *args, **kwargs)
        self.num_labels = config.num_labels
        self._build_base(config)
        self.dropout = nn.Dropout(classifier_dropout(config))
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, *args: Any, labels: torch.Tensor | None = None, **kwargs: Any):
        inputs, return_dict = self._bind(args, kwargs)
        outputs = self._run_base(inputs)
        logits = self.classifier(self.dropout(outputs.pooler_output))  # (B, num_labels)
        loss = None if labels is None else sequence_classification_loss(logits, labels, self.config)
        out = SequenceClassifierOutput(loss, logits, outputs.hidden_states, outputs.attentions)
        return self._finish(out, return_dict)


class TokenClassificationModel(TaskModel):
    """token states → dropout → `classifier`; cross-entropy over tokens, -100 ignored."""

    def __init__(self, config, *args: Any, **kwargs: Any):
        super().__init__(config, *args, **kwargs)
        self.num_labels = config.num_labels
        self._build_base(config)
        self.dropout = nn.Dropout(classifier_dropout(config))
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, *args: Any, labels: torch.Tensor | None = None, **kwargs: Any):
        inputs, return_dict = self._bind(args, kwargs)
        outputs = self._run_base(inputs)
        logits = self.classifier(self.dropout(outputs.last_hidden_state))  # (B, T, num_labels)
        loss = None if labels is None else token_classification_loss(logits, labels)
        out = TokenClassifierOutput(loss, logits, outputs.hidden_states, outputs.attentions)
        return self._finish(out, return_dict)


class QuestionAnsweringModel(TaskModel):
    """token states → `qa_outputs` (2) → start/end logits; loss = mean of the two cross-entropies."""

    def __init__(self, config, *args: Any, **kwargs: Any):
        super().__init__(config, *args, **kwargs)
        self.num_labels = config.num_labels
        self._build_base(config)
        self.qa_outputs = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(
        self,
        *args: Any,
        start_positions: torch.Tensor | None = None,
        end_positions: torch.Tensor | None = None,
        **kwargs: Any,
    ):
        inputs, return_dict = self._bind(args, kwargs)
        outputs = self._run_base(inputs)
        logits = self.qa_outputs(outputs.last_hidden_state)  # (B, T, 2)
        start_logits, end_logits = (t.squeeze(-1).contiguous() for t in logits.split(1, dim=-1))
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = question_answering_loss(start_logits, end_logits, start_positions, end_positions)
        out = QuestionAnsweringModelOutput(loss, start_logits, end_logits, outputs.hidden_states, outputs.attentions)
        return self._finish(out, return_dict)


class MultipleChoiceModel(TaskModel):
    """(B, choices, T) inputs are flattened to (B·choices, T); pooled → dropout → `classifier` (1) → (B, choices)."""

    uses_pooler = True

    def __init__(self, config, *args: Any, **kwargs: Any):
        super().__init__(config, *args, **kwargs)
        self._build_base(config)
        self.dropout = nn.Dropout(classifier_dropout(config))
        self.classifier = nn.Linear(config.hidden_size, 1)
        self.post_init()

    def forward(self, *args: Any, labels: torch.Tensor | None = None, **kwargs: Any):
        inputs, return_dict = self._bind(args, kwargs)
        num_choices = None
        for name, value in inputs.items():
            if isinstance(value, torch.Tensor) and name != "head_mask":
                expected = 4 if name == "inputs_embeds" else 3
                if value.dim() != expected:
                    raise ValueError(
                        f"Multiple-choice {name} must have shape (batch, num_choices, sequence_length"
                        f"{', hidden' if expected == 4 else ''}), got {tuple(value.shape)}."
                    )
                num_choices = value.shape[1]
                inputs[name] = value.flatten(0, 1)
        outputs = self._run_base(inputs)
        logits = self.classifier(self.dropout(outputs.pooler_output)).view(-1, num_choices)  # (B, choices)
        loss = None if labels is None else nn.functional.cross_entropy(logits, labels.to(logits.device))
        out = MultipleChoiceModelOutput(loss, logits, outputs.hidden_states, outputs.attentions)
        return self._finish(out, return_dict)


# ---- the `cls` containers of BERT-style pre-training heads (checkpoint keys cls.predictions.*, cls.seq_relationship.*)


class MLMHead(nn.Module):
    """`cls` of a masked / causal LM: the family's prediction head under `predictions`."""

    def __init__(self, predictions: nn.Module):
        super().__init__()
        self.predictions = predictions

    def forward(self, sequence_output: torch.Tensor) -> torch.Tensor:
        return self.predictions(sequence_output)  # (B, T, V)


class NSPHead(nn.Module):
    """`cls` of a next-sentence model: is B the sentence that follows A? (2 logits from the pooled output)."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.seq_relationship = nn.Linear(hidden_size, 2)

    def forward(self, pooled_output: torch.Tensor) -> torch.Tensor:
        return self.seq_relationship(pooled_output)  # (B, 2)


class PreTrainingHeads(nn.Module):
    """`cls` of a pre-training model: both of the above."""

    def __init__(self, predictions: nn.Module, hidden_size: int):
        super().__init__()
        self.predictions = predictions
        self.seq_relationship = nn.Linear(hidden_size, 2)

    def forward(self, sequence_output: torch.Tensor, pooled_output: torch.Tensor):
        return self.predictions(sequence_output), self.seq_relationship(pooled_output)
