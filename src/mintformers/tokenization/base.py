"""The tokenizer API every family shares, written once for the pure-Python and the `tokenizers`-backed classes.

`PreTrainedTokenizerBase` owns everything that does not depend on *how* a text becomes ids: argument checking,
padding/truncation strategies, `prepare_for_model` (special tokens, truncation with stride, overflow), `pad` and
decoding clean-up. Its other parts live beside it: the output container (`batch_encoding.py`), what a call accepts
(`options.py`), the special-token attributes (`special_tokens.py`) and the checkpoint files (`files.py`).
Subclasses provide two hooks, `_encode_one` and `_encode_batch`: the slow tokenizer tokenizes in Python and reuses
`prepare_for_model` + `pad`; the fast one hands whole batches to the Rust backend, whose own truncation/padding the
reference fast tokenizers also use (its pair truncation and overflow differ slightly from the Python ones, and each
class matches its reference counterpart).
"""

from __future__ import annotations

import copy
import logging
import os
import warnings
from collections.abc import Mapping, Sequence, Sized
from typing import Any

import numpy as np
from tokenizers import AddedToken

# Names other modules (and users) import from here; they live in the modules named below.
from .batch_encoding import BatchEncoding, CharSpan, TokenSpan, _to_numpy, _to_py_obj, tensor_converter  # noqa: F401
from .chat_template import ChatTemplateMixin
from .files import (  # noqa: F401
    ADDED_TOKENS_FILE,
    FULL_TOKENIZER_FILE,
    SPECIAL_TOKENS_MAP_FILE,
    TOKENIZER_CONFIG_FILE,
    TokenizerFilesMixin,
    _atomic_write_text,
    _json_text,
)
from .options import (  # noqa: F401
    EncodedInput,
    ExplicitEnum,
    LoneSurrogateError,
    PaddingStrategy,
    PreTokenizedInput,
    TensorType,
    TextInput,
    TokenizerInputError,
    TruncationStrategy,
    _check_given,
    _check_text,
    _describe,
    _EncodeOptions,
    _is_text,
    check_surrogates,
)
from .special_tokens import SPECIAL_TOKENS_ATTRIBUTES, SpecialTokensMixin  # noqa: F401

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


class PreTrainedTokenizerBase(SpecialTokensMixin, ChatTemplateMixin, TokenizerFilesMixin):
    """The common tokenizer API (see the module docstring). Not instantiated directly."""

    vocab_files_names: dict[str, str] = {}
    model_input_names: list[str] = ["input_ids", "token_type_ids", "attention_mask"]
    padding_side: str = "right"
    truncation_side: str = "right"
    slow_tokenizer_class: type | None = None

    def __init__(self, **kwargs):
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
        if isinstance(self.chat_template, (list, tuple)):  # named templates, as tokenizer_config.json lists them
            self.chat_template = {template["name"]: template["template"] for template in self.chat_template}
        self.verbose = kwargs.pop("verbose", False)
        self.deprecation_warnings: dict[str, bool] = {}  # warnings already given once
        self._pad_token_type_id = 0

        self._init_special_tokens(kwargs)

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
        _check_given(text, "text")
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
        check_surrogates(text, "The text")
        check_surrogates(text_pair, "The text_pair")
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
        check_surrogates(batch_text_or_text_pairs, "The batch")  # item i is "The batch[i]"; its pair "[i][1]"
        return self._encode_batch(list(batch_text_or_text_pairs), options, kwargs)

    def _resolve_options(
        self, padding, truncation, max_length, pad_to_multiple_of, padding_side, return_tensors, verbose, kwargs, **rest
    ) -> _EncodeOptions:
        if padding_side is not None and padding_side not in ("left", "right"):
            raise ValueError(f"padding_side should be 'left' or 'right', got {padding_side!r}")
        if return_tensors is not None:
            tensor_converter(TensorType(return_tensors))  # fail before tokenizing: bad value, framework missing
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
        if type(self).__name__.endswith("Fast") and not os.environ.get("TRANSFORMERS_NO_ADVISORY_WARNINGS"):
            self._warn_once(
                "Asking-to-pad-a-fast-tokenizer",
                f"You're using a {type(self).__name__} tokenizer. Please note that with a fast tokenizer, using the "
                "`__call__` method is faster than using a method to encode the text followed by a call to the `pad` "
                "method to get a padded encoding.",
            )
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
            module = type(first).__module__
            if module.startswith("torch"):
                return_tensors = "pt" if return_tensors is None else return_tensors
            elif module.startswith("tensorflow"):
                return_tensors = "tf" if return_tensors is None else return_tensors
            elif module.startswith(("jax", "jaxlib")):
                return_tensors = "jax" if return_tensors is None else return_tensors
            elif isinstance(first, (np.ndarray, np.generic)):
                return_tensors = "np" if return_tensors is None else return_tensors
            else:
                raise ValueError(
                    f"type of {first} unknown: {type(first)}. Should be one of a python, numpy, pytorch, tensorflow "
                    "or jax object."
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
