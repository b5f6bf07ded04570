"""ErnieM's tokenizer: sentencepiece pieces, re-split ErnieM's way, mapped to vocab.txt ids.

A text becomes ids in three steps, as in PaddleNLP's original (and the reference's copy of it):
1. sentencepiece (`sentencepiece.bpe.model`, in practice XLM-R's unigram model) normalizes the text (NFKC-like rules,
   whitespace collapsed, "▁" for spaces and before the first word) and cuts it into pieces;
2. every piece is re-split: CJK ideographs (U+4E00-U+9FFF) and the punctuation `,;:.?!~，；：。？！《》【】` become
   tokens of their own, digit runs are cut from what surrounds them, and the "▁" in front of such a cut is dropped;
   a piece that is only "▁" is kept between words and dropped at the start of a text;
3. each token is looked up in vocab.txt (id = line number, `[UNK]` when absent); without vocab.txt the ids are the
   sentencepiece model's own.

`ErnieMTokenizer` (here) does this with the `sentencepiece` library; `ErnieMTokenizerFast` (`ernie_m_fast.py`) does
it on `tokenizers`, with the same ids and offsets. The sentencepiece mechanics both use (reading the model file, its
normalization) are in `sentencepiece.py`.

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

import functools
import logging
import os
from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

import sentencepiece as spm

from mintformers.storage import CheckpointError, atomic_path

from .base import AddedToken, BatchEncoding, PaddingStrategy, TokenizerInputError, _atomic_write_text, _EncodeOptions
from .sentencepiece import SPIECE_UNDERLINE, SentencePieceNormalizer, read_sentencepiece_model
from .slow import PreTrainedTokenizer

__all__ = ["ErnieMTokenizer", "ernie_m_split"]

logger = logging.getLogger(__name__)

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


# ------------------------------------------------------------------------------------------------- vocab.txt


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
            if not self.vocab or list(self.vocab) == [""]:
                raise CheckpointError(
                    f"The vocabulary file {vocab_file!r} is empty (an interrupted download or copy?). Re-download the "
                    "checkpoint, or pass no vocab_file to use the sentencepiece model's own ids."
                )
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
            spec = read_sentencepiece_model(self.sp_model.serialized_model_proto())
            normalizer = self._normalizer = SentencePieceNormalizer(
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
    with atomic_path(model_path) as staged:  # (within save_pretrained: part of the folder's one atomic save)
        staged.write_bytes(sp_proto)
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
