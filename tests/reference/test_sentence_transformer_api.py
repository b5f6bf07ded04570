"""The SentenceTransformer API side by side with sentence-transformers 5.7.0 (the oracle), on tiny folders and the real
all-MiniLM-L6-v2: prompts and encode_query / encode_document, truncate_dim, max_seq_length, tokenize() + forward,
the module chain, output_value=None, similarity_fn_name, and save() in both directions (each library loads the
other's folders)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mintformers import SentenceTransformer
from test_embeddings import make_st_folder, make_tiny_checkpoint

st_lib = pytest.importorskip("sentence_transformers")

ATOL = 1e-5
TEXTS = ["A man is eating food.", "the girl plays the violin", "hello", "", " ".join(["house"] * 60)]


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory):
    return make_tiny_checkpoint(tmp_path_factory.mktemp("st-api") / "bert")


@pytest.fixture(scope="module")
def prompted(tmp_path_factory, tiny_base):
    """A folder with query and passage prompts, a Dense layer and dot similarity."""
    return make_st_folder(
        tmp_path_factory.mktemp("st-api-prompted") / "st", tiny_base, dense=[{"out": 24}],
        pooling={"word_embedding_dimension": 32, "pooling_mode": "mean", "include_prompt": False},
        extra_config={"prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": None,
                      "similarity_fn_name": "dot"},
    )


def both(path, **kwargs):
    return SentenceTransformer(str(path), device="cpu", **kwargs), st_lib.SentenceTransformer(str(path), device="cpu", **kwargs)


def close(a, b, atol=ATOL):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=atol, rtol=0)


def test_prompts_encode_query_and_encode_document(tiny_base, prompted, tmp_path):
    ours, theirs = both(prompted)
    assert ours.prompts == theirs.prompts == {"query": "query: ", "document": "", "passage": "passage: "}
    assert ours.similarity_fn_name == theirs.similarity_fn_name == "dot"
    close(ours.encode_query(TEXTS), theirs.encode_query(TEXTS))
    close(ours.encode_document(TEXTS), theirs.encode_document(TEXTS))  # "document" is there (empty), so it wins
    close(ours.encode_query(TEXTS, prompt="other: "), theirs.encode_query(TEXTS, prompt="other: "))
    assert not np.allclose(ours.encode_query(TEXTS[:1]), ours.encode(TEXTS[:1]), atol=1e-3)  # the prompt matters
    # no prompts at all: both are plain encode
    plain = make_st_folder(tmp_path / "plain", tiny_base)
    ours, theirs = both(plain)
    assert ours.prompts == theirs.prompts == {"query": "", "document": ""} and ours.default_prompt_name is None
    close(ours.encode_query(TEXTS), ours.encode(TEXTS))
    close(ours.encode_document(TEXTS), theirs.encode_document(TEXTS))
    # prompts and a default given to the constructor override the saved ones, as there
    ours, theirs = both(prompted, prompts={"query": "find: "}, default_prompt_name="passage")
    assert ours.prompts == theirs.prompts and ours.default_prompt_name == theirs.default_prompt_name == "passage"
    close(ours.encode(TEXTS), theirs.encode(TEXTS))
    close(ours.encode_query(TEXTS), theirs.encode_query(TEXTS))


def test_truncate_dim_and_dimensions(prompted):
    ours, theirs = both(prompted, truncate_dim=10)
    assert ours.get_sentence_embedding_dimension() == theirs.get_sentence_embedding_dimension() == 10
    assert ours.encode(TEXTS).shape == (len(TEXTS), 10)
    close(ours.encode(TEXTS), theirs.encode(TEXTS))
    close(ours.encode(TEXTS, truncate_dim=4, normalize_embeddings=True), theirs.encode(TEXTS, truncate_dim=4, normalize_embeddings=True))
    ours.truncate_dim = theirs.truncate_dim = None
    assert ours.get_sentence_embedding_dimension() == theirs.get_sentence_embedding_dimension() == 24


def test_max_seq_length_tokenize_forward_and_the_module_chain(prompted):
    ours, theirs = both(prompted)
    assert ours.max_seq_length == ours.get_max_seq_length() == theirs.max_seq_length == 48
    assert len(ours) == len(theirs) == 4
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs] == ["Transformer", "Pooling", "Dense", "Normalize"]
    assert ours[0].max_seq_length == 48 and ours[0].auto_model is ours.model and ours[-1] is ours.layers[-1]
    ours.max_seq_length = theirs.max_seq_length = 7
    close(ours.encode(TEXTS), theirs.encode(TEXTS))
    features, their_features = ours.tokenize(TEXTS), theirs.tokenize(TEXTS)
    for key in ("input_ids", "attention_mask", "token_type_ids"):
        assert torch.equal(features[key], their_features[key]), key
    with torch.no_grad():
        out, their_out = ours(features), theirs(their_features)
    assert out is features  # the forward fills in the dict it is given, as there
    for key in ("token_embeddings", "sentence_embedding"):
        torch.testing.assert_close(out[key], their_out[key], atol=ATOL, rtol=0)


def test_output_value_none_gives_every_feature_per_text(prompted):
    ours, theirs = both(prompted)
    # theirs indexes every feature by row, the string "text" in features["modality"] too: batches above 4 rows fail
    got, expected = ours.encode(TEXTS, output_value=None), theirs.encode(TEXTS, output_value=None, batch_size=4)
    assert isinstance(got, list) and len(got) == len(TEXTS)
    for row, their_row in zip(got, expected):
        width = int(their_row["attention_mask"].sum())  # theirs are padded to their batch; ours to the text
        assert {"input_ids", "attention_mask", "token_embeddings", "sentence_embedding"} <= set(row)
        assert torch.equal(row["input_ids"], their_row["input_ids"][:width])
        torch.testing.assert_close(row["token_embeddings"], their_row["token_embeddings"][:width], atol=ATOL, rtol=0)
        torch.testing.assert_close(row["sentence_embedding"], their_row["sentence_embedding"], atol=ATOL, rtol=0)
    one = ours.encode("hello", output_value=None)
    assert isinstance(one, dict) and one["sentence_embedding"].shape == (24,)


def test_save_is_loaded_by_sentence_transformers_and_back(prompted, tmp_path):
    ours, _ = both(prompted, truncate_dim=12)
    ours.max_seq_length = 20
    ours.similarity_fn_name = "manhattan"
    ours.save(str(tmp_path / "ours"))
    loaded = st_lib.SentenceTransformer(str(tmp_path / "ours"), device="cpu")
    assert loaded.prompts == ours.prompts and loaded.default_prompt_name == ours.default_prompt_name
    assert (loaded.similarity_fn_name, loaded.truncate_dim, loaded.max_seq_length) == ("manhattan", 12, 20)
    close(loaded.encode_query(TEXTS), ours.encode_query(TEXTS))
    close(loaded.encode(TEXTS), ours.encode(TEXTS))
    # and a folder sentence-transformers 5.7 writes (its newer module names and configs) loads here
    loaded.save(str(tmp_path / "theirs"))
    again = SentenceTransformer(str(tmp_path / "theirs"), device="cpu")
    assert again.prompts == loaded.prompts and (again.similarity_fn_name, again.truncate_dim, again.max_seq_length) == ("manhattan", 12, 20)
    close(again.encode(TEXTS), loaded.encode(TEXTS))
    ours.save_pretrained(tmp_path / "pretrained")  # the transformers-style name writes the same folder
    assert (tmp_path / "pretrained" / "modules.json").read_text() == (tmp_path / "ours" / "modules.json").read_text()


def test_real_minilm_api_equals_sentence_transformers(minilm_dir):
    ours, theirs = both(minilm_dir)
    assert ours.get_sentence_embedding_dimension() == theirs.get_sentence_embedding_dimension() == 384
    assert ours.max_seq_length == theirs.max_seq_length == 256 and ours.similarity_fn_name == theirs.similarity_fn_name
    close(ours.encode_query(TEXTS), theirs.encode_query(TEXTS))
    close(ours.encode_document(TEXTS, convert_to_tensor=True), theirs.encode_document(TEXTS, convert_to_tensor=True))
    close(ours.encode(TEXTS, truncate_dim=64), theirs.encode(TEXTS, truncate_dim=64))
    emb = ours.encode(TEXTS)
    torch.testing.assert_close(ours.similarity(emb, emb), theirs.similarity(emb, emb), atol=ATOL, rtol=0)
    torch.testing.assert_close(ours.similarity_pairwise(emb, emb[::-1].copy()), theirs.similarity_pairwise(emb, emb[::-1].copy()))
