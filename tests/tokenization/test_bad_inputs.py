"""The tokenizer part of the bad-input catalogue (issue 18): each case → the exception type and the words its
message must hold (the problem, and what to do). Broken tokenizer files, and texts with lone surrogates wherever a
text reaches a tokenizer."""

from __future__ import annotations

import json
import shutil

import pytest

from mintformers.hub import CheckpointError
from mintformers.tokenization import (
    AutoTokenizer,
    BertTokenizer,
    BertTokenizerFast,
    ErnieMTokenizer,
    ErnieMTokenizerFast,
    LoneSurrogateError,
    PreTrainedTokenizerFast,
)
from pipelines.tiny import write_ernie_m_tokenizer

# ---- tokenizer files ------------------------------------------------------------------------------------------------


def _truncate(path):
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")


def _wrong_schema(path):
    state = json.loads(path.read_text(encoding="utf-8"))
    state["model"]["type"] = "WordPieceV9"
    path.write_text(json.dumps(state), encoding="utf-8")


FILE_CASES = [
    # (file, how it breaks, class, exception, words in the message)
    ("tokenizer.json", _truncate, BertTokenizerFast, CheckpointError,
     ["tokenizer.json", "not valid JSON", "truncated", "Re-download"]),
    ("tokenizer.json", _truncate, AutoTokenizer, CheckpointError, ["tokenizer.json", "truncated", "save_pretrained"]),
    ("tokenizer.json", _truncate, BertTokenizer, CheckpointError, ["tokenizer.json", "not valid JSON", "Re-download"]),
    ("tokenizer.json", _wrong_schema, BertTokenizerFast, CheckpointError,
     ["tokenizer.json", "cannot read", "valid JSON but not a tokenizer", "upgrade tokenizers"]),
    ("tokenizer.json", lambda p: p.write_bytes(b"\xff\xfe{}"), BertTokenizerFast, CheckpointError,
     ["tokenizer.json", "not UTF-8", "byte 0"]),
    ("tokenizer_config.json", _truncate, BertTokenizerFast, CheckpointError,
     ["tokenizer_config.json", "not valid JSON", "Re-download"]),
    ("special_tokens_map.json", lambda p: p.write_text("{", encoding="utf-8"), BertTokenizer, CheckpointError,
     ["special_tokens_map.json", "not valid JSON"]),
    ("vocab.txt", lambda p: p.write_text("", encoding="utf-8"), BertTokenizer, CheckpointError,
     ["vocab.txt", "is empty", "Re-download"]),
    ("vocab.txt", lambda p: p.write_text("hello\nworld\n", encoding="utf-8"), BertTokenizer, CheckpointError,
     ["vocab.txt", "has no '[UNK]'", "unk_token="]),
    ("vocab.txt", lambda p: p.write_bytes(b"[UNK]\n\xff\xfe\n"), BertTokenizer, CheckpointError,
     ["vocab.txt", "not UTF-8", "byte 6"]),
]  # fmt: skip


@pytest.fixture(scope="module")
def saved_bert(bert_dir, tmp_path_factory):
    """A BERT folder with every file save_pretrained writes (tokenizer.json, vocab.txt, configs)."""
    directory = tmp_path_factory.mktemp("bert_full")
    BertTokenizerFast.from_pretrained(bert_dir).save_pretrained(directory)
    return directory


@pytest.mark.parametrize("name, breaks, cls, error, words", FILE_CASES)
def test_broken_tokenizer_files(saved_bert, tmp_path, name, breaks, cls, error, words):
    directory = tmp_path / "broken"
    shutil.copytree(saved_bert, directory)
    if cls is BertTokenizer:
        (directory / "tokenizer_config.json").unlink()  # the legacy files' path: special_tokens_map.json is read
    breaks(directory / name)
    with pytest.raises(error) as got:
        cls.from_pretrained(directory)
    for word in words:
        assert word in str(got.value), (word, str(got.value))
    assert str(directory / name) in str(got.value) or name in str(got.value)


def test_an_empty_ernie_m_vocab_file(tmp_path):
    directory = write_ernie_m_tokenizer(tmp_path / "ernie_m")
    (directory / "vocab.txt").write_text("", encoding="utf-8")
    for cls in (ErnieMTokenizer, ErnieMTokenizerFast):
        with pytest.raises(CheckpointError, match=r"vocab.txt' is empty .*Re-download"):
            cls.from_pretrained(directory)


