"""The common tokenizer API (base.py), checked on both the slow and the fast BERT tokenizer."""

from __future__ import annotations

import logging
import os
import pickle
import threading

import numpy as np
import pytest
import torch

from mintformers.hub import CheckpointError
from mintformers.tokenization import (
    AddedToken,
    BertTokenizer,
    BertTokenizerFast,
    MPNetTokenizerFast,
    PaddingStrategy,
    TokenizerInputError,
)


@pytest.fixture(params=["slow", "fast"], scope="module")
def tok(request, bert_dir):
    cls = BertTokenizer if request.param == "slow" else BertTokenizerFast
    return cls.from_pretrained(bert_dir)


@pytest.fixture
def fresh(request, bert_dir):
    """A tokenizer a test may modify (param: "slow" or "fast")."""
    cls = BertTokenizer if request.param == "slow" else BertTokenizerFast
    return cls.from_pretrained(bert_dir)


both = pytest.mark.parametrize("fresh", ["slow", "fast"], indirect=True)

# ids in the test vocabulary (conftest.bert_vocab)
PAD, UNK, CLS, SEP, MASK = 0, 1, 2, 3, 4
HELLO, WORLD, THE, QUICK, BROWN, FOX = 5, 6, 7, 8, 9, 10


def test_single_pair_and_batch(tok):
    assert tok("hello world").input_ids == [CLS, HELLO, WORLD, SEP]
    enc = tok("hello world", "the fox")
    assert enc.input_ids == [CLS, HELLO, WORLD, SEP, THE, FOX, SEP]
    assert enc.token_type_ids == [0, 0, 0, 0, 1, 1, 1]
    assert enc.attention_mask == [1] * 7
    batch = tok(["hello", "the quick fox"], ["world", "x"])
    assert batch.input_ids[0] == [CLS, HELLO, SEP, WORLD, SEP]
    words = tok([["Hello", "world!"], ["fox"]], is_split_into_words=True)
    assert words.input_ids == tok(["hello world !", "fox"]).input_ids
    assert tok.encode("hello world") == [CLS, HELLO, WORLD, SEP]
    assert tok.encode_plus("hello", "world") == tok("hello", "world")
    assert tok.batch_encode_plus([("hello", "world")]) == tok(["hello"], ["world"])


def test_padding_right_left_and_multiple(tok):
    enc = tok(["hello world", "fox"], padding=True)
    assert enc.input_ids == [[CLS, HELLO, WORLD, SEP], [CLS, FOX, SEP, PAD]]
    assert enc.attention_mask == [[1, 1, 1, 1], [1, 1, 1, 0]]
    enc = tok(["hello world", "fox"], padding="longest", padding_side="left", return_special_tokens_mask=True)
    assert enc.input_ids[1] == [PAD, CLS, FOX, SEP] and enc.attention_mask[1] == [0, 1, 1, 1]
    assert enc.special_tokens_mask[1] == [1, 1, 0, 1]
    enc = tok("fox", padding="max_length", max_length=6)
    assert enc.input_ids == [CLS, FOX, SEP, PAD, PAD, PAD] and enc.token_type_ids == [0] * 6
    enc = tok(["hello world", "fox"], padding=True, pad_to_multiple_of=3)
    assert [len(row) for row in enc.input_ids] == [6, 6]
    assert (
        tok(["hello world", "fox"], padding=PaddingStrategy.LONGEST).input_ids
        == tok(["hello world", "fox"], padding=True).input_ids
    )


def test_truncation_strategies(tok):
    long, short = "the quick brown fox", "hello"
    assert tok(long, truncation=True, max_length=4).input_ids == [CLS, THE, QUICK, SEP]
    assert tok(long, short, truncation="only_first", max_length=6).input_ids == [CLS, THE, QUICK, SEP, HELLO, SEP]
    assert tok(short, long, truncation="only_second", max_length=6).input_ids == [CLS, HELLO, SEP, THE, QUICK, SEP]
    assert tok(long, short, truncation="longest_first", max_length=6).input_ids == [CLS, THE, QUICK, SEP, HELLO, SEP]
    enc = tok(long, max_length=4)  # max_length alone truncates (with a warning), as the reference does
    assert enc.input_ids == [CLS, THE, QUICK, SEP]


