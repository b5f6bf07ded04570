"""Parity of ErnieMTokenizer (and, through it, ErnieMTokenizerFast) with transformers 4.57.6's ErnieMTokenizer.

The sentencepiece models (BPE and unigram) and ErnieM-layout vocab.txt files are trained here from generated
multilingual text (helpers in tests/tokenization/test_ernie_m_tokenizer.py). The corpus covers CJK, accented Latin,
Cyrillic, Arabic, Devanagari, Greek, Hangul, kana, emoji, punctuation runs, digits inside words, whitespace oddities,
full-width forms, ligatures, combining marks, control and zero-width characters, unknown scripts, empty strings and
long texts.
"""

from __future__ import annotations

import pytest
import torch

transformers = pytest.importorskip("transformers")
from transformers import ErnieMTokenizer as RefErnieMTokenizer  # noqa: E402

from mintformers.tokenization import ErnieMTokenizer, ErnieMTokenizerFast  # noqa: E402
from tokenization.test_ernie_m_tokenizer import corpus, sentences, write_ernie_m_files  # noqa: E402


@pytest.fixture(scope="module", params=["bpe", "unigram"])
def ernie_dir(request, tmp_path_factory):
    return write_ernie_m_files(tmp_path_factory.mktemp(f"ernie_m_{request.param}"), request.param)


@pytest.fixture(scope="module")
def texts():
    return corpus()


@pytest.fixture(scope="module")
def tokenizers(ernie_dir):
    return (
        RefErnieMTokenizer.from_pretrained(str(ernie_dir)),
        ErnieMTokenizer.from_pretrained(ernie_dir),
        ErnieMTokenizerFast.from_pretrained(ernie_dir),
    )


def test_tokens_and_ids(tokenizers, texts):
    ref, slow, fast = tokenizers
    assert slow.vocab_size == ref.vocab_size and len(slow) == len(ref)
    assert slow.get_vocab() == ref.get_vocab()
    assert slow.all_special_ids == ref.all_special_ids and slow.all_special_tokens == ref.all_special_tokens
    fast_ids = fast(texts)["input_ids"]
    for text, fast_row in zip(texts, fast_ids):
        expected = ref(text)["input_ids"]
        assert slow.tokenize(text) == ref.tokenize(text), text
        assert slow(text)["input_ids"] == expected, text
        assert fast_row == expected, text


def test_pairs_masks_and_types(tokenizers):
    ref, slow, fast = tokenizers
    flags = dict(return_token_type_ids=True, return_special_tokens_mask=True, return_attention_mask=True)
    for a, b in zip(sentences(20, seed=21), sentences(20, seed=22)):
        expected = ref(a, b, **flags)
        assert dict(slow(a, b, **flags)) == dict(expected)
        assert dict(fast(a, b, **flags)) == dict(expected)
        ids = expected["input_ids"]
        assert slow.get_special_tokens_mask(ids, already_has_special_tokens=True) == ref.get_special_tokens_mask(
            ids, already_has_special_tokens=True
        )
        a_ids, b_ids = ref.encode(a, add_special_tokens=False), ref.encode(b, add_special_tokens=False)
        for method in ("build_inputs_with_special_tokens", "create_token_type_ids_from_sequences"):
            assert getattr(slow, method)(a_ids, b_ids) == getattr(ref, method)(a_ids, b_ids)
            assert getattr(slow, method)(a_ids) == getattr(ref, method)(a_ids)
    assert slow("x").keys() == ref("x").keys() == {"input_ids"}  # model_input_names == ["input_ids"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"padding": True},
        {"padding": "max_length", "max_length": 48, "truncation": True},
        {"truncation": True, "max_length": 10, "padding": True, "padding_side": "left"},
        {"truncation": "only_first", "max_length": 16, "stride": 3, "return_overflowing_tokens": True},
        {"padding": True, "pad_to_multiple_of": 8, "return_attention_mask": True, "return_length": True},
        {"truncation": True, "max_length": 12, "return_tensors": "pt", "padding": True},
        {"add_special_tokens": False, "padding": True, "return_special_tokens_mask": True},
    ],
)
def test_padding_truncation_variants(tokenizers, kwargs):
    ref, slow, _ = tokenizers
    batch = sentences(6, seed=31) + ["", "2019 年 中国"]
    expected, got = ref(batch, **kwargs), slow(batch, **kwargs)
    assert got.keys() == expected.keys()
    for key in expected:
        if isinstance(expected[key], torch.Tensor):
            assert torch.equal(got[key], expected[key]), key
        else:
            assert got[key] == expected[key], key
    pairs = list(zip(batch, sentences(8, seed=32)))
    if kwargs.get("truncation") in (True, "only_first") and kwargs.get("max_length", 99) < 20:
        kwargs = {**kwargs, "truncation": "longest_first", "return_overflowing_tokens": False}
    expected, got = ref(pairs, **kwargs), slow(pairs, **kwargs)
    assert {k: (v.tolist() if isinstance(v, torch.Tensor) else v) for k, v in got.items()} == {
        k: (v.tolist() if isinstance(v, torch.Tensor) else v) for k, v in expected.items()
    }


