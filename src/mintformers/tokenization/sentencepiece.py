"""ErnieM's tokenizer: sentencepiece pieces, re-split ErnieM's way, mapped to vocab.txt ids.

A text becomes ids in three steps, as in PaddleNLP's original (and the reference's copy of it):
1. sentencepiece (`sentencepiece.bpe.model`, in practice XLM-R's unigram model) normalizes the text (NFKC-like rules,
   whitespace collapsed, "▁" for spaces and before the first word) and cuts it into pieces;
2. every piece is re-split: CJK ideographs (U+4E00-U+9FFF) and the punctuation `,;:.?!~，；：。？！《》【】` become
   tokens of their own, digit runs are cut from what surrounds them, and the "▁" in front of such a cut is dropped;
   a piece that is only "▁" is kept between words and dropped at the start of a text;
3. each token is looked up in vocab.txt (id = line number, `[UNK]` when absent); without vocab.txt the ids are the
   sentencepiece model's own.

`ErnieMTokenizer` does this with the `sentencepiece` library. `ErnieMTokenizerFast` converts the same files into a
`tokenizers.Tokenizer` (ids, special tokens, truncation, padding, overflow windows, offsets and word ids come from
it), but two steps cannot be expressed with `tokenizers` components and run in a Python pre-tokenizer instead:
- step 2 re-splits the pieces the subword model chose (a piece such as "▁2019," or "東京は" is cut *after* the model
  picked it, which changes how the rest of the word is cut); no component can re-split a model's output, so the
  pre-tokenizer calls the converted `Unigram` / `BPE` model itself and re-splits its pieces;
- `normalizers.Precompiled` applies sentencepiece's rule table per grapheme cluster and drops combining marks after
  a character the table rewrites (e.g. "\u00a0\u0301"), so the table is applied here as sentencepiece does
  (`_SentencePieceNormalizer`, longest match over the same trie).
The result is the slow tokenizer's ids and offsets, exactly. tokenizer.json keeps standard stand-ins for these two
steps (see `ErnieMTokenizerFast`).

Where this module differs from the reference (transformers 4.57.6), on purpose:
- Without vocab.txt, a token the sentencepiece vocabulary lacks gets `unk_token`'s id (the reference returns None).
- A vocab.txt that does not belong to the sentencepiece model (it lacks `unk_token`, or half of the model's pieces)
  is rejected with an error naming both files (the reference maps every missing piece to `[UNK]` silently); a few
  missing pieces only warn.
- `get_offset_mapping()` works (the reference's raises AttributeError) and `return_offsets_mapping=True` works on
  the slow tokenizer too.
- `save_vocabulary` honours `filename_prefix` for both files and returns both paths; without vocab.txt it writes
  only the sentencepiece model, so that reloading gives the same tokenizer.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import os
import re
import struct
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import sentencepiece as spm
from tokenizers import Regex, Token, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from .base import (
    FULL_TOKENIZER_FILE,
    AddedToken,
    BatchEncoding,
    PaddingStrategy,
    TokenizerInputError,
    _atomic_write_text,
    _EncodeOptions,
)
from .fast import PreTrainedTokenizerFast
from .slow import PreTrainedTokenizer, join_decoded

__all__ = ["ErnieMTokenizer", "ErnieMTokenizerFast", "ernie_m_split"]

logger = logging.getLogger(__name__)

SPIECE_UNDERLINE = "▁"
VOCAB_FILE = "vocab.txt"
SENTENCEPIECE_FILE = "sentencepiece.bpe.model"
VOCAB_FILES_NAMES = {"vocab_file": VOCAB_FILE, "sentencepiece_model_ckpt": SENTENCEPIECE_FILE}

_PUNCTUATION = frozenset(",;:.?!~，；：。？！《》【】")


@functools.cache
def _digit_chars() -> tuple[str, ...]:
    """Every character for which str.isdigit() holds: the reference's digit test (computed once, on first use)."""
    return tuple(chr(c) for c in range(0x110000) if chr(c).isdigit())


@functools.cache
def _split_triggers() -> frozenset[str]:
    """A piece without any of these characters is never re-split (no cut character, no digit boundary)."""
    return _PUNCTUATION | frozenset(_digit_chars()) | frozenset(map(chr, range(0x4E00, 0xA000)))


def _is_cut_char(char: str) -> bool:
    """A character that always becomes a token of its own: a CJK ideograph or ErnieM's punctuation."""
    return "\u4e00" <= char <= "\u9fff" or char in _PUNCTUATION


# ------------------------------------------------------------------------------------------------- step 2


def ernie_m_split(pieces: Sequence[str]) -> list[tuple[str, int, int]]:
    """ErnieM's re-split of sentencepiece pieces: (token, start, end), positions in `"".join(pieces)`.

    The reference's rules exactly, except that a lone "▁" as the very last piece is dropped (the reference raises
    IndexError there; sentencepiece's whitespace rules never produce one).
    """
    tokens: list[tuple[str, int, int]] = []
    triggers = _split_triggers()
    offset = 0
    for index, piece in enumerate(pieces):
        if piece == SPIECE_UNDERLINE:
            # Kept between a word and a continuation piece (XLM-R's "▁" + "fox"), dropped at the start of a text.
            if index != 0 and index + 1 < len(pieces) and not pieces[index + 1].startswith(SPIECE_UNDERLINE):
                tokens.append((piece, offset, offset + 1))
            offset += 1
            continue
        if triggers.isdisjoint(piece):
            tokens.append((piece, offset, offset + len(piece)))
            offset += len(piece)
            continue
        start = 0  # start of the part of `piece` not emitted yet
        for i, char in enumerate(piece):
            if char == SPIECE_UNDERLINE:
                continue
            if _is_cut_char(char):
                if i > start and piece[start:i] != SPIECE_UNDERLINE:
                    tokens.append((piece[start:i], offset + start, offset + i))
                tokens.append((char, offset + i, offset + i + 1))
                start = i + 1
            elif i > 0 and char.isdigit() != piece[i - 1].isdigit():
                if i > start and piece[start:i] != SPIECE_UNDERLINE:
                    tokens.append((piece[start:i], offset + start, offset + i))
                start = i
        if len(piece) > start:
            tokens.append((piece[start:], offset + start, offset + len(piece)))
        offset += len(piece)
    return tokens


# ------------------------------------------------------------------------------ the sentencepiece model file


_NORMAL, _UNKNOWN, _CONTROL, _USER_DEFINED, _UNUSED, _BYTE = 1, 2, 3, 4, 5, 6
_UNIGRAM, _BPE = 1, 2


@dataclass
class _SentencePieceSpec:
    """What the fast tokenizer needs from a sentencepiece ModelProto (read without protobuf)."""

    pieces: list[tuple[str, float, int]]  # (piece, score, type), in id order
    model_type: int = _UNIGRAM
    byte_fallback: bool = False
    treat_whitespace_as_suffix: bool = False
    precompiled_charsmap: bytes = b""
    add_dummy_prefix: bool = True
    remove_extra_whitespaces: bool = True
    escape_whitespaces: bool = True

    @property
    def unk_piece(self) -> str:
        return next(piece for piece, _, kind in self.pieces if kind == _UNKNOWN)

    @property
    def segment_pieces(self) -> dict[str, float]:
        """The pieces the subword model may use, with their scores."""
        return {piece: score for piece, score, kind in self.pieces if kind == _NORMAL}