def test_truncation_side_left(bert_dir):
    for cls in (BertTokenizer, BertTokenizerFast):
        tok = cls.from_pretrained(bert_dir, truncation_side="left")
        assert tok("the quick brown fox", truncation=True, max_length=4).input_ids == [CLS, BROWN, FOX, SEP]


def test_overflow_with_stride_fast(bert_dir):
    tok = BertTokenizerFast.from_pretrained(bert_dir)
    enc = tok(["the quick brown fox", "hello"], truncation=True, max_length=4, stride=1, return_overflowing_tokens=True)
    assert enc.input_ids == [
        [CLS, THE, QUICK, SEP],
        [CLS, QUICK, BROWN, SEP],
        [CLS, BROWN, FOX, SEP],
        [CLS, HELLO, SEP],
    ]
    assert enc.overflow_to_sample_mapping == [0, 0, 0, 1]


def test_overflow_with_stride_slow(bert_dir):
    tok = BertTokenizer.from_pretrained(bert_dir)
    enc = tok("the quick brown fox", truncation=True, max_length=4, stride=1, return_overflowing_tokens=True)
    assert enc.input_ids == [CLS, THE, QUICK, SEP]
    assert enc.overflowing_tokens == [QUICK, BROWN, FOX] and enc.num_truncated_tokens == 2
    with pytest.raises(ValueError, match="Not possible to return overflowing tokens for pair"):
        tok("a b c", "d e f", truncation=True, max_length=4, return_overflowing_tokens=True)


def test_return_flags_and_tensors(tok):
    enc = tok(["hello world", "fox"], padding=True, return_tensors="pt", return_length=True)
    assert enc.input_ids.dtype == torch.int64 and enc.input_ids.shape == (2, 4)
    enc = tok("hello", return_tensors="np", return_token_type_ids=False, return_attention_mask=False)
    assert list(enc) == ["input_ids"] and enc.input_ids.shape == (1, 3)
    enc = tok("hello", add_special_tokens=False, return_special_tokens_mask=True)
    assert enc.input_ids == [HELLO] and enc.special_tokens_mask == [0]


def test_offsets_only_on_fast(tok):
    if tok.is_fast:
        enc = tok("Hello wörld", return_offsets_mapping=True)
        assert enc.offset_mapping == [(0, 0), (0, 5), (6, 11), (0, 0)]  # "wörld" → "world"
    else:
        with pytest.raises(NotImplementedError, match="return_offset_mapping is not available"):
            tok("Hello", return_offsets_mapping=True)


def test_decode(tok):
    ids = tok("Don't stop, the fox!")["input_ids"]
    expected = "don't stop, the fox!"  # clean_up_tokenization_spaces defaults to True when built from vocab.txt
    assert tok.clean_up_tokenization_spaces
    assert tok.decode(ids, skip_special_tokens=True) == expected
    # Without clean-up the engines differ as in the reference: the fast WordPiece decoder still glues punctuation.
    raw = "don ' t stop, the fox!" if tok.is_fast else "don ' t stop , the fox !"
    assert tok.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False) == raw
    assert tok.decode(torch.tensor(ids)) == tok.decode(ids) == tok.decode(np.array(ids))
    assert tok.batch_decode(torch.tensor([ids, ids]), skip_special_tokens=True) == [expected] * 2
    assert tok.decode(HELLO) == "hello"
    assert tok.convert_ids_to_tokens([CLS, HELLO], skip_special_tokens=True) == ["hello"]
    assert tok.convert_tokens_to_ids(["hello", "not-a-token"]) == [HELLO, UNK]
    assert tok.convert_tokens_to_string(["un", "##aff", "##able"]) == "unaffable"


# ------------------------------------------------------------------------------------------------ bad input


