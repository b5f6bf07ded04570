"""`PreTrainedTokenizerFast`: the shared API on top of a Rust `tokenizers.Tokenizer`.

Loads any tokenizer.json (BERT WordPiece, GPT-NeoX byte-level BPE as MPT ships it, ...). Whole batches go to the
backend's `encode_batch` with its truncation/padding configured per call, so offsets, word ids, overflow windows
(`stride`) and padding are computed in Rust; the Python side only assembles the columns (numpy for tensors).
"""

from __future__ import annotations

import copy
import json
import logging
import os
import threading
from collections.abc import Iterable
from typing import Any

import numpy as np
from tokenizers import Encoding, Tokenizer, processors
from tokenizers import pre_tokenizers as pre_tokenizers_fast

from .base import (
    FULL_TOKENIZER_FILE,
    SPECIAL_TOKENS_ATTRIBUTES,
    AddedToken,
    BatchEncoding,
    PaddingStrategy,
    PreTrainedTokenizerBase,
    TokenizerInputError,
    TruncationStrategy,
    _atomic_write_text,
    _EncodeOptions,
)
from .files import read_tokenizer_file
from .training import train_backend

__all__ = ["PreTrainedTokenizerFast"]

logger = logging.getLogger(__name__)


def _int64_array(column: list) -> np.ndarray | list:
    """A column of equal-length int rows as one int64 array (explicit dtype: faster than inferring it)."""
    try:
        return np.array(column, dtype=np.int64)
    except ValueError:  # ragged rows (no padding): BatchEncoding reports it, or builds an object array for "np"
        return column


