"""AutoTokenizer: tokenizer_config.json's class, else config.json's model_type, else a bare tokenizer.json."""

from __future__ import annotations

import json
import shutil

import pytest

from mintformers.hub import CheckpointError
from mintformers.tokenization import (
    AutoTokenizer,
    BertTokenizer,
    BertTokenizerFast,
    MobileBertTokenizer,
    MPNetTokenizerFast,
    PreTrainedTokenizerFast,
    auto,
)


def make_dir(tmp_path, source, *, tokenizer_config=None, config=None, name="ckpt"):
    directory = tmp_path / name
    shutil.copytree(source, directory)
    if tokenizer_config is not None:
        (directory / "tokenizer_config.json").write_text(json.dumps(tokenizer_config))
    if config is not None:
        (directory / "config.json").write_text(json.dumps(config))
    return directory


@pytest.mark.parametrize(
    ("tokenizer_class", "use_fast", "expected"),
    [
        ("BertTokenizer", True, BertTokenizerFast),
        ("BertTokenizerFast", False, BertTokenizer),
        ("MobileBertTokenizerFast", False, MobileBertTokenizer),
        ("MPNetTokenizer", True, MPNetTokenizerFast),
    ],
)
def test_tokenizer_class_from_tokenizer_config(tmp_path, bert_dir, mpnet_dir, tokenizer_class, use_fast, expected):
    source = mpnet_dir if "MPNet" in tokenizer_class else bert_dir
    directory = make_dir(tmp_path, source, tokenizer_config={"tokenizer_class": tokenizer_class})
    assert type(AutoTokenizer.from_pretrained(directory, use_fast=use_fast)) is expected


def test_model_type_from_config_json(tmp_path, bert_dir):
    directory = make_dir(tmp_path, bert_dir, config={"model_type": "mobilebert"})
    assert type(AutoTokenizer.from_pretrained(directory)).__name__ == "MobileBertTokenizerFast"
    assert type(AutoTokenizer.from_pretrained(directory, use_fast=False)).__name__ == "MobileBertTokenizer"
    assert type(AutoTokenizer.from_pretrained(bert_dir, tokenizer_type="bert")) is BertTokenizerFast


def test_gpt_neox_checkpoint_gets_the_generic_fast_tokenizer(bpe_dir):
    tok = AutoTokenizer.from_pretrained(bpe_dir, use_fast=False)  # no slow class: the fast one anyway
    assert type(tok) is PreTrainedTokenizerFast
    assert tok.model_input_names == ["input_ids", "attention_mask"]  # decoder tokenizers: no token_type_ids
    assert list(tok("Hello", "world")) == ["input_ids", "attention_mask"]
    assert (
        tok.add_bos_token is False
        and tok("Hello").input_ids == PreTrainedTokenizerFast.from_pretrained(bpe_dir)("Hello").input_ids
    )


def test_mpt_model_type_and_bare_tokenizer_json(tmp_path, bpe_dir):
    mpt = make_dir(tmp_path, bpe_dir, tokenizer_config={"eos_token": "<|endoftext|>"}, config={"model_type": "mpt"})
    tok = AutoTokenizer.from_pretrained(mpt, add_eos_token=True)
    assert type(tok) is PreTrainedTokenizerFast and tok("Hello").input_ids[-1] == tok.eos_token_id
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(bpe_dir / "tokenizer.json", bare / "tokenizer.json")
    assert type(AutoTokenizer.from_pretrained(bare)) is PreTrainedTokenizerFast


def test_unknown_class_with_tokenizer_json_is_generic_and_remote_code_never_runs(tmp_path, bpe_dir):
    config = {"tokenizer_class": "MyCustomTokenizer", "auto_map": {"AutoTokenizer": ["evil.Tok", None]}}
    directory = make_dir(tmp_path, bpe_dir, tokenizer_config=config)
    (directory / "evil.py").write_text("raise SystemExit('remote code was executed')\n")
    tok = AutoTokenizer.from_pretrained(directory, trust_remote_code=True)
    assert type(tok) is PreTrainedTokenizerFast


def test_nothing_to_go_on_is_a_clear_error(tmp_path, bert_dir):
    directory = make_dir(tmp_path, bert_dir, tokenizer_config={"tokenizer_class": "XLNetTokenizer"})
    with pytest.raises(CheckpointError, match="asks for XLNetTokenizer, which mintformers does not implement"):
        AutoTokenizer.from_pretrained(directory)
    with pytest.raises(CheckpointError, match="no tokenizer.json, and no tokenizer_config.json or config.json names"):
        AutoTokenizer.from_pretrained(bert_dir)  # vocab.txt alone says nothing about the family
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="Pass the folder that holds the tokenizer files"):
        AutoTokenizer.from_pretrained(tmp_path / "empty")
    with pytest.raises(ValueError, match="Unknown tokenizer_type"):
        AutoTokenizer.from_pretrained(bert_dir, tokenizer_type="gpt99")
    with pytest.raises(OSError, match="from_pretrained"):
        AutoTokenizer()


def test_family_without_implementation_yet(tmp_path, bert_dir, monkeypatch):
    monkeypatch.setitem(auto.TOKENIZER_CLASSES, "future", ("FutureTokenizer", "FutureTokenizerFast"))
    directory = make_dir(tmp_path, bert_dir, config={"model_type": "future"})
    with pytest.raises(NotImplementedError, match="FutureTokenizerFast / FutureTokenizer is not available"):
        AutoTokenizer.from_pretrained(directory)

