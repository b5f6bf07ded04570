"""TFMobileBert* against transformers 4.57.6's TF classes and our PyTorch classes; TFLite in the interpreter."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from tf_parity import assert_close, check_parity, inputs, mobilebert_config, reference_checkpoint

import mintformers

MOBILEBERT_CLASSES = [
    "MobileBertModel", "MobileBertForPreTraining", "MobileBertForMaskedLM", "MobileBertForNextSentencePrediction",
    "MobileBertForSequenceClassification", "MobileBertForMultipleChoice", "MobileBertForTokenClassification",
    "MobileBertForQuestionAnswering",
]


@pytest.mark.parametrize("class_name", MOBILEBERT_CLASSES)
def test_parity_with_reference(ref, class_name, tmp_path):
    choices = 2 if class_name.endswith("MultipleChoice") else None
    check_parity(ref, mintformers, class_name, mobilebert_config(ref), tmp_path, atol=1e-4, choices=choices)


def test_variants_match_our_pytorch(ref, tmp_path):
    """Bottleneck attention, LayerNorm instead of NoNorm, no trigram input, no classifier activation."""
    import torch

    config = mobilebert_config(
        ref, use_bottleneck_attention=True, normalization_type="layer_norm", trigram_input=False, embedding_size=32,
        classifier_activation=False,
    )
    reference_checkpoint(ref, "MobileBertModel", config, tmp_path)
    batch = inputs()
    tf_out = mintformers.TFMobileBertModel.from_pretrained(tmp_path)(batch)
    with torch.no_grad():
        pt = mintformers.MobileBertModel.from_pretrained(tmp_path).eval()(**{k: torch.from_numpy(v).long() for k, v in batch.items()})
    assert_close(pt.last_hidden_state, tf_out.last_hidden_state, batch["attention_mask"], 1e-4, "hidden")
    assert_close(pt.pooler_output, tf_out.pooler_output, None, 1e-4, "pooled")


@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated")
def test_tflite_runs_within_1e4_of_keras(ref, tmp_path):
    """MobileBERT's reason to exist: the serving function converts to TFLite builtins and the interpreter agrees."""
    # one layer (with its stack of feed-forward blocks): every op kind, half the graph to trace and convert
    config = mobilebert_config(ref, num_hidden_layers=1)
    reference_checkpoint(ref, "MobileBertForSequenceClassification", config, tmp_path)
    model = mintformers.TFMobileBertForSequenceClassification.from_pretrained(tmp_path)
    model.export(tmp_path / "serving")
    interpreter = tf.lite.Interpreter(model_content=tf.lite.TFLiteConverter.from_saved_model(str(tmp_path / "serving")).convert())
    batch = inputs()
    runner = interpreter.get_signature_runner()
    got = runner(**batch)["logits"]
    assert_close(model(batch).logits, got, atol=1e-4, what="TFLite vs Keras")


def test_mixed_precision(ref, tmp_path):
    """Under mixed_float16 MobileBERT computes in float16 (NoNorm has no statistics to tame large activations: the
    attention scores and softmax stay float32) and stays close to float32."""
    reference_checkpoint(ref, "MobileBertForSequenceClassification", mobilebert_config(ref), tmp_path)
    batch = inputs()
    want = mintformers.TFMobileBertForSequenceClassification.from_pretrained(tmp_path)(batch).logits
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        got = mintformers.TFMobileBertForSequenceClassification.from_pretrained(tmp_path)(batch).logits
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert got.dtype == tf.float16
    assert_close(want, np.asarray(got, np.float32), atol=2e-2, what="float16 vs float32")