def _proto_fields(buf: bytes) -> Iterator[tuple[int, Any]]:
    """(field number, value) of a serialized protobuf message: ints for varints, bytes otherwise."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, i = _varint(buf, i)
        elif wire_type == 1:
            value, i = buf[i : i + 8], i + 8
        elif wire_type == 2:
            length, i = _varint(buf, i)
            value, i = buf[i : i + length], i + length
        elif wire_type == 5:
            value, i = buf[i : i + 4], i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire_type}")
        yield number, value


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, i
        shift += 7


def _read_sentencepiece_proto(serialized: bytes) -> _SentencePieceSpec:
    # Field numbers from sentencepiece_model.proto: ModelProto{pieces=1, trainer_spec=2, normalizer_spec=3},
    # SentencePiece{piece=1, score=2, type=3}, TrainerSpec{model_type=3, treat_whitespace_as_suffix=24,
    # byte_fallback=35}, NormalizerSpec{precompiled_charsmap=2, add_dummy_prefix=3, remove_extra_whitespaces=4,
    # escape_whitespaces=5}.
    spec = _SentencePieceSpec(pieces=[])
    for number, value in _proto_fields(serialized):
        if number == 1:
            piece, score, kind = "", 0.0, _NORMAL
            for field, item in _proto_fields(value):
                if field == 1:
                    piece = item.decode("utf-8")
                elif field == 2:
                    score = struct.unpack("<f", item)[0]
                elif field == 3:
                    kind = item
            spec.pieces.append((piece, score, kind))
        elif number == 2:
            for field, item in _proto_fields(value):
                if field == 3:
                    spec.model_type = item
                elif field == 24:
                    spec.treat_whitespace_as_suffix = bool(item)
                elif field == 35:
                    spec.byte_fallback = bool(item)
        elif number == 3:
            for field, item in _proto_fields(value):
                if field == 2:
                    spec.precompiled_charsmap = bytes(item)
                elif field == 3:
                    spec.add_dummy_prefix = bool(item)
                elif field == 4:
                    spec.remove_extra_whitespaces = bool(item)
                elif field == 5:
                    spec.escape_whitespaces = bool(item)
    return spec


def _load_vocab(vocab_file: str | os.PathLike) -> dict[str, int]:
    """vocab.txt → {token: line number} (a repeated token keeps its last line, as in the reference)."""
    with open(vocab_file, encoding="utf-8") as f:
        return {line.rstrip("\n"): index for index, line in enumerate(f)}


def _check_vocab_matches(
    vocab: dict[str, int], sp_model: spm.SentencePieceProcessor, unk_token: str, vocab_file: str, model_file: str
) -> list[str]:
    """Raise if vocab.txt cannot belong to the sentencepiece model; return the model's pieces it lacks."""
    pieces = [
        sp_model.id_to_piece(i)
        for i in range(sp_model.get_piece_size())
        if not (sp_model.is_control(i) or sp_model.is_unknown(i) or sp_model.is_unused(i) or sp_model.is_byte(i))
    ]
    missing = [piece for piece in pieces if piece not in vocab]
    files = f"vocab file {vocab_file!r} and sentencepiece model {model_file!r}"
    if len(missing) * 2 > len(pieces):
        raise ValueError(
            f"The {files} do not match: {len(missing)} of the model's {len(pieces)} pieces are not in the vocab file "
            f"(e.g. {missing[:5]}). ErnieM's vocab.txt lists the special tokens and then every sentencepiece piece; "
            "pass the vocab.txt that was saved with this model, or no vocab file to use the model's own ids."
        )
    if unk_token not in vocab:
        raise ValueError(
            f"The vocab file {vocab_file!r} has no {unk_token!r} (unk_token), so pieces of the sentencepiece model "
            f"{model_file!r} that it lacks would have no id. Pass the unk_token this vocabulary uses."
        )
    if missing:
        logger.warning(
            f"{len(missing)} pieces of the sentencepiece model {model_file!r} are not in {vocab_file!r} (e.g. "
            f"{missing[:5]}); they become {unk_token!r}."
        )
    return missing


# --------------------------------------------------------------------------------------- shared formatting


class _ErnieMFormat:
    """`[CLS] A [SEP]` and `[CLS] A [SEP] [SEP] B [SEP]`; token types are 0 up to A's end, 1 from the first [SEP]."""

    def build_inputs_with_special_tokens(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None
    ) -> list[int]:
        cls, sep = [self.cls_token_id], [self.sep_token_id]
        if token_ids_1 is None:
            return cls + token_ids_0 + sep
        return cls + token_ids_0 + sep + sep + token_ids_1 + sep

    def build_offset_mapping_with_special_tokens(
        self, offset_mapping_0: list[tuple[int, int]], offset_mapping_1: list[tuple[int, int]] | None = None
    ) -> list[tuple[int, int]]:
        """Offsets with (0, 0) where `build_inputs_with_special_tokens` puts special tokens."""
        if offset_mapping_1 is None:
            return [(0, 0)] + list(offset_mapping_0) + [(0, 0)]
        return [(0, 0)] + list(offset_mapping_0) + [(0, 0), (0, 0)] + list(offset_mapping_1) + [(0, 0)]

    def get_special_tokens_mask(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None, already_has_special_tokens: bool = False
    ) -> list[int]:
        if already_has_special_tokens:
            if token_ids_1 is not None:
                raise ValueError(
                    "You should not supply a second sequence if the provided sequence of ids is already formatted "
                    "with special tokens for the model."
                )
            # As the reference: only [CLS] and [SEP] count here (not [PAD], [UNK] or [MASK]).
            return [1 if x in (self.sep_token_id, self.cls_token_id) else 0 for x in token_ids_0]
        if token_ids_1 is None:
            return [1] + [0] * len(token_ids_0) + [1]
        return [1] + [0] * len(token_ids_0) + [1, 1] + [0] * len(token_ids_1) + [1]

    def create_token_type_ids_from_sequences(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None
    ) -> list[int]:
        # The model has no token type embeddings; these only matter to callers that ask for them.
        if token_ids_1 is None:
            return [0] * (len(token_ids_0) + 2)
        return [0] * (len(token_ids_0) + 1) + [1] * (len(token_ids_1) + 3)


# ---------------------------------------------------------------------------------------------- the slow one


