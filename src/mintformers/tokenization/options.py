"""What a tokenizer call accepts: padding / truncation strategies, tensor types, the per-call options, and the
checks on the shape of its text inputs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

__all__ = [
    "ExplicitEnum",
    "LoneSurrogateError",
    "PaddingStrategy",
    "TensorType",
    "TokenizerInputError",
    "TruncationStrategy",
]

TextInput = str
PreTokenizedInput = list[str]
EncodedInput = list[int]


class ExplicitEnum(str, Enum):
    """A string enum whose error for an unknown value lists the valid ones."""

    @classmethod
    def _missing_(cls, value):
        raise ValueError(f"{value!r} is not a valid {cls.__name__}, please select one of {[m.value for m in cls]}")


class PaddingStrategy(ExplicitEnum):
    LONGEST = "longest"
    MAX_LENGTH = "max_length"
    DO_NOT_PAD = "do_not_pad"


class TruncationStrategy(ExplicitEnum):
    ONLY_FIRST = "only_first"
    ONLY_SECOND = "only_second"
    LONGEST_FIRST = "longest_first"
    DO_NOT_TRUNCATE = "do_not_truncate"


class TensorType(ExplicitEnum):
    PYTORCH = "pt"
    TENSORFLOW = "tf"
    NUMPY = "np"
    JAX = "jax"


class TokenizerInputError(TypeError, ValueError):
    """Input of the wrong type. A TypeError, and a ValueError too because the reference raises ValueError here."""


@dataclass
class _EncodeOptions:
    """The per-call settings of `__call__` / `encode_plus`, resolved once and handed to the encoding hooks."""

    add_special_tokens: bool = True
    padding: PaddingStrategy = PaddingStrategy.DO_NOT_PAD
    truncation: TruncationStrategy = TruncationStrategy.DO_NOT_TRUNCATE
    max_length: int | None = None
    stride: int = 0
    is_split_into_words: bool = False
    pad_to_multiple_of: int | None = None
    padding_side: str | None = None
    return_tensors: str | TensorType | None = None
    return_token_type_ids: bool | None = None
    return_attention_mask: bool | None = None
    return_overflowing_tokens: bool = False
    return_special_tokens_mask: bool = False
    return_offsets_mapping: bool = False
    return_length: bool = False
    verbose: bool = True
    split_special_tokens: bool = False


def _is_text(t: Any) -> bool:
    """A str, a list of str, or a list of lists of str (the shapes `__call__` accepts)."""
    if isinstance(t, str):
        return True
    if isinstance(t, (list, tuple)):
        if len(t) == 0 or isinstance(t[0], str):
            return all(isinstance(x, str) for x in t)
        if isinstance(t[0], (list, tuple)):
            return all(isinstance(x, (list, tuple)) and all(isinstance(w, str) for w in x) for x in t)
    return False


def _check_text(t: Any, name: str) -> None:
    _check_given(t, name)
    if not _is_text(t):
        raise TokenizerInputError(
            f"{name} input must be of type `str` (single example), `list[str]` (batch or single pretokenized "
            f"example) or `list[list[str]]` (batch of pretokenized examples); got {_describe(t)}."
        )


def _check_given(t: Any, name: str) -> None:
    if t is None:
        raise TokenizerInputError(
            f"{name} is None: pass a str, or a list of str for a batch, e.g. tokenizer('Hello world')."
        )


def _describe(t: Any) -> str:
    if isinstance(t, (list, tuple)):
        bad = next((x for x in t if not isinstance(x, (str, list, tuple))), None)
        inner = f" containing {type(bad).__name__} ({bad!r:.40})" if bad is not None else ""
        return f"{type(t).__name__}{inner}"
    return f"{type(t).__name__} ({t!r:.40})"


# ---- lone surrogates ----------------------------------------------------------------------------------------------


class LoneSurrogateError(TokenizerInputError, UnicodeError):
    """A text holds half of a UTF-16 surrogate pair (U+D800-U+DFFF), which is not a character: no tokenizer can
    handle it (the Rust backend rejects the text, a Python one would drop it silently)."""


_SURROGATE = re.compile("[\ud800-\udfff]")


def check_surrogates(value: Any, where: str = "The text") -> None:
    """Raise LoneSurrogateError naming the first lone surrogate in `value` (a str, or lists / tuples of them, as a
    tokenizer call takes them): which text, the character, its position and the text around it."""
    if isinstance(value, str):
        if value.isascii():
            return
        match = _SURROGATE.search(value)
        if match is not None:
            at = match.start()
            around = value[max(0, at - 20) : at + 20].encode("ascii", "backslashreplace").decode("ascii")
            raise LoneSurrogateError(
                f"{where} has a lone surrogate {ascii(match.group())[1:-1]} at position {at} (near '{around}'): half "
                "of a UTF-16 pair, not a character, so it cannot be tokenized. It comes from text decoded with "
                "errors='surrogateescape' or a JSON \\uXXXX escape missing its pair; repair the text first, e.g. "
                "text.encode('utf-8', 'replace').decode('utf-8') turns it into '?'."
            )
    elif isinstance(value, (list, tuple)) and not (value and isinstance(value[0], int)):  # (ids: nothing to check)
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.isascii():
                check_surrogates(item, f"{where}[{i}]")
