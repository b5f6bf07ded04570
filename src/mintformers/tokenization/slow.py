"""`PreTrainedTokenizer`: the pure-Python tokenizer base.

A family implements `_tokenize` (text → tokens), `_convert_token_to_id`, `_convert_id_to_token`, `vocab_size`,
`get_vocab`, `save_vocabulary` and its special-token format; this class adds the added-token handling (never split,
AddedToken lstrip/rstrip/single_word) and plugs tokenization into the shared `prepare_for_model` / `pad` path.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Sequence
from typing import Any

from .base import (
    AddedToken,
    BatchEncoding,
    PaddingStrategy,
    PreTrainedTokenizerBase,
    TokenizerInputError,
    _EncodeOptions,
    check_surrogates,
)

__all__ = ["PreTrainedTokenizer"]

logger = logging.getLogger(__name__)

_OFFSETS_UNAVAILABLE = (
    "return_offset_mapping is not available when using Python tokenizers. To use this feature, change your "
    "tokenizer to one deriving from mintformers.tokenization.PreTrainedTokenizerFast (e.g. BertTokenizerFast)."
)


class PreTrainedTokenizer(PreTrainedTokenizerBase):
    """Base class of the slow (pure-Python) tokenizers."""

    def __init__(self, **kwargs):
        # A subclass may register added tokens before calling this __init__.
        if not hasattr(self, "_added_tokens_decoder"):
            self._added_tokens_decoder: dict[int, AddedToken] = {}
        self._added_tokens_decoder.update(kwargs.pop("added_tokens_decoder", {}))
        self._added_tokens_encoder: dict[str, int] = {t.content: i for i, t in self._added_tokens_decoder.items()}
        self._added_tokens_pattern: re.Pattern | None = None
        super().__init__(**kwargs)
        # Special tokens are added tokens too: they must never be split.
        self._add_tokens(
            [t for t in self.all_special_tokens_extended if str(t) not in self._added_tokens_encoder],
            special_tokens=True,
        )

    @property
    def is_fast(self) -> bool:
        return False

    @property
    def added_tokens_decoder(self) -> dict[int, AddedToken]:
        return dict(sorted(self._added_tokens_decoder.items(), key=lambda item: item[0]))

    @added_tokens_decoder.setter
    def added_tokens_decoder(self, value: dict[int, AddedToken | str]) -> None:
        for index, token in value.items():
            if not isinstance(token, (str, AddedToken)) or not isinstance(index, int):
                raise TypeError(f"added_tokens_decoder must map int to str or AddedToken, got {index!r}: {token!r}")
            token = AddedToken(token) if isinstance(token, str) else token
            self._added_tokens_decoder[index] = token
            self._added_tokens_encoder[str(token)] = index
        self._update_added_tokens()

    def get_added_vocab(self) -> dict[str, int]:
        return self._added_tokens_encoder

    def __len__(self) -> int:
        return self.total_vocab_size

    def _lowercases_input(self) -> bool:
        """Whether `tokenize` lower-cases text before matching added tokens (families with do_lower_case)."""
        return bool(getattr(self, "do_lower_case", False))

    def _add_tokens(self, new_tokens: Sequence[str | AddedToken], special_tokens: bool = False) -> int:
        added = 0
        current_vocab = self.get_vocab().copy()
        new_index = len(current_vocab)
        for token in new_tokens:
            if not isinstance(token, (str, AddedToken)):
                raise TypeError(f"Token {token} is not a string but a {type(token)}.")
            if str(token) == "":
                continue
            if isinstance(token, str):
                if token in self._added_tokens_encoder:
                    continue
                is_special = token in self.all_special_tokens or special_tokens
                token = AddedToken(token, rstrip=False, lstrip=False, normalized=not is_special, special=is_special)
            elif special_tokens:
                token.__setstate__({"special": True, "normalized": token.normalized})
            if not token.special and token.normalized and self._lowercases_input():
                token.content = token.content.lower()
            if token.content not in current_vocab:
                index = new_index + added
                current_vocab[token.content] = index
                added += 1
            else:
                index = current_vocab[token.content]
            if token.special and str(token) not in self.all_special_tokens:
                self._extend_additional_special_tokens([token])
            self._added_tokens_decoder[index] = token
            self._added_tokens_encoder[token.content] = index
            if self.verbose:
                logger.info(f"Adding {token} to the vocabulary")
        self._update_added_tokens()
        return added

    def _update_added_tokens(self) -> None:
        # Longest alternative first: at each position the longest added token wins, leftmost match first.
        contents = sorted({t.content for t in self._added_tokens_decoder.values() if t.content}, key=len, reverse=True)
        self._added_tokens_pattern = re.compile("|".join(map(re.escape, contents))) if contents else None
        self.total_vocab_size = len(self.get_vocab())

    def _split_on_added_tokens(self, text: str) -> list[str]:
        """Cut `text` around every added token (the tokens stay as separate pieces)."""
        if self._added_tokens_pattern is None:
            return [text]
        pieces, start = [], 0
        for match in self._added_tokens_pattern.finditer(text):
            if match.start() > start:
                pieces.append(text[start : match.start()])
            pieces.append(match.group())
            start = match.end()
        if start < len(text):
            pieces.append(text[start:])
        return pieces

    def _lowercase_outside_added_tokens(self, text: str) -> str:
        """Lower-case `text` character by character, leaving special and normalized added tokens intact."""
        protected = [re.escape(t) for t in self.all_special_tokens]
        protected += [
            re.escape(t.content) for t in self._added_tokens_decoder.values() if not t.special and t.normalized
        ]
        protected = [p for p in protected if p]
        lower = lambda s: "".join(c.lower() for c in s)  # noqa: E731  (per char: no final-sigma context rule)
        if not protected:
            return lower(text)
        # Alternatives in the order given (not longest first), as the reference's regex does.
        parts = re.split("(" + "|".join(protected) + ")", text)
        return "".join(part if i % 2 else lower(part) for i, part in enumerate(parts))

    def tokenize(self, text: str, **kwargs) -> list[str]:
        """Text → tokens; added tokens are never split (unless `split_special_tokens=True`)."""
        check_surrogates(text)
        split_special_tokens = kwargs.pop("split_special_tokens", self.split_special_tokens)
        text, kwargs = self.prepare_for_tokenization(text, **kwargs)
        if kwargs:
            logger.warning(f"Keyword arguments {kwargs} not recognized.")
        if self._lowercases_input():
            text = self._lowercase_outside_added_tokens(text)
        if split_special_tokens:
            no_split: dict[str, int] = {}
            pieces = [text]
        else:
            no_split = self._added_tokens_encoder
            pieces = self._split_on_added_tokens(text)

        # AddedToken flags: strip whitespace next to the token, or glue it to a neighbouring word.
        for i, piece in enumerate(pieces):
            if piece not in no_split:
                continue
            token = self._added_tokens_decoder.get(no_split[piece])
            left = pieces[i - 1] if i > 0 else None
            right = pieces[i + 1] if i < len(pieces) - 1 else None
            if token.rstrip and right:
                pieces[i + 1] = right.lstrip()
            if token.lstrip and left:
                pieces[i - 1] = left.rstrip()
            if token.single_word and left and left[-1] != " ":
                pieces[i - 1] += piece
                pieces[i] = ""
            elif token.single_word and right and right[0] != " ":
                pieces[i + 1] = piece + pieces[i + 1]
                pieces[i] = ""

        tokens: list[str] = []
        for piece in pieces:
            if not piece:
                continue
            if piece in no_split:
                tokens.append(piece)
            else:
                tokens.extend(self._tokenize(piece))
        return tokens

    def prepare_for_tokenization(self, text: str, is_split_into_words: bool = False, **kwargs) -> tuple[str, dict]:
        """Hook for families that transform the text before tokenizing; returns (text, unused kwargs)."""
        return text, kwargs

    def _tokenize(self, text: str, **kwargs) -> list[str]:
        raise NotImplementedError

    def _convert_token_to_id(self, token: str) -> int:
        raise NotImplementedError

    def _convert_id_to_token(self, index: int) -> str:
        raise NotImplementedError

    def _token_to_id(self, token: str) -> int | None:
        if token is None:
            return None
        index = self._added_tokens_encoder.get(token)
        return index if index is not None else self._convert_token_to_id(token)

    def _id_to_token(self, index: int) -> str:
        token = self._added_tokens_decoder.get(index)
        return token.content if token is not None else self._convert_id_to_token(index)

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return " ".join(tokens)

    def get_special_tokens_mask(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None, already_has_special_tokens: bool = False
    ) -> list[int]:
        if already_has_special_tokens:
            if token_ids_1 is not None:
                raise ValueError(
                    "You should not supply a second sequence if the provided sequence of ids is already formatted "
                    "with special tokens for the model."
                )
            return super().get_special_tokens_mask(token_ids_0, already_has_special_tokens=True)
        return [0] * ((len(token_ids_1) if token_ids_1 else 0) + len(token_ids_0))

    # ------------------------------------------------------------------ encoding

    def _text_to_ids(self, text: Any, options: _EncodeOptions, kwargs: dict) -> list[int]:
        kwargs = {**kwargs, "split_special_tokens": options.split_special_tokens}
        if isinstance(text, str):
            return self.convert_tokens_to_ids(self.tokenize(text, **kwargs))
        if isinstance(text, (list, tuple)) and text and isinstance(text[0], str):
            if options.is_split_into_words:
                words = (self.tokenize(word, is_split_into_words=True, **kwargs) for word in text)
                return self.convert_tokens_to_ids(list(itertools.chain.from_iterable(words)))
            return self.convert_tokens_to_ids(text)
        if isinstance(text, (list, tuple)) and text and isinstance(text[0], int):
            return list(text)  # already ids
        expected = "a list/tuple of strings" if options.is_split_into_words else "a list/tuple of strings or ints"
        raise TokenizerInputError(f"Input {text!r:.60} is not valid. Should be a string or {expected}.")

    def _encode_one(self, text: Any, text_pair: Any, options: _EncodeOptions, kwargs: dict) -> BatchEncoding:
        if options.return_offsets_mapping:
            raise NotImplementedError(_OFFSETS_UNAVAILABLE)
        ids = self._text_to_ids(text, options, kwargs)
        pair_ids = self._text_to_ids(text_pair, options, kwargs) if text_pair is not None else None
        encoded = self._prepare_ids(ids, pair_ids, options)
        return BatchEncoding(encoded, tensor_type=options.return_tensors, prepend_batch_axis=True)

    def _encode_batch(self, batch: list[Any], options: _EncodeOptions, kwargs: dict) -> BatchEncoding:
        if options.return_offsets_mapping:
            raise NotImplementedError(_OFFSETS_UNAVAILABLE)
        # Each row unpadded (and without attention mask), then the whole batch padded together.
        row_options = _EncodeOptions(**{**vars(options), "padding": PaddingStrategy.DO_NOT_PAD})
        row_options.return_attention_mask = False
        row_options.pad_to_multiple_of = None
        outputs: dict[str, list] = {}
        for item in batch:
            if not isinstance(item, (list, tuple)) or (
                options.is_split_into_words and not isinstance(item[0], (list, tuple))
            ):
                text, text_pair = item, None
            else:
                text, text_pair = item
            ids = self._text_to_ids(text, options, kwargs)
            pair_ids = self._text_to_ids(text_pair, options, kwargs) if text_pair is not None else None
            for key, value in self._prepare_ids(ids, pair_ids, row_options).items():
                outputs.setdefault(key, []).append(value)
        if not outputs:
            return BatchEncoding({}, tensor_type=options.return_tensors)
        padded = self.pad(
            outputs,
            padding=options.padding.value,
            max_length=options.max_length,
            pad_to_multiple_of=options.pad_to_multiple_of,
            padding_side=options.padding_side,
            return_attention_mask=options.return_attention_mask,
        )
        return BatchEncoding(dict(padded), tensor_type=options.return_tensors)

    # ------------------------------------------------------------------ decoding

    def _decode(
        self,
        token_ids: int | list[int],
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
        spaces_between_special_tokens: bool = True,
        **kwargs,
    ) -> str:
        tokens = self.convert_ids_to_tokens(token_ids, skip_special_tokens=skip_special_tokens)
        if isinstance(tokens, str):
            tokens = [tokens]
        special = set(self.all_special_tokens)
        # Added (non-special) tokens are emitted verbatim, not through convert_tokens_to_string.
        verbatim = (set(self._added_tokens_encoder) - special) | {
            t for t in self.additional_special_tokens or [] if self.convert_tokens_to_ids(t) >= self.vocab_size
        }
        if skip_special_tokens:
            tokens = [t for t in tokens if t not in special]
        text = join_decoded(tokens, verbatim, self.convert_tokens_to_string, spaces_between_special_tokens)
        return self._maybe_clean_up(text, clean_up_tokenization_spaces)


def join_decoded(tokens: list[str], verbatim: set[str], to_string, spaces_between: bool) -> str:
    """Tokens → text the slow tokenizers' way: runs of ordinary tokens through `to_string`, `verbatim` tokens (added
    ones) as they are, the parts joined by a space when `spaces_between`."""
    parts: list[str] = []
    current: list[str] = []
    for token in tokens:
        if token in verbatim:
            if current:
                text = to_string(current)
                if text:
                    parts.append(text)
                current = []
            parts.append(token)
        else:
            current.append(token)
    if current:
        parts.append(to_string(current))
    return (" " if spaces_between else "").join(parts)
