"""ErnieMTokenizer (sentencepiece) and ErnieMTokenizerFast (tokenizers), without the reference.

The sentencepiece models are trained here, in a temporary directory, on multilingual text generated from the word
lists below (a BPE and a unigram model; real ErnieM uses XLM-R's unigram model). vocab.txt is laid out as ErnieM's:
[CLS] [PAD] [SEP] [UNK], the model's pieces from id 3 on (so piece k has id k + 1, XLM-R's fairseq layout, which
gives ErnieM's pad_token_id 1), then [MASK]. tests/reference/test_tokenization_ernie_m.py reuses these helpers.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import pickle
import random
from pathlib import Path

import pytest
import sentencepiece as spm
import torch
from tokenizers import Tokenizer

from mintformers.tokenization import AutoTokenizer
from mintformers.tokenization.ernie_m import ErnieMTokenizer, ernie_m_split
from mintformers.tokenization.ernie_m_fast import ErnieMTokenizerFast
from mintformers.tokenization.sentencepiece import SentencePieceNormalizer, read_sentencepiece_model

# ---------------------------------------------------------------------------------------------- the corpus

EN = (
    "the of and to in is that for it as was with be by on not he this are or his from at which but have an they you "
    "were her she there been one all we their has would when who will more no if out so said what up its about into "
    "than them can only other new some could time these two may then do first any my now such like our over man me "
    "even most made after also did many before must through back years where much your way well down should because "
    "each just those people how too little state good very make world still own see men work long get here between"
).split()
LATIN = "café crème naïve résumé déjà où été garçon français élève très forêt hôtel Noël Zürich Mädchen Straße \
Österreich Ärger Übermut schön größer fünf España niño mañana corazón canción está allí Ærø Łódź São ação İstanbul \
Iğdır şeker çay".split()
CYRILLIC = "привет мир как дела всё хорошо спасибо москва столица россии население миллионов человек город \
страна язык русский большой маленький новый старый время жизнь работа слово".split()
ARABIC = "مرحبا بالعالم كيف حالك اليوم اللغة العربية جميلة جدا وهي لغة القرآن كتاب مدرسة بيت شمس قمر ماء".split()
DEVANAGARI = "नमस्ते दुनिया आप कैसे हैं भारत एक विशाल देश है यहाँ कई भाषाएँ बोली जाती हिंदी पानी खाना घर किताब".split()
GREEK = "Καλημέρα κόσμε τι κάνεις Ελληνικά Αθήνα θάλασσα ήλιος ΣΟΦΙΑ σοφός λόγος".split()
HANGUL = "한국어는 아름다운 언어입니다 서울은 대한민국의 수도입니다 감사합니다 사랑 학교".split()
HAN = "我爱北京天安门上太阳升中华人民共和国成立于年月日今天气很好们去公园散步吧东京是本首都的私毎电车会社行红楼梦古典小说名著之一"
KANA = "こんにちはせかいおげんきですかありがとうございますカタカナテストコンピューター"
EMOJI = ["😀", "👍", "🎉", "🚀", "❤️", "🇫🇷", "👩‍💻"]
PUNCTUATION = [",", ".", ";", ":", "!", "?", "...", "!!!", "?!", "~", "，", "。", "！", "？", "；", "：", "《", "》",
               "【", "】", "(", ")", '"', "'", "-", "—", "/", "@", "#", "%", "$", "&"]  # fmt: skip
SPACES = [" ", " ", " ", "  ", "\t", "\n", "\u3000", "\u00a0"]

# Characters for random strings: everything above plus what normalization rewrites or deletes (full-width forms,
# ligatures, circled digits, combining marks, zero-width and control characters, a literal "▁") and scripts the
# models never saw (Thai, Hebrew: unknown characters).
FUZZ_POOLS = [
    "abcdefghijklmnopqrstuvwxyzABCXYZ", "éèàçñüößøÆŁİΣς", "привет мир", "مرحبا", "नमस्ते", HAN[:12], KANA[:12],
    "0123456789", ",.;:!?~，。！？《》【】()[]\"'-—", "😀👍🎉🚀", " \t\n\u3000\u00a0", "ﬁﬂ①②½²Ｆｕｌ１２",
    "e\u0301a\u0308\u0308", "\u200b\u200d\x00\x07", "▁", " \u0308\u00a0\u0301", "สวัสดีשלום",
]  # fmt: skip

EDGE_TEXTS = [
    "", " ", "   ", "\t\n", "a", " a ", "▁", "a ▁", "▁▁x", "x ▁",
    "Hello, world! 2019 年 COVID-19 v2.0.1 in 2019, 东京は日本の首都です。",
    "Wait... what?! No way!!! Really??? Yes; indeed: ok~ 《红楼梦》【名著】",
    "１２３ Ｆｕｌｌ　ｗｉｄｔｈ，ｏｋ！ x² ① ½ ﬁne ﬂow",
    "e\u0301 a\u0308 \u00a0\u0301 x \u200b y \x07z",
    "abc123def 12ab 1a2b3c ab12 ٣٤٥ १२३",
    "[CLS] inside [SEP] text [MASK] and [UNK] [PAD]",
    "<unk> <s> </s>",
    "สวัสดีชาวโลก שלום עולם 😀👍🎉",
    "Σίσυφος ΣΟΦΟΣ İstanbul ǅemal",
]  # fmt: skip


def _word(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.30:
        return rng.choice(EN)
    if r < 0.38:
        return rng.choice(LATIN)
    if r < 0.46:
        return rng.choice(CYRILLIC)
    if r < 0.51:
        return rng.choice(ARABIC)
    if r < 0.56:
        return rng.choice(DEVANAGARI)
    if r < 0.59:
        return rng.choice(GREEK)
    if r < 0.62:
        return rng.choice(HANGUL)
    if r < 0.74:
        return "".join(rng.choice(HAN) for _ in range(rng.randint(1, 6)))
    if r < 0.79:
        return "".join(rng.choice(KANA) for _ in range(rng.randint(1, 5))) + rng.choice(HAN)
    if r < 0.87:
        return str(rng.randint(0, 10 ** rng.randint(1, 6))) + rng.choice(["", "", "%", ".5", "年", "th", "km", ","])
    if r < 0.90:
        return rng.choice(EMOJI)
    return rng.choice(EN).capitalize()


def sentences(count: int, seed: int) -> list[str]:
    """Random multilingual sentences (words of several scripts, numbers, emoji, punctuation runs, odd spaces)."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(3, 18)):
            parts.append(_word(rng))
            if rng.random() < 0.15:
                parts.append(rng.choice(PUNCTUATION))
            parts.append(rng.choice(SPACES) if rng.random() < 0.2 else " ")
        out.append("".join(parts).strip() + rng.choice([".", "!", "?", "。", ""]))
    return out


