"""TFBertTokenizer: BertTokenizerFast's ids inside the graph, on a few hundred varied texts; the reference's on
texts it normalises the same way; options; one graph with the model."""

from __future__ import annotations

import random

import numpy as np
import pytest
import tensorflow as tf

import mintformers
from mintformers.tf.tokenizer import TFBertTokenizer

# Pieces every tokenizer normalises alike, and ones the reference's TFBertTokenizer case-folds with NFKC or limits
# by bytes (see tf/tokenizer.py): there it differs from BertTokenizerFast, and ours follows BertTokenizerFast.
PLAIN = [
    "Hello", "WORLD", "café", "naïve", "Ångström", "Zoë", "résumé", "Mañana", "İstanbul", "ΣΊΣΥΦΟΣ", "e\u0301",
    "中文字符", "日本語のテキスト", "한국어", "😀", "👍🏽", "supercalifragilisticexpialidocious", "a" * 120, "don't",
    "U.S.A.", "$100.50", "e-mail", "C++", "#hashtag", "@user", "\t", "\n", "\u00a0", "\u3000", "עברית", "العربية",
    "हिन्दी", "ภาษาไทย", "...", "!!!", "(parens)", "[brackets]", "1,234", "3.14",
]
FOLDED = ["straße", "ß", "ＦＵＬＬ", "ｗｉｄｔｈ", "ﬁnance", "ﬂow", "ﬀ", "ﬆ", "①②③", "Ⓐ", "™", "ﾊﾝｶｸ", "ｶﾞ",
          "\ufffd", "\x00", "\u200b", "д" * 60, "👨\u200d👩\u200d👧",
          "x²", "½", "Ⅻ", "ǅ"]


def _texts(pieces, n, seed):
    rng = random.Random(seed)
    return [" ".join(rng.choice(pieces) for _ in range(rng.randint(1, 8))) for _ in range(n)]


PLAIN_TEXTS = _texts(PLAIN, 200, 0) + PLAIN
ALL_TEXTS = PLAIN_TEXTS + _texts(PLAIN + FOLDED, 200, 1) + FOLDED


@pytest.fixture(scope="module")
def fast(minilm_dir):
    return mintformers.BertTokenizerFast.from_pretrained(minilm_dir)


@pytest.fixture(scope="module")
def tokenizer(fast):
    return TFBertTokenizer.from_tokenizer(fast)


def _rows(output):
    lengths = output["attention_mask"].numpy().sum(-1)
    return [row[:n].tolist() for row, n in zip(output["input_ids"].numpy(), lengths)]


def test_ids_equal_bert_tokenizer_fast(tokenizer, fast):
    assert _rows(tokenizer(ALL_TEXTS)) == [fast(t)["input_ids"] for t in ALL_TEXTS]


def test_ids_equal_the_reference_where_it_normalises_alike(ref, tokenizer, minilm_dir):
    reference = ref.TFBertTokenizer.from_tokenizer(ref.BertTokenizerFast.from_pretrained(minilm_dir))
    got = tokenizer(PLAIN_TEXTS)
    want = reference(PLAIN_TEXTS)
    for key in ("input_ids", "attention_mask", "token_type_ids"):
        np.testing.assert_array_equal(got[key], want[key])
    firsts, seconds = PLAIN_TEXTS[:120:2], PLAIN_TEXTS[1:120:2]  # pairs short enough for no truncation
    got, want = tokenizer(firsts, seconds), reference(firsts, seconds)
    for key in ("input_ids", "attention_mask", "token_type_ids"):
        np.testing.assert_array_equal(got[key], want[key])
    # and where the reference case-folds, ours keeps BertTokenizerFast's ids: "ß" stays a token of its own
    assert tokenizer(["ß"])["input_ids"].numpy().tolist() != reference(["ß"])["input_ids"].numpy().tolist()


