"""The generic PreTrainedTokenizerFast on a GPT-NeoX-style byte-level BPE tokenizer.json (what MPT ships)."""

from __future__ import annotations

import json
import os

import pytest
from tokenizers import Tokenizer

from mintformers.hub import CheckpointError
from mintformers.tokenization import PreTrainedTokenizerFast

EOS = "<|endoftext|>"


@pytest.fixture
def bpe(bpe_dir):
    return PreTrainedTokenizerFast.from_pretrained(bpe_dir)


def test_loads_any_tokenizer_json(bpe, bpe_dir):
    assert bpe.eos_token == bpe.bos_token == bpe.unk_token == EOS and bpe.eos_token_id == 0
    assert bpe.pad_token is None and bpe.model_max_length == 2048
    direct = PreTrainedTokenizerFast(tokenizer_file=str(bpe_dir / "tokenizer.json"))
    backend = PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_file(str(bpe_dir / "tokenizer.json")))
    text = "Hello world! The quick brown fox."
    assert direct(text).input_ids == backend(text).input_ids == bpe(text).input_ids
    assert bpe.tokenize(" world")[0] == "Ġworld"  # byte-level: the space belongs to the word


def test_byte_level_round_trip_and_offsets(bpe):
    text = "Héllo wörld 😀 中文\n  tabs\tand spaces"
    enc = bpe(text, return_offsets_mapping=True)
    assert bpe.decode(enc.input_ids, clean_up_tokenization_spaces=False) == text
    assert all(0 <= start <= end <= len(text) for start, end in enc.offset_mapping)
    enc = bpe("Hello world", return_offsets_mapping=True)
    assert enc.tokens() == ["Hello", "Ġworld"]
    assert enc.offset_mapping == [(0, 5), (6, 11)]  # the post-processor trims the space out of " world"


def test_left_padding_for_generation(bpe):
    bpe.pad_token = bpe.eos_token
    bpe.padding_side = "left"
    prompts = ["Hello world", "The quick brown fox jumps"]
    enc = bpe(prompts, padding=True, return_tensors="pt")
    lengths = [len(bpe(p).input_ids) for p in prompts]
    for row, mask, n in zip(enc.input_ids.tolist(), enc.attention_mask.tolist(), lengths):
        assert mask == [0] * (len(row) - n) + [1] * n
        assert row[len(row) - n :] == bpe(prompts[lengths.index(n)]).input_ids
    assert set(enc.input_ids[0, : len(enc.input_ids[0]) - lengths[0]].tolist()) == {bpe.pad_token_id}


def test_add_bos_and_eos_tokens(bpe_dir):
    plain = PreTrainedTokenizerFast.from_pretrained(bpe_dir)
    tok = PreTrainedTokenizerFast.from_pretrained(bpe_dir, add_bos_token=True, add_eos_token=True)
    ids = plain("Hello world").input_ids
    assert tok("Hello world").input_ids == [0] + ids + [0]
    enc = tok("a", "b", return_special_tokens_mask=True)
    assert enc.special_tokens_mask == [1, 0, 1, 1, 0, 1]
    assert tok.build_inputs_with_special_tokens([5], [6]) == [0, 5, 0, 0, 6, 0]
    assert tok.get_special_tokens_mask([5], [6]) == [1, 0, 1, 1, 0, 1]
    tok.add_eos_token = False
    assert tok("Hello world").input_ids == [0] + ids
    assert tok.num_special_tokens_to_add() == 1
    with pytest.raises(ValueError, match="add_bos_token = True but bos_token = None"):
        PreTrainedTokenizerFast.from_pretrained(bpe_dir, add_bos_token=True, bos_token=None)


def test_save_and_reload_generic(bpe, tmp_path):
    bpe.add_special_tokens({"pad_token": "<|padding|>"})
    written = bpe.save_pretrained(tmp_path)
    assert sorted(os.path.basename(p) for p in written) == [
        "special_tokens_map.json",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    with open(tmp_path / "tokenizer_config.json") as f:
        config = json.load(f)
    assert config["tokenizer_class"] == "PreTrainedTokenizerFast" and config["pad_token"] == "<|padding|>"
    again = PreTrainedTokenizerFast.from_pretrained(tmp_path)
    assert (
        again(["Hello", "world wide"], padding=True).input_ids == bpe(["Hello", "world wide"], padding=True).input_ids
    )


def test_saved_file_does_not_keep_the_last_calls_settings(bpe, bpe_dir, tmp_path):
    bpe.add_special_tokens({"pad_token": "<|padding|>"})
    bpe(["Hello", "world wide"], padding="max_length", truncation=True, max_length=3)
    bpe.save_pretrained(tmp_path)
    with open(tmp_path / "tokenizer.json") as saved, open(bpe_dir / "tokenizer.json") as original:
        saved, original = json.load(saved), json.load(original)
    assert (saved["truncation"], saved["padding"]) == (original["truncation"], original["padding"])
    assert len(bpe("Hello world wide", padding="max_length", truncation=True, max_length=3).input_ids) == 3


def test_missing_tokenizer_json(tmp_path):
    with pytest.raises(CheckpointError, match="'tokenizer.json' not found"):
        PreTrainedTokenizerFast.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="needs a tokenizer.json"):
        PreTrainedTokenizerFast()
