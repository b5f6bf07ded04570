"""The tokenizer API every family shares, written once for the pure-Python and the `tokenizers`-backed classes.

`PreTrainedTokenizerBase` owns everything that does not depend on *how* a text becomes ids: argument checking,
padding/truncation strategies, `prepare_for_model` (special tokens, truncation with stride, overflow), `pad`,
special-token attributes, decoding clean-up and checkpoint I/O (`from_pretrained` / `save_pretrained`, the HF file
layout unchanged). Subclasses provide two hooks, `_encode_one` and `_encode_batch`: the slow tokenizer tokenizes in
Python and reuses `prepare_for_model` + `pad`; the fast one hands whole batches to the Rust backend, whose own
truncation/padding the reference fast tokenizers also use (its pair truncation and overflow differ slightly from the
Python ones, and each class matches its reference counterpart).
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import uuid
import warnings
from collections.abc import Mapping, Sequence, Sized
from dataclasses import dataclass
from enum import Enum
from typing import Any, NamedTuple

import numpy as np
from tokenizers import AddedToken, Encoding

from mintformers.hub import CheckpointError, hub_kwargs, resolve_file

__all__ = [
    "AddedToken",
    "BatchEncoding",
    "CharSpan",
    "PaddingStrategy",
    "PreTrainedTokenizerBase",
    "TensorType",
    "TokenSpan",
    "TokenizerInputError",
    "TruncationStrategy",
]

logger = logging.getLogger(__name__)

VERY_LARGE_INTEGER = int(1e30)  # model_max_length of a tokenizer that does not know its model's limit
LARGE_INTEGER = int(1e20)

SPECIAL_TOKENS_MAP_FILE = "special_tokens_map.json"
ADDED_TOKENS_FILE = "added_tokens.json"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
FULL_TOKENIZER_FILE = "tokenizer.json"

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
    NUMPY = "np"


class CharSpan(NamedTuple):
    start: int
    end: int


class TokenSpan(NamedTuple):
    start: int
    end: int


class TokenizerInputError(TypeError, ValueError):
    """Input of the wrong type. A TypeError, and a ValueError too because the reference raises ValueError here."""


# --------------------------------------------------------------------------------------------------- BatchEncoding


class BatchEncoding(dict):
    """The output of a tokenizer call: a dict (`input_ids`, `attention_mask`, ...) with attribute access.

    Fast tokenizers also keep the backend `tokenizers.Encoding` of each row, which answer alignment questions
    (`word_ids`, `token_to_chars`, `char_to_token`, ...). `enc[i]` (an int) is that Encoding; `enc["key"]` the data.
    """

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        encoding: Encoding | Sequence[Encoding] | None = None,
        tensor_type: str | TensorType | None = None,
        prepend_batch_axis: bool = False,
        n_sequences: int | None = None,
    ):
        super().__init__(data or {})
        if isinstance(encoding, Encoding):
            encoding = [encoding]
        self._encodings = list(encoding) if encoding is not None else None
        if n_sequences is None and self._encodings:
            n_sequences = self._encodings[0].n_sequences
        self._n_sequences = n_sequences
        self.convert_to_tensors(tensor_type=tensor_type, prepend_batch_axis=prepend_batch_axis)

    def __getitem__(self, item):
        if isinstance(item, str):
            return super().__getitem__(item)
        if self._encodings is not None:
            return self._encodings[item]
        if isinstance(item, slice):
            return {key: value[item] for key, value in self.items()}
        raise KeyError(
            "Invalid key. Only three types of key are available: (1) string, (2) integers for backend Encoding, "
            "and (3) slices for data subsetting."
        )

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return dict.__getitem__(self, name)
        except KeyError:
            raise AttributeError(f"'BatchEncoding' has no attribute or key {name!r}") from None

    @property
    def data(self) -> BatchEncoding:
        """The reference's BatchEncoding is a UserDict; `.data` is kept for code that reads it."""
        return self

    @property
    def n_sequences(self) -> int | None:
        return self._n_sequences

    @property
    def is_fast(self) -> bool:
        return self._encodings is not None

    @property
    def encodings(self) -> list[Encoding] | None:
        return self._encodings

    def _require_encodings(self, method: str) -> list[Encoding]:
        if not self._encodings:
            raise ValueError(
                f"{method}() is not available when using non-fast tokenizers (e.g. instance of a `XxxTokenizerFast` "
                "class)."
            )
        return self._encodings

    def _locate(self, method: str, batch_or_index: int, index: int | None) -> tuple[Encoding, int]:
        """(encoding, index) from the reference's `(batch_index, index)` or `(index,)` calling convention."""
        encodings = self._require_encodings(method)
        batch_index, index = (0, batch_or_index) if index is None else (batch_or_index, index)
        return encodings[batch_index], index

    def tokens(self, batch_index: int = 0) -> list[str]:
        return self._require_encodings("tokens")[batch_index].tokens

    def sequence_ids(self, batch_index: int = 0) -> list[int | None]:
        return self._require_encodings("sequence_ids")[batch_index].sequence_ids

    def word_ids(self, batch_index: int = 0) -> list[int | None]:
        return self._require_encodings("word_ids")[batch_index].word_ids

    def words(self, batch_index: int = 0) -> list[int | None]:
        warnings.warn("`BatchEncoding.words()` is deprecated, use `word_ids()`.", FutureWarning, stacklevel=2)
        return self.word_ids(batch_index)

    def token_to_sequence(self, batch_or_token_index: int, token_index: int | None = None) -> int:
        encoding, token_index = self._locate("token_to_sequence", batch_or_token_index, token_index)
        return encoding.token_to_sequence(token_index % len(encoding) if token_index < 0 else token_index)

    def token_to_word(self, batch_or_token_index: int, token_index: int | None = None) -> int:
        encoding, token_index = self._locate("token_to_word", batch_or_token_index, token_index)
        return encoding.token_to_word(token_index % len(encoding) if token_index < 0 else token_index)

    def word_to_tokens(
        self, batch_or_word_index: int, word_index: int | None = None, sequence_index: int = 0
    ) -> TokenSpan | None:
        encoding, word_index = self._locate("word_to_tokens", batch_or_word_index, word_index)
        span = encoding.word_to_tokens(word_index, sequence_index)
        return TokenSpan(*span) if span is not None else None

    def token_to_chars(self, batch_or_token_index: int, token_index: int | None = None) -> CharSpan | None:
        encoding, token_index = self._locate("token_to_chars", batch_or_token_index, token_index)
        span = encoding.token_to_chars(token_index)
        return CharSpan(*span) if span is not None else None

    def char_to_token(self, batch_or_char_index: int, char_index: int | None = None, sequence_index: int = 0) -> int:
        encoding, char_index = self._locate("char_to_token", batch_or_char_index, char_index)
        return encoding.char_to_token(char_index, sequence_index)

    def word_to_chars(
        self, batch_or_word_index: int, word_index: int | None = None, sequence_index: int = 0
    ) -> CharSpan:
        encoding, word_index = self._locate("word_to_chars", batch_or_word_index, word_index)
        return CharSpan(*encoding.word_to_chars(word_index, sequence_index))

    def char_to_word(self, batch_or_char_index: int, char_index: int | None = None, sequence_index: int = 0) -> int:
        encoding, char_index = self._locate("char_to_word", batch_or_char_index, char_index)
        return encoding.char_to_word(char_index, sequence_index)

    def convert_to_tensors(
        self, tensor_type: str | TensorType | None = None, prepend_batch_axis: bool = False
    ) -> BatchEncoding:
        """Turn every value into a torch tensor ("pt") or numpy array ("np"), in place."""
        if tensor_type is None:
            return self
        tensor_type = TensorType(tensor_type)
        if tensor_type == TensorType.PYTORCH:
            import torch

            is_tensor = torch.is_tensor
        else:
            is_tensor = lambda value: isinstance(value, np.ndarray)  # noqa: E731
        for key, value in list(self.items()):
            if prepend_batch_axis:
                value = [value]
            if is_tensor(value):
                continue
            try:
                array = _to_numpy(value, ragged_ok=tensor_type == TensorType.NUMPY)
                self[key] = torch.from_numpy(array) if tensor_type == TensorType.PYTORCH else array
            except (ValueError, TypeError) as e:
                if key == "overflowing_tokens":
                    raise ValueError(
                        "Unable to create tensor returning overflowing tokens of different lengths. Please see if a "
                        "fast version of this tokenizer is available to have this feature available."
                    ) from e
                raise ValueError(
                    "Unable to create tensor, you should probably activate truncation and/or padding with "
                    "'padding=True' 'truncation=True' to have batched tensors with the same length. Perhaps your "
                    f"features (`{key}` in this case) have excessive nesting (inputs type `list` where type `int` is "
                    "expected)."
                ) from e
        return self

    def to(self, device, *, non_blocking: bool = False) -> BatchEncoding:
        """Move every torch tensor to `device` (a str, int or torch.device), in place."""
        import torch

        if not isinstance(device, (str, int, torch.device)):
            logger.warning(f"Attempting to cast a BatchEncoding to type {device}. This is not supported.")
            return self
        for key, value in list(self.items()):
            if isinstance(value, torch.Tensor):
                self[key] = value.to(device=device, non_blocking=non_blocking)
        return self


