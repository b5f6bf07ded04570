"""Task heads written once for the TensorFlow families (as `layers/heads.py` for PyTorch).

A family declares a head by combining a mixin with its pretrained-model base, e.g.

    class TFBertForTokenClassification(TFTokenClassificationModel, TFBertPreTrainedModel):
        base_model_class = TFBertMainLayer

The mixin builds the family's main layer under `base_model_prefix` (weights `bert/...`), the head under the
checkpoint's names (`classifier`, `qa_outputs`) and computes the loss in the reference's TF shapes (losses.py).
`call` takes the inputs in the documented order, so a list in the first argument means the same in every head.

The BERT-style pre-training heads (masked LM, next sentence, both) are the same for every family but for the LM
prediction head and the names tf_model.h5 gives the `cls` layers: the family's pretrained-model base provides them
(`lm_head(config)`, `nsp_head_name`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..config import classifier_dropout
from ._backend import keras, tf
from .layers import dense
from .losses import (
    masked_lm_loss,
    multiple_choice_loss,
    next_sentence_loss,
    pretraining_loss,
    question_answering_loss,
    sequence_classification_loss,
    token_classification_loss,
)
from .modeling import unpack_inputs
from .outputs import (
    TFMaskedLMOutput,
    TFMultipleChoiceModelOutput,
    TFNextSentencePredictorOutput,
    TFQuestionAnsweringModelOutput,
    TFSequenceClassifierOutput,
    TFTokenClassifierOutput,
)

__all__ = [
    "classifier_dropout",
    "TFTaskModel",
    "TFSequenceClassificationModel",
    "TFTokenClassificationModel",
    "TFQuestionAnsweringModel",
    "TFMultipleChoiceModel",
    "MLMHead",
    "NSPHead",
    "TFPreTrainingModel",
    "TFMaskedLMModel",
    "TFNextSentencePredictionModel",
]


class TFTaskModel:
    """Shared plumbing: build the main layer under base_model_prefix. The pre-training heads also use the family
    base's `lm_head(config)` (its `cls` LM layer over the tied embeddings) and `nsp_head_name`."""

    base_model_class: ClassVar[type]  # the family's main layer (embeddings, encoder, pooler)
    uses_pooler: ClassVar[bool] = False  # reads the pooled first token (else the token states)

    def _build_base(self, config) -> None:
        base = self.base_model_class(config, add_pooling_layer=self.uses_pooler, name=self.base_model_prefix)
        setattr(self, self.base_model_prefix, base)


class TFSequenceClassificationModel(TFTaskModel):
    """pooled output → dropout → `classifier` (num_labels); loss per example (see losses)."""

    uses_pooler = True

    def __init__(self, config, *inputs: Any, **kwargs: Any):
        super().__init__(config, *inputs, **kwargs)
        self.num_labels = config.num_labels
        self._build_base(config)
        self.dropout = keras.layers.Dropout(classifier_dropout(config))
        self.classifier = dense(config.num_labels, config.hidden_size, "classifier", config.initializer_range)

    @unpack_inputs
    def call(
        self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
        inputs_embeds=None, output_attentions=None, output_hidden_states=None, return_dict=None, labels=None,
        training=False,
    ):
        out = self._run_base(locals(), training)
        logits = self.classifier(self.dropout(out.pooler_output, training=training))  # (B, num_labels)
        loss = None if labels is None else sequence_classification_loss(labels, logits, self.config)
        return self._finish(TFSequenceClassifierOutput(loss, logits, out.hidden_states, out.attentions), return_dict)


