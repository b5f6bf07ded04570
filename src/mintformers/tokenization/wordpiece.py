"""WordPiece tokenizers: BERT, MobileBERT (BERT's, unchanged) and MPNet (BERT vocabulary, RoBERTa-style specials).

Slow: `BasicTokenizer` (clean-up, CJK splitting, lower-casing, accent stripping, punctuation splitting) then
`WordpieceTokenizer` (greedy longest-match-first). Fast: the same pipeline in `tokenizers` (BertNormalizer,
BertPreTokenizer, WordPiece, a template post-processor, WordPiece decoder), loaded from tokenizer.json or built from
vocab.txt.
"""

from __future__ import annotations

import json
import logging
import os
import unicodedata
from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from mintformers.hub import CheckpointError

from .base import AddedToken, _atomic_write_text
from .fast import PreTrainedTokenizerFast
from .slow import PreTrainedTokenizer

__all__ = [
    "BasicTokenizer",
    "BertTokenizer",
    "BertTokenizerFast",
    "MPNetTokenizer",
    "MPNetTokenizerFast",
    "MobileBertTokenizer",
    "MobileBertTokenizerFast",
    "WordpieceTokenizer",
    "load_vocab",
]

logger = logging.getLogger(__name__)

VOCAB_FILE = "vocab.txt"


def load_vocab(vocab_file: str | os.PathLike) -> dict[str, int]:
    """vocab.txt → {token: line number}."""
    try:
        with open(vocab_file, encoding="utf-8") as f:
            return {line.rstrip("\n"): index for index, line in enumerate(f.readlines())}
    except UnicodeDecodeError as e:
        raise CheckpointError(
            f"The vocabulary file {os.fspath(vocab_file)!r} is not UTF-8 text (byte {e.start}): it is not a vocab.txt. "
            "Re-download the checkpoint, or save the tokenizer again with save_pretrained()."
        ) from None


def check_vocab(vocab: dict[str, int], vocab_file: str | os.PathLike, unk_token: str) -> None:
    """A vocab.txt the tokenizer can work with: not empty, and holding its unknown token (without it every unknown
    word would get an id the model has no embedding for)."""
    if not vocab or list(vocab) == [""]:
        raise CheckpointError(
            f"The vocabulary file {os.fspath(vocab_file)!r} is empty (an interrupted download or copy?): every word "
            "would be unknown. Re-download the checkpoint, or pass the vocab.txt it was trained with."
        )
    if unk_token not in vocab:
        raise CheckpointError(
            f"The vocabulary file {os.fspath(vocab_file)!r} ({len(vocab)} tokens) has no {unk_token!r} (unk_token), "
            "so unknown words would have no id. Pass the vocab.txt the model was trained with, or unk_token= the "
            "unknown token this vocabulary uses."
        )


def save_vocab(vocab: dict[str, int], path: str) -> None:
    """{token: id} → vocab.txt, one token per line in id order (atomically)."""
    lines, expected = [], 0
    for token, index in sorted(vocab.items(), key=lambda item: item[1]):
        if index != expected:
            logger.warning(
                f"Saving vocabulary to {path}: vocabulary indices are not consecutive. Please check that the "
                "vocabulary is not corrupted!"
            )
            expected = index
        lines.append(token + "\n")
        expected += 1
    _atomic_write_text(path, "".join(lines))


def _vocab_path(save_directory: str, filename_prefix: str | None) -> str:
    prefix = f"{filename_prefix}-" if filename_prefix else ""
    if os.path.isdir(save_directory):
        return os.path.join(save_directory, prefix + VOCAB_FILE)
    return prefix + save_directory


# ------------------------------------------------------------------------------------------ character classes


def is_whitespace(char: str) -> bool:
    return char in " \t\n\r" or unicodedata.category(char) == "Zs"


def is_control(char: str) -> bool:
    return char not in "\t\n\r" and unicodedata.category(char).startswith("C")