def fuzz_texts(count: int, seed: int) -> list[str]:
    """Random strings over FUZZ_POOLS (normalization corner cases, unknown characters, whitespace runs)."""
    rng = random.Random(seed)
    return ["".join(rng.choice(rng.choice(FUZZ_POOLS)) for _ in range(rng.randint(0, 40))) for _ in range(count)]


def corpus(count: int = 120, fuzz: int = 150, seed: int = 1) -> list[str]:
    """The evaluation corpus: sentences, random strings, the edge cases and two long texts."""
    long_text = " ".join(sentences(60, seed + 7))  # ~3,500 characters, mixed scripts
    return sentences(count, seed) + fuzz_texts(fuzz, seed + 1) + EDGE_TEXTS + [long_text, "x" * 2000]


def write_ernie_m_files(directory: Path, model_type: str) -> Path:
    """Train a small sentencepiece model (< 1 s) on generated text; write it and an ErnieM-layout vocab.txt."""
    directory.mkdir(parents=True, exist_ok=True)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences(2000, seed=0)),
        model_writer=model,
        vocab_size=1500,
        model_type=model_type,
        character_coverage=0.995,  # the rarest characters stay unknown
        minloglevel=2,
    )
    (directory / "sentencepiece.bpe.model").write_bytes(model.getvalue())
    sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    vocab = ["[CLS]", "[PAD]", "[SEP]", "[UNK]"] + pieces[3:] + ["[MASK]"]  # ids 0 <unk>, 1 <s>, 2 </s> replaced
    (directory / "vocab.txt").write_text("".join(t + "\n" for t in vocab), encoding="utf-8")
    return directory