def test_text_of_wrong_type_is_a_type_error(tok):
    with pytest.raises(TypeError, match=r"text input must be of type `str`.*got int \(42\)"):
        tok(42)
    with pytest.raises(TypeError, match=r"got list containing int \(3\)"):
        tok(["hello", 3])
    with pytest.raises(TypeError, match="text_pair input must be of type"):
        tok("hello", b"bytes")
    with pytest.raises(ValueError):  # also a ValueError, as the reference raises
        tok({"text": "hello"})
    for call in (lambda: tok(), lambda: tok(None), lambda: tok.encode(None), lambda: tok.encode_plus(None)):
        with pytest.raises(ValueError, match=r"text is None: pass a str, or a list of str for a batch"):
            call()  # a ValueError, as the reference raises, whose message says what to pass


def test_pair_and_batch_mismatch(tok):
    with pytest.raises(ValueError, match="batch length of `text`: 2 does not match batch length of `text_pair`: 1"):
        tok(["a", "b"], ["c"])
    with pytest.raises(TypeError, match="`text_pair` must be a list or tuple"):
        tok(["a", "b"], "c")
    with pytest.raises(TokenizerInputError, match="has to be a list or a tuple"):
        tok.batch_encode_plus("not a list")


def test_unknown_strategy_strings_list_the_valid_ones(tok):
    with pytest.raises(ValueError, match=r"'sideways' is not a valid PaddingStrategy.*\['longest', 'max_length'"):
        tok("hello", padding="sideways")
    with pytest.raises(ValueError, match=r"is not a valid TruncationStrategy.*'only_first', 'only_second'"):
        tok("hello", truncation="middle", max_length=3)
    with pytest.raises(ValueError, match="padding_side should be 'left' or 'right'"):
        tok("hello", padding=True, padding_side="top")
    with pytest.raises(ValueError, match="not a valid TensorType"):
        tok("hello", return_tensors="mlx")
    with pytest.raises(ValueError, match="not a multiple of pad_to_multiple_of"):
        tok("hello", padding=True, truncation=True, max_length=5, pad_to_multiple_of=4)


def test_unknown_keyword_arguments(bert_dir, caplog):
    with pytest.raises(TypeError, match="unexpected keyword arguments: \\['colour'\\]"):
        BertTokenizerFast.from_pretrained(bert_dir)("hello", colour="red")
    with caplog.at_level(logging.WARNING):
        BertTokenizer.from_pretrained(bert_dir)("hello", colour="red")  # the slow reference warns and goes on
    assert "not recognized" in caplog.text


@both
def test_padding_without_pad_token(fresh):
    fresh.pad_token = None
    with pytest.raises(ValueError, match="does not have a padding token"):
        fresh(["a", "b c"], padding=True)


# ------------------------------------------------------------------------------------------- model_max_length


@both
def test_too_long_warns_once_and_never_truncates_silently(fresh, caplog):
    fresh.model_max_length = 5
    with caplog.at_level(logging.WARNING, logger="mintformers"):
        ids = fresh("the quick brown fox the quick").input_ids
        fresh("the quick brown fox the quick brown")
    assert len(ids) == 8
    assert caplog.text.count("Token indices sequence length is longer than the specified maximum") == 1
    assert fresh("the quick brown fox the quick", truncation=True).input_ids == [CLS, THE, QUICK, BROWN, SEP]
    assert len(fresh("fox", padding="max_length").input_ids) == 5
    assert fresh.max_len_single_sentence == 3 and fresh.max_len_sentences_pair == 2


def test_no_model_max_length_means_no_implicit_truncation(tok, caplog):
    with caplog.at_level(logging.WARNING):
        assert len(tok("the quick brown fox", truncation=True).input_ids) == 6
    assert "no maximum length is provided" in caplog.text


# --------------------------------------------------------------------------------------------------- pad()