def is_punctuation(char: str) -> bool:
    # ASCII symbols such as "$" or "^" are not Unicode punctuation but BERT splits them too.
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def is_chinese_char(cp: int) -> bool:
    """The CJK Unified Ideographs blocks (not Hangul, Hiragana or Katakana)."""
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


# ---------------------------------------------------------------------------------------- the two Python steps


class BasicTokenizer:
    """Clean-up, CJK splitting, lower-casing/accent stripping and punctuation splitting (BERT's first step)."""

    def __init__(
        self,
        do_lower_case: bool = True,
        never_split: Iterable[str] | None = None,
        tokenize_chinese_chars: bool = True,
        strip_accents: bool | None = None,
        do_split_on_punc: bool = True,
    ):
        self.do_lower_case = do_lower_case
        self.never_split = set(never_split or [])
        self.tokenize_chinese_chars = tokenize_chinese_chars
        self.strip_accents = strip_accents  # None: strip when lower-casing (original BERT)
        self.do_split_on_punc = do_split_on_punc

    def tokenize(self, text: str, never_split: Iterable[str] | None = None) -> list[str]:
        never_split = self.never_split.union(never_split) if never_split else self.never_split
        text = self._clean_text(text)
        if self.tokenize_chinese_chars:
            text = self._tokenize_chinese_chars(text)
        tokens = []
        for token in unicodedata.normalize("NFC", text).split():
            if token not in never_split:
                if self.do_lower_case:
                    token = token.lower()
                    if self.strip_accents is not False:
                        token = self._run_strip_accents(token)
                elif self.strip_accents:
                    token = self._run_strip_accents(token)
            tokens.extend(self._run_split_on_punc(token, never_split))
        return " ".join(tokens).split()

    @staticmethod
    def _run_strip_accents(text: str) -> str:
        return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")

    def _run_split_on_punc(self, text: str, never_split: set[str] | None = None) -> list[str]:
        """ "don't!" → ["don", "'", "t", "!"]: every punctuation character becomes its own token."""
        if not self.do_split_on_punc or (never_split is not None and text in never_split):
            return [text]
        output: list[str] = []
        start_new_word = True
        for char in text:
            if is_punctuation(char):
                output.append(char)
                start_new_word = True
            else:
                if start_new_word:
                    output.append("")
                start_new_word = False
                output[-1] += char
        return output

    @staticmethod
    def _tokenize_chinese_chars(text: str) -> str:
        return "".join(f" {c} " if is_chinese_char(ord(c)) else c for c in text)

    @staticmethod
    def _clean_text(text: str) -> str:
        """Drop NUL, U+FFFD and control characters; every kind of whitespace becomes a plain space."""
        output = []
        for char in text:
            if char == "\0" or char == "\ufffd" or is_control(char):
                continue
            output.append(" " if is_whitespace(char) else char)
        return "".join(output)


class WordpieceTokenizer:
    """Greedy longest-match-first WordPiece: "unaffable" → ["un", "##aff", "##able"]."""

    def __init__(self, vocab: dict[str, int], unk_token: str, max_input_chars_per_word: int = 100):
        self.vocab = vocab
        self.unk_token = unk_token
        self.max_input_chars_per_word = max_input_chars_per_word

    def tokenize(self, text: str) -> list[str]:
        output: list[str] = []
        for token in text.split():
            if len(token) > self.max_input_chars_per_word:
                output.append(self.unk_token)
                continue
            pieces: list[str] = []
            start = 0
            while start < len(token):
                end = len(token)
                while start < end:
                    piece = token[start:end] if start == 0 else "##" + token[start:end]
                    if piece in self.vocab:
                        break
                    end -= 1
                else:  # no prefix of the rest is in the vocabulary: the whole word is unknown
                    pieces = [self.unk_token]
                    break
                pieces.append(piece)
                start = end
            output.extend(pieces)
        return output


# ------------------------------------------------------------------------------------------ special-token formats