class ErnieMTokenizer(_ErnieMFormat, PreTrainedTokenizer):
    """ErnieM's tokenizer on the `sentencepiece` library (see the module docstring for the algorithm).

    Args:
        sentencepiece_model_ckpt: the sentencepiece model (`sentencepiece.bpe.model`).
        vocab_file: vocab.txt (ids = line numbers); None uses the sentencepiece model's ids.
        do_lower_case: lower-case the text (special tokens excepted) before sentencepiece. Default False, as the
            reference's code (its docstring says True).
        encoding: accepted and saved, as in the reference; vocab.txt is always read and written as UTF-8.
        sp_model_kwargs: passed to `SentencePieceProcessor` (e.g. `enable_sampling`, `nbest_size`, `alpha` for
            subword regularization).

    `model_input_names == ["input_ids"]`, as in the reference (ErnieM has no token types): calls return no
    attention_mask unless `return_attention_mask=True`. ErnieM models derive the mask from `input_ids ==
    pad_token_id` when none is passed, so padded batches work either way.
    """

    vocab_files_names = VOCAB_FILES_NAMES
    model_input_names = ["input_ids"]

    def __init__(
        self,
        sentencepiece_model_ckpt: str | os.PathLike,
        vocab_file: str | os.PathLike | None = None,
        do_lower_case: bool = False,
        encoding: str = "utf8",
        unk_token: str | AddedToken = "[UNK]",
        sep_token: str | AddedToken = "[SEP]",
        pad_token: str | AddedToken = "[PAD]",
        cls_token: str | AddedToken = "[CLS]",
        mask_token: str | AddedToken = "[MASK]",
        sp_model_kwargs: dict[str, Any] | None = None,
        **kwargs,
    ):
        if sentencepiece_model_ckpt is None:
            raise ValueError(f"{type(self).__name__} needs the sentencepiece model file ({SENTENCEPIECE_FILE}).")
        self.sp_model_kwargs = dict(sp_model_kwargs or {})
        self.do_lower_case = do_lower_case
        self.sentencepiece_model_ckpt = os.fspath(sentencepiece_model_ckpt)
        self.sp_model = self._load_sp_model(self.sentencepiece_model_ckpt, self.sp_model_kwargs)
        if vocab_file is not None:
            vocab_file = os.fspath(vocab_file)
            self.vocab = _load_vocab(vocab_file)
            self.missing_pieces = _check_vocab_matches(
                self.vocab, self.sp_model, str(unk_token), vocab_file, self.sentencepiece_model_ckpt
            )
        else:
            self.vocab = {self.sp_model.id_to_piece(i): i for i in range(self.sp_model.get_piece_size())}
            self.missing_pieces = []
        self.reverse_vocab = {index: token for token, index in self.vocab.items()}
        super().__init__(
            do_lower_case=do_lower_case,
            unk_token=unk_token,
            sep_token=sep_token,
            pad_token=pad_token,
            cls_token=cls_token,
            mask_token=mask_token,
            vocab_file=vocab_file,
            encoding=encoding,
            sp_model_kwargs=self.sp_model_kwargs,
            **kwargs,
        )

    @staticmethod
    def _load_sp_model(path: str, sp_model_kwargs: dict[str, Any]) -> spm.SentencePieceProcessor:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"No sentencepiece model at {path!r}.")
        sp_model = spm.SentencePieceProcessor(**sp_model_kwargs)
        try:
            sp_model.Load(path)
        except (OSError, RuntimeError) as e:
            raise ValueError(f"{path!r} is not a sentencepiece model: {e}") from e
        return sp_model

    @classmethod
    def _missing_files(cls, files: dict[str, Any]) -> str | None:
        # vocab.txt is optional (the sentencepiece model's own ids are used without it).
        if files.get("sentencepiece_model_ckpt") is None:
            return f"{SENTENCEPIECE_FILE!r} not found"
        return None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["sp_model"] = None  # a SentencePieceProcessor does not pickle; reloaded from its serialized proto
        state["_sp_model_proto"] = self.sp_model.serialized_model_proto()
        return state

    def __setstate__(self, state: dict) -> None:
        proto = state.pop("_sp_model_proto")
        self.__dict__.update(state)
        self.sp_model = spm.SentencePieceProcessor(**self.sp_model_kwargs)
        self.sp_model.LoadFromSerializedProto(proto)

    # ------------------------------------------------------------------ vocabulary

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def get_vocab(self) -> dict[str, int]:
        return {**self.vocab, **self._added_tokens_encoder}

    def _convert_token_to_id(self, token: str) -> int:
        index = self.vocab.get(token)
        return index if index is not None else self.unk_token_id

    def _convert_id_to_token(self, index: int) -> str:
        return self.reverse_vocab.get(index, str(self.unk_token))

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return "".join(tokens).replace(SPIECE_UNDERLINE, " ").strip()

    def convert_ids_to_string(self, ids: list[int]) -> str:
        return self.convert_tokens_to_string(self.convert_ids_to_tokens(ids))

    def clean_text(self, text: str) -> str:
        """Full-width ASCII (U+FF01-U+FF5E except "～") → ASCII, as PaddleNLP's ErnieM pre-processing did."""
        return "".join(_FULLWIDTH_TO_ASCII.get(c, c) for c in text)

    # ------------------------------------------------------------------ tokenizing

    def _pieces(self, text: str) -> list[str]:
        options = self.sp_model_kwargs
        if options.get("enable_sampling") is True:
            return self.sp_model.encode(
                text,
                out_type=str,
                enable_sampling=True,
                nbest_size=options.get("nbest_size", 64),
                alpha=options.get("alpha", 0.1),
            )
        return self.sp_model.encode(text, out_type=str, enable_sampling=False)

    def _tokenize(self, text: str, **kwargs) -> list[str]:
        return [token for token, _, _ in ernie_m_split(self._pieces(text))]

    def _tokenize_with_offsets(self, text: str) -> list[tuple[str, int, int]]:
        """`_tokenize(text)` with (start, end) character spans in `text`, from sentencepiece's normalization
        alignment (the same code as ErnieMTokenizerFast's, so both report the same spans)."""
        normalizer = self.__dict__.get("_normalizer")
        if normalizer is None:
            spec = _read_sentencepiece_proto(self.sp_model.serialized_model_proto())
            normalizer = self._normalizer = _SentencePieceNormalizer(
                spec.precompiled_charsmap, spec.add_dummy_prefix, spec.remove_extra_whitespaces
            )
        normalized, positions = normalizer.normalize(text)
        pieces = self._pieces(text)
        if "".join(pieces) != normalized:
            raise ValueError(
                "Offsets are not available for this sentencepiece model: its pieces do not spell the normalized text "
                "(byte-fallback pieces, or a normalization this tokenizer does not reproduce)."
            )
        return _token_spans(pieces, positions)

    def get_offset_mapping(self, text: str | None) -> list[tuple[int, int]] | None:
        """(start, end) character span in `text` of every token of `tokenize(text)` (no special tokens added).

        The reference defines this method but it fails (AttributeError) in 4.57.6. `text[start:end]`, normalized by
        sentencepiece (and lower-cased with do_lower_case), is the token without its leading "▁"; added tokens span
        their own text.
        """
        if text is None:
            return None
        return [(start, end) for _, start, end in self._tokens_with_offsets(text)]

    def _tokens_with_offsets(self, text: str, split_special_tokens: bool | None = None) -> list[tuple[str, int, int]]:
        """`tokenize(text)` with character spans in `text`."""
        if split_special_tokens is None:
            split_special_tokens = self.split_special_tokens
        out: list[tuple[str, int, int]] = []
        for chunk, where, is_added in self._chunks(text, split_special_tokens):
            if is_added:
                out.append((chunk, where[0], where[-1] + 1))
                continue
            for token, s, e in self._tokenize_with_offsets(chunk):
                out.append((token, where[s], where[e - 1] + 1))
        return out

    def _chunks(self, text: str, split_special_tokens: bool) -> list[tuple[str, list[int], bool]]:
        """The pieces `PreTrainedTokenizer.tokenize` hands to `_tokenize` (or keeps as added tokens), each with the
        position in `text` of every character: (piece, positions, is an added token). Mirrors its lower-casing
        outside added tokens and its AddedToken lstrip / rstrip / single_word handling."""
        if self._lowercases_input():
            lowered = self._lowercase_outside_added_tokens(text)
            where = _align_lowered(text, lowered)
        else:
            lowered, where = text, list(range(len(text)))
        added = {} if split_special_tokens else self._added_tokens_encoder
        pieces: list[list] = []
        position = 0
        for piece in [lowered] if split_special_tokens else self._split_on_added_tokens(lowered):
            pieces.append([piece, where[position : position + len(piece)]])
            position += len(piece)
        for i, (piece, _) in enumerate(pieces):
            if piece not in added:
                continue
            token = self._added_tokens_decoder.get(added[piece])
            left = pieces[i - 1] if i > 0 else None
            right = pieces[i + 1] if i < len(pieces) - 1 else None
            left_text = left[0] if left else ""  # the single_word test below sees the text before lstrip
            if token.rstrip and right and right[0]:
                cut = len(right[0]) - len(right[0].lstrip())
                right[0], right[1] = right[0][cut:], right[1][cut:]
            if token.lstrip and left and left[0]:
                keep = len(left[0].rstrip())
                left[0], left[1] = left[0][:keep], left[1][:keep]
            if token.single_word and left_text and left_text[-1] != " ":
                left[0], left[1] = left[0] + piece, left[1] + pieces[i][1]
                pieces[i] = ["", []]
            elif token.single_word and right and right[0] and right[0][0] != " ":
                right[0], right[1] = piece + right[0], pieces[i][1] + right[1]
                pieces[i] = ["", []]
        return [(piece, positions, piece in added) for piece, positions in pieces if piece]

    # ------------------------------------------------------------------ offsets in __call__

    def _encode_one(self, text: Any, text_pair: Any, options: _EncodeOptions, kwargs: dict) -> BatchEncoding:
        if not options.return_offsets_mapping:
            return super()._encode_one(text, text_pair, options, kwargs)
        row = self._encode_row_with_offsets(text, text_pair, options, kwargs)
        return BatchEncoding(row, tensor_type=options.return_tensors, prepend_batch_axis=True)

    def _encode_batch(self, batch: list[Any], options: _EncodeOptions, kwargs: dict) -> BatchEncoding:
        if not options.return_offsets_mapping:
            return super()._encode_batch(batch, options, kwargs)
        row_options = _EncodeOptions(**{**vars(options), "padding": PaddingStrategy.DO_NOT_PAD})
        row_options.return_attention_mask = False
        row_options.pad_to_multiple_of = None
        rows = []
        for item in batch:
            if isinstance(item, (list, tuple)) and not (
                options.is_split_into_words and not isinstance(item[0], (list, tuple))
            ):
                text, text_pair = item
            else:
                text, text_pair = item, None
            rows.append(self._encode_row_with_offsets(text, text_pair, row_options, kwargs))
        if not rows:
            return BatchEncoding({}, tensor_type=options.return_tensors)
        offsets = [row.pop("offset_mapping") for row in rows]
        columns = {key: [row[key] for row in rows] for key in rows[0]}
        padded = dict(
            self.pad(
                columns,
                padding=options.padding.value,
                max_length=options.max_length,
                pad_to_multiple_of=options.pad_to_multiple_of,
                padding_side=options.padding_side,
                return_attention_mask=options.return_attention_mask,
            )
        )
        side = options.padding_side or self.padding_side
        for i, row_offsets in enumerate(offsets):
            missing = len(padded["input_ids"][i]) - len(row_offsets)
            filler = [(0, 0)] * missing
            offsets[i] = row_offsets + filler if side == "right" else filler + row_offsets
        padded["offset_mapping"] = offsets
        return BatchEncoding(padded, tensor_type=options.return_tensors)

    def _encode_row_with_offsets(self, text: Any, text_pair: Any, options: _EncodeOptions, kwargs: dict) -> dict:
        """One row with `offset_mapping`: the offsets go through the same truncation / special tokens / padding as
        the ids, by running `_prepare_ids` a second time on position markers."""
        first = self._ids_and_offsets(text, options, kwargs)
        second = self._ids_and_offsets(text_pair, options, kwargs) if text_pair is not None else None
        ids, offsets = first
        pair_ids, pair_offsets = second if second is not None else (None, [])
        encoded = self._prepare_ids(ids, pair_ids, options)
        # Markers above every real id: after `_prepare_ids` a marker is a text token, anything else is special/pad.
        base = max(len(self), 1) + 1
        markers = [base + i for i in range(len(ids))]
        pair_markers = [base + len(ids) + i for i in range(len(pair_ids))] if pair_ids is not None else None
        quiet = _EncodeOptions(**{**vars(options), "verbose": False, "return_overflowing_tokens": False})
        laid_out = self._prepare_ids(markers, pair_markers, quiet)["input_ids"]
        every = offsets + pair_offsets
        encoded["offset_mapping"] = [every[m - base] if m >= base else (0, 0) for m in laid_out]
        return encoded

    def _ids_and_offsets(
        self, text: Any, options: _EncodeOptions, kwargs: dict
    ) -> tuple[list[int], list[tuple[int, int]]]:
        if isinstance(text, str):
            tokens = self._tokens_with_offsets(text, options.split_special_tokens)
        elif options.is_split_into_words and isinstance(text, (list, tuple)) and all(isinstance(w, str) for w in text):
            # Offsets are relative to each word, as the fast tokenizers report them for pre-split input.
            tokens = [t for word in text for t in self._tokens_with_offsets(word, options.split_special_tokens)]
        else:
            raise TokenizerInputError(
                "return_offsets_mapping=True needs text (a str, or a list of words with is_split_into_words=True), "
                f"not {type(text).__name__}: there is no text to point into."
            )
        return self.convert_tokens_to_ids([t for t, _, _ in tokens]), [(s, e) for _, s, e in tokens]

    # ------------------------------------------------------------------ saving

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        """Write sentencepiece.bpe.model and (when the tokenizer has one) vocab.txt."""
        return _save_sp_files(
            save_directory,
            filename_prefix,
            self.sp_model.serialized_model_proto(),
            self.vocab if self.init_kwargs.get("vocab_file") is not None else None,
        )