def test_pad_lists_dicts_and_tensors(tok):
    rows = [tok("hello world"), tok("fox")]
    padded = tok.pad(rows)
    assert padded.input_ids == [[CLS, HELLO, WORLD, SEP], [CLS, FOX, SEP, PAD]]
    assert padded.attention_mask == [[1, 1, 1, 1], [1, 1, 1, 0]]
    assert padded.token_type_ids[1] == [0, 0, 0, 0]
    left = tok.pad({"input_ids": [[1, 2], [3]]}, padding_side="left", pad_to_multiple_of=4)
    assert left.input_ids == [[PAD, PAD, 1, 2], [PAD, PAD, PAD, 3]]
    tensors = tok.pad([{"input_ids": torch.tensor([1, 2, 3])}, {"input_ids": torch.tensor([4])}])
    assert isinstance(tensors.input_ids, torch.Tensor) and tensors.input_ids.tolist() == [[1, 2, 3], [4, 0, 0]]
    arrays = tok.pad({"input_ids": [np.array([1, 2]), np.array([3])]}, return_attention_mask=False)
    assert isinstance(arrays.input_ids, np.ndarray) and "attention_mask" not in arrays
    fixed = tok.pad({"input_ids": [1, 2]}, padding="max_length", max_length=4, return_tensors="pt")
    assert fixed.input_ids.tolist() == [1, 2, PAD, PAD] and fixed.attention_mask.tolist() == [1, 1, 0, 0]
    with pytest.raises(ValueError, match="that includes input_ids"):
        tok.pad({"attention_mask": [[1]]})


# ---------------------------------------------------------------------------------------------- special tokens


@both
def test_special_token_attributes(fresh):
    assert fresh.cls_token == "[CLS]" and fresh.cls_token_id == CLS
    assert fresh.bos_token is None and fresh.bos_token_id is None
    assert fresh.special_tokens_map == {
        "unk_token": "[UNK]",
        "sep_token": "[SEP]",
        "pad_token": "[PAD]",
        "cls_token": "[CLS]",
        "mask_token": "[MASK]",
    }
    assert fresh.all_special_ids == [UNK, SEP, PAD, CLS, MASK]
    fresh.bos_token = "[CLS]"
    assert fresh.bos_token_id == CLS
    fresh.eos_token_id = SEP
    assert fresh.eos_token == "[SEP]"
    fresh.pad_token = AddedToken("[MASK]", special=True)
    assert fresh.pad_token == "[MASK]" and fresh.pad_token_id == MASK
    with pytest.raises(ValueError, match="Cannot set a non-string value as the sep_token"):
        fresh.sep_token = 5
    assert fresh.additional_special_tokens == [] and fresh.additional_special_tokens_ids == []


@both
def test_add_tokens_and_special_tokens(fresh):
    size = len(fresh)
    # "hello" is already in the vocabulary: not new for the slow tokenizer, new to the backend's added vocabulary
    added = fresh.add_tokens(["newword", AddedToken("<glue>", lstrip=True, rstrip=True), "hello"])
    assert added == (3 if fresh.is_fast else 2)
    assert len(fresh) == size + 2
    assert fresh("a newword   <glue>   fox", add_special_tokens=False).input_ids == [
        fresh.convert_tokens_to_ids("a"),
        size,
        size + 1,
        FOX,
    ]
    assert fresh.add_special_tokens({"additional_special_tokens": ["<ent>"], "bos_token": "<bos>"}) == 2
    assert fresh.additional_special_tokens == ["<ent>"] and fresh.bos_token_id == size + 3
    assert fresh.convert_tokens_to_ids("<ent>") == size + 2
    ids = fresh("<ent>hello<bos>", add_special_tokens=False).input_ids
    assert ids == [size + 2, HELLO, size + 3]
    assert fresh.decode(ids, skip_special_tokens=True) == "hello"
    assert fresh.get_added_vocab()["newword"] == size
    with pytest.raises(ValueError, match="not a special token"):
        fresh.add_special_tokens({"weird_token": "x"})


def test_special_tokens_mask_without_specials_in_ids(tok):
    assert tok.get_special_tokens_mask([HELLO, WORLD], [FOX]) == [1, 0, 0, 1, 0, 1]
    assert tok.get_special_tokens_mask([CLS, HELLO, SEP], already_has_special_tokens=True) == [1, 0, 1]
    assert tok.num_special_tokens_to_add() == 2 and tok.num_special_tokens_to_add(pair=True) == 3