class _BertFormat:
    """`[CLS] A [SEP]` and `[CLS] A [SEP] B [SEP]`; token types 0 then 1 (the base class default)."""

    def build_inputs_with_special_tokens(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None
    ) -> list[int]:
        output = [self.cls_token_id] + token_ids_0 + [self.sep_token_id]
        return output if token_ids_1 is None else output + token_ids_1 + [self.sep_token_id]

    def get_special_tokens_mask(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None, already_has_special_tokens: bool = False
    ) -> list[int]:
        if already_has_special_tokens:
            return super().get_special_tokens_mask(token_ids_0, token_ids_1, already_has_special_tokens=True)
        mask = [1] + [0] * len(token_ids_0) + [1]
        return mask if token_ids_1 is None else mask + [0] * len(token_ids_1) + [1]


class _MPNetFormat:
    """`<s> A </s>` and `<s> A </s></s> B </s>` (cls/sep tokens); token types all zero (MPNet has none)."""

    def build_inputs_with_special_tokens(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None
    ) -> list[int]:
        output = [self.cls_token_id] + token_ids_0 + [self.sep_token_id]
        return output if token_ids_1 is None else output + [self.sep_token_id] + token_ids_1 + [self.sep_token_id]

    def get_special_tokens_mask(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None, already_has_special_tokens: bool = False
    ) -> list[int]:
        if already_has_special_tokens:
            return super().get_special_tokens_mask(token_ids_0, token_ids_1, already_has_special_tokens=True)
        mask = [1] + [0] * len(token_ids_0) + [1]
        return mask if token_ids_1 is None else mask + [1] + [0] * len(token_ids_1) + [1]

    def create_token_type_ids_from_sequences(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None
    ) -> list[int]:
        return [0] * len(self.build_inputs_with_special_tokens(token_ids_0, token_ids_1))


# ------------------------------------------------------------------------------------------------ slow classes


class _WordPieceTokenizer(PreTrainedTokenizer):
    """vocab.txt + BasicTokenizer + WordpieceTokenizer; the families add their special tokens and format."""

    vocab_files_names = {"vocab_file": VOCAB_FILE}

    def __init__(
        self,
        vocab_file: str | os.PathLike,
        do_lower_case: bool = True,
        do_basic_tokenize: bool = True,
        never_split: Iterable[str] | None = None,
        tokenize_chinese_chars: bool = True,
        strip_accents: bool | None = None,
        clean_up_tokenization_spaces: bool = True,
        **kwargs,
    ):
        if vocab_file is None or not os.path.isfile(vocab_file):
            raise ValueError(
                f"Can't find a vocabulary file at path '{vocab_file}'. To load the vocabulary from a pretrained "
                f"model use `tokenizer = {type(self).__name__}.from_pretrained(PRETRAINED_MODEL_NAME)`"
            )
        self.vocab = load_vocab(vocab_file)
        check_vocab(self.vocab, vocab_file, str(kwargs.get("unk_token")))
        self.ids_to_tokens = {index: token for token, index in self.vocab.items()}
        self.do_basic_tokenize = do_basic_tokenize
        self._do_lower_case = do_lower_case
        if do_basic_tokenize:
            self.basic_tokenizer = BasicTokenizer(
                do_lower_case=do_lower_case,
                never_split=never_split,
                tokenize_chinese_chars=tokenize_chinese_chars,
                strip_accents=strip_accents,
            )
        self.wordpiece_tokenizer = WordpieceTokenizer(vocab=self.vocab, unk_token=str(kwargs.get("unk_token")))
        super().__init__(
            do_lower_case=do_lower_case,
            do_basic_tokenize=do_basic_tokenize,
            never_split=never_split,
            tokenize_chinese_chars=tokenize_chinese_chars,
            strip_accents=strip_accents,
            clean_up_tokenization_spaces=clean_up_tokenization_spaces,
            **kwargs,
        )

    @property
    def do_lower_case(self) -> bool:
        return self._do_lower_case

    def _lowercases_input(self) -> bool:
        return self.do_basic_tokenize and self._do_lower_case  # without basic tokenization nothing lower-cases

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def get_vocab(self) -> dict[str, int]:
        return {**self.vocab, **self._added_tokens_encoder}

    def _tokenize(self, text: str, split_special_tokens: bool = False) -> list[str]:
        if not self.do_basic_tokenize:
            return self.wordpiece_tokenizer.tokenize(text)
        tokens = []
        never_split = None if split_special_tokens else self.all_special_tokens
        for token in self.basic_tokenizer.tokenize(text, never_split=never_split):
            if token in self.basic_tokenizer.never_split:
                tokens.append(token)
            else:
                tokens.extend(self.wordpiece_tokenizer.tokenize(token))
        return tokens

    def _convert_token_to_id(self, token: str) -> int:
        return self.vocab.get(token, self.vocab.get(self.unk_token))

    def _convert_id_to_token(self, index: int) -> str:
        return self.ids_to_tokens.get(index, self.unk_token)

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return " ".join(tokens).replace(" ##", "").strip()

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str]:
        path = _vocab_path(save_directory, filename_prefix)
        save_vocab(self.vocab, path)
        return (path,)


