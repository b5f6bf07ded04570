"""WordPiece tokenizers: the two Python steps, the fast pipeline built from vocab.txt, the family formats."""

from __future__ import annotations

import json

import pytest

from mintformers.tokenization import (
    BasicTokenizer,
    BertTokenizer,
    BertTokenizerFast,
    MobileBertTokenizer,
    MobileBertTokenizerFast,
    MPNetTokenizer,
    MPNetTokenizerFast,
    WordpieceTokenizer,
)
from mintformers.tokenization.wordpiece import load_vocab


def test_basic_tokenizer_cleans_splits_and_normalizes():
    basic = BasicTokenizer()
    assert basic.tokenize("Héllo, WÖRLD!") == ["hello", ",", "world", "!"]
    assert basic.tokenize("北京 is 中文") == ["北", "京", "is", "中", "文"]
    # NUL, U+FFFD, control and format (zero-width) characters go; every whitespace splits
    assert basic.tokenize("ctrl\x00\x07\ufffdchar\u200b zero\tws\u00a0nbsp") == ["ctrlchar", "zero", "ws", "nbsp"]
    assert basic.tokenize("e\u0301") == ["e"]  # NFC then accent stripping
    assert basic.tokenize("don't [MASK]", never_split=["[MASK]"]) == ["don", "'", "t", "[MASK]"]
    assert basic.tokenize("$5^") == ["$", "5", "^"]  # ASCII symbols count as punctuation


def test_basic_tokenizer_options():
    assert BasicTokenizer(do_lower_case=False).tokenize("Héllo") == ["Héllo"]
    assert BasicTokenizer(do_lower_case=False, strip_accents=True).tokenize("Héllo") == ["Hello"]
    assert BasicTokenizer(do_lower_case=True, strip_accents=False).tokenize("Héllo") == ["héllo"]
    assert BasicTokenizer(tokenize_chinese_chars=False).tokenize("北京") == ["北京"]
    assert BasicTokenizer(do_split_on_punc=False).tokenize("don't!") == ["don't!"]
    assert BasicTokenizer(never_split=["[Keep]"]).tokenize("[Keep] [Drop]") == ["[Keep]", "[", "drop", "]"]


def test_wordpiece_is_greedy_longest_match_first():
    vocab = {t: i for i, t in enumerate(["[UNK]", "un", "##aff", "##able", "a", "##b", "##ab"])}
    wordpiece = WordpieceTokenizer(vocab, unk_token="[UNK]", max_input_chars_per_word=5)
    assert wordpiece.tokenize("unaffable") == ["[UNK]"]  # 9 characters > 5
    assert WordpieceTokenizer(vocab, "[UNK]").tokenize("unaffable") == ["un", "##aff", "##able"]
    assert wordpiece.tokenize("abab a") == ["a", "##b", "##ab", "a"]
    assert wordpiece.tokenize("axe") == ["[UNK]"]  # one unknown piece makes the whole word unknown


def test_load_vocab_keeps_line_numbers(tmp_path):
    (tmp_path / "vocab.txt").write_text("[PAD]\na b\n\u2028odd\n##x\n", encoding="utf-8")
    assert load_vocab(tmp_path / "vocab.txt") == {"[PAD]": 0, "a b": 1, "\u2028odd": 2, "##x": 3}


def test_fast_from_vocab_equals_fast_from_tokenizer_json(bert_dir, tmp_path):
    from_vocab = BertTokenizerFast.from_pretrained(bert_dir)
    from_vocab.save_pretrained(tmp_path)
    from_json = BertTokenizerFast.from_pretrained(tmp_path)
    texts = ["Hello wörld!", "the quick brown fox", "北京 😀 naïve", ""]
    assert from_json(texts, ["a", "b", "c", "d"]).input_ids == from_vocab(texts, ["a", "b", "c", "d"]).input_ids
    assert from_json(texts, return_offsets_mapping=True) == from_vocab(texts, return_offsets_mapping=True)
    with open(tmp_path / "tokenizer.json") as f:
        backend = json.load(f)
    assert backend["normalizer"]["type"] == "BertNormalizer" and backend["model"]["type"] == "WordPiece"


def test_constructor_options_override_the_tokenizer_json_normalizer(bert_dir, tmp_path):
    BertTokenizerFast.from_pretrained(bert_dir).save_pretrained(tmp_path)
    cased = BertTokenizerFast.from_pretrained(tmp_path, do_lower_case=False)
    assert cased.tokenize("Hello") == ["H", "##e", "##l", "##l", "##o"]
    accents = BertTokenizerFast.from_pretrained(tmp_path, strip_accents=False)
    assert accents.tokenize("é") == ["é"]
    assert BertTokenizerFast.from_pretrained(tmp_path).tokenize("é") == ["e"]


def test_clean_up_default_depends_on_how_the_fast_tokenizer_was_built(bert_dir, tmp_path):
    """As the reference: built from vocab.txt it takes the slow default (True); from tokenizer.json, False."""
    assert BertTokenizerFast.from_pretrained(bert_dir).clean_up_tokenization_spaces is True
    (tmp_path / "json_only").mkdir()
    BertTokenizerFast.from_pretrained(bert_dir).backend_tokenizer.save(str(tmp_path / "json_only" / "tokenizer.json"))
    assert BertTokenizerFast.from_pretrained(tmp_path / "json_only").clean_up_tokenization_spaces is False


def test_do_basic_tokenize_false(bert_dir):
    tok = BertTokenizer.from_pretrained(bert_dir, do_basic_tokenize=False)
    assert tok.tokenize("Hello hello") == ["H", "##e", "##l", "##l", "##o", "hello"]  # no lower-casing either


def test_mobilebert_is_bert_under_another_name(bert_dir):
    for cls, base in ((MobileBertTokenizer, BertTokenizer), (MobileBertTokenizerFast, BertTokenizerFast)):
        assert (
            cls.from_pretrained(bert_dir)("hello world").input_ids
            == base.from_pretrained(bert_dir)("hello world").input_ids
        )


@pytest.mark.parametrize("cls", [MPNetTokenizer, MPNetTokenizerFast])
def test_mpnet_format(cls, mpnet_dir):
    tok = cls.from_pretrained(mpnet_dir)
    assert (tok.cls_token, tok.sep_token, tok.pad_token, tok.mask_token, tok.unk_token) == (
        "<s>",
        "</s>",
        "<pad>",
        "<mask>",
        "[UNK]",
    )
    assert (tok.cls_token_id, tok.pad_token_id, tok.sep_token_id) == (0, 1, 2)
    enc = tok("hello", "world", return_special_tokens_mask=True, return_token_type_ids=True)
    assert tok.convert_ids_to_tokens(enc.input_ids) == ["<s>", "hello", "</s>", "</s>", "world", "</s>"]
    assert enc.special_tokens_mask == [1, 0, 1, 1, 0, 1]
    assert tok.get_special_tokens_mask([7], [8]) == [1, 0, 1, 1, 0, 1]
    # The mask token absorbs the space before it (lstrip) and is never split.
    assert tok("hello <mask>", add_special_tokens=False).input_ids == [
        tok.convert_tokens_to_ids("hello"),
        tok.mask_token_id,
    ]
    assert tok("hello", padding="max_length", max_length=5).input_ids[-1] == 1
