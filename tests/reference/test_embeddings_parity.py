"""Sentence embeddings equal the reference's: transformers + manual mean pooling (as the model cards show) and
sentence-transformers' `encode` (in the test extra), on the real all-MiniLM-L6-v2 and
all-mpnet-base-v2 and on tiny sentence-transformers folders covering every pooling mode, both pooling-config
schemas, Dense + Normalize, prompts and lower-casing. Also similarity, semantic search and quantization.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mintformers.embeddings import (
    SentenceEncoder,
    cos_sim,
    dot_score,
    euclidean_sim,
    manhattan_sim,
    pairwise_cos_sim,
    pairwise_dot_score,
    pairwise_euclidean_sim,
    pairwise_manhattan_sim,
    quantize_embeddings,
    semantic_search,
)
from test_embeddings import make_st_folder, make_tiny_checkpoint

transformers = pytest.importorskip("transformers")

ATOL = 1e-5
SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The new movie is awesome, I loved every minute of it!",
    "Ünïcödé, 中文 and emoji 🙂 go through too.",
    " ".join(["A very long text that goes on and on."] * 40),  # ~440 tokens, beyond max_seq_length: truncated
]


def sentence_transformers_or_skip():
    try:
        import sentence_transformers
    except ImportError:
        pytest.skip("sentence-transformers is not installed (the oracle here: pip install -e '.[test]')")
    return sentence_transformers


def reference_embeddings(path, texts, max_length):
    """The model cards' recipe: tokenizer + model + attention-masked mean pooling + L2 normalisation."""
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    model = transformers.AutoModel.from_pretrained(path).eval()
    enc = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**enc).last_hidden_state
    mask = enc["attention_mask"][..., None].float()
    return F.normalize((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9), dim=-1).numpy()


@pytest.mark.parametrize("checkpoint, sanity", [("minilm_dir", 0.7553), ("mpnet_dir", 0.6601)])
def test_real_checkpoints_equal_the_reference(request, checkpoint, sanity):
    path = request.getfixturevalue(checkpoint)
    encoder = SentenceEncoder.from_pretrained(path, device="cpu")
    ours = encoder.encode(SENTENCES, batch_size=4)
    np.testing.assert_allclose(ours, reference_embeddings(path, SENTENCES, encoder.max_seq_length), atol=ATOL)
    assert float(ours[0] @ ours[1]) == pytest.approx(sanity, abs=5e-5)  # REFERENCE.md's sanity cosines
    np.testing.assert_allclose(np.stack([encoder.encode(t) for t in SENTENCES]), ours, atol=ATOL)  # alone = batched
    st = sentence_transformers_or_skip().SentenceTransformer(str(path), device="cpu")
    np.testing.assert_allclose(ours, st.encode(SENTENCES, batch_size=4), atol=ATOL)
    tokens, st_tokens = encoder.encode(SENTENCES[:3], output_value="token_embeddings"), st.encode(SENTENCES[:3], output_value="token_embeddings")
    for a, b in zip(tokens, st_tokens):
        torch.testing.assert_close(a, b, atol=ATOL, rtol=0)


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory):
    return make_tiny_checkpoint(tmp_path_factory.mktemp("parity") / "bert")


@pytest.mark.parametrize(
    "pooling",
    [
        {"pooling_mode_mean_tokens": True},
        {"pooling_mode_cls_token": True, "pooling_mode_max_tokens": True},
        {"pooling_mode_mean_sqrt_len_tokens": True},
        {"pooling_mode_weightedmean_tokens": True},
        {"pooling_mode_lasttoken": True},
        {"pooling_mode": "max"},
        {"pooling_mode": ["mean", "cls"]},
    ],
    ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()),
)
def test_pooling_dense_normalize_equal_sentence_transformers(tmp_path, tiny_base, pooling):
    st_lib = sentence_transformers_or_skip()
    folder = make_st_folder(
        tmp_path / "st", tiny_base, pooling={"word_embedding_dimension": 32, **pooling},
        dense=[{"out": 16, "activation": "torch.nn.modules.activation.Tanh"}, {"out": 8, "format": "bin"}],
    )
    texts = [t for t in SENTENCES if len(t) < 200] + ["the cat sleeps", "a b c d e f g h i j k l m n o p q r s t"]
    ours = SentenceEncoder.from_pretrained(folder, device="cpu").encode(texts, batch_size=3)
    theirs = st_lib.SentenceTransformer(str(folder), device="cpu").encode(texts, batch_size=3)
    np.testing.assert_allclose(ours, theirs, atol=ATOL)