class BertTokenizer(_BertFormat, _WordPieceTokenizer):
    """BERT's WordPiece tokenizer in pure Python (vocab.txt)."""

    def __init__(
        self,
        vocab_file: str | os.PathLike,
        do_lower_case: bool = True,
        do_basic_tokenize: bool = True,
        never_split: Iterable[str] | None = None,
        unk_token: str | AddedToken = "[UNK]",
        sep_token: str | AddedToken = "[SEP]",
        pad_token: str | AddedToken = "[PAD]",
        cls_token: str | AddedToken = "[CLS]",
        mask_token: str | AddedToken = "[MASK]",
        tokenize_chinese_chars: bool = True,
        strip_accents: bool | None = None,
        clean_up_tokenization_spaces: bool = True,
        **kwargs,
    ):
        super().__init__(
            vocab_file,
            do_lower_case=do_lower_case,
            do_basic_tokenize=do_basic_tokenize,
            never_split=never_split,
            unk_token=unk_token,
            sep_token=sep_token,
            pad_token=pad_token,
            cls_token=cls_token,
            mask_token=mask_token,
            tokenize_chinese_chars=tokenize_chinese_chars,
            strip_accents=strip_accents,
            clean_up_tokenization_spaces=clean_up_tokenization_spaces,
            **kwargs,
        )


class MobileBertTokenizer(BertTokenizer):
    """MobileBERT uses BERT's tokenizer unchanged."""


class MPNetTokenizer(_MPNetFormat, _WordPieceTokenizer):
    """MPNet's WordPiece tokenizer in pure Python: BERT vocabulary with `<s>`, `</s>`, `<pad>`, `<mask>` specials."""

    model_input_names = ["input_ids", "attention_mask"]

    def __init__(
        self,
        vocab_file: str | os.PathLike,
        do_lower_case: bool = True,
        do_basic_tokenize: bool = True,
        never_split: Iterable[str] | None = None,
        bos_token: str | AddedToken = "<s>",
        eos_token: str | AddedToken = "</s>",
        sep_token: str | AddedToken = "</s>",
        cls_token: str | AddedToken = "<s>",
        unk_token: str | AddedToken = "[UNK]",
        pad_token: str | AddedToken = "<pad>",
        mask_token: str | AddedToken = "<mask>",
        tokenize_chinese_chars: bool = True,
        strip_accents: bool | None = None,
        clean_up_tokenization_spaces: bool = True,
        **kwargs,
    ):
        special = lambda t, **flags: AddedToken(t, special=True, **flags) if isinstance(t, str) else t  # noqa: E731
        super().__init__(
            vocab_file,
            do_lower_case=do_lower_case,
            do_basic_tokenize=do_basic_tokenize,
            never_split=never_split,
            bos_token=special(bos_token),
            eos_token=special(eos_token),
            unk_token=special(unk_token),
            sep_token=special(sep_token),
            cls_token=special(cls_token),
            pad_token=special(pad_token),
            mask_token=special(mask_token, lstrip=True),  # "<mask>" absorbs the space before it, like a word
            tokenize_chinese_chars=tokenize_chinese_chars,
            strip_accents=strip_accents,
            clean_up_tokenization_spaces=clean_up_tokenization_spaces,
            **kwargs,
        )

    def get_vocab(self) -> dict[str, int]:
        return {**self._added_tokens_encoder, **self.vocab}