class TFTokenClassificationModel(TFTaskModel):
    """token states → dropout → `classifier`; loss over labelled tokens, shape (1,)."""

    def __init__(self, config, *inputs: Any, **kwargs: Any):
        super().__init__(config, *inputs, **kwargs)
        self.num_labels = config.num_labels
        self._build_base(config)
        self.dropout = keras.layers.Dropout(classifier_dropout(config))
        self.classifier = dense(config.num_labels, config.hidden_size, "classifier", config.initializer_range)

    @unpack_inputs
    def call(
        self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
        inputs_embeds=None, output_attentions=None, output_hidden_states=None, return_dict=None, labels=None,
        training=False,
    ):
        out = self._run_base(locals(), training)
        logits = self.classifier(self.dropout(out.last_hidden_state, training=training))  # (B, T, num_labels)
        loss = None if labels is None else token_classification_loss(labels, logits)
        return self._finish(TFTokenClassifierOutput(loss, logits, out.hidden_states, out.attentions), return_dict)


class TFQuestionAnsweringModel(TFTaskModel):
    """token states → `qa_outputs` (2) → start/end logits; loss = mean of the two cross-entropies, per example."""

    label_names = ("start_positions", "end_positions")

    def __init__(self, config, *inputs: Any, **kwargs: Any):
        super().__init__(config, *inputs, **kwargs)
        self.num_labels = config.num_labels
        self._build_base(config)
        self.qa_outputs = dense(config.num_labels, config.hidden_size, "qa_outputs", config.initializer_range)

    @unpack_inputs
    def call(
        self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
        inputs_embeds=None, output_attentions=None, output_hidden_states=None, return_dict=None,
        start_positions=None, end_positions=None, training=False,
    ):
        out = self._run_base(locals(), training)
        logits = self.qa_outputs(out.last_hidden_state)  # (B, T, 2)
        start_logits, end_logits = logits[..., 0], logits[..., 1]
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = question_answering_loss(start_positions, end_positions, start_logits, end_logits)
        output = TFQuestionAnsweringModelOutput(loss, start_logits, end_logits, out.hidden_states, out.attentions)
        return self._finish(output, return_dict)


class TFMultipleChoiceModel(TFTaskModel):
    """(B, choices, T) inputs are flattened to (B·choices, T); pooled → dropout → `classifier` (1) → (B, choices)."""

    uses_pooler = True
    input_rank = 3

    def __init__(self, config, *inputs: Any, **kwargs: Any):
        super().__init__(config, *inputs, **kwargs)
        self._build_base(config)
        self.dropout = keras.layers.Dropout(classifier_dropout(config))
        self.classifier = dense(1, config.hidden_size, "classifier", config.initializer_range)

    @unpack_inputs
    def call(
        self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
        inputs_embeds=None, output_attentions=None, output_hidden_states=None, return_dict=None, labels=None,
        training=False,
    ):
        inputs = dict(locals())
        num_choices = None
        for name in ("input_ids", "attention_mask", "token_type_ids", "position_ids", "inputs_embeds"):
            value = inputs[name]
            if value is None:
                continue
            expected = 4 if name == "inputs_embeds" else 3
            if value.shape.rank != expected:
                raise ValueError(
                    f"Multiple-choice {name} must have shape (batch, num_choices, sequence_length"
                    f"{', hidden' if expected == 4 else ''}), got {tuple(value.shape)}."
                )
            shape = tf.shape(value)
            num_choices = shape[1]
            inputs[name] = tf.reshape(value, tf.concat([[-1], shape[2:]], axis=0))
        out = self._run_base(inputs, training)
        logits = self.classifier(self.dropout(out.pooler_output, training=training))  # (B·choices, 1)
        logits = tf.reshape(logits, (-1, num_choices))  # (B, choices)
        loss = None if labels is None else multiple_choice_loss(labels, logits)
        return self._finish(TFMultipleChoiceModelOutput(loss, logits, out.hidden_states, out.attentions), return_dict)


# ---- the `cls` containers of BERT-style pre-training heads (layers/heads.py's MLMHead, NSPHead) ----------------


class MLMHead(keras.layers.Layer):
    """`cls` of a masked / causal LM: the family's prediction head under `predictions`. tf_model.h5 names this
    layer `mlm___cls` (BERT) or `predictions___cls` (MobileBERT): PyTorch's `cls`."""

    def __init__(self, predictions: keras.layers.Layer, name: str):
        super().__init__(name=name)
        self.predictions = predictions
        self.built = True

    def call(self, sequence_output: tf.Tensor) -> tf.Tensor:
        return self.predictions(sequence_output)  # (B, T, V)