def grouped_offset_failures(
    text: str, tokens: list[str], offsets, sp_model, lower: bool = False, added: frozenset[str] = frozenset()
) -> list:
    """The direct offsets check: `text[start:end]`, normalized by sentencepiece, is the token without its "▁".

    Tokens that share source characters (a ligature "ﬁ" becomes "f" + "i", "½" becomes "1" "⁄" "2") are checked
    together: their joined span normalizes to their concatenation. A lone "▁" spans whitespace; an added token
    spans its own text (lower-cased when the tokenizer lower-cases)."""
    runs: list[list] = []
    for token, (start, end) in zip(tokens, offsets):
        if runs and start < runs[-1][2]:
            runs[-1][0].append(token)
            runs[-1][2] = max(runs[-1][2], end)
        else:
            runs.append([[token], start, end])
    failures = []
    for run_tokens, start, end in runs:
        fragment = text[start:end]
        if lower:
            fragment = "".join(c.lower() for c in fragment)
        normalized = sp_model.Normalize(fragment)
        if len(run_tokens) == 1 and run_tokens[0] in added:
            ok = run_tokens[0] in (text[start:end], fragment)
        elif run_tokens == ["▁"]:
            ok = fragment != "" and normalized == ""
        else:
            ok = normalized.lstrip("▁") == "".join(t[1:] if t[0] == "▁" and len(t) > 1 else t for t in run_tokens)
        if not ok:
            failures.append((run_tokens, (start, end), fragment, normalized))
    return failures


@pytest.fixture(scope="module", params=["bpe", "unigram"])
def ernie_dir(request, tmp_path_factory) -> Path:
    return write_ernie_m_files(tmp_path_factory.mktemp(f"ernie_m_{request.param}"), request.param)


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return corpus()


def _vocab_lines(directory: Path) -> list[str]:
    return (directory / "vocab.txt").read_text(encoding="utf-8").splitlines()


# -------------------------------------------------------------------------------------------- ErnieM's rules


def test_ernie_m_split_rules():
    # The reference's re-split, rule by rule (positions index the joined pieces).
    pieces = ["▁In", "▁2019,", "▁中国人", "▁", "fox", "▁", "中", "abc12de", "▁!", "▁"]
    tokens = ernie_m_split(pieces)
    assert [t for t, _, _ in tokens] == [
        "▁In",  # ordinary piece: unchanged
        "2019", ",",  # digits cut from punctuation; the "▁" before a cut is dropped
        "中", "国", "人",  # every CJK ideograph alone, again without its "▁"
        "▁", "fox",  # a lone "▁" before a continuation piece is kept (XLM-R's "▁" + "fox")
        "▁", "中",  # also before a piece that is then cut
        "abc", "12", "de",  # digit / non-digit boundaries
        "!",  # punctuation alone, "▁" dropped; the final lone "▁" is dropped
    ]  # fmt: skip
    joined = "".join(pieces)
    assert all(joined[start:end] == token for token, start, end in tokens)
    # A lone "▁" first is dropped; as the last piece it is dropped too (the reference raises IndexError there).
    assert ernie_m_split(["▁", "fox"]) == [("fox", 1, 4)]
    assert ernie_m_split(["▁a", "▁"]) == [("▁a", 0, 2)]
    # Superscripts and other str.isdigit() characters count as digits, as in the reference.
    assert [t for t, _, _ in ernie_m_split(["x²y"])] == ["x", "²", "y"]


def test_ernie_m_split_lone_underline_before_cut_piece():
    # "▁" then "中": the lone "▁" survives (next piece does not start with "▁"), "中" follows it.
    assert [t for t, _, _ in ernie_m_split(["▁a", "▁", "中", "▁b"])] == ["▁a", "▁", "中", "▁b"]
    # "▁" then "▁b": dropped (the next piece starts a word itself).
    assert [t for t, _, _ in ernie_m_split(["▁a", "▁", "▁b"])] == ["▁a", "▁b"]


# ------------------------------------------------------------------------------------------ slow tokenizer


def test_vocabulary_layout_and_special_tokens(ernie_dir):
    tok = ErnieMTokenizer.from_pretrained(ernie_dir)
    lines = _vocab_lines(ernie_dir)
    assert tok.vocab_size == len(tok) == len(lines)
    assert (tok.cls_token_id, tok.pad_token_id, tok.sep_token_id, tok.unk_token_id) == (0, 1, 2, 3)
    assert tok.mask_token_id == len(lines) - 1
    assert tok.model_input_names == ["input_ids"]
    assert tok.do_lower_case is False  # the reference's code default (its docstring says True)
    sp = tok.sp_model
    for piece_id in (3, 10, 500, sp.get_piece_size() - 1):
        piece = sp.id_to_piece(piece_id)
        assert tok.convert_tokens_to_ids(piece) == piece_id + 1  # ids are vocab.txt line numbers
        assert tok.convert_ids_to_tokens(piece_id + 1) == piece
    assert tok.get_vocab()["[MASK]"] == tok.mask_token_id