def _to_numpy(value: Any, ragged_ok: bool) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (list, tuple)) and value and hasattr(value[0], "numpy") and hasattr(value[0], "dim"):
        value = [v.numpy() for v in value]  # a list of torch tensors
    try:
        array = np.asarray(value)
    except ValueError:
        if not ragged_ok:
            raise
        # Rows of different lengths: an object array of int arrays, as the reference returns for "np".
        array = np.empty(len(value), dtype=object)
        array[:] = [np.asarray(row) for row in value]
        return array
    if array.size == 0 and array.dtype == np.float64:
        array = array.astype(np.int64)  # [] would otherwise become float
    elif array.dtype == object and not ragged_ok:
        raise ValueError("ragged")
    return array


def _to_py_obj(obj: Any) -> Any:
    """Tensors / numpy arrays / numpy scalars (possibly nested in lists or dicts) → Python lists and numbers."""
    if isinstance(obj, (int, float, str)) or obj is None:
        return obj
    if isinstance(obj, Mapping):
        return {k: _to_py_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_to_py_obj(o) for o in obj]
    if hasattr(obj, "tolist"):  # torch.Tensor, np.ndarray, np.number
        return obj.tolist()
    return obj


# ------------------------------------------------------------------------------------------- special tokens


SPECIAL_TOKENS_ATTRIBUTES = [
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
    "additional_special_tokens",
]


class _SpecialToken:
    """`tokenizer.cls_token`: the token as a str (None when unset); assign a str or an AddedToken to change it."""

    def __set_name__(self, owner, name: str):
        self.name = name

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        value = obj.__dict__["_special_tokens_map"][self.name]
        if self.name == "additional_special_tokens":
            return [str(token) for token in value]
        return None if value is None else str(value)

    def __set__(self, obj, value):
        obj._set_special_token(self.name, value)


class _SpecialTokenId:
    """`tokenizer.cls_token_id`: the id of the matching special token; assigning an id sets the token."""

    def __set_name__(self, owner, name: str):
        self.name = name
        self.token_name = name[: -len("_ids")] if name.endswith("_ids") else name[: -len("_id")]

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        tokens = getattr(obj, self.token_name)
        return None if tokens is None else obj.convert_tokens_to_ids(tokens)

    def __set__(self, obj, value):
        obj._set_special_token(self.token_name, None if value is None else obj.convert_ids_to_tokens(value))


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
    if not _is_text(t):
        raise TokenizerInputError(
            f"{name} input must be of type `str` (single example), `list[str]` (batch or single pretokenized "
            f"example) or `list[list[str]]` (batch of pretokenized examples); got {_describe(t)}."
        )


def _describe(t: Any) -> str:
    if isinstance(t, (list, tuple)):
        bad = next((x for x in t if not isinstance(x, (str, list, tuple))), None)
        inner = f" containing {type(bad).__name__} ({bad!r:.40})" if bad is not None else ""
        return f"{type(t).__name__}{inner}"
    return f"{type(t).__name__} ({t!r:.40})"


