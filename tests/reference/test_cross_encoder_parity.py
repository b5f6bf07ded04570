"""CrossEncoder side by side with sentence-transformers 5.7.0 (the oracle) on small random cross-encoders of every
encoder family (BERT, MPNet, MobileBERT, ErnieM; checkpoints written by transformers, weights perturbed), and on
all-MiniLM-L6-v2's real weights under a seeded one-label head (the ms-marco MiniLM rerankers' shape): scores within
1e-5 (MobileBERT 1e-4), identical rankings, the same default activations, truncation and saved folders."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from mintformers import CrossEncoder
from pipelines.tiny import write_checkpoint, write_ernie_m_checkpoint

transformers = pytest.importorskip("transformers")
st_lib = pytest.importorskip("sentence_transformers")

QUERY = "who works for micro ##soft in new york ?"
DOCUMENTS = [
    "john smith works for micro ##soft in new york .",
    "mary visited paris , the capital of france .",
    "the sky is blue and the grass is green",
    "hello world",
    "",
    " ".join(["the red movie was a great film about sports"] * 12),  # beyond max_length: truncated longest-first
]
PAIRS = [(QUERY, d) for d in DOCUMENTS] + [("hello", "world"), (" ".join(["good"] * 70), "bad")]


def cross_encoder_folder(directory: Path, family: str = "bert", seed: int = 0, **config) -> Path:
    if family == "ernie_m":
        # ErnieM's tokenizer returns no attention mask, so the reference derives it from pad_token_id: make that the
        # tokenizer's [PAD] (id 0 here, as the config must say in any checkpoint that pads)
        return write_ernie_m_checkpoint(transformers, directory, "ErnieMForSequenceClassification", seed=seed,
                                        pad_token_id=0, **config)
    class_name = {"bert": "BertForSequenceClassification", "mpnet": "MPNetForSequenceClassification",
                  "mobilebert": "MobileBertForSequenceClassification"}[family]
    folder = write_checkpoint(transformers, directory, class_name, family, seed=seed, **config)
    if family == "mobilebert":
        # MobileBERT's trigram input shows the last real token its right neighbour: the pad row within a batch.
        # Trained checkpoints keep that row at zero, which makes a pair's score independent of its batch.
        model = transformers.MobileBertForSequenceClassification.from_pretrained(folder)
        with torch.no_grad():
            model.get_input_embeddings().weight[0].zero_()
        model.save_pretrained(folder)
    return folder


def set_config(folder: Path, **entries) -> Path:
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, **entries}))
    return folder


def assert_same(ours: CrossEncoder, theirs, atol: float = 1e-5, **kwargs) -> None:
    got, expected = ours.predict(PAIRS, batch_size=3, **kwargs), theirs.predict(PAIRS, batch_size=3, **kwargs)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, atol=atol, rtol=0)
    if ours.num_labels == 1:
        ranked, their_ranked = ours.rank(QUERY, DOCUMENTS, return_documents=True), theirs.rank(QUERY, DOCUMENTS, return_documents=True)
        assert [(h["corpus_id"], h["text"]) for h in ranked] == [(h["corpus_id"], h["text"]) for h in their_ranked]
        np.testing.assert_allclose([h["score"] for h in ranked], [h["score"] for h in their_ranked], atol=atol, rtol=0)


def both(folder: Path, **kwargs):
    return CrossEncoder(str(folder), device="cpu", **kwargs), st_lib.CrossEncoder(str(folder), device="cpu", **kwargs)


@pytest.mark.parametrize("family", ["bert", "mpnet", "mobilebert", "ernie_m"])
def test_every_family_scores_as_sentence_transformers(tmp_path, family):
    ours, theirs = both(cross_encoder_folder(tmp_path / family, family, num_labels=1))
    assert isinstance(ours.activation_fn, nn.Sigmoid) and isinstance(theirs.activation_fn, nn.Sigmoid)  # one label
    assert ours.max_length == theirs.max_seq_length
    assert_same(ours, theirs, atol=1e-4 if family == "mobilebert" else 1e-5)


def test_several_labels_softmax_and_output_types(tmp_path):
    ours, theirs = both(cross_encoder_folder(tmp_path / "nli", num_labels=3, seed=1))
    assert ours.num_labels == 3 and isinstance(ours.activation_fn, nn.Identity) and isinstance(theirs.activation_fn, nn.Identity)
    assert_same(ours, theirs)
    assert_same(ours, theirs, apply_softmax=True)
    tensor = ours.predict(PAIRS, convert_to_tensor=True)
    assert isinstance(tensor, torch.Tensor) and tensor.shape == (len(PAIRS), 3)
    torch.testing.assert_close(tensor, theirs.predict(PAIRS, convert_to_tensor=True), atol=1e-5, rtol=0)
    listed, their_listed = ours.predict(PAIRS[:2], convert_to_numpy=False), theirs.predict(PAIRS[:2], convert_to_numpy=False)
    assert isinstance(listed, list) and [t.shape for t in listed] == [t.shape for t in their_listed]
    one, their_one = ours.predict(PAIRS[0]), theirs.predict(PAIRS[0])  # one pair → one row
    np.testing.assert_allclose(one, their_one, atol=1e-5)
    with pytest.raises(ValueError, match="one label"):
        ours.rank(QUERY, DOCUMENTS)


@pytest.mark.parametrize("where, path, expected", [
    ("legacy", "torch.nn.modules.linear.Identity", nn.Identity),  # the ms-marco cross-encoders' config.json
    ("config", "torch.nn.modules.activation.Tanh", nn.Tanh),  # config.json's sentence_transformers entry (ST 4)
    ("config", "os.system", nn.Sigmoid),  # not a torch class: never imported, the default instead
])
def test_the_activation_the_checkpoint_names(tmp_path, caplog, where, path, expected):
    folder = cross_encoder_folder(tmp_path / "ce", num_labels=1, seed=2)
    entry = {"sbert_ce_default_activation_function": path} if where == "legacy" else {"sentence_transformers": {"activation_fn": path}}
    ours, theirs = both(set_config(folder, **entry))
    assert type(ours.activation_fn) is type(theirs.activation_fn) is expected
    if expected is nn.Sigmoid:
        assert "not a torch.nn class" in caplog.text
    assert_same(ours, theirs)


def test_given_activation_and_max_length(tmp_path):
    folder = cross_encoder_folder(tmp_path / "ce", num_labels=1, seed=3)
    ours, theirs = both(folder, activation_fn=nn.Identity(), max_length=12)
    assert ours.max_length == theirs.max_seq_length == 12
    assert_same(ours, theirs)
    assert_same(ours, theirs, activation_fn=nn.Tanh())  # per call
    legacy = CrossEncoder(str(folder), 1, 12, nn.Identity(), "cpu")  # the pre-5.4 positional order
    np.testing.assert_allclose(legacy.predict(PAIRS), ours.predict(PAIRS), atol=1e-6)


def test_saved_folders_load_both_ways(tmp_path):
    ours, _ = both(cross_encoder_folder(tmp_path / "ce", num_labels=1, seed=4), activation_fn=nn.Tanh(), max_length=20)
    ours.save(str(tmp_path / "ours"))
    loaded = st_lib.CrossEncoder(str(tmp_path / "ours"), device="cpu")
    assert isinstance(loaded.activation_fn, nn.Tanh) and loaded.max_seq_length == 20
    assert_same(ours, loaded)
    loaded.activation_fn = nn.Identity()
    loaded.save(str(tmp_path / "theirs"))  # sentence-transformers 5.7's layout: modules.json + its own config
    again = CrossEncoder(str(tmp_path / "theirs"), device="cpu")
    assert isinstance(again.activation_fn, nn.Identity) and again.max_length == 20
    assert_same(again, loaded)


def test_real_minilm_weights_under_a_reranking_head(tmp_path, minilm_dir, caplog):
    from mintformers import AutoTokenizer, BertForSequenceClassification

    with caplog.at_level(logging.ERROR):
        model = BertForSequenceClassification.from_pretrained(minilm_dir, num_labels=1)
    torch.manual_seed(0)
    with torch.no_grad():
        model.classifier.weight.normal_(0, 0.2)
        model.classifier.bias.fill_(0.1)
    model.save_pretrained(tmp_path / "reranker")
    AutoTokenizer.from_pretrained(minilm_dir).save_pretrained(tmp_path / "reranker")
    ours, theirs = both(tmp_path / "reranker")
    assert ours.max_length == theirs.max_seq_length == 512
    assert_same(ours, theirs)
    top, their_top = ours.rank(QUERY, DOCUMENTS, top_k=3), theirs.rank(QUERY, DOCUMENTS, top_k=3)
    assert [h["corpus_id"] for h in top] == [h["corpus_id"] for h in their_top] and len(top) == 3
    assert set(top[0]) == {"corpus_id", "score"}