def test_prompts_and_lower_casing_equal_sentence_transformers(tmp_path, tiny_base):
    st_lib = sentence_transformers_or_skip()
    prompts = {"query": "represent this sentence for searching relevant passages: "}
    folder = make_st_folder(
        tmp_path / "st", tiny_base, pooling={"word_embedding_dimension": 32, "pooling_mode": "mean", "include_prompt": False},
        st_config={"max_seq_length": 20, "do_lower_case": True},
        extra_config={"prompts": prompts, "default_prompt_name": None, "similarity_fn_name": "cosine"},
    )
    ours_model = SentenceEncoder.from_pretrained(folder, device="cpu")
    theirs_model = st_lib.SentenceTransformer(str(folder), device="cpu")
    texts = ["A MAN is eating FOOD", "the girl plays the violin", " ".join(["house"] * 40)]
    np.testing.assert_allclose(
        ours_model.encode(texts, prompt_name="query"), theirs_model.encode(texts, prompt_name="query"), atol=ATOL
    )
    np.testing.assert_allclose(ours_model.encode(texts), theirs_model.encode(texts), atol=ATOL)


def test_similarity_search_and_quantization_equal_sentence_transformers():
    st_lib = sentence_transformers_or_skip()
    from sentence_transformers import util
    from sentence_transformers.util import quantize_embeddings as st_quantize

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 12)).astype(np.float32), rng.normal(size=(300, 12)).astype(np.float32)
    for ours, theirs in [(cos_sim, util.cos_sim), (dot_score, util.dot_score), (euclidean_sim, util.euclidean_sim),
                         (manhattan_sim, util.manhattan_sim)]:
        torch.testing.assert_close(ours(a, b), theirs(a, b), atol=1e-5, rtol=1e-5)
    for ours, theirs in [(pairwise_cos_sim, util.pairwise_cos_sim), (pairwise_dot_score, util.pairwise_dot_score),
                         (pairwise_euclidean_sim, util.pairwise_euclidean_sim),
                         (pairwise_manhattan_sim, util.pairwise_manhattan_sim)]:
        torch.testing.assert_close(ours(a, b[:5]), theirs(a, b[:5]), atol=1e-5, rtol=1e-5)
    for kwargs in ({"top_k": 7}, {"top_k": 3, "corpus_chunk_size": 50, "query_chunk_size": 2}):
        ours, theirs = semantic_search(a, b, **kwargs), util.semantic_search(torch.from_numpy(a), torch.from_numpy(b), **kwargs)
        assert [[h["corpus_id"] for h in q] for q in ours] == [[h["corpus_id"] for h in q] for q in theirs]
        np.testing.assert_allclose([[h["score"] for h in q] for q in ours], [[h["score"] for h in q] for q in theirs], atol=1e-6)
    floats = rng.normal(size=(150, 24)).astype(np.float32)
    for precision in ("float32", "int8", "uint8", "binary", "ubinary"):
        np.testing.assert_array_equal(quantize_embeddings(floats, precision), st_quantize(floats, precision))
    calibration = rng.normal(size=(500, 24)).astype(np.float32)
    np.testing.assert_array_equal(
        quantize_embeddings(floats, "int8", calibration_embeddings=calibration),
        st_quantize(floats, "int8", calibration_embeddings=calibration),
    )
    assert st_lib is not None