def test_sequence_format(ernie_dir):
    tok = ErnieMTokenizer.from_pretrained(ernie_dir)
    a = tok.encode("hello world", add_special_tokens=False)
    b = tok.encode("中国 2019", add_special_tokens=False)
    cls, sep = tok.cls_token_id, tok.sep_token_id
    single = tok("hello world")
    assert single["input_ids"] == [cls, *a, sep]
    assert list(single.keys()) == ["input_ids"]  # no attention_mask: model_input_names == ["input_ids"]
    pair = tok("hello world", "中国 2019", return_token_type_ids=True, return_special_tokens_mask=True,
               return_attention_mask=True)  # fmt: skip
    assert pair["input_ids"] == [cls, *a, sep, sep, *b, sep]
    assert pair["token_type_ids"] == [0] * (len(a) + 1) + [1] * (len(b) + 3)  # the first [SEP] is type 1
    assert pair["special_tokens_mask"] == [1] + [0] * len(a) + [1, 1] + [0] * len(b) + [1]
    assert pair["attention_mask"] == [1] * len(pair["input_ids"])
    assert tok.num_special_tokens_to_add(pair=True) == 4
    # Already formatted: only [CLS] / [SEP] count (not [PAD], [UNK], [MASK]), as in the reference.
    ids = [cls, tok.unk_token_id, tok.mask_token_id, sep, tok.pad_token_id]
    assert tok.get_special_tokens_mask(ids, already_has_special_tokens=True) == [1, 0, 0, 1, 0]
    assert tok.build_offset_mapping_with_special_tokens([(0, 1)], [(2, 3)]) == [
        (0, 0), (0, 1), (0, 0), (0, 0), (2, 3), (0, 0)
    ]  # fmt: skip


def test_unknown_characters_become_unk(ernie_dir):
    tok = ErnieMTokenizer.from_pretrained(ernie_dir)
    tokens = tok.tokenize("hello สวัสดี")
    assert "สวัสดี" in "".join(tokens)  # sentencepiece keeps the text of an unknown stretch as the piece
    unknown = [t for t in tokens if t not in tok.vocab]
    assert unknown and set(tok.convert_tokens_to_ids(unknown)) == {tok.unk_token_id}


def test_without_vocab_file_uses_sentencepiece_ids(ernie_dir):
    tok = ErnieMTokenizer(ernie_dir / "sentencepiece.bpe.model")
    sp = tok.sp_model
    assert tok.vocab_size == sp.get_piece_size()
    # The special tokens are not sentencepiece pieces: they are added after them, in the reference's order.
    n = sp.get_piece_size()
    assert [tok.unk_token_id, tok.sep_token_id, tok.pad_token_id, tok.cls_token_id, tok.mask_token_id] == [
        n, n + 1, n + 2, n + 3, n + 4
    ]  # fmt: skip
    ids = tok.encode("hello world", add_special_tokens=False)
    assert ids == [sp.piece_to_id(t) for t in tok.tokenize("hello world")]
    # An unknown piece gets unk_token's id (the reference returns None).
    assert tok.encode("สวัสดี", add_special_tokens=False)[-1] == tok.unk_token_id


def test_mismatched_vocab_file_is_rejected(ernie_dir, tmp_path):
    other = tmp_path / "vocab.txt"
    other.write_text("".join(f"{w}\n" for w in ["[CLS]", "[PAD]", "[SEP]", "[UNK]", "alpha", "beta", "[MASK]"]))
    with pytest.raises(ValueError, match="do not match") as error:
        ErnieMTokenizer(ernie_dir / "sentencepiece.bpe.model", vocab_file=other)
    assert str(other) in str(error.value) and "sentencepiece.bpe.model" in str(error.value)

    no_unk = tmp_path / "no_unk.txt"
    no_unk.write_text("".join(t + "\n" for t in _vocab_lines(ernie_dir) if t != "[UNK]"), encoding="utf-8")
    with pytest.raises(ValueError, match="unk_token"):
        ErnieMTokenizer(ernie_dir / "sentencepiece.bpe.model", vocab_file=no_unk)


def test_vocab_file_missing_a_few_pieces(ernie_dir, tmp_path, caplog):
    lines = _vocab_lines(ernie_dir)
    dropped = lines[10]
    partial = tmp_path / "vocab.txt"
    partial.write_text("".join(t + "\n" for t in lines[:10] + ["[unused]"] + lines[11:]), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        tok = ErnieMTokenizer(ernie_dir / "sentencepiece.bpe.model", vocab_file=partial)
    assert "1 pieces" in caplog.text and dropped in caplog.text
    assert tok.convert_tokens_to_ids(dropped) == tok.unk_token_id
    with pytest.raises(ValueError, match="every piece"):
        ErnieMTokenizerFast(ernie_dir / "sentencepiece.bpe.model", vocab_file=partial)


def test_bad_files(ernie_dir, tmp_path):
    with pytest.raises(FileNotFoundError):
        ErnieMTokenizer(tmp_path / "missing.model")
    (tmp_path / "junk.model").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a sentencepiece model"):
        ErnieMTokenizer(tmp_path / "junk.model")
    with pytest.raises(Exception, match="sentencepiece.bpe.model"):
        ErnieMTokenizer.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="needs a sentencepiece model"):
        ErnieMTokenizerFast()