# ------------------------------------------------------------------------------------------------ fast classes


class _WordPieceTokenizerFast(PreTrainedTokenizerFast):
    """The `tokenizers` WordPiece pipeline, from tokenizer.json or (without one) built from vocab.txt."""

    vocab_files_names = {"vocab_file": VOCAB_FILE, "tokenizer_file": "tokenizer.json"}
    _pair_template = "{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1"
    _normalizer_follows_chinese_chars = True

    def __init__(
        self,
        vocab_file: str | os.PathLike | None = None,
        tokenizer_file: str | os.PathLike | None = None,
        do_lower_case: bool = True,
        tokenize_chinese_chars: bool = True,
        strip_accents: bool | None = None,
        **kwargs,
    ):
        if vocab_file is None and tokenizer_file is None and "tokenizer_object" not in kwargs:
            raise ValueError(
                f"{type(self).__name__} needs a vocab_file (vocab.txt) or a tokenizer_file (tokenizer.json)."
            )
        super().__init__(
            vocab_file,
            tokenizer_file=tokenizer_file,
            do_lower_case=do_lower_case,
            tokenize_chinese_chars=tokenize_chinese_chars,
            strip_accents=strip_accents,
            **kwargs,
        )
        self._apply_normalizer_options(do_lower_case, strip_accents, tokenize_chinese_chars)
        self.do_lower_case = do_lower_case

    def _convert_slow_tokenizer(self, slow_tokenizer: _WordPieceTokenizer) -> Tokenizer:
        backend = Tokenizer(models.WordPiece(slow_tokenizer.vocab, unk_token=str(slow_tokenizer.unk_token)))
        basic = getattr(slow_tokenizer, "basic_tokenizer", None)  # absent with do_basic_tokenize=False
        backend.normalizer = normalizers.BertNormalizer(
            clean_text=True,
            handle_chinese_chars=basic.tokenize_chinese_chars if basic else False,
            strip_accents=basic.strip_accents if basic else False,
            lowercase=basic.do_lower_case if basic else False,
        )
        backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        cls, sep = str(slow_tokenizer.cls_token), str(slow_tokenizer.sep_token)
        backend.post_processor = processors.TemplateProcessing(
            single=f"{cls}:0 $A:0 {sep}:0",
            pair=self._pair_template.format(cls=cls, sep=sep),
            special_tokens=[(cls, slow_tokenizer.cls_token_id), (sep, slow_tokenizer.sep_token_id)],
        )
        backend.decoder = decoders.WordPiece(prefix="##")
        return backend

    def _apply_normalizer_options(self, do_lower_case: bool, strip_accents: bool | None, chinese_chars: bool) -> None:
        """Constructor options win over the normalizer stored in tokenizer.json."""
        if self._tokenizer.normalizer is None:
            return
        state = json.loads(self._tokenizer.normalizer.__getstate__())
        wanted = {"lowercase": do_lower_case, "strip_accents": strip_accents}
        if self._normalizer_follows_chinese_chars:
            wanted["handle_chinese_chars"] = chinese_chars
        if any(state.get(key, value) != value for key, value in wanted.items()):
            normalizer_class = getattr(normalizers, state.pop("type"))
            self._tokenizer.normalizer = normalizer_class(**{**state, **wanted})

    @property
    def can_save_slow_tokenizer(self) -> bool:
        return isinstance(self._tokenizer.model, models.WordPiece)

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str]:
        path = _vocab_path(save_directory, filename_prefix)
        save_vocab(self._tokenizer.get_vocab(with_added_tokens=False), path)
        return (path,)