_FULLWIDTH_TO_ASCII = {chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F) if chr(c) != "～"}


def _token_spans(
    pieces: list[str], positions: list[int], splits: list[tuple[str, int, int]] | None = None
) -> list[tuple[str, int, int]]:
    """ErnieM tokens of sentencepiece `pieces` with (start, end) spans in the text, given where each normalized
    character comes from (`positions`, one entry more than characters: sentencepiece's normalization alignment).
    `splits`: `ernie_m_split(pieces)` when the caller has it already.

    The span of "▁hello" is "hello"; a lone "▁" spans the whitespace it stands for. A normalized character's source
    ends where the next different source starts, so characters expanded from one source ("ﬁ" → "fi") share it."""
    n = len(positions) - 1
    out = []
    for token, s, e in splits if splits is not None else ernie_m_split(pieces):
        if token[0] == SPIECE_UNDERLINE and len(token) > 1:
            s += 1
        last = positions[e - 1]
        after = bisect_right(positions, last, e, n)  # positions never decrease
        out.append((token, positions[s], max(positions[after] if after < n else positions[n], last + 1)))
    return out


def _align_lowered(text: str, lowered: str) -> list[int]:
    """For every character of `lowered` (`text` lower-cased character by character, some stretches left as they
    were), the index of the `text` character it came from."""
    where, j = [], 0
    for i, char in enumerate(text):
        low = char.lower()
        step = len(low) if low != char and lowered.startswith(low, j) else 1
        where.extend([i] * step)
        j += step
    return where