def test_do_lower_case(ernie_dir):
    lower = ErnieMTokenizer.from_pretrained(ernie_dir, do_lower_case=True)
    plain = ErnieMTokenizer.from_pretrained(ernie_dir)
    text = "HELLO World ΣΟΦΙΑ [SEP] Straße"
    assert lower.tokenize(text) == plain.tokenize("hello world σοφια [SEP] straße")  # special tokens stay
    fast = ErnieMTokenizerFast.from_pretrained(ernie_dir, do_lower_case=True)
    assert fast(text)["input_ids"] == lower(text)["input_ids"]


def test_subword_sampling(ernie_dir):
    kwargs = {"enable_sampling": True, "alpha": 0.5, "nbest_size": -1}
    tok = ErnieMTokenizer.from_pretrained(ernie_dir, sp_model_kwargs=kwargs)
    text = "привет мир hello world 2019 中国"
    samples = {tuple(tok.tokenize(text)) for _ in range(30)}
    assert len(samples) > 1  # the segmentation varies ...
    for tokens in samples:  # ... and every sample is re-split ErnieM's way
        assert "".join(tokens).replace("▁", "") == text.replace(" ", "")
        assert {"中", "国"} <= set(tokens) and not any(t.startswith("▁2") for t in tokens)
    with pytest.raises(ValueError, match="sampling"):
        ErnieMTokenizerFast.from_pretrained(ernie_dir, sp_model_kwargs=kwargs)


# ------------------------------------------------------------------------------------------------- offsets


@pytest.mark.parametrize("lower", [False, True])
def test_offsets_point_at_the_tokens(ernie_dir, texts, lower):
    tok = ErnieMTokenizer.from_pretrained(ernie_dir, do_lower_case=lower)
    added = frozenset(tok.added_tokens_encoder)
    for text in texts:
        tokens, offsets = tok.tokenize(text), tok.get_offset_mapping(text)
        assert len(offsets) == len(tokens)
        assert grouped_offset_failures(text, tokens, offsets, tok.sp_model, lower, added) == [], text
    assert tok.get_offset_mapping(None) is None


def test_offsets_in_calls(ernie_dir):
    tok = ErnieMTokenizer.from_pretrained(ernie_dir)
    a, b = "Hello world, 中国!", "  second  text 2019"
    out = tok(a, b, return_offsets_mapping=True)
    plain_a, plain_b = tok.get_offset_mapping(a), tok.get_offset_mapping(b)
    assert out["offset_mapping"] == tok.build_offset_mapping_with_special_tokens(plain_a, plain_b)
    assert len(out["offset_mapping"]) == len(out["input_ids"])
    # Truncated and padded batches carry the offsets along; padding gets (0, 0).
    batch = tok([a, b], truncation=True, max_length=6, padding="max_length", return_offsets_mapping=True,
                return_tensors="pt", padding_side="left")  # fmt: skip
    assert batch["offset_mapping"].shape == (2, 6, 2)
    assert batch["offset_mapping"][0].tolist() == [[0, 0]] + [list(o) for o in plain_a[:4]] + [[0, 0]]
    short = tok(["x", b], padding=True, return_offsets_mapping=True, padding_side="left")
    assert short["offset_mapping"][0][: len(short["input_ids"][1]) - 3] == [(0, 0)] * (len(short["input_ids"][1]) - 3)
    # Pre-split words: offsets are relative to each word.
    words = tok(["Hello", "中国"], is_split_into_words=True, return_offsets_mapping=True, add_special_tokens=False)
    assert words["offset_mapping"] == tok.get_offset_mapping("Hello") + tok.get_offset_mapping("中国")
    with pytest.raises(TypeError, match="no text"):
        tok.encode_plus([5, 6, 7], return_offsets_mapping=True)  # ids: nothing to point into


