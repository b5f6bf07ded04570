"""`mintformers.util` equals `sentence_transformers.util` (5.7.0, the oracle): every similarity function, search,
paraphrase mining, community detection and quantization, on the same random inputs, with the same arguments."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mintformers import util

st_util = pytest.importorskip("sentence_transformers.util")


def random(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


MATRIX_FUNCTIONS = ["cos_sim", "pytorch_cos_sim", "dot_score", "euclidean_sim", "manhattan_sim"]
PAIRWISE_FUNCTIONS = ["pairwise_cos_sim", "pairwise_dot_score", "pairwise_euclidean_sim", "pairwise_manhattan_sim",
                      "pairwise_angle_sim"]


@pytest.mark.parametrize("name, kind", [(n, k) for n in MATRIX_FUNCTIONS for k in ("numpy", "tensor", "vector")]
                         + [(n, k) for n in PAIRWISE_FUNCTIONS for k in ("numpy", "tensor")])
def test_similarity_functions(name, kind):
    pairwise = name.startswith("pairwise")
    a, b = random((5, 11), 1), random((5 if pairwise else 7, 11), 2)  # odd width: pairwise_angle_sim pads
    if kind == "tensor":
        a, b = torch.from_numpy(a), torch.from_numpy(b)
    elif kind == "vector":
        a = a[0]
    ours = getattr(util, name)(a, b)
    if name == "pairwise_angle_sim":  # theirs takes tensors only; ours takes whatever the others take
        a, b = torch.as_tensor(a), torch.as_tensor(b)
    theirs = getattr(st_util, name)(a, b)
    assert isinstance(ours, torch.Tensor) and ours.shape == theirs.shape
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)


def test_normalize_truncate_and_similarity_function_names():
    x = torch.from_numpy(random((4, 6)))
    torch.testing.assert_close(util.normalize_embeddings(x), st_util.normalize_embeddings(x))
    torch.testing.assert_close(util.truncate_embeddings(x, 3), st_util.truncate_embeddings(x, 3))
    assert util.SimilarityFunction.possible_values() == st_util.SimilarityFunction.possible_values()
    for name in ("cosine", "dot", "euclidean", "manhattan"):
        ours, theirs = util.SimilarityFunction.to_similarity_fn(name), st_util.SimilarityFunction.to_similarity_fn(name)
        torch.testing.assert_close(ours(x, x), theirs(x, x))
        ours = util.SimilarityFunction.to_similarity_pairwise_fn(util.SimilarityFunction(name))
        torch.testing.assert_close(ours(x, x), st_util.SimilarityFunction.to_similarity_pairwise_fn(name)(x, x))


@pytest.mark.parametrize("kwargs, score", [
    ({}, "cos_sim"),
    ({"top_k": 3, "query_chunk_size": 2, "corpus_chunk_size": 17}, "cos_sim"),
    ({"top_k": 500}, "cos_sim"),
    ({"top_k": 4}, "dot_score"),
    ({"top_k": 4, "corpus_chunk_size": 50}, "manhattan_sim"),
])
def test_semantic_search(kwargs, score):
    queries, corpus = torch.from_numpy(random((9, 16), 3)), torch.from_numpy(random((120, 16), 4))
    ours = util.semantic_search(queries, corpus, score_function=getattr(util, score), **kwargs)
    theirs = st_util.semantic_search(queries, corpus, score_function=getattr(st_util, score), **kwargs)
    assert [[h["corpus_id"] for h in q] for q in ours] == [[h["corpus_id"] for h in q] for q in theirs]
    np.testing.assert_allclose([[h["score"] for h in q] for q in ours], [[h["score"] for h in q] for q in theirs], atol=1e-5)
    one = util.semantic_search(queries.numpy()[0], corpus.numpy(), top_k=3, score_function=getattr(util, score))
    assert [h["corpus_id"] for h in one[0]] == [h["corpus_id"] for h in ours[0][:3]]  # a vector and numpy work too


@pytest.mark.parametrize("kwargs", [
    {},
    {"top_k": 2},
    {"top_k": 3, "query_chunk_size": 7, "corpus_chunk_size": 11},  # chunks add candidates, as there
    {"max_pairs": 25},  # the cap binds: max_pairs - 1 directed candidates survive, then pairs merge
    {"max_pairs": 25, "top_k": 5, "corpus_chunk_size": 13},
])
def test_paraphrase_mining_embeddings(kwargs):
    emb = random((40, 8), 5)
    emb[7] = emb[3]  # an exact duplicate: a tie at the top
    emb[20] = emb[3]
    ours = util.paraphrase_mining_embeddings(torch.from_numpy(emb), **kwargs)
    theirs = st_util.paraphrase_mining_embeddings(torch.from_numpy(emb), **kwargs)
    assert [p[1:] for p in ours] == [p[1:] for p in theirs]
    np.testing.assert_allclose([p[0] for p in ours], [p[0] for p in theirs], atol=1e-6)


@pytest.mark.parametrize("kwargs", [
    {"threshold": 0.9, "min_community_size": 3},
    {"threshold": 0.8, "min_community_size": 2, "batch_size": 7},
    {"threshold": 0.95, "min_community_size": 1},
    {"threshold": 0.75, "min_community_size": 10},
])
def test_community_detection(kwargs):
    rng = np.random.default_rng(6)
    centres = rng.normal(size=(6, 16))
    # clusters of different sizes and tightness, some noise, and duplicates
    emb = np.concatenate([c + rng.normal(scale=s, size=(k, 16)) for c, k, s in zip(
        centres, (12, 8, 5, 3, 30, 2), (0.1, 0.2, 0.3, 0.05, 0.35, 0.1))] + [rng.normal(size=(20, 16))])
    emb = np.concatenate([emb, emb[:4]]).astype(np.float32)
    ours = util.community_detection(emb, **kwargs)
    assert ours == st_util.community_detection(emb, **kwargs)
    assert ours == util.community_detection(torch.from_numpy(emb), **kwargs)
    assert ours, "the clusters above should be found"


def test_quantize_embeddings():
    floats = random((150, 24), 7)
    for precision in ("float32", "int8", "uint8", "binary", "ubinary"):
        np.testing.assert_array_equal(util.quantize_embeddings(floats, precision), st_util.quantize_embeddings(floats, precision))
        tensor = torch.from_numpy(floats)
        np.testing.assert_array_equal(util.quantize_embeddings(tensor, precision), st_util.quantize_embeddings(tensor, precision))
    ranges = np.array([[-2.0] * 24, [2.0] * 24])
    np.testing.assert_array_equal(
        util.quantize_embeddings(floats, "uint8", ranges=ranges), st_util.quantize_embeddings(floats, "uint8", ranges=ranges)
    )