def _atomic_write_text(path: str, text: str) -> None:
    """Write `text` to `path` so readers never see a half-written file: a temp file in the same dir, then rename."""
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # 0o666 & ~umask, like open()
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _json_text(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# ------------------------------------------------------------------------------------- PreTrainedTokenizerBase


class PreTrainedTokenizerBase:
    """The common tokenizer API (see the module docstring). Not instantiated directly."""

    vocab_files_names: dict[str, str] = {}
    model_input_names: list[str] = ["input_ids", "token_type_ids", "attention_mask"]
    padding_side: str = "right"
    truncation_side: str = "right"
    slow_tokenizer_class: type | None = None
    SPECIAL_TOKENS_ATTRIBUTES = SPECIAL_TOKENS_ATTRIBUTES

    bos_token = _SpecialToken()
    eos_token = _SpecialToken()
    unk_token = _SpecialToken()
    sep_token = _SpecialToken()
    pad_token = _SpecialToken()
    cls_token = _SpecialToken()
    mask_token = _SpecialToken()
    additional_special_tokens = _SpecialToken()
    bos_token_id = _SpecialTokenId()
    eos_token_id = _SpecialTokenId()
    unk_token_id = _SpecialTokenId()
    sep_token_id = _SpecialTokenId()
    pad_token_id = _SpecialTokenId()
    cls_token_id = _SpecialTokenId()
    mask_token_id = _SpecialTokenId()
    additional_special_tokens_ids = _SpecialTokenId()

    def __init__(self, **kwargs):
        self._special_tokens_map: dict[str, Any] = dict.fromkeys(SPECIAL_TOKENS_ATTRIBUTES)
        self._special_tokens_map["additional_special_tokens"] = []
        self._special_attributes = list(SPECIAL_TOKENS_ATTRIBUTES)
        for key in kwargs:
            if hasattr(type(self), key) and callable(getattr(type(self), key)):
                raise AttributeError(f"{key} conflicts with the method {key} in {type(self).__name__}")

        self.init_inputs: tuple = ()
        self.init_kwargs = copy.deepcopy(kwargs)  # what save_pretrained writes back to tokenizer_config.json
        self.name_or_path = kwargs.pop("name_or_path", "")
        self._processor_class = kwargs.pop("processor_class", None)
        model_max_length = kwargs.pop("model_max_length", kwargs.pop("max_len", None))
        self.model_max_length = model_max_length if model_max_length is not None else VERY_LARGE_INTEGER
        self.padding_side = kwargs.pop("padding_side", self.padding_side)
        if self.padding_side not in ("right", "left"):
            raise ValueError(
                f"Padding side should be selected between 'right' and 'left', current value: {self.padding_side}"
            )
        self.truncation_side = kwargs.pop("truncation_side", self.truncation_side)
        if self.truncation_side not in ("right", "left"):
            raise ValueError(
                f"Truncation side should be selected between 'right' and 'left', current value: {self.truncation_side}"
            )
        self.model_input_names = list(kwargs.pop("model_input_names", self.model_input_names))
        self.clean_up_tokenization_spaces = kwargs.pop("clean_up_tokenization_spaces", False)
        self.split_special_tokens = kwargs.pop("split_special_tokens", False)
        self.chat_template = kwargs.pop("chat_template", None)
        self.verbose = kwargs.pop("verbose", False)
        self.deprecation_warnings: dict[str, bool] = {}  # warnings already given once
        self._pad_token_type_id = 0

        for key, value in kwargs.items():
            if value is None or key not in SPECIAL_TOKENS_ATTRIBUTES:
                continue
            if key == "additional_special_tokens":
                if not isinstance(value, (list, tuple)) or not all(isinstance(t, (str, AddedToken)) for t in value):
                    raise TypeError(f"additional_special_tokens must be a list of str or AddedToken, got {value!r}")
            elif not isinstance(value, (str, AddedToken)):
                raise TypeError(f"Special token {key} has to be either str or AddedToken but got: {type(value)}")
            self._set_special_token(key, value)

        # Model-specific named special tokens (tokenizer_config.json "extra_special_tokens": {"name": "<tok>"}).
        self.extra_special_tokens = dict(kwargs.pop("extra_special_tokens", None) or {})
        for key, value in self.extra_special_tokens.items():
            if not isinstance(value, (str, AddedToken)):
                raise TypeError(f"Special token {key} has to be either str or AddedToken but got: {type(value)}")
            self._special_attributes.append(key)
            self._special_tokens_map[key] = value

    def __getattr__(self, name: str):
        # Only reached for missing attributes: serves the extra (model-specific) special tokens and their ids.
        special = self.__dict__.get("_special_tokens_map")
        if special is not None and name not in SPECIAL_TOKENS_ATTRIBUTES:
            if name in special:
                return None if special[name] is None else str(special[name])
            if name.endswith("_id") and name[:-3] in special:
                token = special[name[:-3]]
                return None if token is None else self.convert_tokens_to_ids(str(token))
        raise AttributeError(f"{type(self).__name__} has no attribute {name}")

    # ------------------------------------------------------------------ special tokens

    def _set_special_token(self, name: str, value: Any) -> None:
        if name == "additional_special_tokens":
            value = list(value) if value is not None else []
        elif value is not None and not isinstance(value, (str, AddedToken)):
            raise ValueError(f"Cannot set a non-string value as the {name}")
        self._special_tokens_map[name] = value

    @property
    def pad_token_type_id(self) -> int:
        return self._pad_token_type_id

    @property
    def special_tokens_map(self) -> dict[str, str | list[str]]:
        """The set special tokens as strings, e.g. {"cls_token": "[CLS]", ...}."""
        out = {}
        for attr in self._special_attributes:
            value = self._special_tokens_map[attr]
            if value:
                out[attr] = [str(t) for t in value] if attr == "additional_special_tokens" else str(value)
        return out

    @property
    def special_tokens_map_extended(self) -> dict[str, Any]:
        """Like `special_tokens_map` but keeping AddedToken objects (with their lstrip/rstrip/... flags)."""
        return {
            attr: self._special_tokens_map[attr] for attr in self._special_attributes if self._special_tokens_map[attr]
        }

    @property
    def all_special_tokens_extended(self) -> list[str | AddedToken]:
        tokens, seen = [], set()
        for value in self.special_tokens_map_extended.values():
            for token in value if isinstance(value, (list, tuple)) else [value]:
                if str(token) not in seen:
                    seen.add(str(token))
                    tokens.append(token)
        return tokens

    @property
    def all_special_tokens(self) -> list[str]:
        return [str(t) for t in self.all_special_tokens_extended]

    @property
    def all_special_ids(self) -> list[int]:
        return self.convert_tokens_to_ids(self.all_special_tokens)

    def add_special_tokens(
        self,
        special_tokens_dict: dict[str, str | AddedToken | Sequence[str | AddedToken]],
        replace_additional_special_tokens: bool = True,
    ) -> int:
        """Set special tokens (e.g. {"pad_token": "<pad>"}) and add the new ones to the vocabulary.

        Returns how many tokens were added to the vocabulary (resize the model's embeddings by that many).
        """
        if not special_tokens_dict:
            return 0
        added: list[AddedToken] = []
        for key, value in special_tokens_dict.items():
            if key not in self._special_attributes:
                raise ValueError(f"Key {key} is not a special token; valid keys are {self._special_attributes}")
            if key == "additional_special_tokens":
                if not isinstance(value, (list, tuple)) or not all(isinstance(t, (str, AddedToken)) for t in value):
                    raise ValueError(f"Tokens {value} for key {key} should all be str or AddedToken instances")
                to_add = []
                for token in value:
                    if isinstance(token, str):
                        token = AddedToken(token, rstrip=False, lstrip=False, normalized=False, special=True)
                    if not replace_additional_special_tokens and str(token) in self.additional_special_tokens:
                        continue
                    to_add.append(token)
                if replace_additional_special_tokens and to_add:
                    self._set_special_token(key, to_add)
                else:
                    self._special_tokens_map["additional_special_tokens"].extend(to_add)
                added += to_add
            else:
                if not isinstance(value, (str, AddedToken)):
                    raise ValueError(f"Token {value} for key {key} should be a str or an AddedToken instance")
                if isinstance(value, str):
                    value = AddedToken(value, rstrip=False, lstrip=False, normalized=False, special=True)
                self._set_special_token(key, value)
                if value not in added:
                    added.append(value)
        return self.add_tokens(added, special_tokens=True)

    def add_tokens(
        self, new_tokens: str | AddedToken | Sequence[str | AddedToken], special_tokens: bool = False
    ) -> int:
        """Add tokens that are never split (AddedToken flags control stripping/single-word matching).

        Returns how many tokens were new to the vocabulary.
        """
        if not new_tokens:
            return 0
        if not isinstance(new_tokens, (list, tuple)):
            new_tokens = [new_tokens]
        return self._add_tokens(list(new_tokens), special_tokens=special_tokens)

    def _add_tokens(self, new_tokens: list[str | AddedToken], special_tokens: bool = False) -> int:
        raise NotImplementedError

    # ------------------------------------------------------------------ vocabulary (subclasses)

    @property
    def is_fast(self) -> bool:
        raise NotImplementedError

    @property
    def vocab_size(self) -> int:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def get_vocab(self) -> dict[str, int]:
        raise NotImplementedError

    @property
    def added_tokens_decoder(self) -> dict[int, AddedToken]:
        raise NotImplementedError

    @property
    def added_tokens_encoder(self) -> dict[str, int]:
        return {t.content: i for i, t in sorted(self.added_tokens_decoder.items(), key=lambda item: item[0])}

    def get_added_vocab(self) -> dict[str, int]:
        return self.added_tokens_encoder

    def convert_tokens_to_ids(self, tokens: str | Sequence[str] | None) -> int | list[int] | None:
        """A token (or list of tokens) → its id (ids); unknown tokens map to the unk token's id."""
        if tokens is None:
            return None
        if isinstance(tokens, str):
            return self._token_to_id(tokens)
        return [self._token_to_id(token) for token in tokens]

    def convert_ids_to_tokens(self, ids: int | Sequence[int], skip_special_tokens: bool = False) -> str | list[str]:
        """An id (or list of ids) → its token (tokens), optionally dropping the special ones."""
        if isinstance(ids, int):
            return self._id_to_token(ids)
        skip = set(self.all_special_ids) if skip_special_tokens else ()
        return [self._id_to_token(index) for index in map(int, ids) if index not in skip]

    def _token_to_id(self, token: str) -> int | None:
        raise NotImplementedError

    def _id_to_token(self, index: int) -> str | None:
        raise NotImplementedError

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        raise NotImplementedError

    def tokenize(self, text: str, **kwargs) -> list[str]:
        raise NotImplementedError

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        raise NotImplementedError

    def __repr__(self) -> str:
        added = "\n\t".join(f"{k}: {v!r}," for k, v in self.added_tokens_decoder.items())
        return (
            f"{type(self).__name__}(name_or_path='{self.name_or_path}', vocab_size={self.vocab_size}, "
            f"model_max_length={self.model_max_length}, is_fast={self.is_fast}, padding_side='{self.padding_side}', "
            f"truncation_side='{self.truncation_side}', special_tokens={self.special_tokens_map}, "
            f"clean_up_tokenization_spaces={self.clean_up_tokenization_spaces}, added_tokens_decoder={{\n\t{added}\n}}\n)"
        )

    # ------------------------------------------------------------------ model-specific formatting

    @property
    def max_len_single_sentence(self) -> int:
        return self.model_max_length - self.num_special_tokens_to_add(pair=False)

    @property
    def max_len_sentences_pair(self) -> int:
        return self.model_max_length - self.num_special_tokens_to_add(pair=True)

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return len(self.build_inputs_with_special_tokens([], [] if pair else None))

    def build_inputs_with_special_tokens(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None
    ) -> list[int]:
        """Add the model's special tokens around one sequence or a pair (here: none; families override)."""
        return token_ids_0 if token_ids_1 is None else token_ids_0 + token_ids_1

    def create_token_type_ids_from_sequences(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None
    ) -> list[int]:
        cls_len = int(self.cls_token_id is not None)
        sep_len = int(self.sep_token_id is not None)
        first = [0] * (cls_len + len(token_ids_0) + sep_len)
        return first if token_ids_1 is None else first + [1] * (len(token_ids_1) + sep_len)

    def get_special_tokens_mask(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None, already_has_special_tokens: bool = False
    ) -> list[int]:
        """1 for special tokens, 0 for sequence tokens. Without a model format only `already_has_special_tokens`."""
        if not already_has_special_tokens or token_ids_1 is not None:
            raise ValueError(
                "You cannot use ``already_has_special_tokens=False`` with this tokenizer. Set "
                "`return_special_tokens_mask=True` when calling the encoding method to get the special tokens mask."
            )
        special = set(self.all_special_ids)
        return [1 if token in special else 0 for token in token_ids_0]

    # ------------------------------------------------------------------ encoding entry points

    def __call__(
        self,
        text: TextInput | PreTokenizedInput | list[TextInput] | list[PreTokenizedInput] | None = None,
        text_pair: TextInput | PreTokenizedInput | list[TextInput] | list[PreTokenizedInput] | None = None,
        add_special_tokens: bool = True,
        padding: bool | str | PaddingStrategy = False,
        truncation: bool | str | TruncationStrategy | None = None,
        max_length: int | None = None,
        stride: int = 0,
        is_split_into_words: bool = False,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_tensors: str | TensorType | None = None,
        return_token_type_ids: bool | None = None,
        return_attention_mask: bool | None = None,
        return_overflowing_tokens: bool = False,
        return_special_tokens_mask: bool = False,
        return_offsets_mapping: bool = False,
        return_length: bool = False,
        verbose: bool = True,
        **kwargs,
    ) -> BatchEncoding:
        """Tokenize a text, a pair, a batch of texts or of pairs (or pre-split words with `is_split_into_words`).

        Returns a BatchEncoding with `input_ids` and, depending on `model_input_names` and the `return_*` flags,
        `token_type_ids`, `attention_mask`, `special_tokens_mask`, `offset_mapping`, `length`, overflow fields.
        """
        for target in ("text_target", "text_pair_target"):
            if kwargs.pop(target, None) is not None:
                raise NotImplementedError(
                    f"{target} is for sequence-to-sequence models, which mintformers has none of."
                )
        if text is None:
            raise ValueError("You need to specify `text`.")
        _check_text(text, "text")
        if text_pair is not None:
            _check_text(text_pair, "text_pair")
        options = dict(
            add_special_tokens=add_special_tokens,
            padding=padding,
            truncation=truncation,
            max_length=max_length,
            stride=stride,
            is_split_into_words=is_split_into_words,
            pad_to_multiple_of=pad_to_multiple_of,
            padding_side=padding_side,
            return_tensors=return_tensors,
            return_token_type_ids=return_token_type_ids,
            return_attention_mask=return_attention_mask,
            return_overflowing_tokens=return_overflowing_tokens,
            return_special_tokens_mask=return_special_tokens_mask,
            return_offsets_mapping=return_offsets_mapping,
            return_length=return_length,
            verbose=verbose,
        )
        if is_split_into_words:
            is_batched = isinstance(text, (list, tuple)) and bool(text) and isinstance(text[0], (list, tuple))
        else:
            is_batched = isinstance(text, (list, tuple))
        if not is_batched:
            return self.encode_plus(text, text_pair=text_pair, **options, **kwargs)
        if isinstance(text_pair, str):
            raise TokenizerInputError(
                "when tokenizing batches of text, `text_pair` must be a list or tuple with the same length as `text`."
            )
        if text_pair is not None and len(text) != len(text_pair):
            raise ValueError(
                f"batch length of `text`: {len(text)} does not match batch length of `text_pair`: {len(text_pair)}."
            )
        batch = list(zip(text, text_pair)) if text_pair is not None else text
        return self.batch_encode_plus(batch, **options, **kwargs)

    def encode(
        self,
        text: TextInput | PreTokenizedInput | EncodedInput,
        text_pair: TextInput | PreTokenizedInput | EncodedInput | None = None,
        add_special_tokens: bool = True,
        padding: bool | str | PaddingStrategy = False,
        truncation: bool | str | TruncationStrategy | None = None,
        max_length: int | None = None,
        stride: int = 0,
        padding_side: str | None = None,
        return_tensors: str | TensorType | None = None,
        **kwargs,
    ) -> list[int]:
        """The ids of one text (or pair), with special tokens: `tokenizer(text)["input_ids"]`."""
        return self.encode_plus(
            text,
            text_pair=text_pair,
            add_special_tokens=add_special_tokens,
            padding=padding,
            truncation=truncation,
            max_length=max_length,
            stride=stride,
            padding_side=padding_side,
            return_tensors=return_tensors,
            **kwargs,
        )["input_ids"]

    def encode_plus(
        self,
        text: TextInput | PreTokenizedInput | EncodedInput,
        text_pair: TextInput | PreTokenizedInput | EncodedInput | None = None,
        add_special_tokens: bool = True,
        padding: bool | str | PaddingStrategy = False,
        truncation: bool | str | TruncationStrategy | None = None,
        max_length: int | None = None,
        stride: int = 0,
        is_split_into_words: bool = False,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_tensors: str | TensorType | None = None,
        return_token_type_ids: bool | None = None,
        return_attention_mask: bool | None = None,
        return_overflowing_tokens: bool = False,
        return_special_tokens_mask: bool = False,
        return_offsets_mapping: bool = False,
        return_length: bool = False,
        verbose: bool = True,
        **kwargs,
    ) -> BatchEncoding:
        """Encode one text or pair (see `__call__` for the arguments)."""
        options = self._resolve_options(
            padding, truncation, max_length, pad_to_multiple_of, padding_side, return_tensors, verbose, kwargs,
            add_special_tokens=add_special_tokens,
            stride=stride,
            is_split_into_words=is_split_into_words,
            return_token_type_ids=return_token_type_ids,
            return_attention_mask=return_attention_mask,
            return_overflowing_tokens=return_overflowing_tokens,
            return_special_tokens_mask=return_special_tokens_mask,
            return_offsets_mapping=return_offsets_mapping,
            return_length=return_length,
        )  # fmt: skip
        return self._encode_one(text, text_pair, options, kwargs)

    def batch_encode_plus(
        self,
        batch_text_or_text_pairs: Sequence[Any],
        add_special_tokens: bool = True,
        padding: bool | str | PaddingStrategy = False,
        truncation: bool | str | TruncationStrategy | None = None,
        max_length: int | None = None,
        stride: int = 0,
        is_split_into_words: bool = False,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_tensors: str | TensorType | None = None,
        return_token_type_ids: bool | None = None,
        return_attention_mask: bool | None = None,
        return_overflowing_tokens: bool = False,
        return_special_tokens_mask: bool = False,
        return_offsets_mapping: bool = False,
        return_length: bool = False,
        verbose: bool = True,
        **kwargs,
    ) -> BatchEncoding:
        """Encode a list of texts or of (text, text_pair) tuples (see `__call__` for the arguments)."""
        if not isinstance(batch_text_or_text_pairs, (list, tuple)):
            raise TokenizerInputError(
                f"batch_text_or_text_pairs has to be a list or a tuple (got {type(batch_text_or_text_pairs)})"
            )
        options = self._resolve_options(
            padding, truncation, max_length, pad_to_multiple_of, padding_side, return_tensors, verbose, kwargs,
            add_special_tokens=add_special_tokens,
            stride=stride,
            is_split_into_words=is_split_into_words,
            return_token_type_ids=return_token_type_ids,
            return_attention_mask=return_attention_mask,
            return_overflowing_tokens=return_overflowing_tokens,
            return_special_tokens_mask=return_special_tokens_mask,
            return_offsets_mapping=return_offsets_mapping,
            return_length=return_length,
        )  # fmt: skip
        return self._encode_batch(list(batch_text_or_text_pairs), options, kwargs)

    def _resolve_options(
        self, padding, truncation, max_length, pad_to_multiple_of, padding_side, return_tensors, verbose, kwargs, **rest
    ) -> _EncodeOptions:
        if padding_side is not None and padding_side not in ("left", "right"):
            raise ValueError(f"padding_side should be 'left' or 'right', got {padding_side!r}")
        if return_tensors is not None:
            TensorType(return_tensors)  # fail before tokenizing; the error lists the valid values
        padding, truncation, max_length = self._get_padding_truncation_strategies(
            padding, truncation, max_length, pad_to_multiple_of, verbose
        )
        return _EncodeOptions(
            padding=padding,
            truncation=truncation,
            max_length=max_length,
            pad_to_multiple_of=pad_to_multiple_of,
            padding_side=padding_side,
            return_tensors=return_tensors,
            verbose=verbose,
            split_special_tokens=kwargs.pop("split_special_tokens", self.split_special_tokens),
            **rest,
        )

    def _encode_one(self, text: Any, text_pair: Any, options: _EncodeOptions, kwargs: dict) -> BatchEncoding:
        raise NotImplementedError

    def _encode_batch(self, batch: list[Any], options: _EncodeOptions, kwargs: dict) -> BatchEncoding:
        raise NotImplementedError

    def _get_padding_truncation_strategies(
        self, padding=False, truncation=None, max_length=None, pad_to_multiple_of=None, verbose=True
    ) -> tuple[PaddingStrategy, TruncationStrategy, int | None]:
        """Turn the user's padding/truncation/max_length into strategies and an effective max_length."""
        if max_length is not None and padding is False and truncation is None:
            if verbose:
                self._warn_once(
                    "Truncation-not-explicitly-activated",
                    "Truncation was not explicitly activated but `max_length` is provided a specific value, please "
                    "use `truncation=True` to explicitly truncate examples to max length. Defaulting to "
                    "'longest_first' truncation strategy. If you encode pairs of sequences (GLUE-style) with the "
                    "tokenizer you can select this strategy more precisely by providing a specific strategy to "
                    "`truncation`.",
                )
            truncation = "longest_first"

        if padding is False:
            padding_strategy = PaddingStrategy.DO_NOT_PAD
        elif padding is True:
            if verbose and max_length is not None and truncation in (None, False, "do_not_truncate"):
                warnings.warn(
                    "`max_length` is ignored when `padding`=`True` and there is no truncation strategy. "
                    "To pad to max length, use `padding='max_length'`.",
                    stacklevel=4,
                )
            padding_strategy = PaddingStrategy.LONGEST
        else:
            padding_strategy = PaddingStrategy(padding)

        if truncation is None or truncation is False:
            truncation_strategy = TruncationStrategy.DO_NOT_TRUNCATE
        elif truncation is True:
            truncation_strategy = TruncationStrategy.LONGEST_FIRST
        else:
            truncation_strategy = TruncationStrategy(truncation)

        if max_length is None:
            if padding_strategy == PaddingStrategy.MAX_LENGTH:
                if self.model_max_length > LARGE_INTEGER:
                    if verbose:
                        self._warn_once(
                            "Asking-to-pad-to-max_length",
                            "Asking to pad to max_length but no maximum length is provided and the model has no "
                            "predefined maximum length. Default to no padding.",
                        )
                    padding_strategy = PaddingStrategy.DO_NOT_PAD
                else:
                    max_length = self.model_max_length
            if truncation_strategy != TruncationStrategy.DO_NOT_TRUNCATE:
                if self.model_max_length > LARGE_INTEGER:
                    if verbose:
                        self._warn_once(
                            "Asking-to-truncate-to-max_length",
                            "Asking to truncate to max_length but no maximum length is provided and the model has "
                            "no predefined maximum length. Default to no truncation.",
                        )
                    truncation_strategy = TruncationStrategy.DO_NOT_TRUNCATE
                else:
                    max_length = self.model_max_length

        if padding_strategy != PaddingStrategy.DO_NOT_PAD and (self.pad_token is None or self.pad_token_id < 0):
            raise ValueError(
                "Asking to pad but the tokenizer does not have a padding token. Please select a token to use as "
                "`pad_token` `(tokenizer.pad_token = tokenizer.eos_token e.g.)` or add a new pad token via "
                "`tokenizer.add_special_tokens({'pad_token': '[PAD]'})`."
            )
        if (
            truncation_strategy != TruncationStrategy.DO_NOT_TRUNCATE
            and padding_strategy != PaddingStrategy.DO_NOT_PAD
            and pad_to_multiple_of is not None
            and max_length is not None
            and max_length % pad_to_multiple_of != 0
        ):
            raise ValueError(
                "Truncation and padding are both activated but "
                f"truncation length ({max_length}) is not a multiple of pad_to_multiple_of ({pad_to_multiple_of})."
            )
        return padding_strategy, truncation_strategy, max_length

    def _warn_once(self, key: str, message: str) -> None:
        if not self.deprecation_warnings.get(key, False):
            logger.warning(message)
        self.deprecation_warnings[key] = True

    def _eventual_warn_about_too_long_sequence(self, ids: Sized, max_length: int | None, verbose: bool) -> None:
        """Longer than the model accepts and nobody asked to truncate: say so (once), never truncate silently."""
        if max_length is None and len(ids) > self.model_max_length and verbose and self.model_max_length != 0:
            self._warn_once(
                "sequence-length-is-longer-than-the-specified-maximum",
                "Token indices sequence length is longer than the specified maximum sequence length for this model "
                f"({len(ids)} > {self.model_max_length}). Running this sequence through the model will result in "
                "indexing errors",
            )

    # ------------------------------------------------------------------ ids → model inputs (the Python path)

    def prepare_for_model(
        self,
        ids: list[int],
        pair_ids: list[int] | None = None,
        add_special_tokens: bool = True,
        padding: bool | str | PaddingStrategy = False,
        truncation: bool | str | TruncationStrategy | None = None,
        max_length: int | None = None,
        stride: int = 0,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_tensors: str | TensorType | None = None,
        return_token_type_ids: bool | None = None,
        return_attention_mask: bool | None = None,
        return_overflowing_tokens: bool = False,
        return_special_tokens_mask: bool = False,
        return_offsets_mapping: bool = False,
        return_length: bool = False,
        verbose: bool = True,
        prepend_batch_axis: bool = False,
        **kwargs,
    ) -> BatchEncoding:
        """Token ids (one sequence or a pair) → model inputs: truncate, add special tokens, pad."""
        options = self._resolve_options(
            padding, truncation, max_length, pad_to_multiple_of, padding_side, return_tensors, verbose, kwargs,
            add_special_tokens=add_special_tokens,
            stride=stride,
            return_token_type_ids=return_token_type_ids,
            return_attention_mask=return_attention_mask,
            return_overflowing_tokens=return_overflowing_tokens,
            return_special_tokens_mask=return_special_tokens_mask,
            return_offsets_mapping=return_offsets_mapping,
            return_length=return_length,
        )  # fmt: skip
        encoded = self._prepare_ids(ids, pair_ids, options)
        return BatchEncoding(encoded, tensor_type=return_tensors, prepend_batch_axis=prepend_batch_axis)

    def _prepare_ids(self, ids: list[int], pair_ids: list[int] | None, options: _EncodeOptions) -> dict[str, Any]:
        pair = pair_ids is not None
        if options.return_token_type_ids and not options.add_special_tokens:
            raise ValueError(
                "Asking to return token_type_ids while setting add_special_tokens to False results in an undefined "
                "behavior. Please set add_special_tokens to True or set return_token_type_ids to None."
            )
        if options.return_overflowing_tokens and options.truncation == TruncationStrategy.LONGEST_FIRST and pair:
            raise ValueError(
                "Not possible to return overflowing tokens for pair of sequences with the `longest_first`. Please "
                "select another truncation strategy than `longest_first`, for instance `only_second` or `only_first`."
            )
        return_token_type_ids = options.return_token_type_ids
        if return_token_type_ids is None:
            return_token_type_ids = "token_type_ids" in self.model_input_names
        return_attention_mask = options.return_attention_mask
        if return_attention_mask is None:
            return_attention_mask = "attention_mask" in self.model_input_names

        max_length = options.max_length
        n_special = self.num_special_tokens_to_add(pair=pair) if options.add_special_tokens else 0
        total_len = len(ids) + (len(pair_ids) if pair else 0) + n_special
        encoded: dict[str, Any] = {}
        overflowing: list[int] = []
        if options.truncation != TruncationStrategy.DO_NOT_TRUNCATE and max_length and total_len > max_length:
            ids, pair_ids, overflowing = self.truncate_sequences(
                ids, pair_ids, total_len - max_length, options.truncation, options.stride
            )
        if options.return_overflowing_tokens:
            encoded["overflowing_tokens"] = overflowing
            encoded["num_truncated_tokens"] = total_len - max_length

        if options.add_special_tokens:
            sequence = self.build_inputs_with_special_tokens(ids, pair_ids)
            token_type_ids = self.create_token_type_ids_from_sequences(ids, pair_ids)
        else:
            sequence = ids + pair_ids if pair else ids
            token_type_ids = [0] * len(sequence)
        encoded["input_ids"] = sequence
        if return_token_type_ids:
            encoded["token_type_ids"] = token_type_ids
        if options.return_special_tokens_mask:
            if options.add_special_tokens:
                encoded["special_tokens_mask"] = self.get_special_tokens_mask(ids, pair_ids)
            else:
                encoded["special_tokens_mask"] = [0] * len(sequence)
        self._eventual_warn_about_too_long_sequence(sequence, max_length, options.verbose)

        if options.padding != PaddingStrategy.DO_NOT_PAD or return_attention_mask:
            encoded = self.pad(
                encoded,
                padding=options.padding.value,
                max_length=max_length,
                pad_to_multiple_of=options.pad_to_multiple_of,
                padding_side=options.padding_side,
                return_attention_mask=return_attention_mask,
            )
        if options.return_length:
            encoded["length"] = len(encoded["input_ids"])
        return dict(encoded)

    def truncate_sequences(
        self,
        ids: list[int],
        pair_ids: list[int] | None = None,
        num_tokens_to_remove: int = 0,
        truncation_strategy: str | TruncationStrategy = "longest_first",
        stride: int = 0,
    ) -> tuple[list[int], list[int] | None, list[int]]:
        """Remove `num_tokens_to_remove` tokens; returns (ids, pair_ids, overflowing tokens incl. `stride` context)."""
        if num_tokens_to_remove <= 0:
            return ids, pair_ids, []
        strategy = TruncationStrategy(truncation_strategy)
        left = self.truncation_side == "left"
        overflowing: list[int] = []
        if strategy == TruncationStrategy.ONLY_FIRST or (
            strategy == TruncationStrategy.LONGEST_FIRST and pair_ids is None
        ):
            if len(ids) > num_tokens_to_remove:
                window = min(len(ids), stride + num_tokens_to_remove)
                overflowing = ids[:window] if left else ids[-window:]
                ids = ids[num_tokens_to_remove:] if left else ids[:-num_tokens_to_remove]
            else:
                message = (
                    f"We need to remove {num_tokens_to_remove} to truncate the input "
                    f"but the first sequence has a length {len(ids)}. "
                )
                if strategy == TruncationStrategy.ONLY_FIRST:
                    message += (
                        f"Please select another truncation strategy than {strategy}, for instance 'longest_first' or "
                        "'only_second'."
                    )
                logger.error(message)
        elif strategy == TruncationStrategy.LONGEST_FIRST:
            logger.warning(
                "Be aware, overflowing tokens are not returned for the setting you have chosen, i.e. sequence pairs "
                "with the 'longest_first' truncation strategy. So the returned list will always be empty even if some "
                "tokens have been removed."
            )
            # First even out the lengths, then take the rest alternately (the pair loses the odd token).
            len_ids, len_pair = len(ids), len(pair_ids)
            first_remove = min(abs(len_pair - len_ids), num_tokens_to_remove)
            second_remove = num_tokens_to_remove - first_remove
            if len_ids > len_pair:
                ids_to_move = first_remove + second_remove // 2
                pair_to_move = second_remove - second_remove // 2
            else:
                ids_to_move = second_remove // 2
                pair_to_move = first_remove + second_remove - second_remove // 2
            if left:
                ids, pair_ids = ids[ids_to_move:], pair_ids[pair_to_move:]
            else:
                ids = ids[:-ids_to_move] if ids_to_move > 0 else ids
                pair_ids = pair_ids[:-pair_to_move] if pair_to_move > 0 else pair_ids
        elif strategy == TruncationStrategy.ONLY_SECOND and pair_ids is not None:
            if len(pair_ids) > num_tokens_to_remove:
                window = min(len(pair_ids), stride + num_tokens_to_remove)
                overflowing = pair_ids[:window] if left else pair_ids[-window:]
                pair_ids = pair_ids[num_tokens_to_remove:] if left else pair_ids[:-num_tokens_to_remove]
            else:
                logger.error(
                    f"We need to remove {num_tokens_to_remove} to truncate the input "
                    f"but the second sequence has a length {len(pair_ids)}. "
                    f"Please select another truncation strategy than {strategy}, "
                    "for instance 'longest_first' or 'only_first'."
                )
        return ids, pair_ids, overflowing

    # ------------------------------------------------------------------ padding

    def pad(
        self,
        encoded_inputs: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        padding: bool | str | PaddingStrategy = True,
        max_length: int | None = None,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_attention_mask: bool | None = None,
        return_tensors: str | TensorType | None = None,
        verbose: bool = True,
    ) -> BatchEncoding:
        """Pad one encoding, a dict of batched lists, or a list of encodings (e.g. in a data collator)."""
        if isinstance(encoded_inputs, (list, tuple)) and encoded_inputs and isinstance(encoded_inputs[0], Mapping):
            encoded_inputs = {key: [example[key] for example in encoded_inputs] for key in encoded_inputs[0]}
        main = self.model_input_names[0]
        if not isinstance(encoded_inputs, Mapping) or main not in encoded_inputs:
            keys = list(encoded_inputs.keys()) if isinstance(encoded_inputs, Mapping) else type(encoded_inputs)
            raise ValueError(
                "You should supply an encoding or a list of encodings to this method "
                f"that includes {main}, but you provided {keys}"
            )
        required = encoded_inputs[main]
        if required is None or (isinstance(required, Sized) and len(required) == 0):
            if return_attention_mask:
                encoded_inputs["attention_mask"] = []
            return encoded_inputs
        encoded_inputs = dict(encoded_inputs)

        # Tensors in, tensors out (of the same kind) unless asked otherwise; padding itself works on lists.
        first = required[0]
        if isinstance(first, (list, tuple)):
            first = next((item[0] for item in required if len(item) != 0), first)
        if not isinstance(first, (int, list, tuple)):
            if type(first).__module__.startswith("torch"):
                return_tensors = "pt" if return_tensors is None else return_tensors
            elif isinstance(first, (np.ndarray, np.generic)):
                return_tensors = "np" if return_tensors is None else return_tensors
            else:
                raise ValueError(
                    f"type of {first} unknown: {type(first)}. Should be one of a python, numpy or pytorch object."
                )
            encoded_inputs = {key: _to_py_obj(value) for key, value in encoded_inputs.items()}

        padding_strategy, _, max_length = self._get_padding_truncation_strategies(
            padding=padding, max_length=max_length, verbose=verbose
        )
        required = encoded_inputs[main]
        if required and not isinstance(required[0], (list, tuple)):
            padded = self._pad(
                encoded_inputs, max_length, padding_strategy, pad_to_multiple_of, padding_side, return_attention_mask
            )
            return BatchEncoding(padded, tensor_type=return_tensors)

        batch_size = len(required)
        if any(len(v) != batch_size for v in encoded_inputs.values()):
            raise ValueError("Some items in the output dictionary have a different batch size than others.")
        if padding_strategy == PaddingStrategy.LONGEST:
            max_length = max(len(inputs) for inputs in required)
            padding_strategy = PaddingStrategy.MAX_LENGTH
        batch_outputs: dict[str, list] = {}
        for i in range(batch_size):
            inputs = {k: v[i] for k, v in encoded_inputs.items()}
            outputs = self._pad(
                inputs, max_length, padding_strategy, pad_to_multiple_of, padding_side, return_attention_mask
            )
            for key, value in outputs.items():
                batch_outputs.setdefault(key, []).append(value)
        return BatchEncoding(batch_outputs, tensor_type=return_tensors)

    def _pad(
        self,
        encoded_inputs: dict[str, Any],
        max_length: int | None = None,
        padding_strategy: PaddingStrategy = PaddingStrategy.DO_NOT_PAD,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_attention_mask: bool | None = None,
    ) -> dict[str, Any]:
        """Pad one example (lists) to `max_length` on `padding_side`; adds attention_mask when asked."""
        if return_attention_mask is None:
            return_attention_mask = "attention_mask" in self.model_input_names
        main = self.model_input_names[0]
        required = encoded_inputs[main]
        if padding_strategy == PaddingStrategy.LONGEST:
            max_length = len(required)
        if max_length is not None and pad_to_multiple_of is not None and max_length % pad_to_multiple_of != 0:
            max_length = (max_length // pad_to_multiple_of + 1) * pad_to_multiple_of
        if return_attention_mask and "attention_mask" not in encoded_inputs:
            encoded_inputs["attention_mask"] = [1] * len(required)
        if padding_strategy == PaddingStrategy.DO_NOT_PAD or len(required) == max_length:
            return encoded_inputs

        difference = max_length - len(required)
        side = padding_side if padding_side is not None else self.padding_side
        if side not in ("left", "right"):
            raise ValueError(f"Invalid padding strategy:{side}")
        fills = {main: self.pad_token_id, "token_type_ids": self.pad_token_type_id, "special_tokens_mask": 1}
        if return_attention_mask:
            fills["attention_mask"] = 0
        for key, fill in fills.items():
            if key in encoded_inputs:
                values = list(encoded_inputs[key])
                pad = [fill] * difference
                encoded_inputs[key] = values + pad if side == "right" else pad + values
        return encoded_inputs

    # ------------------------------------------------------------------ decoding

    def decode(
        self,
        token_ids: int | Sequence[int] | Any,
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
        **kwargs,
    ) -> str:
        """Ids (list, tensor or array) → text."""
        return self._decode(
            _to_py_obj(token_ids),
            skip_special_tokens=skip_special_tokens,
            clean_up_tokenization_spaces=clean_up_tokenization_spaces,
            **kwargs,
        )

    def batch_decode(
        self,
        sequences: Sequence[Sequence[int]] | Any,
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
        **kwargs,
    ) -> list[str]:
        return [self.decode(seq, skip_special_tokens, clean_up_tokenization_spaces, **kwargs) for seq in sequences]

    def _decode(
        self,
        token_ids: int | list[int],
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
        **kwargs,
    ) -> str:
        raise NotImplementedError

    def _maybe_clean_up(self, text: str, clean_up_tokenization_spaces: bool | None) -> str:
        if clean_up_tokenization_spaces is None:
            clean_up_tokenization_spaces = self.clean_up_tokenization_spaces
        return self.clean_up_tokenization(text) if clean_up_tokenization_spaces else text

    @staticmethod
    def clean_up_tokenization(out_string: str) -> str:
        """Undo the spaces that tokenizing put before punctuation and English contractions."""
        for before, after in (
            (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"),
            (" n't", "n't"), (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
        ):  # fmt: skip
            out_string = out_string.replace(before, after)
        return out_string

    # ------------------------------------------------------------------ loading

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, *init_inputs, **kwargs):
        """Load from a local directory or a Hugging Face Hub repo id (HF file layout).

        Reads tokenizer_config.json, special_tokens_map.json, added_tokens.json, tokenizer.json and the class's
        vocabulary files; keyword arguments override what the files say (e.g. `model_max_length=256`).
        Hub options: revision, cache_dir, token, local_files_only, force_download, subfolder.
        """
        hub = hub_kwargs(kwargs)
        if "use_auth_token" in kwargs:
            hub.setdefault("token", kwargs.pop("use_auth_token"))
        for ignored in ("trust_remote_code", "proxies", "resume_download", "_from_auto", "_commit_hash"):
            kwargs.pop(ignored, None)  # mintformers never runs remote code
        name = os.fspath(pretrained_model_name_or_path)
        wanted = {
            **cls.vocab_files_names,
            "added_tokens_file": ADDED_TOKENS_FILE,
            "special_tokens_map_file": SPECIAL_TOKENS_MAP_FILE,
            "tokenizer_config_file": TOKENIZER_CONFIG_FILE,
            "tokenizer_file": FULL_TOKENIZER_FILE,
        }
        files = {file_id: resolve_file(name, filename, required=False, **hub) for file_id, filename in wanted.items()}
        problem = cls._missing_files(files)
        if problem is not None:
            where = (
                f"the directory {name!r} has no such file"
                if os.path.isdir(os.path.join(name, hub.get("subfolder") or ""))
                else f"{name!r} is not a local directory and the Hub has no such file (or cannot be reached)"
            )
            raise CheckpointError(
                f"Can't load {cls.__name__}: {problem} ({where}). Pass the directory that holds the tokenizer files "
                "(save_pretrained() writes them), or the Hub id of a model that has them."
            )
        return cls._from_pretrained(files, name, *init_inputs, **kwargs)

    @classmethod
    def _missing_files(cls, files: dict[str, Any]) -> str | None:
        """What is missing for this class to load, or None. Slow classes need all their vocabulary files."""
        for file_id, filename in cls.vocab_files_names.items():
            if files.get(file_id) is None:
                return f"{filename!r} not found"
        return None

    @classmethod
    def _from_pretrained(cls, files: dict[str, Any], name: str, *init_inputs, **kwargs):
        files = dict(files)
        config_file = files.pop("tokenizer_config_file", None)
        has_tokenizer_file = files.get("tokenizer_file") is not None
        init_kwargs: dict[str, Any] = {}
        if config_file is not None:
            with open(config_file, encoding="utf-8") as f:
                init_kwargs = json.load(f)
            config_class = init_kwargs.pop("tokenizer_class", None)
            if not has_tokenizer_file:
                init_kwargs.pop("tokenizer_file", None)
            saved_inputs = init_kwargs.pop("init_inputs", ())
            init_inputs = init_inputs or tuple(saved_inputs)
            generic = cls.__name__ == "PreTrainedTokenizerFast"  # loads any tokenizer.json: no mismatch to report
            if config_class and not generic and cls.__name__.removesuffix("Fast") != config_class.removesuffix("Fast"):
                logger.warning(
                    "The tokenizer class you load from this checkpoint is not the same type as the class this "
                    "function is called from. It may result in unexpected tokenization. \nThe tokenizer class you "
                    f"load from this checkpoint is '{config_class}'. \nThe class this function is called from is "
                    f"'{cls.__name__}'."
                )
        init_kwargs.update(kwargs)

        added_tokens_file = files.pop("added_tokens_file", None)
        special_tokens_map_file = files.pop("special_tokens_map_file", None)
        for file_id, path in files.items():
            init_kwargs.setdefault(file_id, os.fspath(path) if path is not None else None)
        tokenizer_file = files.get("tokenizer_file")
        init_kwargs["name_or_path"] = name

        # Added tokens with their flags: tokenizer_config.json (recent saves) or the legacy files.
        added_decoder: dict[int, AddedToken] = {}
        by_content: dict[str, AddedToken] = {}
        if "added_tokens_decoder" in init_kwargs:
            for index, token in init_kwargs["added_tokens_decoder"].items():
                if isinstance(token, dict):
                    token = AddedToken(**token)
                if not isinstance(token, AddedToken):
                    raise TypeError(f"Found a {type(token)} in the saved `added_tokens_decoder`, expected a dict")
                added_decoder[int(index)] = token
                by_content[str(token)] = token
        else:
            if special_tokens_map_file is not None:
                with open(special_tokens_map_file, encoding="utf-8") as f:
                    special_tokens_map = json.load(f)
                for key, value in special_tokens_map.items():
                    if key in kwargs and kwargs[key]:
                        continue
                    if isinstance(value, dict):
                        value = AddedToken(**{**value, "special": True})
                    elif key == "additional_special_tokens" and isinstance(value, list):
                        merged = init_kwargs.pop("additional_special_tokens", []) or []
                        for token in value:
                            if isinstance(token, dict):
                                token = AddedToken(**{**token, "special": True})
                            if token not in merged:
                                merged.append(token)
                        value = merged
                    init_kwargs[key] = value
            if added_tokens_file is not None:
                special = set()
                for key in SPECIAL_TOKENS_ATTRIBUTES:
                    value = init_kwargs.get(key)
                    if value is not None:
                        special |= {str(t) for t in value} if key == "additional_special_tokens" else {str(value)}
                with open(added_tokens_file, encoding="utf-8") as f:
                    for content, index in json.load(f).items():
                        is_special = content in special
                        token = AddedToken(
                            content, rstrip=False, lstrip=False, normalized=not is_special, special=is_special
                        )
                        added_decoder[index] = token
                        by_content[content] = token
            if tokenizer_file is not None:
                with open(tokenizer_file, encoding="utf-8") as f:
                    for entry in json.load(f).get("added_tokens", []):
                        entry = dict(entry)
                        index = entry.pop("id")
                        added_decoder[index] = AddedToken(**entry)
                        by_content[str(added_decoder[index])] = added_decoder[index]

        init_kwargs["added_tokens_decoder"] = added_decoder
        init_kwargs = cls.convert_added_tokens(init_kwargs, save=False)
        for key in SPECIAL_TOKENS_ATTRIBUTES[:-1]:
            value = init_kwargs.get(key)
            if value is not None and by_content:
                init_kwargs[key] = by_content.get(str(value), value)
        return cls(*init_inputs, **init_kwargs)

    @classmethod
    def convert_added_tokens(cls, obj: Any, save: bool = False, add_type_field: bool = True) -> Any:
        """AddedToken ↔ JSON dicts ({"__type": "AddedToken", ...}), recursively through lists and dicts."""
        if isinstance(obj, dict) and obj.get("__type") == "AddedToken":
            state = {k: v for k, v in obj.items() if k != "__type"}
            return AddedToken(**state)
        if isinstance(obj, AddedToken) and save:
            state = obj.__getstate__()
            if add_type_field:
                state["__type"] = "AddedToken"
            else:
                state.pop("special")
            return state
        if isinstance(obj, (list, tuple)):
            return [cls.convert_added_tokens(o, save=save, add_type_field=add_type_field) for o in obj]
        if isinstance(obj, dict):
            return {k: cls.convert_added_tokens(v, save=save, add_type_field=add_type_field) for k, v in obj.items()}
        return obj

    # ------------------------------------------------------------------ saving

    def save_pretrained(
        self,
        save_directory: str | os.PathLike,
        legacy_format: bool | None = None,
        filename_prefix: str | None = None,
        push_to_hub: bool = False,
        **kwargs,
    ) -> tuple[str, ...]:
        """Write tokenizer_config.json, special_tokens_map.json and the vocabulary files (HF layout).

        Every file is written atomically (temp file + rename), so a crash never leaves a truncated file behind.
        Returns the paths written.
        """
        if push_to_hub:
            raise NotImplementedError("push_to_hub is not supported; upload the saved folder with huggingface_hub.")
        save_directory = os.fspath(save_directory)
        if os.path.isfile(save_directory):
            raise ValueError(f"Provided path ({save_directory}) should be a directory, not a file")
        os.makedirs(save_directory, exist_ok=True)
        prefix = f"{filename_prefix}-" if filename_prefix else ""

        config_file = os.path.join(save_directory, prefix + TOKENIZER_CONFIG_FILE)
        _atomic_write_text(config_file, _json_text(self._tokenizer_config()))
        special_file = os.path.join(save_directory, prefix + SPECIAL_TOKENS_MAP_FILE)
        special = self.convert_added_tokens(self.special_tokens_map_extended, save=True, add_type_field=False)
        _atomic_write_text(special_file, _json_text(special))
        return (config_file, special_file) + self._save_pretrained(save_directory, legacy_format, filename_prefix)

    def _tokenizer_config(self) -> dict[str, Any]:
        """tokenizer_config.json: the init arguments (current values where they are attributes) + added tokens."""
        config = copy.deepcopy(self.init_kwargs)
        for key in set(self.init_kwargs) | {"model_max_length", "clean_up_tokenization_spaces"}:
            value = getattr(self, key, _MISSING)
            if value is not _MISSING and not callable(value):
                config[key] = value
        config.update(self.special_tokens_map)
        if "extra_special_tokens" not in self.init_kwargs:
            config["extra_special_tokens"] = self.extra_special_tokens
            config.update(self.extra_special_tokens)
        if self.chat_template is not None:
            config["chat_template"] = self.chat_template
        if self.init_inputs:
            config["init_inputs"] = copy.deepcopy(self.init_inputs)
        for file_id in self.vocab_files_names:
            config.pop(file_id, None)
        config = self.convert_added_tokens(config, add_type_field=True, save=True)
        config["added_tokens_decoder"] = {index: t.__getstate__() for index, t in self.added_tokens_decoder.items()}
        tokenizer_class = type(self).__name__
        if tokenizer_class.endswith("Fast") and getattr(self, "can_save_slow_tokenizer", False):
            tokenizer_class = tokenizer_class[:-4]
        config["tokenizer_class"] = self.__dict__.get("saved_tokenizer_class") or tokenizer_class
        if self._processor_class is not None:
            config["processor_class"] = self._processor_class
        for key in ("name_or_path", "special_tokens_map_file", "tokenizer_file", "device_map"):
            config.pop(key, None)
        return config

    def _save_pretrained(
        self, save_directory: str, legacy_format: bool | None = None, filename_prefix: str | None = None
    ) -> tuple[str, ...]:
        if legacy_format is False:
            raise ValueError(
                "Only fast tokenizers (instances of PreTrainedTokenizerFast) can be saved in non legacy format."
            )
        return self._save_added_tokens_and_vocab(save_directory, filename_prefix)

    def _save_added_tokens_and_vocab(self, save_directory: str, filename_prefix: str | None) -> tuple[str, ...]:
        """added_tokens.json (tokens beyond the base vocabulary, for old readers) and the vocabulary files."""
        written: tuple[str, ...] = ()
        added = {tok: index for tok, index in self.added_tokens_encoder.items() if index >= self.vocab_size}
        if added:
            path = os.path.join(save_directory, (f"{filename_prefix}-" if filename_prefix else "") + ADDED_TOKENS_FILE)
            _atomic_write_text(path, _json_text(added))
            written = (path,)
        return written + tuple(self.save_vocabulary(save_directory, filename_prefix=filename_prefix))


_MISSING = object()