def test_decode(tokenizers, texts):
    ref, slow, fast = tokenizers
    for text in texts[:150]:
        ids = ref(text, "second part 2019")["input_ids"]
        for skip in (False, True):
            expected = ref.decode(ids, skip_special_tokens=skip)
            assert slow.decode(ids, skip_special_tokens=skip) == expected, text
            assert fast.decode(ids, skip_special_tokens=skip) == expected, text
        tokens = ref.convert_ids_to_tokens(ids)
        assert slow.convert_ids_to_tokens(ids) == tokens
        assert slow.convert_tokens_to_string(tokens) == ref.convert_tokens_to_string(tokens)
    assert slow.batch_decode([[5, 6], [7]]) == ref.batch_decode([[5, 6], [7]])


def test_lower_case_and_added_tokens(ernie_dir, texts):
    ref = RefErnieMTokenizer.from_pretrained(str(ernie_dir), do_lower_case=True)
    slow = ErnieMTokenizer.from_pretrained(ernie_dir, do_lower_case=True)
    fast = ErnieMTokenizerFast.from_pretrained(ernie_dir, do_lower_case=True)
    for tok in (ref, slow, fast):
        assert tok.add_tokens(["NewWord", "[ENT]"]) == 2
        tok.add_special_tokens({"additional_special_tokens": ["<e1>"]})
    batch = texts[:100] + ["Say NEWWORD and newword [ENT]<e1> İSTANBUL ΣΟΦΙΑ [SEP]"]
    expected = ref(batch)["input_ids"]
    assert slow(batch)["input_ids"] == expected
    assert fast(batch)["input_ids"] == expected
    ids = expected[-1]
    assert slow.decode(ids) == ref.decode(ids) == fast.decode(ids)


def test_without_vocab_file(ernie_dir, texts):
    ref = RefErnieMTokenizer(str(ernie_dir / "sentencepiece.bpe.model"))
    slow = ErnieMTokenizer(ernie_dir / "sentencepiece.bpe.model")
    fast = ErnieMTokenizerFast(ernie_dir / "sentencepiece.bpe.model")
    assert slow.all_special_ids == ref.all_special_ids and len(slow) == len(ref)
    fast_ids = fast(texts)["input_ids"]
    for text, fast_row in zip(texts, fast_ids):
        expected = ref(text)["input_ids"]
        # The reference gives None for pieces the sentencepiece vocabulary lacks; we give unk_token's id.
        expected = [slow.unk_token_id if i is None else i for i in expected]
        assert slow(text)["input_ids"] == expected, text
        assert fast_row == expected, text


def test_saved_files_load_in_both_directions(tokenizers, tmp_path, texts):
    ref, slow, fast = tokenizers
    slow.save_pretrained(tmp_path / "ours_slow")
    fast.save_pretrained(tmp_path / "ours_fast")
    ref.save_pretrained(str(tmp_path / "reference"))
    batch = texts[:100]
    expected = ref(batch)["input_ids"]
    assert RefErnieMTokenizer.from_pretrained(str(tmp_path / "ours_slow"))(batch)["input_ids"] == expected
    assert RefErnieMTokenizer.from_pretrained(str(tmp_path / "ours_fast"))(batch)["input_ids"] == expected
    assert ErnieMTokenizer.from_pretrained(tmp_path / "reference")(batch)["input_ids"] == expected
    assert ErnieMTokenizerFast.from_pretrained(tmp_path / "reference")(batch)["input_ids"] == expected


def test_offsets_where_the_reference_fails(tokenizers):
    ref, slow, fast = tokenizers
    text = "Hello world, 中国 2019!"
    with pytest.raises(AttributeError):  # 4.57.6 lost SP_CHAR_MAPPING, which its get_offset_mapping reads
        ref.get_offset_mapping(text)
    offsets = slow.get_offset_mapping(text)
    tokens = ref.tokenize(text)
    assert len(offsets) == len(tokens)
    for token, (start, end) in zip(tokens, offsets):  # a lone "▁" spans the space it stands for
        assert text[start:end] == (" " if token == "▁" else token.lstrip("▁"))
    assert fast(text, return_offsets_mapping=True, add_special_tokens=False)["offset_mapping"] == offsets
