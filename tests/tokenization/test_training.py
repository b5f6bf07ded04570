"""train_new_from_iterator beyond parity: after training on any corpus, the slow tokenizer read from the saved files
and the trained fast tokenizer give the same ids on any text (hypothesis, bounded); the trained tokenizer saves and
reloads. Parity with the reference's training is in tests/reference/test_training_parity.py."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mintformers.tokenization import (
    AutoTokenizer,
    BertTokenizer,
    BertTokenizerFast,
    ErnieMTokenizer,
    ErnieMTokenizerFast,
    MPNetTokenizer,
    MPNetTokenizerFast,
)
from pipelines.tiny import write_ernie_m_tokenizer

TRAINED = settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
WORDS = ["tokenizer", "training", "corpus", "quick", "brown", "fox", "2025", "naïve", "café", "東京", "中文", "😀", "a,b"]
# Text the WordPiece slow and fast tokenizers read alike: no unassigned code points, NFC-stable (see the fuzz test).
characters = st.characters(exclude_categories=["Cs", "Cn"]).filter(lambda c: unicodedata.normalize("NFC", c) == c)
texts = st.lists(st.one_of(characters, st.sampled_from([*WORDS, " ", "  "])), max_size=12).map("".join)
corpora = st.lists(st.lists(st.sampled_from([*WORDS, " ", "-", "."]), min_size=1, max_size=8).map(" ".join),
                   min_size=3, max_size=12)  # fmt: skip


@pytest.fixture(scope="module")
def bases(bert_dir, mpnet_dir, tmp_path_factory):
    ernie = write_ernie_m_tokenizer(tmp_path_factory.mktemp("ernie_m"))
    return {
        "bert": (BertTokenizerFast.from_pretrained(bert_dir), BertTokenizer),
        "mpnet": (MPNetTokenizerFast.from_pretrained(mpnet_dir), MPNetTokenizer),
        "ernie_m": (ErnieMTokenizerFast.from_pretrained(ernie), ErnieMTokenizer),
    }


@pytest.mark.parametrize("family", ["bert", "mpnet", "ernie_m"])
@TRAINED
@given(corpus=corpora, vocab_size=st.integers(40, 200), probes=st.lists(texts, min_size=1, max_size=6))
def test_slow_and_fast_stay_identical_after_training(bases, tmp_path_factory, family, corpus, vocab_size, probes):
    fast, slow_class = bases[family]
    trained = fast.train_new_from_iterator(corpus * 3, vocab_size, show_progress=False)
    directory = tmp_path_factory.mktemp("trained")
    trained.save_pretrained(directory)
    slow = slow_class.from_pretrained(directory)
    reloaded = type(fast).from_pretrained(directory)
    assert slow.get_vocab() == trained.get_vocab() == reloaded.get_vocab()
    for text in [*corpus[:3], *probes]:
        ids = trained(text, probes[0] or None).input_ids
        assert slow(text, probes[0] or None).input_ids == ids == reloaded(text, probes[0] or None).input_ids
        assert slow.decode(ids) == trained.decode(ids)


def test_the_trained_tokenizer_keeps_the_pipeline_and_special_tokens(bert_dir, bpe_dir, tmp_path):
    bert = BertTokenizerFast.from_pretrained(bert_dir, do_lower_case=False, model_max_length=128)
    trained = bert.train_new_from_iterator(["Hello World the Quick fox"] * 5, 80, new_special_tokens=["<x>"],
                                           show_progress=False)  # fmt: skip
    assert trained.do_lower_case is False and trained.model_max_length == 128
    assert trained.tokenize("Hello <x>World") == ["Hello", "<x>", "World"]  # cased, <x> never split
    assert trained.additional_special_tokens == ["<x>"] and "<x>" in trained.all_special_tokens
    ids = trained("Quick", "fox").input_ids
    assert ids[0] == trained.cls_token_id and ids.count(trained.sep_token_id) == 2
    mpt = AutoTokenizer.from_pretrained(bpe_dir)  # GPT-NeoX's byte-level BPE, as MPT ships it
    bpe = mpt.train_new_from_iterator(iter(["naïve café 😀 ünïcödé"] * 4), 300, show_progress=False)
    assert bpe.decode(bpe("any 中文 text, even unseen ✓").input_ids) == "any 中文 text, even unseen ✓"
    bpe.save_pretrained(tmp_path)
    assert AutoTokenizer.from_pretrained(tmp_path)("✓ ü").input_ids == bpe("✓ ü").input_ids