class NSPHead(keras.layers.Layer):
    """`cls` of next-sentence prediction: is B the sentence that follows A? (2 logits from the pooled output).
    tf_model.h5 names it `nsp___cls` (BERT) or `seq_relationship___cls` (MobileBERT)."""

    def __init__(self, hidden_size: int, std: float, name: str):
        super().__init__(name=name)
        self.seq_relationship = dense(2, hidden_size, "seq_relationship", std)
        self.built = True

    def call(self, pooled_output: tf.Tensor) -> tf.Tensor:
        return self.seq_relationship(pooled_output)  # (B, 2)


class TFPreTrainingModel(TFTaskModel):
    """Masked LM on the token states + next sentence prediction on the pooled output; loss = MLM loss + NSP loss,
    (1,), when both labels are given. Families set `output_class` (their ForPreTrainingOutput)."""

    uses_pooler = True
    label_names = ("labels", "next_sentence_label")
    output_class: ClassVar[type]

    def __init__(self, config, *inputs: Any, **kwargs: Any):
        super().__init__(config, *inputs, **kwargs)
        self._build_base(config)
        # the checkpoint's cls.predictions and cls.seq_relationship: two layers in tf_model.h5
        self.mlm = self.lm_head(config)
        self.nsp = NSPHead(config.hidden_size, config.initializer_range, self.nsp_head_name)

    @unpack_inputs
    def call(
        self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
        inputs_embeds=None, output_attentions=None, output_hidden_states=None, return_dict=None, labels=None,
        next_sentence_label=None, training=False,
    ):
        out = self._run_base(locals(), training)
        prediction_logits = self.mlm(out.last_hidden_state)  # (B, T, V)
        nsp_logits = self.nsp(out.pooler_output)  # (B, 2)
        loss = None
        if labels is not None and next_sentence_label is not None:
            loss = pretraining_loss(labels, next_sentence_label, prediction_logits, nsp_logits)
        output = self.output_class(loss, prediction_logits, nsp_logits, out.hidden_states, out.attentions)
        return self._finish(output, return_dict)


class TFMaskedLMModel(TFTaskModel):
    """Masked language model on the token states; labels of -100 are ignored, loss shape (1,)."""

    def __init__(self, config, *inputs: Any, **kwargs: Any):
        super().__init__(config, *inputs, **kwargs)
        self._build_base(config)
        self.mlm = self.lm_head(config)

    @unpack_inputs
    def call(
        self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
        inputs_embeds=None, output_attentions=None, output_hidden_states=None, return_dict=None, labels=None,
        training=False,
    ):
        out = self._run_base(locals(), training)
        logits = self.mlm(out.last_hidden_state)  # (B, T, V)
        loss = None if labels is None else masked_lm_loss(labels, logits)
        return self._finish(TFMaskedLMOutput(loss, logits, out.hidden_states, out.attentions), return_dict)


class TFNextSentencePredictionModel(TFTaskModel):
    """Next sentence prediction on the pooled output; label 0 = sentence B continues A, 1 = B is random. Loss per
    example."""

    uses_pooler = True
    label_names = ("next_sentence_label",)

    def __init__(self, config, *inputs: Any, **kwargs: Any):
        super().__init__(config, *inputs, **kwargs)
        self._build_base(config)
        self.nsp = NSPHead(config.hidden_size, config.initializer_range, self.nsp_head_name)

    @unpack_inputs
    def call(
        self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
        inputs_embeds=None, output_attentions=None, output_hidden_states=None, return_dict=None,
        next_sentence_label=None, training=False,
    ):
        out = self._run_base(locals(), training)
        logits = self.nsp(out.pooler_output)  # (B, 2)
        loss = None if next_sentence_label is None else next_sentence_loss(next_sentence_label, logits)
        return self._finish(TFNextSentencePredictorOutput(loss, logits, out.hidden_states, out.attentions), return_dict)