def _save_sp_files(
    save_directory: str, filename_prefix: str | None, sp_proto: bytes, vocab: dict[str, int] | None
) -> tuple[str, ...]:
    if not os.path.isdir(save_directory):
        raise ValueError(f"Vocabulary path ({save_directory}) should be a directory")
    prefix = f"{filename_prefix}-" if filename_prefix else ""
    model_path = os.path.join(save_directory, prefix + SENTENCEPIECE_FILE)
    tmp = f"{model_path}.tmp"
    with open(tmp, "wb") as f:
        f.write(sp_proto)
    os.replace(tmp, model_path)
    if vocab is None:
        return (model_path,)
    vocab_path = os.path.join(save_directory, prefix + VOCAB_FILE)
    lines, expected = [], 0
    for token, index in sorted(vocab.items(), key=lambda item: item[1]):
        if index != expected:
            logger.warning(f"Saving vocabulary to {vocab_path}: vocabulary indices are not consecutive.")
            expected = index
        lines.append(token + "\n")
        expected += 1
    _atomic_write_text(vocab_path, "".join(lines))
    return (vocab_path, model_path)


# ---------------------------------------------------------------------------------------------- the fast one


# Unigram score of the vocabulary entries that are no sentencepiece piece ([CLS], <unk>, ...) in tokenizer.json; the
# exact pipeline segments with the pieces alone (`_unigram_segmenter`).
_NON_PIECE_SCORE = -1e6
# The unknown entry of that segmenter: it contains a space, which the normalized text never does, so it never matches.
_SEGMENTER_UNK = " <unk> "


def _char_class(chars: Sequence[str]) -> str:
    """Characters → the inside of an Oniguruma character class, as code point ranges."""
    points = sorted(ord(c) for c in chars)
    parts, i = [], 0
    while i < len(points):
        j = i
        while j + 1 < len(points) and points[j + 1] == points[j] + 1:
            j += 1
        parts.append(f"\\x{{{points[i]:X}}}" + (f"-\\x{{{points[j]:X}}}" if j > i else ""))
        i = j + 1
    return "".join(parts)


def _standin_pre_tokenizer(add_dummy_prefix: bool, remove_extra_whitespaces: bool) -> pre_tokenizers.PreTokenizer:
    """The standard pre-tokenizer tokenizer.json carries in place of ErnieM's re-split (see ErnieMTokenizerFast).

    It applies sentencepiece's whitespace rules and cuts *before* the subword model where ErnieM cuts after it
    (assuming "▁" joins the next digit / CJK / punctuation piece); ErnieMTokenizerFast reads the two whitespace
    settings back from it and replaces it with the exact step."""
    cut = "\\x{4E00}-\\x{9FFF}" + _char_class(sorted(_PUNCTUATION))
    digit = _char_class(_digit_chars())
    steps = [pre_tokenizers.Split(Regex(" +"), "removed")] if remove_extra_whitespaces else []
    steps += [
        pre_tokenizers.Metaspace(
            replacement=SPIECE_UNDERLINE, prepend_scheme="always" if add_dummy_prefix else "never"
        ),
        pre_tokenizers.Split(Regex(f"▁(?=[{cut}{digit}])"), "removed"),
        pre_tokenizers.Split(Regex(f"[{cut}]"), "isolated"),
        pre_tokenizers.Split(Regex(f"[{digit}]+"), "isolated"),
    ]
    return pre_tokenizers.Sequence(steps)


def _read_standin(state: dict) -> tuple[bool, bool]:
    """(add_dummy_prefix, remove_extra_whitespaces) from a tokenizer.json pre-tokenizer written by
    `_standin_pre_tokenizer`; ValueError for anything else."""
    steps = state.get("pretokenizers", []) if state.get("type") == "Sequence" else []
    metaspace = [step for step in steps if step.get("type") == "Metaspace"]
    if not metaspace:
        raise ValueError(
            "This tokenizer.json was not written by ErnieMTokenizerFast (its pre-tokenizer has no Metaspace step); "
            "load ErnieM from its sentencepiece.bpe.model (+ vocab.txt) instead."
        )
    first = steps[0]
    removes_spaces = first.get("type") == "Split" and first.get("pattern", {}).get("Regex") == " +"
    return metaspace[0].get("prepend_scheme") == "always", removes_spaces


def _bpe_merges(pieces: dict[str, float]) -> list[tuple[str, str]]:
    """sentencepiece BPE merges any two adjacent symbols that spell a piece, best-scored piece first; as ranked
    merges: every split of every piece into two pieces, ordered by the piece's score."""
    merges = []
    for piece, score in pieces.items():
        for k in range(1, len(piece)):
            if piece[:k] in pieces and piece[k:] in pieces:
                merges.append((-score, k, piece[:k], piece[k:]))
    merges.sort(key=lambda m: (m[0], m[1]))
    return [(a, b) for _, _, a, b in merges]


def _convert_sentencepiece(
    sp_proto: bytes, vocab: dict[str, int], unk_token: str, cls: tuple[str, int], sep: tuple[str, int]
) -> Tokenizer:
    """sentencepiece model + ErnieM vocabulary → the `tokenizers.Tokenizer` written to tokenizer.json."""
    spec = _read_sentencepiece_proto(sp_proto)
    unsupported = [
        name
        for name, bad in (
            ("byte_fallback", spec.byte_fallback),
            ("treat_whitespace_as_suffix", spec.treat_whitespace_as_suffix),
            ("escape_whitespaces=False", not spec.escape_whitespaces),
            ("user-defined pieces", any(kind == _USER_DEFINED for _, _, kind in spec.pieces)),
            ("a model type other than unigram or BPE", spec.model_type not in (_UNIGRAM, _BPE)),
        )
        if bad
    ]
    if unsupported:
        raise NotImplementedError(
            f"ErnieMTokenizerFast cannot convert a sentencepiece model with {', '.join(unsupported)}; use "
            "ErnieMTokenizer."
        )
    if sorted(vocab.values()) != list(range(len(vocab))):
        raise ValueError("ErnieMTokenizerFast needs a vocabulary whose ids are 0..n-1 (vocab.txt has repeated lines).")
    pieces = spec.segment_pieces
    if spec.model_type == _UNIGRAM:
        by_id = sorted(vocab.items(), key=lambda item: item[1])
        entries = [(token, pieces.get(token, _NON_PIECE_SCORE)) for token, _ in by_id]
        model = models.Unigram(entries, vocab[unk_token], False)
    else:
        model = models.BPE(vocab, _bpe_merges(pieces), unk_token=unk_token, fuse_unk=True)
    backend = Tokenizer(model)
    if spec.precompiled_charsmap:
        backend.normalizer = normalizers.Precompiled(spec.precompiled_charsmap)
    backend.pre_tokenizer = _standin_pre_tokenizer(spec.add_dummy_prefix, spec.remove_extra_whitespaces)
    backend.post_processor = processors.TemplateProcessing(
        single=f"{cls[0]}:0 $A:0 {sep[0]}:0",
        pair=f"{cls[0]}:0 $A:0 {sep[0]}:1 {sep[0]}:1 $B:1 {sep[0]}:1",  # token types as the slow tokenizer's
        special_tokens=[cls, sep],
    )
    backend.decoder = decoders.Metaspace(replacement=SPIECE_UNDERLINE, prepend_scheme="always")
    return backend


_SPACE_RUNS = re.compile(" +")


