"""The TensorFlow model base: input forms and checks, Keras training, mixed precision, checkpoints, export."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
import torch
from tf_parity import assert_close, bert_config, inputs, reference_checkpoint

import mintformers
from mintformers import CheckpointError


@pytest.fixture(scope="module")
def bert_dir(ref, tmp_path_factory):
    """A perturbed one-layer BertForSequenceClassification checkpoint (the reference's PyTorch class wrote it); one
    layer, as Keras traces every fit/evaluate/predict function through the whole model."""
    directory = tmp_path_factory.mktemp("bert-cls")
    reference_checkpoint(ref, "BertForSequenceClassification", bert_config(ref, num_hidden_layers=1), directory)
    return directory


@pytest.fixture(scope="module")
def model(bert_dir):
    return mintformers.TFBertForSequenceClassification.from_pretrained(bert_dir)


def test_the_three_input_forms_numpy_or_tensors(model):
    batch = inputs()
    ids, mask, types = batch["input_ids"], batch["attention_mask"], batch["token_type_ids"]
    want = np.asarray(model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits)
    for got in (
        model(ids, attention_mask=mask, token_type_ids=types),  # one tensor + keywords
        model([ids, mask, types]),  # a list in the documented order
        model((tf.constant(ids), tf.constant(mask), tf.constant(types))),
        model({"input_ids": tf.constant(ids), "attention_mask": mask, "token_type_ids": types}),
    ):
        np.testing.assert_allclose(got.logits, want, atol=1e-6)
    only_ids = np.asarray(model(ids).logits)
    np.testing.assert_allclose(model(tf.constant(ids)).logits, only_ids, atol=1e-6)
    with pytest.raises(ValueError, match="unknown inputs"):
        model({"input_ids": ids, "attention_masks": mask})


def test_outputs_by_attribute_key_and_index(model):
    """TF outputs read like the PyTorch ones (output_base): attribute, key and index, None fields skipped; they
    cross tf.function whole; return_dict=False gives their tuple."""
    batch = inputs()
    labels = np.array([0, 2, 1], np.int32)
    out = model({**batch, "labels": labels}, output_hidden_states=True)
    assert list(out.keys()) == ["loss", "logits", "hidden_states"]  # attentions were not asked for
    assert out[0] is out["loss"] is out.loss and out[1] is out["logits"] is out.logits
    assert out[2] is out.hidden_states and len(out.hidden_states) == 2 and out[-1] is out.hidden_states
    assert tuple(out.loss.shape) == (3,)  # per example, as the reference's TF sequence classifier
    assert len(out.to_tuple()) == 3 and out.to_tuple()[1] is out.logits
    assert "logits" in out and "attentions" not in out
    no_labels = model(batch)
    assert no_labels[0] is no_labels.logits and no_labels.loss is None
    graph = tf.function(lambda x: model(x, output_attentions=True))
    traced = graph({k: tf.constant(v) for k, v in batch.items()})
    assert type(traced) is type(out) and list(traced.keys()) == ["logits", "attentions"]
    np.testing.assert_allclose(traced.logits, no_labels.logits, atol=1e-6)
    logits, hidden = model(batch, output_hidden_states=True, return_dict=False)
    np.testing.assert_array_equal(logits, no_labels.logits)
    assert len(hidden) == 2  # embeddings + one layer


def test_dropout_follows_training(ref, tmp_path):
    reference_checkpoint(ref, "BertModel", bert_config(ref, hidden_dropout_prob=0.5), tmp_path)
    base = mintformers.TFBertModel.from_pretrained(tmp_path)
    ids = inputs()["input_ids"]
    np.testing.assert_array_equal(base(ids).last_hidden_state, base(ids, training=False).last_hidden_state)
    assert not np.allclose(base(ids, training=True).last_hidden_state, base(ids).last_hidden_state)


def test_bad_inputs_get_the_pytorch_messages(model, bert_dir):
    """Same messages as the PyTorch classes (mintformers.validation); id ranges are read only when eager."""
    pt = mintformers.BertForSequenceClassification.from_pretrained(bert_dir)
    cases = [
        {"input_ids": np.array([[1, 2, 120]])},  # id out of range
        {"input_ids": np.ones((1, 80), np.int32)},  # longer than max_position_embeddings=64
        {"input_ids": np.ones((2, 5), np.int32), "attention_mask": np.ones((2, 4), np.int32)},  # mask shape
        {"input_ids": np.array([1, 2, 3])},  # no batch dimension
        {"input_ids": np.ones((1, 3), np.int32), "token_type_ids": np.array([[0, 1, 2]])},  # segment 2 of 2
    ]
    for case in cases:
        with pytest.raises(ValueError) as pt_error:
            pt(**{k: torch.from_numpy(v).long() for k, v in case.items()})
        with pytest.raises(ValueError) as tf_error:
            model(**case)
        assert str(pt_error.value) in str(tf_error.value), case
    with pytest.raises(TypeError, match="integer token ids"):
        model(np.ones((1, 3), np.float32))
    with pytest.raises(ValueError, match="either input_ids or inputs_embeds"):
        model(attention_mask=np.ones((1, 3), np.int32))
    # while tracing, values are unknown: the graph runs without reading them
    graph = tf.function(lambda ids: model(ids).logits, input_signature=[tf.TensorSpec((None, None), tf.int32)])
    assert graph(np.array([[1, 2, 3]], np.int32)).shape == (1, 3)


def _task_data(n: int = 16, seq: int = 7):
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 99, (n, seq)).astype(np.int32)
    labels = (ids[:, 1] > 50).astype(np.int32)  # learnable from the tokens
    return {"input_ids": ids, "attention_mask": np.ones_like(ids)}, labels


def test_compile_without_loss_trains_on_the_models_own_loss(bert_dir):
    model = mintformers.TFBertForSequenceClassification.from_pretrained(bert_dir)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), metrics=["accuracy"])
    x, y = _task_data()
    history = model.fit({**x, "labels": y}, batch_size=8, epochs=4, verbose=0)  # labels in the dict
    losses = history.history["loss"]
    assert losses[-1] < losses[0]
    assert "accuracy" in history.history  # compiled metrics see the labels from the inputs and the logits
    # a tf.data dataset of the same dicts (the same traced step); evaluate with the labels as y (moved into the
    # inputs), on a dataset of (x, y) pairs; predict on arrays and on a dataset
    dataset = tf.data.Dataset.from_tensor_slices({**x, "labels": y}).batch(8)
    assert model.fit(dataset, epochs=1, verbose=0).history["loss"][0] < losses[0]
    loss, accuracy = model.evaluate(tf.data.Dataset.from_tensor_slices((x, y)).batch(8), verbose=0)
    assert loss == pytest.approx(float(np.mean(model({**x, "labels": y}).loss)), abs=1e-5) and 0 <= accuracy <= 1
    predicted = model.predict(x, batch_size=8, verbose=0)
    assert predicted.logits.shape == (16, 3)
    np.testing.assert_allclose(predicted.logits, model(x).logits, atol=1e-5)
    from_dataset = model.predict(tf.data.Dataset.from_tensor_slices(x).batch(8), verbose=0)
    np.testing.assert_allclose(from_dataset.logits, predicted.logits, atol=1e-5)
    with pytest.raises(ValueError, match="needs the labels"):
        model.fit(x, batch_size=8, epochs=1, verbose=0)


def test_compiled_keras_loss_is_used_when_given(bert_dir):
    """With a loss in compile(), Keras' usual path: y against the model's output."""
    model = mintformers.TFBertForSequenceClassification.from_pretrained(bert_dir)
    cross_entropy = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss=cross_entropy)  # it sees the logits
    x, y = _task_data()
    got = model.evaluate(x, y, batch_size=16, verbose=0)
    assert got == pytest.approx(float(np.mean(model({**x, "labels": y}).loss)), abs=1e-5)


def test_mixed_precision(bert_dir):
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = mintformers.TFBertForSequenceClassification.from_pretrained(bert_dir)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        x, y = _task_data()
        out = model(x)
        assert out.logits.dtype == tf.float16
        assert model.get_input_embeddings().weight.dtype == "float32"
        history = model.fit({**x, "labels": y}, batch_size=8, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])
    finally:
        keras.mixed_precision.set_global_policy("float32")
    full = mintformers.TFBertForSequenceClassification.from_pretrained(bert_dir)(x).logits
    assert_close(full, np.asarray(out.logits, np.float32), atol=2e-2, what="float16 vs float32")


def test_loading_report_matches_pytorch(ref, tmp_path, caplog):
    """A pre-training checkpoint into a classifier: the same missing and unexpected keys as the PyTorch class."""
    reference_checkpoint(ref, "BertForPreTraining", bert_config(ref), tmp_path)
    _, tf_info = mintformers.TFBertForSequenceClassification.from_pretrained(tmp_path, output_loading_info=True)
    _, pt_info = mintformers.BertForSequenceClassification.from_pretrained(tmp_path, output_loading_info=True)
    assert sorted(tf_info["missing_keys"]) == sorted(pt_info["missing_keys"]) == ["classifier.bias", "classifier.weight"]
    assert sorted(tf_info["unexpected_keys"]) == sorted(pt_info["unexpected_keys"])
    assert any("newly initialised" in r.message and "classifier.weight" in r.message for r in caplog.records)


def test_checkpoint_errors(bert_dir, tmp_path):
    with pytest.raises(CheckpointError, match="Shape mismatch"):
        mintformers.TFBertForSequenceClassification.from_pretrained(bert_dir, num_labels=5)
    model, info = mintformers.TFBertForSequenceClassification.from_pretrained(
        bert_dir, num_labels=5, ignore_mismatched_sizes=True, output_loading_info=True
    )
    assert sorted(k for k, _, _ in info["mismatched_keys"]) == ["classifier.bias", "classifier.weight"]
    mintformers.BertConfig(vocab_size=99).save_pretrained(tmp_path)
    with pytest.raises(CheckpointError, match="tf_model.h5"):
        mintformers.TFBertModel.from_pretrained(tmp_path)
