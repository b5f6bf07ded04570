"""`BatchEncoding`, the output of a tokenizer call, and the conversion of its columns to tensors."""

from __future__ import annotations

import importlib
import logging
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
from tokenizers import Encoding

from .options import TensorType

__all__ = ["BatchEncoding", "CharSpan", "TokenSpan"]

logger = logging.getLogger(__name__)


class CharSpan(NamedTuple):
    start: int
    end: int


class TokenSpan(NamedTuple):
    start: int
    end: int


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
        """Turn every value into a tensor of `tensor_type`, in place: "pt" (torch), "np" (numpy), "tf" (TensorFlow)
        or "jax"; the framework is imported only when asked for. Integer dtypes are the reference's: int64 for torch
        and numpy, TensorFlow's and JAX's default integer (int32 unless JAX runs with x64) for the other two."""
        if tensor_type is None:
            return self
        tensor_type = TensorType(tensor_type)
        is_tensor, from_numpy = tensor_converter(tensor_type)
        for key, value in list(self.items()):
            if prepend_batch_axis:
                value = [value]
            if is_tensor(value):
                continue
            try:
                self[key] = from_numpy(_to_numpy(value, ragged_ok=tensor_type == TensorType.NUMPY))
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


_FRAMEWORKS = {
    TensorType.PYTORCH: ("torch", "PyTorch", "torch"),
    TensorType.TENSORFLOW: ("tensorflow", "TensorFlow", "mintformers[tf]"),
    TensorType.JAX: ("jax", "JAX", "mintformers[flax]"),
}


def tensor_converter(tensor_type: TensorType) -> tuple[Callable[[Any], bool], Callable[[np.ndarray], Any]]:
    """(is this already a tensor of the kind, numpy array → tensor) for `tensor_type`; a clear ImportError naming
    what to install when its framework is missing."""
    if tensor_type == TensorType.NUMPY:
        return (lambda value: isinstance(value, np.ndarray)), (lambda array: array)
    module, name, package = _FRAMEWORKS[tensor_type]
    try:
        framework = importlib.import_module(module)
    except ImportError as e:
        raise ImportError(
            f"return_tensors={tensor_type.value!r} asks for {name} tensors, but {name} is not installed: "
            f"`pip install {package}`, or ask for 'np' or 'pt'."
        ) from e
    if tensor_type == TensorType.PYTORCH:
        return framework.is_tensor, framework.from_numpy
    if tensor_type == TensorType.TENSORFLOW:

        def to_tf(array: np.ndarray):
            # tf.constant of Python ints is int32: the reference builds its tensors from lists.
            return framework.constant(array.astype(np.int32) if array.dtype.kind in "iu" else array)

        return framework.is_tensor, to_tf
    import jax.numpy as jnp

    def to_jax(array: np.ndarray):
        if array.dtype.kind in "iu":  # JAX's default integer: int32, or int64 under jax_enable_x64
            return jnp.asarray(array, dtype=jnp.int64 if framework.config.jax_enable_x64 else jnp.int32)
        return jnp.asarray(array)

    return (lambda value: isinstance(value, framework.Array)), to_jax


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
    if hasattr(obj, "tolist"):  # torch.Tensor, np.ndarray, np.number, jax.Array
        return obj.tolist()
    if hasattr(obj, "numpy"):  # tf.Tensor
        return obj.numpy().tolist()
    return obj
