"""Property tests: slow and fast agree, padding/truncation/overflow keep the real ids, decoding is stable."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mintformers.tokenization import BertTokenizer, BertTokenizerFast, PreTrainedTokenizerFast

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _nfc_stable(c: str) -> bool:
    # The slow tokenizer applies NFC, the fast one does not (in the reference too): skip characters NFC changes.
    return unicodedata.category(c) != "Cn" and unicodedata.normalize("NFC", c) == c


ALPHABET = "".join(
    c
    for c in "abcdefghijklmnopqrstuvwxyzABCXYZ0123456789 .,;:!?'\"()[]{}#$%&*+-/<=>@^_`|~"
    + "éèêëàâäôöûüçñßøåæ αβγδλμπσςω あいうえおかアイウエオ 😀👍"
    + "ÀÉÎÕÜ ÇÑ ΑΣΩ ą ł ő ž ß ı ſ ﬁ ①½ ＡＢ 한국 中文北京 カナ ・ 。、 «» “” — … ¡¿ \t\n\r\u3000\u00a0\u200b\u00ad [MASK] [CLS] "
    if _nfc_stable(c)
)
texts = st.text(alphabet=ALPHABET, max_size=40)
OPTIONS = [
    {},
    {"do_lower_case": False},
    {"strip_accents": False},
    {"do_lower_case": False, "strip_accents": True},
    {"tokenize_chinese_chars": False},
]


@pytest.fixture(scope="module")
def pairs(bert_dir):
    return [
        (BertTokenizer.from_pretrained(bert_dir, **o), BertTokenizerFast.from_pretrained(bert_dir, **o))
        for o in OPTIONS
    ]


@pytest.fixture(scope="module")
def fast(bert_dir):
    return BertTokenizerFast.from_pretrained(bert_dir)


@pytest.fixture(scope="module")
def slow(bert_dir):
    return BertTokenizer.from_pretrained(bert_dir)


@SETTINGS
@given(text=texts, pair=texts.filter(bool))  # an empty pair is "no pair" for fast tokenizers (as the reference)
def test_fast_and_slow_give_the_same_ids(pairs, text, pair):
    for slow_tok, fast_tok in pairs:
        assert slow_tok.tokenize(text) == fast_tok.tokenize(text)
        assert slow_tok(text, pair).input_ids == fast_tok(text, pair).input_ids


@SETTINGS
@given(text=texts)
def test_decoding_is_a_fixed_point_after_one_round(slow, fast, text):
    for tok in (slow, fast):
        once = tok.decode(tok(text).input_ids, skip_special_tokens=True)
        twice = tok.decode(tok(once).input_ids, skip_special_tokens=True)
        assert once == twice
        assert tok(once, add_special_tokens=False).input_ids == tok(twice, add_special_tokens=False).input_ids


@SETTINGS
@given(
    batch=st.lists(texts, min_size=1, max_size=5),
    side=st.sampled_from(["left", "right"]),
    multiple=st.sampled_from([None, 4, 8]),
    fixed=st.booleans(),
)
def test_padding_never_changes_the_real_ids(slow, fast, batch, side, multiple, fixed):
    for tok in (slow, fast):
        unpadded = [tok(text).input_ids for text in batch]
        sizing = {"padding": "max_length", "max_length": 64} if fixed else {"padding": True}
        enc = tok(batch, padding_side=side, pad_to_multiple_of=multiple, **sizing)
        width = 64 if fixed else max(map(len, unpadded))
        if multiple and width % multiple:
            width += multiple - width % multiple
        for ids, mask, real in zip(enc.input_ids, enc.attention_mask, unpadded):
            assert len(ids) == width and sum(mask) == len(real)
            pads = [tok.pad_token_id] * (width - len(real))
            assert ids == (real + pads if side == "right" else pads + real)


@pytest.fixture(scope="module")
def by_side(bert_dir):
    return {
        side: [cls.from_pretrained(bert_dir, truncation_side=side) for cls in (BertTokenizer, BertTokenizerFast)]
        for side in ("left", "right")
    }


@pytest.fixture(scope="module")
def bpe(bpe_dir):
    return PreTrainedTokenizerFast.from_pretrained(bpe_dir, clean_up_tokenization_spaces=False)


@SETTINGS
@given(text=texts, max_length=st.integers(3, 12), side=st.sampled_from(["left", "right"]))
def test_truncation_keeps_a_prefix_or_suffix(by_side, text, max_length, side):
    for tok in by_side[side]:
        full = tok(text, add_special_tokens=False).input_ids
        kept = tok(text, truncation=True, max_length=max_length).input_ids[1:-1]
        assert len(kept) == min(len(full), max_length - 2)
        assert kept == (full[: len(kept)] if side == "right" else full[len(full) - len(kept) :])


@SETTINGS
@given(text=texts, max_length=st.integers(4, 10), stride=st.integers(0, 2))
def test_overflow_windows_cover_the_sequence_with_stride_overlap(fast, text, max_length, stride):
    assume(stride < max_length - 2)  # the stride must be shorter than what each window holds
    full = fast(text, add_special_tokens=False).input_ids
    enc = fast(text, truncation=True, max_length=max_length, stride=stride, return_overflowing_tokens=True)
    windows = [ids[1:-1] for ids in enc.input_ids]
    assert enc.overflow_to_sample_mapping == [0] * len(windows)
    rebuilt = windows[0] + [t for w in windows[1:] for t in w[stride:]]
    assert rebuilt == full
    assert all(w[-stride:] == nxt[:stride] for w, nxt in zip(windows, windows[1:]) if stride)


@SETTINGS
@given(text=texts)
def test_offsets_point_into_the_text(fast, text):
    enc = fast(text, return_offsets_mapping=True)
    for index, (start, end) in enumerate(enc.offset_mapping):
        assert 0 <= start <= end <= len(text)
        if end > start:  # WordPiece: every character belongs to at most one token
            assert enc.char_to_token(start) == index


@SETTINGS
@given(text=st.text(max_size=60))
def test_byte_level_bpe_is_lossless(bpe, text):
    assert bpe.decode(bpe(text).input_ids) == text
