"""TFBert* against transformers 4.57.6's TF classes and our PyTorch classes, on tiny perturbed checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from tf_parity import assert_close, bert_config, check_parity, inputs, reference_checkpoint

import mintformers

BERT_CLASSES = [
    "BertModel", "BertForPreTraining", "BertForMaskedLM", "BertForNextSentencePrediction",
    "BertForSequenceClassification", "BertForMultipleChoice", "BertForTokenClassification",
    "BertForQuestionAnswering",
]


@pytest.mark.parametrize("class_name", BERT_CLASSES)
def test_parity_with_reference(ref, class_name, tmp_path):
    choices = 2 if class_name.endswith("MultipleChoice") else None
    check_parity(ref, mintformers, class_name, bert_config(ref), tmp_path, atol=1e-5, choices=choices)


def test_decoder_with_cross_attention_parity(ref, tmp_path):
    """TFBertLMHeadModel as a decoder over encoder states: logits, loss, cross-attentions as the reference."""
    config = bert_config(ref, is_decoder=True, add_cross_attention=True)
    rng = np.random.default_rng(0)
    extra = {
        "encoder_hidden_states": rng.normal(size=(3, 5, 32)).astype(np.float32),
        "encoder_attention_mask": np.array([[1] * 5, [1, 1, 1, 0, 0], [1, 1, 1, 1, 0]], np.int32),
    }
    diffs = check_parity(ref, mintformers, "BertLMHeadModel", config, tmp_path, atol=1e-5, extra=extra)
    assert {"loss", "logits", "cross_attentions"} <= set(diffs)


def _decode_in_steps(model, batch, encoder, steps: int):
    """The logits of the last `steps` positions, computed one token at a time from a cache of the rest."""
    ids, mask = batch["input_ids"], batch["attention_mask"]
    prefix = ids.shape[1] - steps
    out = model(ids[:, :prefix], attention_mask=mask[:, :prefix], **encoder, use_cache=True)
    logits = [out.logits]
    for t in range(prefix, ids.shape[1]):
        out = model(ids[:, t : t + 1], attention_mask=mask[:, : t + 1], past_key_values=out.past_key_values, **encoder, use_cache=True)
        logits.append(out.logits)
    return np.concatenate([np.asarray(x) for x in logits], axis=1)


def test_decoder_cache_steps_equal_the_full_pass(ref, tmp_path):
    config = bert_config(ref, is_decoder=True, add_cross_attention=True)
    reference_checkpoint(ref, "BertLMHeadModel", config, tmp_path)
    model = mintformers.TFBertLMHeadModel.from_pretrained(tmp_path)
    reference = ref.TFBertLMHeadModel.from_pretrained(tmp_path, from_pt=True)
    batch = {k: v for k, v in inputs().items() if k != "token_type_ids"}
    batch["attention_mask"] = np.ones_like(batch["attention_mask"])  # left-to-right decoding: no padding inside
    encoder = {"encoder_hidden_states": np.random.default_rng(1).normal(size=(3, 4, 32)).astype(np.float32)}
    full = np.asarray(model(**batch, **encoder).logits)
    stepped = _decode_in_steps(model, batch, encoder, steps=3)
    assert_close(full, stepped, atol=1e-5, what="cached steps vs full pass")
    assert_close(_decode_in_steps(reference, batch, encoder, steps=3), stepped, atol=1e-5, what="vs reference steps")
    past = model(**batch, **encoder, use_cache=True).past_key_values
    assert len(past) == 2 and len(past[0]) == 4  # (key, value, cross key, cross value) per layer
    assert tuple(past[0][0].shape) == (3, 4, 9, 8) and tuple(past[0][2].shape) == (3, 4, 4, 8)


@pytest.mark.parametrize("position_embedding_type", ["relative_key", "relative_key_query"])
def test_relative_positions_match_our_pytorch(ref, tmp_path, position_embedding_type):
    """The reference's TF BERT has no relative positions: ours are checked against our PyTorch classes, an encoder
    (padded batch) and a decoder whose cached steps equal the full pass."""
    import torch

    config = bert_config(ref, position_embedding_type=position_embedding_type)
    reference_checkpoint(ref, "BertModel", config, tmp_path / "enc")
    batch = inputs()
    tf_out = mintformers.TFBertModel.from_pretrained(tmp_path / "enc")(batch)
    with torch.no_grad():
        pt_out = mintformers.BertModel.from_pretrained(tmp_path / "enc").eval()(**{k: torch.from_numpy(v).long() for k, v in batch.items()})
    assert_close(pt_out.last_hidden_state, tf_out.last_hidden_state, batch["attention_mask"], 1e-5, "encoder")
    assert_close(pt_out.pooler_output, tf_out.pooler_output, None, 1e-5, "pooler")

    config = bert_config(ref, position_embedding_type=position_embedding_type, is_decoder=True)
    reference_checkpoint(ref, "BertLMHeadModel", config, tmp_path / "dec")
    model = mintformers.TFBertLMHeadModel.from_pretrained(tmp_path / "dec")
    ids = batch["input_ids"]
    full = np.asarray(model(ids).logits)
    with torch.no_grad():
        pt = mintformers.BertLMHeadModel.from_pretrained(tmp_path / "dec").eval()(torch.from_numpy(ids).long()).logits
    assert_close(pt, full, atol=1e-5, what="decoder vs PyTorch")
    stepped = _decode_in_steps(model, {"input_ids": ids, "attention_mask": np.ones_like(ids)}, {}, steps=2)
    assert_close(full, stepped, atol=1e-5, what="relative decoder: cached steps vs full pass")


def test_tuple_outputs_and_graph_mode(ref, tmp_path):
    """return_dict=False gives the PyTorch tuple; inside tf.function the model runs on any batch and length."""
    reference_checkpoint(ref, "BertForSequenceClassification", bert_config(ref), tmp_path)
    model = mintformers.TFBertForSequenceClassification.from_pretrained(tmp_path)
    batch = {k: v for k, v in inputs().items() if k != "token_type_ids"}
    eager = model(batch)
    assert len(model(batch, return_dict=False)) == 1
    np.testing.assert_array_equal(model(batch, return_dict=False)[0], eager.logits)
    spec = tf.TensorSpec((None, None), tf.int32)
    graph = tf.function(lambda ids, mask: model(ids, attention_mask=mask).logits, input_signature=[spec, spec])
    assert_close(eager.logits, graph(batch["input_ids"], batch["attention_mask"]), atol=1e-6, what="graph")
    short = {k: v for k, v in inputs(batch=2, seq=5, seed=3).items() if k != "token_type_ids"}
    assert_close(model(short).logits, graph(short["input_ids"], short["attention_mask"]), atol=1e-6, what="graph, other shape")
    assert len(graph._list_all_concrete_functions()) == 1  # one trace serves both shapes
