"""CrossEncoder on tiny random checkpoints, without the reference: scores equal the classifier run on each pair alone
(any batch size, any order, windows of long inputs), rank's ordering and fields, bad inputs, several processes.
Parity with sentence-transformers lives in tests/reference/test_cross_encoder_parity.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mintformers import AutoTokenizer, BertForSequenceClassification, CrossEncoder
from test_embeddings import WORDS, make_tiny_checkpoint

ATOL = 1e-5
PAIRS = [
    ("a man is eating food", "a man is eating a piece of bread"),
    ("the girl plays the violin", "music"),
    ("hello", ""),
    ("", ""),
    (" ".join(WORDS[:30]), " ".join(WORDS[20:70])),  # beyond max_length: truncated longest-first
    ("cat", "the big red dog runs quickly to the old house by the river"),
]


@pytest.fixture(scope="module")
def reranker_dir(tmp_path_factory):
    return make_tiny_checkpoint(tmp_path_factory.mktemp("ce") / "reranker", BertForSequenceClassification, num_labels=1)


@pytest.fixture(scope="module")
def classifier_dir(tmp_path_factory):
    return make_tiny_checkpoint(tmp_path_factory.mktemp("ce") / "nli", BertForSequenceClassification, seed=1, num_labels=3)


def alone(folder, pairs, max_length=64):
    """The straightforward computation: each pair tokenized and classified on its own, then sigmoid / nothing."""
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = BertForSequenceClassification.from_pretrained(folder).eval()
    rows = []
    for a, b in pairs:
        # lists of one, as pairs are tokenized in batches (a lone call reads an empty second text as no pair)
        enc = tokenizer([a], [b], truncation="longest_first", max_length=max_length, return_tensors="pt")
        with torch.no_grad():
            rows.append(model(**enc).logits[0])
    logits = torch.stack(rows)
    return torch.sigmoid(logits).squeeze(-1) if model.config.num_labels == 1 else logits


def test_scores_equal_each_pair_alone_in_any_batch(reranker_dir):
    model = CrossEncoder(reranker_dir, device="cpu")
    expected = alone(reranker_dir, PAIRS).numpy()
    for batch_size in (1, 2, 4, 32):
        np.testing.assert_allclose(model.predict(PAIRS, batch_size=batch_size), expected, atol=ATOL)
    order = np.random.default_rng(0).permutation(len(PAIRS))
    np.testing.assert_allclose(model.predict([PAIRS[i] for i in order]), expected[order], atol=ATOL)
    np.testing.assert_allclose(model.predict(PAIRS[0]), expected[0], atol=ATOL)  # one pair → one score


def test_large_inputs_are_windowed_and_restored_in_order(reranker_dir, monkeypatch):
    import mintformers.embeddings.batching as batching

    monkeypatch.setattr(batching, "WINDOW_BATCHES", 1)  # windows of 1024 pairs
    model = CrossEncoder(reranker_dir, device="cpu")
    rng = np.random.default_rng(1)
    pairs = [(" ".join(rng.choice(WORDS, size=rng.integers(1, 8))), " ".join(rng.choice(WORDS, size=rng.integers(0, 20))))
             for _ in range(1100)]
    got = model.predict(pairs, batch_size=64)
    sample = rng.choice(len(pairs), size=8, replace=False)
    np.testing.assert_allclose(got[sample], alone(reranker_dir, [pairs[i] for i in sample]).numpy(), atol=ATOL)


def test_several_labels_and_softmax(classifier_dir):
    model = CrossEncoder(classifier_dir, device="cpu")
    logits = alone(classifier_dir, PAIRS)
    np.testing.assert_allclose(model.predict(PAIRS), logits.numpy(), atol=ATOL)  # identity for several labels
    np.testing.assert_allclose(model.predict(PAIRS, apply_softmax=True), torch.softmax(logits, 1).numpy(), atol=ATOL)
    assert model.predict([]).shape == (0,) and model.predict([], convert_to_tensor=True).shape == (0,)


def test_rank(reranker_dir):
    model = CrossEncoder(reranker_dir, device="cpu")
    query, documents = "a man is eating food", [b for _, b in PAIRS]
    scores = model.predict([(query, d) for d in documents])
    ranked = model.rank(query, documents, return_documents=True)
    assert [h["corpus_id"] for h in ranked] == list(np.argsort(-scores, kind="stable"))
    assert [h["text"] for h in ranked] == [documents[h["corpus_id"]] for h in ranked]
    np.testing.assert_allclose([h["score"] for h in ranked], np.sort(scores)[::-1], atol=0)
    top = model.rank(query, documents, top_k=2)
    assert top == [{"corpus_id": h["corpus_id"], "score": h["score"]} for h in ranked[:2]]
    tied = model.rank(query, ["same text"] * 3, batch_size=1)  # alone, so the scores are bitwise equal
    assert [h["corpus_id"] for h in tied] == [0, 1, 2]  # equal scores keep the documents' order


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda m: m.predict(None), TypeError, ["got None", "pairs"]),
        (lambda m: m.predict("just one text"), TypeError, ["pairs", "not a str"]),
        (lambda m: m.predict([("a", "b", "c")]), TypeError, ["item 0", "not a pair"]),
        (lambda m: m.predict([("a", 3)]), TypeError, ["pair 0", "int", "str()"]),
        (lambda m: m.predict([("a", "b")], batch_size=0), ValueError, ["batch_size"]),
        (lambda m: m.predict([("a", "b")], prompt_name="query"), ValueError, ["'query'", "prompts"]),
        (lambda m: m.predict([("a", "b")], normalize=True), TypeError, ["unexpected", "normalize"]),
        (lambda m: m.rank(["a"], ["b"]), TypeError, ["query as a string"]),
        (lambda m: m.rank("a", "b"), TypeError, ["list of strings"]),
    ],
)
def test_bad_inputs_get_clear_errors(reranker_dir, call, error, words):
    model = CrossEncoder(reranker_dir, device="cpu")
    with pytest.raises(error) as info:
        call(model)
    for word in words:
        assert word in str(info.value)


def test_constructor_errors(reranker_dir):
    with pytest.raises(ValueError, match="max_length"):
        CrossEncoder(reranker_dir, max_length=0)
    with pytest.raises(TypeError, match="device_map"):
        CrossEncoder(reranker_dir, model_kwargs={"device_map": "auto"})
    with pytest.raises(TypeError, match="unexpected_option"):
        CrossEncoder(reranker_dir, unexpected_option=1)


def test_several_processes(reranker_dir):
    """device=[...] starts a pool for the call (one spawned CPU worker here) and returns what one process does."""
    model = CrossEncoder(reranker_dir, device="cpu")
    expected = model.predict(PAIRS)
    np.testing.assert_allclose(model.predict(PAIRS, device=["cpu"], chunk_size=2), expected, atol=ATOL)