class _SentencePieceNormalizer:
    """sentencepiece's normalization, from its precompiled rule table: at each position the longest matching rule
    (a double-array trie over UTF-8), then its whitespace rules (leading / repeated / trailing spaces dropped, "▁"
    for spaces and before the text). Returns the text with, per character, where in the input it comes from.

    `tokenizers.normalizers.Precompiled` reads the same table but applies it per grapheme cluster, which loses the
    combining marks that follow a character the table rewrites (a no-break space, a full-width letter, ...)."""

    def __init__(self, charsmap: bytes, add_dummy_prefix: bool, remove_extra_whitespaces: bool):
        self.add_dummy_prefix = add_dummy_prefix
        self.remove_extra_whitespaces = remove_extra_whitespaces
        self._units: tuple[int, ...] = ()
        self._targets = b""
        if charsmap:
            (trie_size,) = struct.unpack_from("<I", charsmap)
            self._units = struct.unpack_from(f"<{trie_size // 4}I", charsmap, 4)
            self._targets = charsmap[4 + trie_size :]
        self._pairs: dict[str, bool | int] = {}  # see _units_of
        self._decoded: dict[int, str] = {}

    def _longest_rule(self, text: str, start: int) -> tuple[int, int]:
        """(length in characters, target offset) of the longest rule matching `text` at `start`; (0, 0) if none.
        Rules are keyed by UTF-8 bytes and always end at a character boundary."""
        units = self._units
        unit = units[0]
        node = (unit >> 10) << ((unit & 512) >> 6)
        best = (0, 0)
        for j in range(start, len(text)):
            for byte in text[j].encode("utf-8"):
                node ^= byte
                unit = units[node]
                if unit & 0x800000FF != byte:
                    return best
                node ^= (unit >> 10) << ((unit & 512) >> 6)
            if (unit >> 8) & 1:
                best = (j + 1 - start, units[node] & 0x7FFFFFFF)
        return best

    def _target(self, offset: int) -> str:
        text = self._decoded.get(offset)
        if text is None:
            text = self._targets[offset : self._targets.index(b"\0", offset)].decode("utf-8")
            self._decoded[offset] = text
        return text

    def _walks(self, data: bytes) -> bool:
        """Whether the trie has a path through all of `data` (some rule starts with it)."""
        units = self._units
        unit = units[0]
        node = (unit >> 10) << ((unit & 512) >> 6)
        for byte in data:
            node ^= byte
            unit = units[node]
            if unit & 0x800000FF != byte:
                return False
            node ^= (unit >> 10) << ((unit & 512) >> 6)
        return True

    def _units_of(self, text: str) -> list[tuple[int, str, int]]:
        """(position, normalized form, length) of each stretch the table rewrites; other characters are copied."""
        rewritten = []
        if not self._units:
            return rewritten
        # Cached per two characters: whether a rule may span both (then walk the trie), else the rule of the first
        # character alone (or None): most pairs of letters start no rule.
        pairs = self._pairs
        if len(pairs) > 200_000:
            pairs.clear()
        i, n = 0, len(text)
        while i < n:
            pair = text[i : i + 2]
            known = pairs.get(pair)
            if known is None:
                known = pairs[pair] = self._classify(pair)
            if known is True:
                length, target = self._longest_rule(text, i)
            else:
                length, target = (1, known) if known is not False else (0, 0)
            if length:
                rewritten.append((i, self._target(target), length))
                i += length
            else:
                i += 1
        return rewritten

    def _classify(self, pair: str) -> bool | int:
        """True if the trie has a path through both characters of `pair`; else the target of a rule for its first
        character alone, or False."""
        if len(pair) == 2 and self._walks(pair.encode("utf-8")):
            return True
        length, target = self._longest_rule(pair[0], 0)
        return target if length else False

    def normalize(self, text: str) -> tuple[str, list[int]]:
        rewritten = self._units_of(text)
        if not rewritten and self.remove_extra_whitespaces and not text.rstrip(" ").endswith(SPIECE_UNDERLINE):
            return self._spaces_only(text)
        if rewritten:
            # Every unit: a rewritten stretch as found, any other character as itself.
            units: list[tuple[int, str, int]] = []
            position = 0
            for start, normalized, length in rewritten:
                units.extend((i, text[i], 1) for i in range(position, start))
                units.append((start, normalized, length))
                position = start + length
            units.extend((i, text[i], 1) for i in range(position, len(text)))
        else:
            units = [(i, char, 1) for i, char in enumerate(text)]
        first = 0
        if self.remove_extra_whitespaces:
            while first < len(units) and units[first][1] == " ":
                first += 1
        if first == len(units):
            return "", [0]
        chars: list[str] = []
        where: list[int] = []
        if self.add_dummy_prefix:
            chars.append(SPIECE_UNDERLINE)
            where.append(units[first][0])
        remove_extra = self.remove_extra_whitespaces
        previous_is_space = remove_extra
        for position, normalized, _ in units[first:] if first else units:
            if previous_is_space:
                normalized = normalized.lstrip(" ")
            if normalized:
                if len(normalized) == 1:
                    chars.append(SPIECE_UNDERLINE if normalized == " " else normalized)
                    where.append(position)
                else:
                    chars.extend(SPIECE_UNDERLINE if c == " " else c for c in normalized)
                    where.extend([position] * len(normalized))
                previous_is_space = normalized[-1] == " "
            if not remove_extra:
                previous_is_space = False
        last = units[-1]
        consumed = last[0] + last[2]
        while remove_extra and chars and chars[-1] == SPIECE_UNDERLINE:
            chars.pop()
            consumed = where.pop()
        return "".join(chars), where + [consumed]

    def _spaces_only(self, text: str) -> tuple[str, list[int]]:
        """`normalize` for a text the table leaves alone: only the whitespace rules (what most texts need)."""
        start, end = len(text) - len(text.lstrip(" ")), len(text.rstrip(" "))
        if start >= end:
            return "", [0]
        where = [start] if self.add_dummy_prefix else []
        previous = start
        for run in _SPACE_RUNS.finditer(text, start, end):
            where.extend(range(previous, run.start() + 1))  # a run becomes one "▁", placed at its first space
            previous = run.end()
        where.extend(range(previous, end))
        where.append(end)
        body = _SPACE_RUNS.sub(SPIECE_UNDERLINE, text[start:end])
        return (SPIECE_UNDERLINE + body if self.add_dummy_prefix else body), where


def _lowered(token: AddedToken) -> AddedToken:
    if token.special or not token.normalized:
        return token
    state = token.__getstate__()
    return AddedToken(**{**state, "content": state["content"].lower()})


def _unigram_segmenter(backend: Tokenizer) -> models.Unigram:
    """The sentencepiece pieces of tokenizer.json's Unigram model, alone: sentencepiece never matches its control
    and unknown pieces or ErnieM's special tokens, and their low scores would make unknown characters look costlier
    (the unknown score is the lowest score minus 10, as in sentencepiece)."""
    state = json.loads(backend.model.__getstate__())
    pieces = [(piece, score) for piece, score in state["vocab"] if score != _NON_PIECE_SCORE]
    return models.Unigram(pieces + [(_SEGMENTER_UNK, 0.0)], len(pieces), False)


