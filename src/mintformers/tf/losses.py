"""One loss helper per task, in the shapes the reference's TensorFlow classes return.

The TF reference reduces some losses to shape (1,) — masked/causal LM, token classification, pre-training — and
leaves the others per example — (batch,) for sequence classification, multiple choice, question answering and next
sentence prediction. Labels of -100 (negative, for tokens) are ignored. Computed in float32 whatever the compute dtype.
"""

from __future__ import annotations

from ._backend import tf

__all__ = [
    "masked_lm_loss",
    "causal_lm_loss",
    "token_classification_loss",
    "next_sentence_loss",
    "pretraining_loss",
    "sequence_classification_loss",
    "multiple_choice_loss",
    "question_answering_loss",
]


def _cross_entropy(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """Per-position cross-entropy; negative labels (ignored ones) are clipped to 0 here and masked by callers."""
    labels = tf.reshape(tf.nn.relu(tf.cast(labels, tf.int32)), tf.shape(logits)[:-1])  # (B,) or (B, 1) alike
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=tf.cast(logits, tf.float32))


def _mean_over_kept(labels: tf.Tensor, logits: tf.Tensor, keep: tf.Tensor) -> tf.Tensor:
    """Mean cross-entropy over the positions where `keep` is true, as shape (1,)."""
    keep = tf.cast(keep, tf.float32)
    total = tf.reduce_sum(_cross_entropy(labels, logits) * keep)
    return tf.reshape(total / tf.reduce_sum(keep), (1,))


def masked_lm_loss(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """logits (B, T, V), labels (B, T) with -100 for positions to ignore → (1,)."""
    return _mean_over_kept(labels, logits, tf.not_equal(labels, -100))


def causal_lm_loss(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """Next-token loss: position t predicts labels[t+1] (the shift happens here) → (1,)."""
    return masked_lm_loss(labels[:, 1:], logits[:, :-1])


def token_classification_loss(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """logits (B, T, C), labels (B, T); negative labels (-100, or the legacy -1) are ignored → (1,)."""
    return _mean_over_kept(labels, logits, labels >= 0)


def next_sentence_loss(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """logits (B, 2), labels (B,) → (B,), zero where the label is -100."""
    return _cross_entropy(labels, logits) * tf.cast(tf.not_equal(labels, -100), tf.float32)


def pretraining_loss(labels: tf.Tensor, next_sentence_label: tf.Tensor, prediction_logits, nsp_logits) -> tf.Tensor:
    """Masked LM loss + the mean next-sentence loss over labelled pairs → (1,)."""
    nsp = _mean_over_kept(next_sentence_label, nsp_logits, tf.not_equal(next_sentence_label, -100))
    return masked_lm_loss(labels, prediction_logits) + nsp


def sequence_classification_loss(labels: tf.Tensor, logits: tf.Tensor, config) -> tf.Tensor:
    """logits (B, num_labels) → (B,): one label → regression (squared error); otherwise cross-entropy over integer
    labels. config.problem_type="multi_label_classification" (which the reference's TF classes lack) gives binary
    cross-entropy on float 0/1 targets, averaged over the labels."""
    logits = tf.cast(logits, tf.float32)
    if logits.shape[-1] == 1 or config.problem_type == "regression":
        labels = tf.reshape(tf.cast(labels, tf.float32), tf.shape(logits))
        return tf.reduce_mean(tf.square(logits - labels), axis=-1)
    if config.problem_type == "multi_label_classification":
        labels = tf.cast(labels, tf.float32)
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits), axis=-1)
    return _cross_entropy(labels, logits)


def multiple_choice_loss(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """logits (B, num_choices), labels (B,) → (B,)."""
    return _cross_entropy(labels, logits)


def question_answering_loss(start_positions, end_positions, start_logits, end_logits) -> tf.Tensor:
    """Mean of the start and end cross-entropies per example → (B,). Positions outside the sequence are ignored
    (their term is 0), as the PyTorch models ignore them; the reference's TF classes cannot take them."""
    seq_len = tf.shape(start_logits)[1]
    terms = []
    for positions, logits in ((start_positions, start_logits), (end_positions, end_logits)):
        positions = tf.reshape(tf.cast(positions, tf.int32), (-1,))
        inside = tf.logical_and(positions >= 0, positions < seq_len)
        terms.append(_cross_entropy(tf.where(inside, positions, 0), logits) * tf.cast(inside, tf.float32))
    return (terms[0] + terms[1]) / 2.0
