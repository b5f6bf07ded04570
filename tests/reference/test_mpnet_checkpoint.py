"""The real all-mpnet-base-v2 checkpoint (sentence-transformers layout, base-model weights only).

Sentence embeddings as sentence-transformers computes them for this model (modules.json: Transformer → mean
pooling → Normalize) must equal the reference's, and its documented sanity value must hold.
"""

from __future__ import annotations

import logging

import pytest
import torch

import mintformers as mf

from parity import assert_close

transformers = pytest.importorskip("transformers")

SENTENCES = ["A man is eating food.", "A man is eating a piece of bread.", "The new movie is awesome, isn't it?"]
# REFERENCE.md ("Reference sanity values"): cosine of the first two sentences with all-mpnet-base-v2 is 0.6601
# (reference MPNet and sentence-transformers agree exactly).
EXPECTED_COSINE = 0.6601


def sentence_embeddings(model, batch) -> torch.Tensor:
    """Attention-mask weighted mean of the last hidden states, L2-normalised: (B, H)."""
    with torch.no_grad():
        hidden = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    mask = batch["attention_mask"][..., None].to(hidden.dtype)
    mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(mean, dim=-1)


@pytest.fixture(scope="module")
def batch(mpnet_dir):
    # the reference's tokenizer produces the ids, so this test does not depend on ours
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(mpnet_dir))
    return tokenizer(SENTENCES, padding=True, return_tensors="pt")


@pytest.fixture(scope="module")
def reference_embeddings(mpnet_dir, batch):
    return sentence_embeddings(transformers.MPNetModel.from_pretrained(str(mpnet_dir)).eval(), batch)


@pytest.mark.parametrize("impl", ["sdpa", "eager"])
def test_sentence_embeddings_match_reference(mpnet_dir, batch, reference_embeddings, impl, caplog):
    with caplog.at_level(logging.WARNING, logger="mintformers"):
        model, info = mf.AutoModel.from_pretrained(mpnet_dir, attn_implementation=impl, output_loading_info=True)
    assert type(model) is mf.MPNetModel
    # every weight used; the stray embeddings.position_ids buffer is ignored without a word
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

    ours = sentence_embeddings(model, batch)
    assert_close(reference_embeddings, ours, what=impl)
    cosine = float(ours[0] @ ours[1])
    assert cosine == pytest.approx(EXPECTED_COSINE, abs=1e-4)


def test_masked_lm_loads_base_weights_and_warns_about_the_head(mpnet_dir, batch, reference_embeddings, caplog):
    # config.json names MPNetForMaskedLM, but the file holds the base model (plus pooler) only
    with caplog.at_level(logging.WARNING, logger="mintformers"):
        model, info = mf.AutoModelForMaskedLM.from_pretrained(mpnet_dir, output_loading_info=True)
    assert type(model) is mf.MPNetForMaskedLM
    assert {k.split(".")[1] for k in info["missing_keys"]} == {"bias", "decoder", "dense", "layer_norm"}
    assert all(k.startswith("lm_head.") for k in info["missing_keys"])
    assert info["unexpected_keys"] == ["pooler.dense.bias", "pooler.dense.weight"]  # MaskedLM has no pooler
    assert any("lm_head" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    # the encoder under the new head is the checkpoint's
    assert_close(reference_embeddings, sentence_embeddings(model.mpnet, batch))