def test_offsets_with_added_tokens(ernie_dir):
    tok = ErnieMTokenizer.from_pretrained(ernie_dir, do_lower_case=True)
    tok.add_tokens(["newword"])
    text = "Say NEWWORD[SEP]İstanbul"
    tokens, offsets = tok.tokenize(text), tok.get_offset_mapping(text)
    assert "newword" in tokens and "[SEP]" in tokens
    assert text[slice(*offsets[tokens.index("newword")])] == "NEWWORD"
    assert text[slice(*offsets[tokens.index("[SEP]")])] == "[SEP]"
    added = frozenset(tok.added_tokens_encoder)
    assert grouped_offset_failures(text, tokens, offsets, tok.sp_model, lower=True, added=added) == []


def test_normalizer_matches_sentencepiece(ernie_dir, texts):
    # The fast tokenizer's port of sentencepiece's normalization: same text, same alignment.
    sp = spm.SentencePieceProcessor(model_file=str(ernie_dir / "sentencepiece.bpe.model"))
    spec = read_sentencepiece_model(sp.serialized_model_proto())
    normalizer = SentencePieceNormalizer(spec.precompiled_charsmap, True, True)
    for text in texts + fuzz_texts(500, seed=11):
        expected_text, expected_positions = sp.Normalize(text, with_offsets=True)
        assert normalizer.normalize(text) == (expected_text, list(expected_positions)), text


# ------------------------------------------------------------------------------------------ fast tokenizer


@pytest.fixture(scope="module")
def pair_of_tokenizers(ernie_dir):
    return ErnieMTokenizer.from_pretrained(ernie_dir), ErnieMTokenizerFast.from_pretrained(ernie_dir)


def test_fast_matches_slow_ids_tokens_offsets(pair_of_tokenizers, texts):
    slow, fast = pair_of_tokenizers
    fast_out = fast(texts, return_offsets_mapping=True, add_special_tokens=False)
    for i, text in enumerate(texts):
        assert fast_out["input_ids"][i] == slow.encode(text, add_special_tokens=False), text
        assert fast.tokenize(text) == slow.tokenize(text), text
        assert fast_out["offset_mapping"][i] == slow.get_offset_mapping(text), text


def test_fast_matches_slow_without_vocab_file(ernie_dir, texts):
    slow = ErnieMTokenizer(ernie_dir / "sentencepiece.bpe.model")
    fast = ErnieMTokenizerFast(ernie_dir / "sentencepiece.bpe.model")
    assert fast.vocab_size == slow.vocab_size and fast.unk_token_id == slow.unk_token_id
    assert fast(texts)["input_ids"] == slow(texts)["input_ids"]


def test_fast_offsets_of_pairs_and_words(pair_of_tokenizers):
    slow, fast = pair_of_tokenizers
    a, b = "Hello world, 中国!", "  second  text 2019"
    assert (
        fast(a, b, return_offsets_mapping=True)["offset_mapping"]
        == slow(a, b, return_offsets_mapping=True)["offset_mapping"]
    )
    words = ["Hello", "中国", "x²"]
    expected = slow(words, is_split_into_words=True, return_offsets_mapping=True)
    got = fast(words, is_split_into_words=True, return_offsets_mapping=True)
    assert got["input_ids"] == expected["input_ids"] and got["offset_mapping"] == expected["offset_mapping"]
    assert got.word_ids()[1:-1] == sorted(got.word_ids()[1:-1])


def test_fast_word_ids(pair_of_tokenizers):
    _, fast = pair_of_tokenizers
    text = "Hello  wörld 2019, 中国人 ok"
    enc = fast(text)
    words = enc.word_ids()
    assert words[0] is None and words[-1] is None
    assert words[1:-1] == sorted(words[1:-1])  # non-decreasing
    # Tokens of one whitespace-separated word share its id and lie inside it.
    spans = [text.split()[w] for w in words[1:-1]]
    for (start, end), word in zip(enc["offset_mapping"][1:-1] if "offset_mapping" in enc else [], spans):
        assert text[start:end] in word
    assert [enc.word_to_chars(w) for w in sorted(set(words[1:-1]))][0] == (0, 5)
    assert enc.char_to_token(text.index("中")) is not None


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"padding": True},
        {"padding": "max_length", "max_length": 40, "truncation": True},
        {"truncation": "only_second", "max_length": 12},
        {"truncation": True, "max_length": 9, "padding": "max_length", "padding_side": "left"},
        {"return_token_type_ids": True, "return_special_tokens_mask": True, "return_attention_mask": True},
        {"padding": True, "pad_to_multiple_of": 8},
    ],
)
def test_fast_matches_slow_call_variants(pair_of_tokenizers, kwargs):
    slow, fast = pair_of_tokenizers
    firsts = sentences(6, seed=3) + ["", "2019 年"]
    seconds = sentences(8, seed=4)
    pairs = list(zip(firsts, seconds))
    if kwargs.get("truncation") == "only_second":  # question + context: only the context is cut
        firsts = ["q?", "2019 年", "中国人", "hello world"] * 2
        pairs = list(zip(firsts, seconds))
    batches = [pairs] if kwargs.get("truncation") == "only_second" else [firsts, pairs]
    if kwargs.get("truncation") is True:
        batches = [firsts]  # pairs: the backend's longest_first differs, see test_fast_pair_truncation
    for batch in batches:
        expected, got = slow(batch, **kwargs), fast(batch, **kwargs)
        assert dict(got) == dict(expected)
    one = (firsts[0], seconds[0]) if kwargs.get("truncation") == "only_second" else (firsts[0],)
    expected, got = slow(*one, return_tensors="pt", **kwargs), fast(*one, return_tensors="pt", **kwargs)
    assert got.keys() == expected.keys() and all(torch.equal(got[k], expected[k]) for k in got)