class PreTrainedTokenizerFast(PreTrainedTokenizerBase):
    """A tokenizer backed by `tokenizers.Tokenizer`; usable directly for any tokenizer.json.

    Build it from `tokenizer_file=` (a tokenizer.json), `tokenizer_object=` (a `tokenizers.Tokenizer`) or
    `from_pretrained(dir_or_hub_id)`. `add_bos_token` / `add_eos_token` (GPT-NeoX / Llama style), when given,
    replace the post-processor so that sequences get `bos ... eos`; when not given, tokenizer.json's own
    post-processor is kept.
    """

    vocab_files_names = {"tokenizer_file": FULL_TOKENIZER_FILE}

    def __init__(self, *args, **kwargs):
        tokenizer_object = kwargs.pop("tokenizer_object", None)
        tokenizer_file = kwargs.pop("tokenizer_file", None)
        from_slow = kwargs.pop("from_slow", False)
        slow_tokenizer = kwargs.pop("__slow_tokenizer", None)
        added_tokens_decoder: dict[int, AddedToken] = kwargs.pop("added_tokens_decoder", {})
        self.add_prefix_space = kwargs.get("add_prefix_space", False)
        if from_slow and slow_tokenizer is None and self.slow_tokenizer_class is None:
            raise ValueError(f"from_slow=True: {type(self).__name__} has no slow tokenizer to convert from.")

        if tokenizer_object is not None:
            backend = copy.deepcopy(tokenizer_object)
        elif tokenizer_file is not None and not from_slow:
            backend = read_tokenizer_file(tokenizer_file)
        elif slow_tokenizer is not None or self.slow_tokenizer_class is not None:
            # No tokenizer.json: build the slow tokenizer from the vocabulary files and convert it (its init
            # arguments become ours, as in the reference).
            if slow_tokenizer is None:
                slow_tokenizer = self.slow_tokenizer_class(*args, **kwargs)
            backend = self._convert_slow_tokenizer(slow_tokenizer)
            kwargs.update(slow_tokenizer.init_kwargs)
        else:
            raise ValueError(
                f"{type(self).__name__} needs a tokenizer.json: pass tokenizer_file=, tokenizer_object= (a "
                "tokenizers.Tokenizer), or load a directory that contains tokenizer.json with from_pretrained()."
            )
        self._tokenizer: Tokenizer = backend
        self._backend_lock = threading.Lock()  # the backend's truncation/padding are set per call
        # ... so save_pretrained writes the file's own settings, not those of the last call
        self._file_settings = (backend.truncation, backend.padding)

        # tokenizer.json may carry truncation/padding settings: they become this tokenizer's defaults.
        truncation = backend.truncation
        if truncation is not None:
            kwargs.setdefault("max_length", truncation["max_length"])
            kwargs.setdefault("truncation_side", truncation["direction"])
            kwargs.setdefault("stride", truncation["stride"])
            kwargs.setdefault("truncation_strategy", truncation["strategy"])
        padding = backend.padding
        if padding is not None:
            kwargs.setdefault("pad_token", padding["pad_token"])
            kwargs.setdefault("pad_token_type_id", padding["pad_type_id"])
            kwargs.setdefault("padding_side", padding["direction"])
            kwargs.setdefault("max_length", padding["length"])
            kwargs.setdefault("pad_to_multiple_of", padding["pad_to_multiple_of"])

        super().__init__(**kwargs)
        self._tokenizer.encode_special_tokens = self.split_special_tokens
        self._register_added_tokens(added_tokens_decoder)
        self._sync_prefix_space()

        self._add_bos_token = kwargs.get("add_bos_token")
        self._add_eos_token = kwargs.get("add_eos_token")
        if self._add_bos_token is not None or self._add_eos_token is not None:
            self.update_post_processor()

    def _convert_slow_tokenizer(self, slow_tokenizer) -> Tokenizer:
        """The `tokenizers` pipeline equivalent to a slow tokenizer (families with a slow class implement it)."""
        raise NotImplementedError(f"{type(self).__name__} cannot be built from a slow tokenizer")

    @classmethod
    def _from_pretrained(cls, files: dict[str, Any], name: str, *init_inputs, **kwargs):
        if cls.slow_tokenizer_class is not None and (kwargs.get("from_slow") or files.get("tokenizer_file") is None):
            kwargs["__slow_tokenizer"] = cls.slow_tokenizer_class._from_pretrained(
                copy.deepcopy(files), name, *init_inputs, **copy.deepcopy(kwargs)
            )
        return super()._from_pretrained(files, name, *init_inputs, **kwargs)

    @classmethod
    def _missing_files(cls, files: dict[str, Any]) -> str | None:
        if files.get("tokenizer_file") is not None:
            return None
        vocab = {k: v for k, v in cls.vocab_files_names.items() if k != "tokenizer_file"}
        if vocab and all(files.get(k) is not None for k in vocab):
            return None  # the backend can be built from the vocabulary files
        names = [FULL_TOKENIZER_FILE] + list(vocab.values())
        return " or ".join(repr(n) for n in names) + " not found"

    def _register_added_tokens(self, added_tokens_decoder: dict[int, AddedToken]) -> None:
        """Make the backend know the saved added tokens and every special token, with their current flags."""
        to_add = [token for _, token in sorted(added_tokens_decoder.items(), key=lambda item: item[0])]
        known = set(self.added_tokens_encoder) | {str(t) for t in to_add}
        to_add += [
            t for t in self.all_special_tokens_extended if not (isinstance(t, str) and t in known) and t not in to_add
        ]
        if not to_add:
            return
        special = set(self.all_special_tokens)
        tokens = []
        for token in to_add:
            if isinstance(token, str):
                token = AddedToken(token, special=token in special)
            else:
                token.special = token.special or str(token) in special
            tokens.append(token)
        self.add_tokens(tokens)

    def _sync_prefix_space(self) -> None:
        # As the reference does: a pre-tokenizer with `add_prefix_space` follows this tokenizer's setting.
        try:
            state = json.loads(self._tokenizer.pre_tokenizer.__getstate__())
            if state.get("add_prefix_space", self.add_prefix_space) != self.add_prefix_space:
                pre_tokenizer_class = getattr(pre_tokenizers_fast, state.pop("type"))
                state["add_prefix_space"] = self.add_prefix_space
                self._tokenizer.pre_tokenizer = pre_tokenizer_class(**state)
        except Exception:  # no pre-tokenizer, or one that cannot be rebuilt from its state: leave it
            pass

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_backend_lock", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._backend_lock = threading.Lock()

    # ------------------------------------------------------------------ bos/eos post-processing

    @property
    def add_bos_token(self) -> bool:
        return bool(self._add_bos_token)

    @add_bos_token.setter
    def add_bos_token(self, value: bool) -> None:
        self._add_bos_token = value
        self.update_post_processor()

    @property
    def add_eos_token(self) -> bool:
        return bool(self._add_eos_token)

    @add_eos_token.setter
    def add_eos_token(self, value: bool) -> None:
        self._add_eos_token = value
        self.update_post_processor()

    def update_post_processor(self) -> None:
        """Post-processor `[bos] $A [eos]` (pairs: `[bos] $A [eos] [bos] $B [eos]`) from add_bos/eos_token."""
        bos, eos = self.bos_token, self.eos_token
        if bos is None and self.add_bos_token:
            raise ValueError("add_bos_token = True but bos_token = None")
        if eos is None and self.add_eos_token:
            raise ValueError("add_eos_token = True but eos_token = None")
        single = f"{(bos + ':0 ') if self.add_bos_token else ''}$A:0{(' ' + eos + ':0') if self.add_eos_token else ''}"
        pair = f"{single}{(' ' + bos + ':1') if self.add_bos_token else ''} $B:1{(' ' + eos + ':1') if self.add_eos_token else ''}"
        special_tokens = []
        if self.add_bos_token:
            special_tokens.append((bos, self.bos_token_id))
        if self.add_eos_token:
            special_tokens.append((eos, self.eos_token_id))
        self._tokenizer.post_processor = processors.TemplateProcessing(
            single=single, pair=pair, special_tokens=special_tokens
        )

    def _bos_eos_configured(self) -> bool:
        return self.__dict__.get("_add_bos_token") is not None or self.__dict__.get("_add_eos_token") is not None

    def build_inputs_with_special_tokens(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None
    ) -> list[int]:
        if not self._bos_eos_configured():
            return super().build_inputs_with_special_tokens(token_ids_0, token_ids_1)
        bos = [self.bos_token_id] if self.add_bos_token else []
        eos = [self.eos_token_id] if self.add_eos_token else []
        output = bos + token_ids_0 + eos
        return output if token_ids_1 is None else output + bos + token_ids_1 + eos

    def get_special_tokens_mask(
        self, token_ids_0: list[int], token_ids_1: list[int] | None = None, already_has_special_tokens: bool = False
    ) -> list[int]:
        if already_has_special_tokens or not self._bos_eos_configured():
            return super().get_special_tokens_mask(token_ids_0, token_ids_1, already_has_special_tokens)
        bos = [1] if self.add_bos_token else []
        eos = [1] if self.add_eos_token else []
        mask = bos + [0] * len(token_ids_0) + eos
        return mask if token_ids_1 is None else mask + bos + [0] * len(token_ids_1) + eos

    # ------------------------------------------------------------------ vocabulary

    @property
    def is_fast(self) -> bool:
        return True

    @property
    def can_save_slow_tokenizer(self) -> bool:
        """Whether save_pretrained also writes the slow tokenizer's vocabulary files."""
        return self.slow_tokenizer_class is not None

    @property
    def backend_tokenizer(self) -> Tokenizer:
        return self._tokenizer

    @property
    def decoder(self):
        return self._tokenizer.decoder

    @property
    def vocab_size(self) -> int:
        return self._tokenizer.get_vocab_size(with_added_tokens=False)

    def get_vocab(self) -> dict[str, int]:
        return self._tokenizer.get_vocab(with_added_tokens=True)

    @property
    def vocab(self) -> dict[str, int]:
        return self.get_vocab()

    def __len__(self) -> int:
        return self._tokenizer.get_vocab_size(with_added_tokens=True)

    @property
    def added_tokens_decoder(self) -> dict[int, AddedToken]:
        return self._tokenizer.get_added_tokens_decoder()

    def _add_tokens(self, new_tokens: list[str | AddedToken], special_tokens: bool = False) -> int:
        if special_tokens:
            return self._tokenizer.add_special_tokens(new_tokens)
        return self._tokenizer.add_tokens(new_tokens)

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return self._tokenizer.num_special_tokens_to_add(pair)

    def _token_to_id(self, token: str) -> int | None:
        index = self._tokenizer.token_to_id(token)
        return self.unk_token_id if index is None else index

    def _id_to_token(self, index: int) -> str | None:
        return self._tokenizer.id_to_token(index)

    _convert_id_to_token = _id_to_token  # the reference's name

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        decoder = self._tokenizer.decoder
        return decoder.decode(tokens) if decoder is not None else " ".join(tokens)

    def tokenize(self, text: str, pair: str | None = None, add_special_tokens: bool = False, **kwargs) -> list[str]:
        return self.encode_plus(text, text_pair=pair, add_special_tokens=add_special_tokens, **kwargs).tokens()

    # ------------------------------------------------------------------ encoding

    def _configure_backend(self, options: _EncodeOptions) -> None:
        """Set the backend's truncation/padding for this call (only touching it when something changed)."""
        backend = self._tokenizer
        if options.truncation == TruncationStrategy.DO_NOT_TRUNCATE:
            if backend.truncation is not None:
                backend.no_truncation()
        else:
            target = {
                "max_length": options.max_length,
                "stride": options.stride,
                "strategy": options.truncation.value,
                "direction": self.truncation_side,
            }
            current = backend.truncation
            if current is None or {k: current.get(k) for k in target} != target:
                backend.enable_truncation(**target)
        if options.padding == PaddingStrategy.DO_NOT_PAD:
            if backend.padding is not None:
                backend.no_padding()
        else:
            target = {
                "length": options.max_length if options.padding == PaddingStrategy.MAX_LENGTH else None,
                "direction": options.padding_side or self.padding_side,
                "pad_id": self.pad_token_id,
                "pad_token": self.pad_token,
                "pad_type_id": self.pad_token_type_id,
                "pad_to_multiple_of": options.pad_to_multiple_of,
            }
            if backend.padding != target:
                backend.enable_padding(**target)
        if backend.encode_special_tokens != options.split_special_tokens:
            backend.encode_special_tokens = options.split_special_tokens

    def _encode_batch(self, batch: list[Any], options: _EncodeOptions, kwargs: dict) -> BatchEncoding:
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected keyword arguments: {sorted(kwargs)}")
        for i, item in enumerate(batch):
            if not isinstance(item, (str, list, tuple)):
                raise TokenizerInputError(f"batch item {i} must be a str (or a pair of str), got {type(item).__name__}")
        with self._backend_lock:
            try:
                self._configure_backend(options)
                encodings = self._tokenizer.encode_batch(
                    batch, add_special_tokens=options.add_special_tokens, is_pretokenized=options.is_split_into_words
                )
            except BaseException as e:
                # The backend rejects some settings (e.g. a stride too large for what truncation leaves) with a
                # bare Exception or even a Rust panic (a BaseException): report them as the bad arguments they are.
                if type(e) is Exception or type(e).__name__ == "PanicException":
                    raise ValueError(f"The tokenizers backend rejected these settings: {e}") from None
                raise
        return self._collect(encodings, options)

    def _collect(self, encodings: list[Encoding], options: _EncodeOptions) -> BatchEncoding:
        """Backend encodings → the output columns (one row per encoding, overflow windows as extra rows)."""
        rows = encodings
        sample_mapping = None
        if options.return_overflowing_tokens:
            rows, sample_mapping = [], []
            for i, encoding in enumerate(encodings):
                group = [encoding, *encoding.overflowing]
                rows.extend(group)
                sample_mapping.extend([i] * len(group))
        return_token_type_ids = options.return_token_type_ids
        if return_token_type_ids is None:
            return_token_type_ids = "token_type_ids" in self.model_input_names
        return_attention_mask = options.return_attention_mask
        if return_attention_mask is None:
            return_attention_mask = "attention_mask" in self.model_input_names

        data: dict[str, list] = {"input_ids": [e.ids for e in rows]}
        if return_token_type_ids:
            data["token_type_ids"] = [e.type_ids for e in rows]
        if return_attention_mask:
            data["attention_mask"] = [e.attention_mask for e in rows]
        if options.return_special_tokens_mask:
            data["special_tokens_mask"] = [e.special_tokens_mask for e in rows]
        if options.return_offsets_mapping:
            data["offset_mapping"] = [e.offsets for e in rows]
        if options.return_length:
            data["length"] = [len(ids) for ids in data["input_ids"]]
        if sample_mapping is not None:
            data["overflow_to_sample_mapping"] = sample_mapping
        if options.max_length is None and data["input_ids"]:
            self._eventual_warn_about_too_long_sequence(max(data["input_ids"], key=len), None, options.verbose)
        if options.return_tensors is not None:
            data = {key: _int64_array(value) for key, value in data.items()}
        return BatchEncoding(data, rows, tensor_type=options.return_tensors)

    def _encode_one(self, text: Any, text_pair: Any, options: _EncodeOptions, kwargs: dict) -> BatchEncoding:
        # An empty text_pair counts as no pair, as in the reference fast tokenizers.
        output = self._encode_batch([(text, text_pair)] if text_pair else [text], options, kwargs)
        if options.return_tensors is None and not options.return_overflowing_tokens:
            # A single example: drop the batch axis of the list columns.
            output = BatchEncoding(
                {k: (v[0] if v and isinstance(v[0], list) else v) for k, v in output.items()}, output.encodings
            )
        return output

    # ------------------------------------------------------------------ decoding and saving

    def _decode(
        self,
        token_ids: int | list[int],
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
        **kwargs,
    ) -> str:
        if isinstance(token_ids, int):
            token_ids = [token_ids]
        text = self._tokenizer.decode(token_ids, skip_special_tokens=skip_special_tokens)
        return self._maybe_clean_up(text, clean_up_tokenization_spaces)

    def _save_pretrained(
        self, save_directory: str, legacy_format: bool | None = None, filename_prefix: str | None = None
    ) -> tuple[str, ...]:
        if self.slow_tokenizer_class is None and legacy_format is True:
            raise ValueError(
                "Your tokenizer does not have a legacy version defined and therefore cannot register this version. "
                "You might consider leaving the legacy_format at `None` or setting it to `False`."
            )
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

    def _portable_json(self) -> str:
        """tokenizer.json: the backend with the file's own truncation / padding, not those the last call set."""
        with self._backend_lock:
            backend = self._tokenizer
            truncation, padding = self._file_settings
            backend.no_truncation() if truncation is None else backend.enable_truncation(**truncation)
            backend.no_padding() if padding is None else backend.enable_padding(**padding)
            return backend.to_str(pretty=True)

    # ------------------------------------------------------------------ training

    def train_new_from_iterator(
        self,
        text_iterator: Iterable[str] | Iterable[list[str]],
        vocab_size: int,
        length: int | None = None,
        new_special_tokens: list[str | AddedToken] | None = None,
        special_tokens_map: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> PreTrainedTokenizerFast:
        """A tokenizer of this class with a vocabulary of `vocab_size` learnt from `text_iterator` (texts, or batches
        of texts), keeping this one's normalization, pre-tokenization, post-processing and special tokens.

        `length`: how many texts, for the progress bar; `new_special_tokens`: more special tokens;
        `special_tokens_map`: renames special tokens ({"[CLS]": "<cls>"}); other keyword arguments go to the
        `tokenizers` trainer (e.g. `min_frequency`, `show_progress=False`).
        """
        trained = train_backend(
            json.loads(self._portable_json()), text_iterator, vocab_size, length, new_special_tokens,
            special_tokens_map, **kwargs,
        )  # fmt: skip
        return self._from_trained(trained, new_special_tokens, special_tokens_map)

    def _from_trained(
        self,
        backend: Tokenizer,
        new_special_tokens: list[str | AddedToken] | None,
        special_tokens_map: dict[str, str] | None,
        **overrides: Any,
    ) -> PreTrainedTokenizerFast:
        """This tokenizer's init arguments around a trained backend, special tokens renamed as the trainer did."""
        rename = special_tokens_map or {}
        kwargs = dict(self.init_kwargs)
        for name in SPECIAL_TOKENS_ATTRIBUTES[:-1]:
            token = getattr(self, name)
            if token is None:
                continue
            token = rename.get(token, token)
            current = self._special_tokens_map.get(name)
            if isinstance(current, AddedToken):  # the same flags under the new name
                state = {**current.__getstate__(), "content": token, "special": True}
                token = AddedToken(**state)
            kwargs[name] = token
        additional = (self.additional_special_tokens or []) + list(new_special_tokens or [])
        if additional:
            kwargs["additional_special_tokens"] = additional
        trained = type(self)(tokenizer_object=backend, **{**kwargs, **overrides})
        if "saved_tokenizer_class" in self.__dict__:  # standing in for a reference class (AutoTokenizer)
            trained.saved_tokenizer_class = self.saved_tokenizer_class
        return trained