def test_mpnet_has_no_token_type_ids_by_default(mpnet_dir):
    tok = MPNetTokenizerFast.from_pretrained(mpnet_dir)
    enc = tok("hello", "world")
    assert list(enc) == ["input_ids", "attention_mask"]
    assert tok.convert_ids_to_tokens(enc.input_ids) == ["<s>", "hello", "</s>", "</s>", "world", "</s>"]
    assert tok.create_token_type_ids_from_sequences([5], [6]) == [0] * 6


# ------------------------------------------------------------------------------------------------ save / load


@both
def test_save_pretrained_round_trip_and_atomic_files(fresh, tmp_path):
    fresh.add_tokens(["newword"])
    fresh.model_max_length = 16
    written = fresh.save_pretrained(tmp_path / "out")
    names = sorted(os.listdir(tmp_path / "out"))
    assert sorted(os.path.basename(p) for p in written) == names  # no temp files left behind
    expected = {"tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.txt"}
    assert set(names) == expected | ({"tokenizer.json"} if fresh.is_fast else set())
    again = type(fresh).from_pretrained(tmp_path / "out")
    text = "hello newword the fox"
    assert again(text).input_ids == fresh(text).input_ids and again.model_max_length == 16
    fresh.save_pretrained(tmp_path / "out")  # overwriting is fine
    assert sorted(os.listdir(tmp_path / "out")) == names
    prefixed = fresh.save_pretrained(tmp_path / "pre", filename_prefix="x")
    assert all(os.path.basename(p).startswith("x-") for p in prefixed)
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="should be a directory, not a file"):
        fresh.save_pretrained(tmp_path / "file")


def test_from_pretrained_kwargs_override_files(bert_dir, tmp_path):
    BertTokenizerFast.from_pretrained(bert_dir, model_max_length=7).save_pretrained(tmp_path)
    tok = BertTokenizerFast.from_pretrained(tmp_path, model_max_length=9, padding_side="left")
    assert tok.model_max_length == 9 and tok.padding_side == "left"
    assert BertTokenizerFast.from_pretrained(tmp_path).model_max_length == 7


def test_missing_directory_or_vocab_is_a_clear_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="neither an existing local directory nor a valid Hugging Face Hub"):
        BertTokenizer.from_pretrained(tmp_path / "does" / "not" / "exist")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match=r"'vocab.txt' not found \(the directory .* has no such file\)"):
        BertTokenizer.from_pretrained(tmp_path / "empty")
    with pytest.raises(CheckpointError, match="'tokenizer.json' or 'vocab.txt' not found.*save_pretrained"):
        BertTokenizerFast.from_pretrained(tmp_path / "empty")
    with pytest.raises(CheckpointError):
        BertTokenizer.from_pretrained("nobody/no-such-model", local_files_only=True)
    with pytest.raises(ValueError, match="Can't find a vocabulary file at path"):
        BertTokenizer(str(tmp_path / "missing.txt"))


# ----------------------------------------------------------------------------------------- fast-specific


def test_fast_is_picklable_and_thread_safe(bert_dir):
    tok = BertTokenizerFast.from_pretrained(bert_dir)
    clone = pickle.loads(pickle.dumps(tok))
    assert clone("hello world").input_ids == tok("hello world").input_ids
    texts = ["hello world the quick brown fox", "fox"]
    expected = {
        "pad": tok(texts, padding="max_length", max_length=12).input_ids,
        "trunc": tok(texts, truncation=True, max_length=3).input_ids,
    }
    errors = []

    def worker(kind):
        for _ in range(50):
            got = (
                tok(texts, padding="max_length", max_length=12).input_ids
                if kind == "pad"
                else tok(texts, truncation=True, max_length=3).input_ids
            )
            if got != expected[kind]:
                errors.append(kind)

    threads = [threading.Thread(target=worker, args=(k,)) for k in ("pad", "trunc", "pad", "trunc")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_stride_too_large_is_a_value_error(bert_dir):
    tok = BertTokenizerFast.from_pretrained(bert_dir)
    with pytest.raises(ValueError, match="stride"):
        tok("the quick brown fox", truncation=True, max_length=4, stride=5, return_overflowing_tokens=True)