class BertTokenizerFast(_BertFormat, _WordPieceTokenizerFast):
    """BERT's WordPiece tokenizer backed by `tokenizers` (offsets, word ids, fast batches)."""

    slow_tokenizer_class = BertTokenizer

    def __init__(
        self,
        vocab_file: str | os.PathLike | None = None,
        tokenizer_file: str | os.PathLike | None = None,
        do_lower_case: bool = True,
        unk_token: str | AddedToken = "[UNK]",
        sep_token: str | AddedToken = "[SEP]",
        pad_token: str | AddedToken = "[PAD]",
        cls_token: str | AddedToken = "[CLS]",
        mask_token: str | AddedToken = "[MASK]",
        tokenize_chinese_chars: bool = True,
        strip_accents: bool | None = None,
        **kwargs,
    ):
        super().__init__(
            vocab_file,
            tokenizer_file=tokenizer_file,
            do_lower_case=do_lower_case,
            unk_token=unk_token,
            sep_token=sep_token,
            pad_token=pad_token,
            cls_token=cls_token,
            mask_token=mask_token,
            tokenize_chinese_chars=tokenize_chinese_chars,
            strip_accents=strip_accents,
            **kwargs,
        )


class MobileBertTokenizerFast(BertTokenizerFast):
    """MobileBERT uses BERT's tokenizer unchanged."""

    slow_tokenizer_class = MobileBertTokenizer


class MPNetTokenizerFast(_MPNetFormat, _WordPieceTokenizerFast):
    """MPNet's WordPiece tokenizer backed by `tokenizers`."""

    slow_tokenizer_class = MPNetTokenizer
    model_input_names = ["input_ids", "attention_mask"]
    _pair_template = "{cls}:0 $A:0 {sep}:0 {sep}:0 $B:1 {sep}:1"
    _normalizer_follows_chinese_chars = False  # as the reference: only lowercase/strip_accents are re-applied

    def __init__(
        self,
        vocab_file: str | os.PathLike | None = None,
        tokenizer_file: str | os.PathLike | None = None,
        do_lower_case: bool = True,
        bos_token: str | AddedToken = "<s>",
        eos_token: str | AddedToken = "</s>",
        sep_token: str | AddedToken = "</s>",
        cls_token: str | AddedToken = "<s>",
        unk_token: str | AddedToken = "[UNK]",
        pad_token: str | AddedToken = "<pad>",
        mask_token: str | AddedToken = "<mask>",
        tokenize_chinese_chars: bool = True,
        strip_accents: bool | None = None,
        **kwargs,
    ):
        plain = lambda t: AddedToken(t, lstrip=False, rstrip=False) if isinstance(t, str) else t  # noqa: E731
        super().__init__(
            vocab_file,
            tokenizer_file=tokenizer_file,
            do_lower_case=do_lower_case,
            bos_token=plain(bos_token),
            eos_token=plain(eos_token),
            sep_token=plain(sep_token),
            cls_token=plain(cls_token),
            unk_token=plain(unk_token),
            pad_token=plain(pad_token),
            mask_token=AddedToken(mask_token, lstrip=True, rstrip=False) if isinstance(mask_token, str) else mask_token,
            tokenize_chinese_chars=tokenize_chinese_chars,
            strip_accents=strip_accents,
            **kwargs,
        )

    def _set_special_token(self, name: str, value) -> None:
        if name == "mask_token" and isinstance(value, str):
            value = AddedToken(value, lstrip=True, rstrip=False)  # "<mask>" absorbs the space before it
        super()._set_special_token(name, value)