def test_an_unreadable_tokenizer_file(tmp_path):
    (tmp_path / "tokenizer.json").mkdir()  # a folder where the file should be: unreadable, whoever runs the test
    with pytest.raises(CheckpointError, match=r"Cannot read the tokenizer file .*tokenizer.json.*re-download"):
        PreTrainedTokenizerFast(tokenizer_file=tmp_path / "tokenizer.json")


def test_an_empty_vocab_file_is_refused_by_the_fast_class_too(tmp_path):
    (tmp_path / "vocab.txt").write_text("", encoding="utf-8")
    with pytest.raises(CheckpointError, match="is empty"):
        BertTokenizerFast.from_pretrained(tmp_path)  # built from vocab.txt: the slow class reads it first


# ---- lone surrogates ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tokenizers(bert_dir, tmp_path_factory):
    ernie = write_ernie_m_tokenizer(tmp_path_factory.mktemp("ernie_m"))
    return [BertTokenizer.from_pretrained(bert_dir), BertTokenizerFast.from_pretrained(bert_dir),
            ErnieMTokenizer.from_pretrained(ernie), ErnieMTokenizerFast.from_pretrained(ernie)]  # fmt: skip


SURROGATE_CASES = [
    # (call, words: where, the character, its position)
    (lambda t: t("caf\udce9 ok"), ["The text ", "\\udce9", "position 3", "near 'caf\\udce9 ok'"]),
    (lambda t: t("ok", "pair \ud83d"), ["The text_pair ", "\\ud83d", "position 5"]),
    (lambda t: t(["fine", "also fine", "bad \udfff"]), ["The batch[2] ", "\\udfff", "position 4"]),
    (lambda t: t(["a", "b"], ["c", "\ud800d"]), ["The batch[1][1] ", "\\ud800", "position 0"]),
    (lambda t: t([["pre", "split\udc80"]], is_split_into_words=True), ["The batch[0][1] ", "position 5"]),
    (lambda t: t.encode("x" * 30 + "\ud800" + "y" * 30), ["position 30", "near 'xxxxxxxxxxxxxxxxxxxx\\ud800yyyyyyyyyyyyyyyyyyy'"]),
    (lambda t: t.tokenize("tok\udc00en"), ["\\udc00", "position 3"]),
    (lambda t: t.batch_encode_plus(["ok", "no\udc80"]), ["The batch[1] ", "position 2"]),
    (lambda t: t.apply_chat_template([{"role": "user", "content": "hi"}, {"role": "user", "content": "yo\ud800"}],
                                     chat_template="{% for m in messages %}{{ m.content }}{% endfor %}"),
     ["The content of message 1 ", "position 2"]),
    (lambda t: t.apply_chat_template([[{"role": "user", "content": [{"type": "text", "text": "\udc80"}]}]],
                                     chat_template="{% for m in messages %}{{ m.content }}{% endfor %}"),
     ["The text of block 0 of conversation 0, message 0 ", "position 0"]),
]  # fmt: skip


@pytest.mark.parametrize("call, words", SURROGATE_CASES)
def test_lone_surrogates_are_named_with_their_position(tokenizers, call, words):
    for tokenizer in tokenizers:
        with pytest.raises(LoneSurrogateError) as got:
            call(tokenizer)
        for word in words:
            assert word in str(got.value), (type(tokenizer).__name__, word, str(got.value))
        assert "encode('utf-8', 'replace')" in str(got.value)  # the fix
        assert isinstance(got.value, (ValueError, TypeError, UnicodeError))


def test_characters_outside_the_bmp_and_ids_pass(tokenizers):
    for tokenizer in tokenizers:
        assert len(tokenizer("emoji 😀 fine").input_ids) > 2  # (a str holds it as one character, not a pair)
    assert tokenizers[0].encode_plus([5, 6, 7]).input_ids[1:-1] == [5, 6, 7]  # ids are not checked (nothing to find)


def test_whatever_feeds_a_tokenizer_reports_it(models):
    from mintformers.embeddings import SentenceEncoder
    from mintformers.pipelines import pipeline

    encoder = SentenceEncoder.from_pretrained(str(models["st"]))
    with pytest.raises(LoneSurrogateError, match=r"position 4 \(near 'good\\udc80'"):
        encoder.encode(["fine", "a longer sentence here", "good\udc80"])
    classify = pipeline("text-classification", model=str(models["cls"]))
    with pytest.raises(LoneSurrogateError, match="position 1"):
        classify(["ok", "n\ud800"])
