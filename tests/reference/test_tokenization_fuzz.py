"""Random Unicode (hypothesis, bounded and derandomized): slow and fast tokenizers agree, and each equals its
transformers 4.57.6 counterpart.

The WordPiece classes differ, in the reference too, in two documented ways: the slow one applies NFC and drops
unassigned code points (Python calls them control characters), the fast one does neither (they become [UNK]). So
slow(text) == fast(NFC(text without unassigned code points)) for every text, and slow(text) == fast(text) for every
text those two steps leave alone. ErnieM's two classes agree on every text.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

transformers = pytest.importorskip("transformers")

from mintformers.tokenization import (  # noqa: E402
    BertTokenizer,
    BertTokenizerFast,
    ErnieMTokenizer,
    ErnieMTokenizerFast,
    MPNetTokenizer,
    MPNetTokenizerFast,
)
from pipelines.tiny import WORDS, write_ernie_m_tokenizer, write_tokenizer  # noqa: E402

FUZZ = settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# Any character but lone surrogates (which tokenizers refuse by name: tests/tokenization/test_bad_inputs.py), mixed with
# the vocabulary's words and ASCII so that the texts also hit real tokens.
characters = st.characters(exclude_categories=["Cs"])
pieces = st.one_of(characters, st.sampled_from(list(WORDS) + [" ", "  ", "\t", "\n", "[SEP]", "[MASK]", "<s>"]))
texts = st.lists(pieces, max_size=16).map("".join)


def wordpiece_view(text: str) -> str:
    """What the slow WordPiece tokenizer tokenizes `text` as, seen by the fast one."""
    return unicodedata.normalize("NFC", "".join(c for c in text if unicodedata.category(c) != "Cn"))


@pytest.fixture(scope="module")
def wordpiece(tmp_path_factory):
    bert = write_tokenizer(tmp_path_factory.mktemp("bert"), "bert")
    mpnet = write_tokenizer(tmp_path_factory.mktemp("mpnet"), "mpnet")
    return [
        (BertTokenizer.from_pretrained(bert), BertTokenizerFast.from_pretrained(bert),
         transformers.BertTokenizer.from_pretrained(bert), transformers.BertTokenizerFast.from_pretrained(bert)),
        (MPNetTokenizer.from_pretrained(mpnet), MPNetTokenizerFast.from_pretrained(mpnet),
         transformers.MPNetTokenizer.from_pretrained(mpnet), transformers.MPNetTokenizerFast.from_pretrained(mpnet)),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def ernie_m(tmp_path_factory):
    directory = write_ernie_m_tokenizer(tmp_path_factory.mktemp("ernie_m"))
    return (ErnieMTokenizer.from_pretrained(directory), ErnieMTokenizerFast.from_pretrained(directory),
            transformers.ErnieMTokenizer.from_pretrained(directory))  # fmt: skip


@FUZZ
@given(text=texts, pair=texts)
def test_wordpiece_slow_and_fast_agree_and_equal_the_reference(wordpiece, text, pair):
    for slow, fast, ref_slow, ref_fast in wordpiece:
        assert slow(text, pair).input_ids == ref_slow(text, pair).input_ids
        assert fast(text, pair).input_ids == ref_fast(text, pair).input_ids
        second = pair if wordpiece_view(pair) else None  # (fast tokenizers read an empty pair as no pair)
        assert slow(text, second).input_ids == fast(wordpiece_view(text), second and wordpiece_view(second)).input_ids
        if wordpiece_view(text) == text:
            assert slow.tokenize(text) == fast.tokenize(text)


@FUZZ
@given(text=texts, pair=texts)
def test_ernie_m_slow_and_fast_agree_and_equal_the_reference(ernie_m, text, pair):
    slow, fast, ref = ernie_m
    assert slow(text, pair).input_ids == ref(text, pair).input_ids
    pair = pair or None  # (fast tokenizers read an empty pair as no pair)
    assert slow(text, pair).input_ids == fast(text, pair).input_ids
    assert slow.tokenize(text) == fast.tokenize(text)