def test_fast_pair_truncation(pair_of_tokenizers):
    # longest_first on pairs: the backend (every fast tokenizer) and the Python rule (every slow one) may cut the
    # two sequences differently; both keep a prefix of each and honour max_length.
    slow, fast = pair_of_tokenizers
    for a, b in zip(sentences(8, seed=3), sentences(8, seed=4)):
        full_a, full_b = slow.encode(a, add_special_tokens=False), slow.encode(b, add_special_tokens=False)
        for tok in (slow, fast):
            ids = tok(a, b, truncation=True, max_length=20)["input_ids"]
            assert len(ids) == min(20, len(full_a) + len(full_b) + 4)
            first, second = ids[1 : ids.index(tok.sep_token_id)], ids[ids.index(tok.sep_token_id) + 2 : -1]
            assert first == full_a[: len(first)] and second == full_b[: len(second)]


def test_fast_overflow_windows(pair_of_tokenizers):
    slow, fast = pair_of_tokenizers
    text = sentences(1, seed=5)[0] * 3
    out = fast(text, truncation=True, max_length=10, stride=2, return_overflowing_tokens=True)
    ids = slow.encode(text, add_special_tokens=False)
    rows = out["input_ids"]
    assert rows[0] == slow(text, truncation=True, max_length=10)["input_ids"]
    # Windows of 8 text tokens stepping by 6 cover the whole text (the backend's windows, as every fast tokenizer).
    assert [row[1:-1] for row in rows] == [ids[i : i + 8] for i in range(0, len(ids) - 2, 6)]
    assert out["overflow_to_sample_mapping"] == [0] * len(rows)


def test_fast_decode_matches_slow(pair_of_tokenizers, texts):
    slow, fast = pair_of_tokenizers
    for text in texts[:60] + EDGE_TEXTS:
        ids = slow(text, "pair 2019")["input_ids"]
        for skip in (False, True):
            assert fast.decode(ids, skip_special_tokens=skip) == slow.decode(ids, skip_special_tokens=skip)


def test_fast_added_tokens_and_split_special_tokens(ernie_dir):
    slow, fast = ErnieMTokenizer.from_pretrained(ernie_dir), ErnieMTokenizerFast.from_pretrained(ernie_dir)
    for tok in (slow, fast):
        assert tok.add_tokens(["foobarbaz", "[NEW]"]) == 2
        assert tok.add_special_tokens({"additional_special_tokens": ["<ent>"]}) == 1
    text = "x foobarbaz [NEW]<ent> y [SEP] [MASK]"
    assert fast(text)["input_ids"] == slow(text)["input_ids"]
    assert fast.convert_tokens_to_ids("foobarbaz") == slow.convert_tokens_to_ids("foobarbaz") == len(slow) - 3
    # split_special_tokens: special tokens are tokenized as text (the slow base also splits non-special added tokens
    # then, as the reference's slow tokenizers do, so this text has none).
    special = "x <ent> y [SEP] [MASK]"
    assert (
        fast(special, split_special_tokens=True)["input_ids"] == slow(special, split_special_tokens=True)["input_ids"]
    )
    assert fast(special, split_special_tokens=True)["input_ids"] != fast(special)["input_ids"]
    assert fast.decode(fast.encode(text)) == slow.decode(slow.encode(text))


# ---------------------------------------------------------------------------------------- saving and loading