@pytest.mark.parametrize("max_length", [12, 25])
def test_pairs_and_truncation(tokenizer, fast, max_length):
    firsts, seconds = ALL_TEXTS[:150:2], ALL_TEXTS[1:150:2]
    out = TFBertTokenizer.from_tokenizer(fast, max_length=max_length)(firsts, seconds)
    lengths = out["attention_mask"].numpy().sum(-1)
    for i, (a, b) in enumerate(zip(firsts, seconds)):
        want = fast(a, b, truncation=True, max_length=max_length)
        assert out["input_ids"][i, : lengths[i]].numpy().tolist() == want["input_ids"]
        assert out["token_type_ids"][i, : lengths[i]].numpy().tolist() == want["token_type_ids"]
    pairs = tf.constant(list(zip(firsts, seconds)))  # (batch, 2) is a batch of pairs too
    np.testing.assert_array_equal(TFBertTokenizer.from_tokenizer(fast, max_length=max_length)(pairs)["input_ids"], out["input_ids"])
    single = tokenizer(ALL_TEXTS[:100], max_length=max_length)
    assert _rows(single) == [fast(t, truncation=True, max_length=max_length)["input_ids"] for t in ALL_TEXTS[:100]]


def test_options(tokenizer, fast, minilm_dir):
    texts = ["a short one", "a somewhat longer text than the first"]
    out = TFBertTokenizer.from_tokenizer(fast, padding="max_length", max_length=16)(texts)
    assert out["input_ids"].shape == (2, 16) and int(out["input_ids"][0, -1]) == fast.pad_token_id
    longest = tokenizer(texts)["input_ids"].numpy()  # 9 wide: [CLS], 7 words, [SEP]
    multiple = TFBertTokenizer.from_tokenizer(fast, pad_to_multiple_of=8)(texts)["input_ids"].numpy()
    assert multiple.shape == (2, 16) and (multiple[:, longest.shape[1]:] == fast.pad_token_id).all()
    np.testing.assert_array_equal(multiple[:, : longest.shape[1]], longest)
    assert set(TFBertTokenizer.from_tokenizer(fast, return_token_type_ids=False, return_attention_mask=False)(texts)) == {"input_ids"}
    np.testing.assert_array_equal(TFBertTokenizer.from_pretrained(minilm_dir)(texts)["input_ids"], TFBertTokenizer.from_tokenizer(fast)(texts)["input_ids"])
    slow = TFBertTokenizer.from_tokenizer(fast, use_fast_bert_tokenizer=False)
    assert _rows(slow(PLAIN_TEXTS[:50])) == [fast(t)["input_ids"] for t in PLAIN_TEXTS[:50]]
    cased = mintformers.BertTokenizerFast.from_pretrained(minilm_dir, do_lower_case=False)
    assert _rows(TFBertTokenizer.from_tokenizer(cased)(PLAIN_TEXTS)) == [cased(t)["input_ids"] for t in PLAIN_TEXTS]
    long_texts = [ALL_TEXTS[0] * 4, "short"]
    untruncated = TFBertTokenizer.from_tokenizer(fast, truncation=False, max_length=8)(long_texts)
    assert _rows(untruncated) == [fast(t)["input_ids"] for t in long_texts] and untruncated["input_ids"].shape[1] > 8
    assert tokenizer(long_texts, truncation=False, max_length=8)["input_ids"].shape == untruncated["input_ids"].shape
    with pytest.raises(ValueError, match="padding"):
        TFBertTokenizer.from_tokenizer(fast, padding="right")
    config = TFBertTokenizer.from_tokenizer(fast, max_length=32).get_config()
    assert TFBertTokenizer(**config).max_length == 32


def test_in_front_of_a_model_as_one_saved_graph(tokenizer, fast, tmp_path):
    """Raw strings in, pooled states out: the tokenizer layer and the model are saved and served as one graph (a
    tiny random model over the tokenizer's vocabulary: the SavedModel holds its weights)."""
    config = mintformers.BertConfig(
        vocab_size=len(fast), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16
    )
    model = mintformers.TFBertModel(config)

    class TextModel(tf.Module):
        def __init__(self):
            super().__init__()
            self.tokenizer, self.model = tokenizer, model

        @tf.function(input_signature=[tf.TensorSpec((None,), tf.string)])
        def serve(self, texts):
            return {"pooler_output": self.model(self.tokenizer(texts)).pooler_output}

    texts = ["Strings go in.", "Embeddings come out, straße and all."]
    want = model(dict(fast(texts, padding=True, return_tensors="np"))).pooler_output
    module = TextModel()
    tf.saved_model.save(module, str(tmp_path / "e2e"), signatures=module.serve)
    served = tf.saved_model.load(str(tmp_path / "e2e")).signatures["serving_default"]
    np.testing.assert_allclose(served(tf.constant(texts))["pooler_output"], want, atol=1e-5)