class _ErnieMPieces:
    """The runtime pre-tokenizer of ErnieMTokenizerFast: sentencepiece's normalization, the subword model (the
    backend's own `Unigram` / `BPE`), ErnieM's re-split and the ids. Each text stretch between added tokens
    becomes one split per word, already tokenized, so the backend's model never runs on its own."""

    def __init__(self, owner: ErnieMTokenizerFast, model: models.Model, normalizer: _SentencePieceNormalizer):
        import weakref

        self._owner = weakref.ref(owner)  # the backend holds this object: no strong reference cycle through it
        self._model = model
        self._normalizer = normalizer

    def pre_tokenize(self, pretok) -> None:
        owner = self._owner()
        if owner is None:
            raise RuntimeError("The ErnieMTokenizerFast that owns this backend tokenizer no longer exists.")
        words_tokens: list[list[Token]] = []

        def split(_index: int, stretch):
            words = self._words(stretch, owner)
            words_tokens.extend(tokens for _, tokens in words)
            return [word for word, _ in words]

        pretok.split(split)
        pending = iter(words_tokens)
        pretok.tokenize(lambda _text: next(pending))

    def _words(self, stretch, owner: ErnieMTokenizerFast) -> list[tuple[Any, list[Token]]]:
        text = stretch.normalized  # lower-cased when do_lower_case (the backend's only normalizer)
        seen, positions = self._normalizer.normalize(text)
        if not seen:
            return []
        # The model reports UTF-8 byte offsets; an unknown stretch keeps its text, as sentencepiece's pieces do.
        data = seen.encode("utf-8")
        pieces = [data[t.offsets[0] : t.offsets[1]].decode("utf-8") for t in self._model.tokenize(seen)]
        piece_starts = list(accumulate(map(len, pieces), initial=0))
        word_of_piece = list(accumulate(piece[0] == SPIECE_UNDERLINE for piece in pieces))  # "▁" starts a word
        splits = ernie_m_split(pieces)
        grouped: dict[int, list[tuple[str, int, int]]] = {}
        for (token, start, end), (_, s, _) in zip(_token_spans(pieces, positions, splits), splits):
            grouped.setdefault(word_of_piece[bisect_right(piece_starts, s) - 1], []).append((token, start, end))
        vocab, unk_id = owner._token_ids()
        out = []
        for tokens in grouped.values():
            first, last = tokens[0][1], max(end for _, _, end in tokens)
            encoded = []
            for token, start, end in tokens:  # offsets: UTF-8 bytes into the word's text
                begin = len(text[first:start].encode("utf-8"))
                encoded.append(
                    Token(vocab.get(token, unk_id), token, (begin, begin + len(text[start:end].encode("utf-8"))))
                )
            out.append((stretch[first:last], encoded))
        return out


