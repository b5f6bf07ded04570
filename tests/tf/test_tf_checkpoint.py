"""Checkpoints across frameworks: tf_model.h5 both ways with the reference, PyTorch files both ways, SavedModel."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf
import torch
from tf_parity import assert_close, bert_config, inputs, mobilebert_config, reference_checkpoint

import mintformers
from mintformers.tf.checkpoint import TF_WEIGHTS_NAME, torch_key


def test_torch_key_rule():
    assert torch_key("bert/encoder/layer_._3/attention/self/query/kernel:0") == (
        "bert.encoder.layer.3.attention.self.query.weight", True)
    assert torch_key("mlm___cls/predictions/transform/LayerNorm/gamma") == ("cls.predictions.transform.LayerNorm.weight", False)
    assert torch_key("mobilebert/encoder/layer_._0/ffn.1/output/LayerNorm/weight") == (
        "mobilebert.encoder.layer.0.ffn.1.output.LayerNorm.weight", False)
    assert torch_key("bert/embeddings/position_embeddings/embeddings") == ("bert.embeddings.position_embeddings.weight", False)


def _drop_pytorch_files(directory):
    for path in directory.iterdir():
        if path.suffix in (".safetensors", ".bin"):
            path.unlink()


@pytest.mark.parametrize(("class_name", "make_config", "atol"), [
    ("BertForPreTraining", bert_config, 1e-5), ("MobileBertForMaskedLM", mobilebert_config, 1e-4),
])
def test_h5_both_ways_with_the_reference(ref, tmp_path, class_name, make_config, atol):
    config = make_config(ref)
    reference_checkpoint(ref, class_name, config, tmp_path / "pt")
    reference = getattr(ref, "TF" + class_name).from_pretrained(tmp_path / "pt", from_pt=True)
    batch = inputs()
    want = reference(batch).to_tuple()[0]

    # the reference writes tf_model.h5; ours reads it (no PyTorch file left to fall back on)
    reference.save_pretrained(tmp_path / "from_ref")
    _drop_pytorch_files(tmp_path / "from_ref")
    assert (tmp_path / "from_ref" / TF_WEIGHTS_NAME).is_file()
    ours = getattr(mintformers, "TF" + class_name).from_pretrained(tmp_path / "from_ref")
    assert_close(want, ours(batch).to_tuple()[0], batch["attention_mask"], atol, "reference h5 → ours")

    # ours writes tf_model.h5; the reference reads it
    ours.save_pretrained(tmp_path / "from_ours", save_h5=True)
    _drop_pytorch_files(tmp_path / "from_ours")
    back = getattr(ref, "TF" + class_name).from_pretrained(tmp_path / "from_ours")
    assert_close(want, back(batch).to_tuple()[0], batch["attention_mask"], atol, "our h5 → reference")


def test_saved_pytorch_files_load_in_pytorch_and_transformers(ref, tmp_path):
    """save_pretrained writes PyTorch key names (sharded here), tied weights once: the PyTorch classes load it."""
    reference_checkpoint(ref, "BertForMaskedLM", bert_config(ref), tmp_path / "pt")
    model = mintformers.TFBertForMaskedLM.from_pretrained(tmp_path / "pt")
    model.save_pretrained(tmp_path / "saved", max_shard_size="20KB")
    assert (tmp_path / "saved" / "model.safetensors.index.json").is_file()
    batch = inputs()
    want = np.asarray(model(batch).logits)
    pt_batch = {k: torch.from_numpy(v).long() for k, v in batch.items()}
    for loaded in (mintformers.BertForMaskedLM.from_pretrained(tmp_path / "saved"),
                   ref.BertForMaskedLM.from_pretrained(tmp_path / "saved")):
        with torch.no_grad():
            assert_close(loaded.eval()(**pt_batch).logits, want, batch["attention_mask"], 1e-5, type(loaded).__module__)
    index = json.loads((tmp_path / "saved" / "model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) > 1 and "cls.predictions.decoder.weight" not in index["weight_map"]
    sharded = mintformers.TFBertForMaskedLM.from_pretrained(tmp_path / "saved")  # the shards read back
    assert_close(want, sharded(batch).logits, None, 1e-6, "sharded")
    # a pytorch_model.bin (read weights-only) and the reference's TF-named safetensors load too
    ref.BertForMaskedLM.from_pretrained(tmp_path / "saved").save_pretrained(tmp_path / "bin", safe_serialization=False)
    assert_close(want, mintformers.TFBertForMaskedLM.from_pretrained(tmp_path / "bin")(batch).logits, None, 1e-5, "bin")
    ref.TFBertForMaskedLM.from_pretrained(tmp_path / "pt", from_pt=True).save_pretrained(tmp_path / "tfst", safe_serialization=True)
    assert_close(want, mintformers.TFBertForMaskedLM.from_pretrained(tmp_path / "tfst")(batch).logits, None, 1e-5, "TF safetensors")


def test_a_failed_save_leaves_the_old_checkpoint(ref, tmp_path, monkeypatch):
    """save_pretrained writes every file (safetensors, tf_model.h5, the SavedModel) into one staged folder save
    (storage.save_folder): a save that fails half-way leaves the old checkpoint, byte for byte, and nothing else."""
    reference_checkpoint(ref, "BertForTokenClassification", bert_config(ref), tmp_path / "pt")
    model = mintformers.TFBertForTokenClassification.from_pretrained(tmp_path / "pt")
    out = tmp_path / "out"
    model.save_pretrained(out, save_h5=True)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert {"config.json", "model.safetensors", TF_WEIGHTS_NAME} <= set(before)

    def export_fails_half_way(self, filepath, **kwargs):
        filepath.mkdir(parents=True)
        (filepath / "saved_model.pb").write_bytes(b"half a graph")
        raise OSError("No space left on device")

    model.get_input_embeddings().weight.assign_add(tf.ones_like(model.get_input_embeddings().weight))
    monkeypatch.setattr(type(model), "export", export_fails_half_way)
    with pytest.raises(OSError, match="No space left"):
        model.save_pretrained(out, save_h5=True, saved_model=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_saved_model_reloads_identical(ref, tmp_path):
    # one layer: each SavedModel write traces the serving function through the model
    reference_checkpoint(ref, "BertForTokenClassification", bert_config(ref, num_hidden_layers=1), tmp_path / "pt")
    model = mintformers.TFBertForTokenClassification.from_pretrained(tmp_path / "pt")
    model.save_pretrained(tmp_path / "out", saved_model=True)
    batch = inputs()
    want = np.asarray(model(batch).logits)
    for directory in (tmp_path / "out" / "saved_model" / "1",):
        served = tf.saved_model.load(str(directory)).signatures["serving_default"]
        np.testing.assert_allclose(served(**{k: tf.constant(v) for k, v in batch.items()})["logits"], want, atol=1e-6)
    plain = tmp_path / "plain"
    tf.saved_model.save(model, str(plain))  # the default signature is the serving one
    served = tf.saved_model.load(str(plain)).signatures["serving_default"]
    np.testing.assert_allclose(served(**{k: tf.constant(v) for k, v in batch.items()})["logits"], want, atol=1e-6)


def test_minilm_sentence_embeddings_match_pytorch(minilm_dir):
    """The real all-MiniLM-L6-v2: mean-pooled, normalised sentence embeddings through TFBertModel and BertModel."""
    tokenizer = mintformers.BertTokenizerFast.from_pretrained(minilm_dir)
    sentences = ["A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby.",
                 "Un homme mange.", "短い文"]
    batch = tokenizer(sentences, padding=True, return_tensors="np")

    def embed(hidden, mask):
        summed = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return summed / np.linalg.norm(summed, axis=-1, keepdims=True)

    mask = batch["attention_mask"].astype(np.float32)
    tf_hidden = mintformers.TFBertModel.from_pretrained(minilm_dir)(dict(batch)).last_hidden_state
    with torch.no_grad():
        pt_hidden = mintformers.BertModel.from_pretrained(minilm_dir)(**{k: torch.from_numpy(v) for k, v in batch.items()}).last_hidden_state
    tf_emb, pt_emb = embed(np.asarray(tf_hidden), mask), embed(pt_hidden.numpy(), mask)
    assert_close(pt_emb, tf_emb, atol=1e-5, what="MiniLM sentence embeddings")
    assert float(tf_emb[0] @ tf_emb[1]) == pytest.approx(0.7553, abs=1e-4)  # REFERENCE.md's sanity value
