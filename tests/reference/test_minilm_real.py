"""The real all-MiniLM-L6-v2 checkpoint (BERT): our embeddings equal the reference's."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from mintformers import AutoModel, BertModel

from parity import assert_close

transformers = pytest.importorskip("transformers")

SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The new movie is awesome, I loved every minute of it!",
    "Ünïcödé, 中文 and emoji 🙂 go through too.",
]


def mean_pool(hidden, mask):
    mask = mask[..., None].to(hidden.dtype)
    return F.normalize((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9), dim=-1)


@pytest.fixture(scope="module")
def encoded(minilm_dir):
    tok = transformers.AutoTokenizer.from_pretrained(minilm_dir)
    return tok(SENTENCES, padding=True, return_tensors="pt")


def test_loads_cleanly(minilm_dir):
    model, info = BertModel.from_pretrained(minilm_dir, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []  # the stray position_ids buffer is ignored
    assert type(AutoModel.from_pretrained(minilm_dir)) is BertModel


@pytest.mark.parametrize("impl", ["eager", "sdpa"])
def test_embeddings_equal_reference(minilm_dir, encoded, impl):
    ref = transformers.BertModel.from_pretrained(minilm_dir).eval()
    ours = BertModel.from_pretrained(minilm_dir, attn_implementation=impl)
    with torch.no_grad():
        a = ref(**encoded).last_hidden_state
        b = ours(**encoded).last_hidden_state
    assert_close(a, b, encoded["attention_mask"], what="last hidden state")
    ea, eb = mean_pool(a, encoded["attention_mask"]), mean_pool(b, encoded["attention_mask"])
    assert_close(ea, eb, what="sentence embeddings")
    # REFERENCE.md sanity value: the reference's cosine for the first pair is 0.7553
    assert float(eb[0] @ eb[1]) == pytest.approx(0.7553, abs=5e-5)
