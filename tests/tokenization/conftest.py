"""Small tokenizer checkpoints written by the tests themselves (no network, no files from elsewhere)."""

from __future__ import annotations

import string

import pytest

from byte_bpe import write_neox_tokenizer

BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
MPNET_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]
WORDS = [
    "hello", "world", "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "un", "##aff", "##able",
    "run", "##ning", "##s", "don", "t", "it", "is", "a", "test", "cafe", "naive", "resume", "北", "京", "中", "文",
]  # fmt: skip
# Characters the vocabulary knows (each also as a "##" continuation): ASCII, some Latin-1, Greek, kana, emoji.
CHARS = (
    string.ascii_lowercase
    + string.ascii_uppercase
    + string.digits
    + string.punctuation
    + "éèêëàâäôöûüçñßøåæ"
    + "αβγδεζηθλμπσςω"
    + "あいうえおかきくけこアイウエオ"
    + "😀👍"
)
BPE_CORPUS = [
    "Hello world! The quick brown fox jumps over the lazy dog.",
    "Héllo wörld, naïve café 😀 中文 text",
    "  leading spaces\tand tabs\nand newlines",
    "don't stop, it's fine; we're here",
    "numbers 12345 and symbols #@!$%",
] * 8


def bert_vocab() -> list[str]:
    vocab = list(BERT_SPECIALS) + WORDS + list(CHARS) + ["##" + c for c in CHARS]
    seen: set[str] = set()
    return [t for t in vocab if not (t in seen or seen.add(t))]


def write_lines(path, tokens: list[str]) -> None:
    path.write_text("".join(t + "\n" for t in tokens), encoding="utf-8")


@pytest.fixture(scope="session")
def bert_dir(tmp_path_factory):
    """A directory with only vocab.txt (BERT layout, uncased tokens plus upper-case characters)."""
    directory = tmp_path_factory.mktemp("bert_vocab")
    write_lines(directory / "vocab.txt", bert_vocab())
    return directory


@pytest.fixture(scope="session")
def mpnet_dir(tmp_path_factory):
    """MPNet layout: <s> <pad> </s> <unk>, then a BERT vocabulary, then <mask>."""
    directory = tmp_path_factory.mktemp("mpnet_vocab")
    write_lines(directory / "vocab.txt", MPNET_SPECIALS + bert_vocab() + ["<mask>"])
    return directory


@pytest.fixture(scope="session")
def bpe_dir(tmp_path_factory):
    """A GPT-NeoX-style byte-level BPE tokenizer.json trained here, with an MPT-like tokenizer_config.json."""
    return write_neox_tokenizer(tmp_path_factory.mktemp("bpe"), BPE_CORPUS, 400)