class ErnieMTokenizerFast(_ErnieMFormat, PreTrainedTokenizerFast):
    """ErnieM's tokenizer on `tokenizers`: the ids and offsets of `ErnieMTokenizer`, plus word ids and Rust-side
    truncation / padding / overflow windows (see the module docstring for how).

    Built from the same files (sentencepiece.bpe.model + vocab.txt, or the model alone; every piece of the model
    must be in vocab.txt) or from a tokenizer.json it wrote. Word ids number the whitespace-separated words; offsets
    leave out the space a "▁" stands for.

    tokenizer.json holds only standard components: the normalization table as `Precompiled`, the model as `Unigram`
    or `BPE` over vocab.txt's ids, and, for ErnieM's re-split, a pre-tokenizer that cuts *before* the model. A
    `tokenizers.Tokenizer.from_file()` of it alone therefore differs from ErnieM where a sentencepiece piece spans one
    of ErnieM's cut points ("▁2019,", "東京は"), where a text starts with a lone "▁" piece, and around the combining
    marks `Precompiled` drops; this class replaces the two stand-ins when it loads the file.

    The Python step makes this class slower than `ErnieMTokenizer` (1,000 short multilingual sentences: 0.44 s
    against 0.05 s on 2 cores): it is for word ids and Rust-side windows, not for speed. `TOKENIZERS_PARALLELISM=false`
    cuts that to 0.28 s: tokenizers' worker threads otherwise contend for the GIL the Python step needs.

    Because of the Python step, `backend_tokenizer` cannot be serialized itself (`save_pretrained` and pickling
    write the stand-ins).

    What this class does not do: subword sampling (`sp_model_kwargs`), models with byte fallback, user-defined
    pieces or other non-default whitespace options. Pair truncation and overflow follow the backend, as in every fast
    tokenizer. BPE models only: two merges that make the same piece at overlapping positions may be applied in
    another order than sentencepiece's (leftmost first).

    `model_input_names == ["input_ids"]`, as in the reference (ErnieM has no token types): calls return no
    attention_mask unless `return_attention_mask=True`. ErnieM models derive the mask from `input_ids ==
    pad_token_id` when none is passed, so padded batches work either way.
    """

    vocab_files_names = {**VOCAB_FILES_NAMES, "tokenizer_file": FULL_TOKENIZER_FILE}
    model_input_names = ["input_ids"]
    slow_tokenizer_class = ErnieMTokenizer

    def __init__(
        self,
        sentencepiece_model_ckpt: str | os.PathLike | None = None,
        vocab_file: str | os.PathLike | None = None,
        tokenizer_file: str | os.PathLike | None = None,
        do_lower_case: bool = False,
        encoding: str = "utf8",
        unk_token: str | AddedToken = "[UNK]",
        sep_token: str | AddedToken = "[SEP]",
        pad_token: str | AddedToken = "[PAD]",
        cls_token: str | AddedToken = "[CLS]",
        mask_token: str | AddedToken = "[MASK]",
        sp_model_kwargs: dict[str, Any] | None = None,
        **kwargs,
    ):
        building = ("tokenizer_object", "__slow_tokenizer")
        if tokenizer_file is None and sentencepiece_model_ckpt is None and not any(k in kwargs for k in building):
            raise ValueError(
                f"{type(self).__name__} needs a sentencepiece model ({SENTENCEPIECE_FILE}, with or without "
                f"{VOCAB_FILE}) or a tokenizer_file ({FULL_TOKENIZER_FILE})."
            )
        self._sp_proto: bytes | None = None
        if sentencepiece_model_ckpt is not None and os.path.isfile(sentencepiece_model_ckpt):
            with open(sentencepiece_model_ckpt, "rb") as f:
                self._sp_proto = f.read()  # kept so that save_pretrained can write the slow tokenizer's files
        super().__init__(
            sentencepiece_model_ckpt,
            vocab_file,
            tokenizer_file=tokenizer_file,
            do_lower_case=do_lower_case,
            encoding=encoding,
            unk_token=unk_token,
            sep_token=sep_token,
            pad_token=pad_token,
            cls_token=cls_token,
            mask_token=mask_token,
            sp_model_kwargs=sp_model_kwargs,
            **kwargs,
        )
        self.do_lower_case = do_lower_case
        self._has_vocab_file = self.init_kwargs.get("vocab_file") is not None
        self._install_runtime()

    @classmethod
    def _missing_files(cls, files: dict[str, Any]) -> str | None:
        if files.get("tokenizer_file") is None and files.get("sentencepiece_model_ckpt") is None:
            return f"{FULL_TOKENIZER_FILE!r} or {SENTENCEPIECE_FILE!r} not found"
        return None

    def _convert_slow_tokenizer(self, slow_tokenizer: ErnieMTokenizer) -> Tokenizer:
        if slow_tokenizer.sp_model_kwargs.get("enable_sampling"):
            raise ValueError("Subword sampling (sp_model_kwargs enable_sampling) is only available in ErnieMTokenizer.")
        if slow_tokenizer.missing_pieces:
            raise ValueError(
                f"ErnieMTokenizerFast needs every piece of the sentencepiece model in the vocab file; "
                f"{len(slow_tokenizer.missing_pieces)} are missing (e.g. {slow_tokenizer.missing_pieces[:5]}). "
                "ErnieMTokenizer maps them to the unk_token."
            )
        self._sp_proto = slow_tokenizer.sp_model.serialized_model_proto()
        has_vocab = slow_tokenizer.init_kwargs.get("vocab_file") is not None
        unk = str(slow_tokenizer.unk_token) if has_vocab else _read_sentencepiece_proto(self._sp_proto).unk_piece
        cls, sep = str(slow_tokenizer.cls_token), str(slow_tokenizer.sep_token)
        return _convert_sentencepiece(
            self._sp_proto,
            slow_tokenizer.vocab if has_vocab else {**slow_tokenizer.vocab},
            unk,
            (cls, slow_tokenizer.cls_token_id),
            (sep, slow_tokenizer.sep_token_id),
        )

    def _install_runtime(self) -> None:
        """Replace tokenizer.json's stand-in steps by the exact ones: sentencepiece's normalization (read from its
        `Precompiled` table) and ErnieM's re-split move into the pre-tokenizer; do_lower_case (an init argument,
        which wins over the file) stays the only normalizer."""
        backend = self._tokenizer
        if not isinstance(backend.model, (models.Unigram, models.BPE)):
            raise ValueError(
                f"An ErnieM tokenizer.json has a Unigram or BPE model, not {type(backend.model).__name__}."
            )
        add_dummy_prefix, remove_extra = _read_standin(json.loads(backend.pre_tokenizer.__getstate__()))
        state = json.loads(backend.normalizer.__getstate__()) if backend.normalizer is not None else {}
        steps = state.get("normalizers", []) if state.get("type") == "Sequence" else [state] if state else []
        charsmap = b""
        for step in steps:
            if step.get("type") == "Precompiled":
                charsmap = base64.b64decode(step["precompiled_charsmap"])
            elif step.get("type") != "Lowercase":
                raise ValueError(f"Unexpected normalizer {step.get('type')!r} in an ErnieM tokenizer.json.")
        lower = [normalizers.Lowercase()] if self.do_lower_case else []
        table = [normalizers.Precompiled(charsmap)] if charsmap else []
        self._standin = (normalizers.Sequence(lower + table) if lower + table else None, backend.pre_tokenizer)
        normalizer = _SentencePieceNormalizer(charsmap, add_dummy_prefix, remove_extra)
        backend.normalizer = normalizers.Lowercase() if self.do_lower_case else None
        segmenter = _unigram_segmenter(backend) if isinstance(backend.model, models.Unigram) else backend.model
        backend.pre_tokenizer = pre_tokenizers.PreTokenizer.custom(_ErnieMPieces(self, segmenter, normalizer))

    def _token_ids(self) -> tuple[dict[str, int], int | None]:
        """(token → id with added tokens first, unk id), cached until the added or special tokens change."""
        cache = self.__dict__.get("_ids_cache")
        if cache is None:
            vocab = {**self._tokenizer.get_vocab(with_added_tokens=False), **self.added_tokens_encoder}
            cache = self._ids_cache = (vocab, self.unk_token_id)
        return cache

    def _add_tokens(self, new_tokens: list[str | AddedToken], special_tokens: bool = False) -> int:
        self.__dict__.pop("_ids_cache", None)
        if getattr(self, "do_lower_case", False) and not special_tokens:
            # As the slow tokenizer: a normalized added token is stored lower-cased (so it decodes that way too).
            special = set(self.all_special_tokens)
            new_tokens = [(t if t in special else t.lower()) if isinstance(t, str) else _lowered(t) for t in new_tokens]
        return super()._add_tokens(new_tokens, special_tokens)

    def _set_special_token(self, name: str, value: Any) -> None:
        self.__dict__.pop("_ids_cache", None)
        super()._set_special_token(name, value)

    # ------------------------------------------------------------------ saving and pickling

    def _portable_json(self) -> str:
        """tokenizer.json: the backend with the standard stand-ins (custom steps do not serialize), without the
        truncation / padding the last call configured on it."""
        with self._backend_lock:
            runtime = self._tokenizer.normalizer, self._tokenizer.pre_tokenizer
            self._tokenizer.normalizer, self._tokenizer.pre_tokenizer = self._standin
            try:
                state = json.loads(self._tokenizer.to_str())
            finally:
                self._tokenizer.normalizer, self._tokenizer.pre_tokenizer = runtime
        state["truncation"] = state["padding"] = None
        return json.dumps(state, indent=2, ensure_ascii=False)

    @property
    def can_save_slow_tokenizer(self) -> bool:
        return self._sp_proto is not None

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        """Write sentencepiece.bpe.model and (when the tokenizer has one) vocab.txt, as ErnieMTokenizer does."""
        if self._sp_proto is None:
            raise ValueError(
                "This tokenizer was loaded from tokenizer.json alone: it has no sentencepiece model to save."
            )
        vocab = self._tokenizer.get_vocab(with_added_tokens=False) if self._has_vocab_file else None
        return _save_sp_files(save_directory, filename_prefix, self._sp_proto, vocab)

    def _save_pretrained(
        self, save_directory: str, legacy_format: bool | None = None, filename_prefix: str | None = None
    ) -> tuple[str, ...]:
        if legacy_format is True and not self.can_save_slow_tokenizer:
            raise ValueError("Saving in the legacy format needs the sentencepiece model, which this tokenizer lacks.")
        written: tuple[str, ...] = ()
        if legacy_format in (None, True) and self.can_save_slow_tokenizer:
            written += self._save_added_tokens_and_vocab(save_directory, filename_prefix)
        if legacy_format in (None, False):
            path = os.path.join(
                save_directory, (f"{filename_prefix}-" if filename_prefix else "") + FULL_TOKENIZER_FILE
            )
            _atomic_write_text(path, self._portable_json())
            written += (path,)
        return written

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state["_tokenizer"] = self._portable_json()
        state.pop("_standin", None)
        return state

    def __setstate__(self, state: dict) -> None:
        state["_tokenizer"] = Tokenizer.from_str(state["_tokenizer"])
        super().__setstate__(state)
        self._install_runtime()

    # ------------------------------------------------------------------ decoding (as the slow tokenizer)

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return "".join(tokens).replace(SPIECE_UNDERLINE, " ").strip()

    def _decode(
        self,
        token_ids: int | list[int],
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
        spaces_between_special_tokens: bool = True,
        **kwargs,
    ) -> str:
        ids = [token_ids] if isinstance(token_ids, int) else token_ids
        tokens = [str(self.unk_token) if t is None else t for t in self.convert_ids_to_tokens(ids, skip_special_tokens)]
        special = set(self.all_special_tokens)
        # Added tokens that are not special are emitted as they are, between spaces (the slow tokenizer's rule).
        verbatim = (set(self.added_tokens_encoder) - special) | {
            t for t in self.additional_special_tokens if self.convert_tokens_to_ids(t) >= self.vocab_size
        }
        text = join_decoded(tokens, verbatim, self.convert_tokens_to_string, spaces_between_special_tokens)
        return self._maybe_clean_up(text, clean_up_tokenization_spaces)