def test_save_and_reload(ernie_dir, tmp_path, texts):
    slow = ErnieMTokenizer.from_pretrained(ernie_dir, model_max_length=64)
    slow.add_tokens(["foobarbaz"])
    written = slow.save_pretrained(tmp_path / "slow")
    assert {Path(p).name for p in written} >= {"vocab.txt", "sentencepiece.bpe.model", "tokenizer_config.json"}
    fast = ErnieMTokenizerFast.from_pretrained(tmp_path / "slow")  # built from the slow files
    fast.save_pretrained(tmp_path / "fast")
    config = json.loads((tmp_path / "fast" / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "ErnieMTokenizer" and config["model_max_length"] == 64
    (tmp_path / "only_json").mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        (tmp_path / "only_json" / name).write_bytes((tmp_path / "fast" / name).read_bytes())
    reloaded = [
        ErnieMTokenizer.from_pretrained(tmp_path / "slow"),
        ErnieMTokenizer.from_pretrained(tmp_path / "fast"),
        ErnieMTokenizerFast.from_pretrained(tmp_path / "fast"),
        ErnieMTokenizerFast.from_pretrained(tmp_path / "only_json"),  # tokenizer.json alone
        AutoTokenizer.from_pretrained(tmp_path / "fast"),
        pickle.loads(pickle.dumps(fast)),
        copy.deepcopy(fast),
    ]
    assert type(reloaded[4]) is ErnieMTokenizerFast
    assert type(AutoTokenizer.from_pretrained(tmp_path / "fast", use_fast=False)) is ErnieMTokenizer
    batch = texts[:80] + ["foobarbaz x"]
    expected = slow(batch)["input_ids"]
    for tok in reloaded:
        assert tok(batch)["input_ids"] == expected, type(tok).__name__
        assert tok.model_max_length == 64
    assert (tmp_path / "fast" / "vocab.txt").read_text() == (ernie_dir / "vocab.txt").read_text()
    with pytest.raises(ValueError, match="needs the sentencepiece model"):
        reloaded[3].save_pretrained(tmp_path / "again", legacy_format=True)


def test_save_without_vocab_file_and_with_prefix(ernie_dir, tmp_path):
    tok = ErnieMTokenizer(ernie_dir / "sentencepiece.bpe.model")
    written = tok.save_vocabulary(str(tmp_path), filename_prefix="x")
    assert [Path(p).name for p in written] == ["x-sentencepiece.bpe.model"]  # no vocab.txt: same mode on reload
    tok.save_pretrained(tmp_path / "saved")
    again = ErnieMTokenizer.from_pretrained(tmp_path / "saved")
    assert again.vocab_size == tok.vocab_size and again("สวัสดี hi")["input_ids"] == tok("สวัสดี hi")["input_ids"]
    fast = ErnieMTokenizerFast.from_pretrained(tmp_path / "saved")
    fast.save_pretrained(tmp_path / "fast")
    assert not (tmp_path / "fast" / "vocab.txt").exists()
    assert ErnieMTokenizerFast.from_pretrained(tmp_path / "fast")("สวัสดี hi")["input_ids"] == tok("สวัสดี hi")["input_ids"]


def test_tokenizer_json_elsewhere_differs_only_where_documented(pair_of_tokenizers, tmp_path, texts):
    """tokenizer.json alone (plain `tokenizers`) uses standard stand-ins for ErnieM's re-split and for
    sentencepiece's normalization; it may differ only where a piece spans a cut point, around lone "▁" pieces, or
    where `Precompiled` normalizes differently."""
    slow, fast = pair_of_tokenizers
    fast.save_pretrained(tmp_path)
    plain = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    spec = read_sentencepiece_model(slow.sp_model.serialized_model_proto())
    same = 0
    for text in texts:
        if plain.encode(text).ids == slow(text)["input_ids"]:
            same += 1
            continue
        pieces = slow.sp_model.encode(text, out_type=str)
        spans_cut = any(p != "▁" and [t for t, _, _ in ernie_m_split([p])] != [p] for p in pieces)
        table_differs = plain.normalizer.normalize_str(text).split() != [
            w for w in slow.sp_model.Normalize(text).replace("▁", " ").split()
        ]
        assert spans_cut or "▁" in pieces or table_differs, (text, pieces)
    assert same > 0 and spec.pieces  # it is a working tokenizer, not a placeholder


def test_tokenizer_json_of_another_kind_is_rejected(tmp_path):
    other = Tokenizer.from_str(
        json.dumps({"version": "1.0", "model": {"type": "WordLevel", "vocab": {"[UNK]": 0}, "unk_token": "[UNK]"}})
    )
    other.save(str(tmp_path / "tokenizer.json"))
    with pytest.raises(ValueError, match="Unigram or BPE"):
        ErnieMTokenizerFast(tokenizer_file=tmp_path / "tokenizer.json")
