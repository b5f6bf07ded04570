"""The configuration base: typed fields with defaults that round-trip a Hugging Face `config.json`.

A family config is plain data — class-level annotated fields with defaults, exactly the `config.json` keys:

    class BertConfig(PretrainedConfig):
        model_type = "bert"
        vocab_size: int = 30522
        ...

Keys that no field declares (from newer releases, other libraries, users) are kept as attributes and written back,
so loading and saving a config never loses information.
"""

from __future__ import annotations

import copy
import difflib
import json
import logging
import os
import types
import typing
from pathlib import Path
from typing import Any, ClassVar

from .hub import hub_kwargs, ignore_remote_code, resolve_file
from .storage import atomic_write_text, read_json

__all__ = ["PretrainedConfig", "ConfigError", "CONFIG_NAME", "load_config", "classifier_dropout"]

logger = logging.getLogger(__name__)

CONFIG_NAME = "config.json"
PROBLEM_TYPES = ("regression", "single_label_classification", "multi_label_classification")
ATTN_IMPLEMENTATIONS = ("eager", "sdpa")
# Sizes and counts a model cannot be built with at 0 or below (the families' config.json keys), and the layer
# counts, which may be 0 (embeddings only) but not negative.
POSITIVE_FIELDS = (
    "vocab_size", "hidden_size", "num_attention_heads", "intermediate_size", "max_position_embeddings",
    "type_vocab_size", "embedding_size", "true_hidden_size", "intra_bottleneck_size",
    "d_model", "n_heads", "max_seq_len", "expansion_ratio", "relative_attention_num_buckets",
    "layer_norm_eps", "layer_norm_epsilon",
)
LAYER_COUNT_FIELDS = ("num_hidden_layers", "n_layers")
PROBABILITY_FIELDS = ("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout", "resid_pdrop",
                      "emb_pdrop", "attn_pdrop", "act_dropout")
# Keys the reference writes for its own bookkeeping; read and dropped, never treated as model settings.
_BOOKKEEPING = ("transformers_version", "_name_or_path", "name_or_path", "_commit_hash", "mintformers_version")


class ConfigError(ValueError):
    """A configuration value is invalid or inconsistent."""


def _fields_of(cls) -> dict[str, Any]:
    """Annotated class attributes along the MRO (base first) → default value."""
    fields: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        for name in klass.__dict__.get("__annotations__", {}):
            if name.startswith("_") or name in ("model_type", "attribute_map", "sub_configs"):
                continue
            if name in klass.__dict__:
                fields[name] = klass.__dict__[name]
            elif name not in fields:
                fields[name] = None
    return fields


class PretrainedConfig:
    """Base for every family config. Subclasses only declare fields and override `validate`."""

    model_type: ClassVar[str] = ""
    # Alias → field name (e.g. MPT's hidden_size → d_model); aliases read and write the real field.
    attribute_map: ClassVar[dict[str, str]] = {}

    # Outputs and behaviour shared by every model.
    output_hidden_states: bool = False
    output_attentions: bool = False
    return_dict: bool = True
    torchscript: bool = False
    dtype: str | None = None  # the checkpoint's dtype ("float32", "bfloat16", ...); "torch_dtype" in older files
    use_cache: bool = True
    pruned_heads: dict = {}
    tie_word_embeddings: bool = True
    chunk_size_feed_forward: int = 0
    is_encoder_decoder: bool = False
    is_decoder: bool = False
    add_cross_attention: bool = False
    # Fine-tuning.
    architectures: list | None = None
    finetuning_task: str | None = None
    id2label: dict | None = None
    label2id: dict | None = None
    problem_type: str | None = None
    # Tokenizer-related ids.
    tokenizer_class: str | None = None
    bos_token_id: int | None = None
    pad_token_id: int | None = None
    eos_token_id: int | list | None = None
    sep_token_id: int | None = None
    decoder_start_token_id: int | None = None

    def __init__(self, **kwargs: Any):
        kwargs = dict(kwargs)
        for alias, name in self.attribute_map.items():
            if alias in kwargs:
                kwargs.setdefault(name, kwargs.pop(alias))
        if "torch_dtype" in kwargs:  # older checkpoints; "dtype" wins when both are present
            torch_dtype = kwargs.pop("torch_dtype")
            if kwargs.get("dtype") is None:
                kwargs["dtype"] = torch_dtype
        if kwargs.get("dtype") is not None:
            kwargs["dtype"] = str(kwargs["dtype"]).replace("torch.", "")
        num_labels = kwargs.pop("num_labels", None)
        object.__setattr__(self, "_attn_implementation", kwargs.pop("attn_implementation", None))
        object.__setattr__(self, "name_or_path", str(kwargs.pop("name_or_path", kwargs.pop("_name_or_path", ""))))
        for key in _BOOKKEEPING:
            kwargs.pop(key, None)
        kwargs.pop("model_type", None)

        for name, default in _fields_of(type(self)).items():
            setattr(self, name, kwargs.pop(name) if name in kwargs else copy.deepcopy(default))
        if self.id2label is not None:
            # JSON keys are strings; label ids are ints.
            self.id2label = {int(k): v for k, v in self.id2label.items()}
            if self.label2id is None:
                self.label2id = {v: k for k, v in self.id2label.items()}
        if num_labels is not None and (self.id2label is None or len(self.id2label) != num_labels):
            self.num_labels = num_labels
        elif self.id2label is None:
            self.num_labels = 2
        if self.pruned_heads:
            self.pruned_heads = {int(k): list(v) for k, v in self.pruned_heads.items()}

        # Unknown keys are kept (and saved again); a near-miss of a real field is most likely a typo.
        self._extra_keys: list[str] = []
        for key, value in kwargs.items():
            close = difflib.get_close_matches(key, self.field_names(), n=1, cutoff=0.85)
            if close:
                logger.warning(
                    "%s: unknown key %r kept as an extra attribute; did you mean %r?", type(self).__name__, key, close[0]
                )
            setattr(self, key, value)
            self._extra_keys.append(key)
        self.validate()

    # ---- attribute aliases ------------------------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: resolve aliases.
        attribute_map = type(self).attribute_map
        if name in attribute_map:
            return getattr(self, attribute_map[name])
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        name = type(self).attribute_map.get(name, name)
        super().__setattr__(name, value)

    # ---- derived properties -----------------------------------------------------------------------------------
    @property
    def num_labels(self) -> int:
        return len(self.id2label)

    @num_labels.setter
    def num_labels(self, n: int) -> None:
        if self.id2label is None or len(self.id2label) != n:
            self.id2label = {i: f"LABEL_{i}" for i in range(n)}
            self.label2id = {v: k for k, v in self.id2label.items()}

    @property
    def use_return_dict(self) -> bool:
        return self.return_dict and not self.torchscript

    @property
    def torch_dtype(self) -> str | None:
        return self.dtype

    @property
    def attn_implementation(self) -> str:
        return self._attn_implementation or "sdpa"

    @attn_implementation.setter
    def attn_implementation(self, value: str | None) -> None:
        if value is not None and value not in ATTN_IMPLEMENTATIONS:
            raise ConfigError(f"attn_implementation={value!r} is not supported; use one of {ATTN_IMPLEMENTATIONS}.")
        object.__setattr__(self, "_attn_implementation", value)

    @classmethod
    def field_names(cls) -> list[str]:
        return list(_fields_of(cls)) + list(cls.attribute_map)

    # ---- validation -------------------------------------------------------------------------------------------
    def validate(self) -> None:
        """Check values; subclasses extend this (call super) with their own rules."""
        hints = _type_hints(type(self))
        owner = type(self).__name__
        fields = _fields_of(type(self))
        for name in fields:
            _check_type(owner, name, getattr(self, name), hints.get(name))
        for name in fields:
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            if name in POSITIVE_FIELDS and not value > 0:
                raise ConfigError(
                    f"{owner}.{name}={value} cannot work: it is a size, so it must be positive. Use the value from "
                    "the checkpoint's config.json, or a positive one."
                )
            if name in LAYER_COUNT_FIELDS and value < 0:
                raise ConfigError(f"{owner}.{name}={value} cannot work: a number of layers is 0 or more.")
            if name in PROBABILITY_FIELDS and not 0 <= value <= 1:
                raise ConfigError(f"{owner}.{name}={value} cannot work: a dropout probability lies in [0, 1].")
        if self.problem_type is not None and self.problem_type not in PROBLEM_TYPES:
            raise ConfigError(f"problem_type={self.problem_type!r} is not understood; use one of {PROBLEM_TYPES}.")
        if self._attn_implementation is not None and self._attn_implementation not in ATTN_IMPLEMENTATIONS:
            raise ConfigError(
                f"attn_implementation={self._attn_implementation!r} is not supported; use one of {ATTN_IMPLEMENTATIONS}."
            )
        if self.add_cross_attention and not self.is_decoder:
            raise ConfigError("add_cross_attention=True needs is_decoder=True (cross-attention lives in decoders).")

    def _check_heads(self, hidden: int, heads: int, hidden_name="hidden_size", heads_name="num_attention_heads"):
        if heads <= 0 or hidden % heads:
            raise ConfigError(
                f"{hidden_name}={hidden} is not a multiple of {heads_name}={heads}: each head gets "
                f"{hidden_name} / {heads_name} dimensions. Change one of them."
            )

    # ---- serialisation ----------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in _fields_of(type(self)):
            out[name] = _jsonable(getattr(self, name))
        for name in self._extra_keys:
            out[name] = _jsonable(getattr(self, name))
        if out.get("id2label") is not None:
            out["id2label"] = {str(k): v for k, v in out["id2label"].items()}
        if out.get("pruned_heads"):
            out["pruned_heads"] = {str(k): v for k, v in out["pruned_heads"].items()}
        out["model_type"] = self.model_type
        from . import __version__

        out["mintformers_version"] = __version__
        return out

    def to_json_string(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def to_json_file(self, path: str | os.PathLike) -> None:
        atomic_write_text(Path(path), self.to_json_string())

    @classmethod
    def from_dict(cls, config_dict: dict[str, Any], **kwargs: Any):
        data = dict(config_dict)
        model_type = data.get("model_type")
        if cls.model_type and model_type and model_type != cls.model_type:
            logger.warning(
                "Loading a %r config into %s (model_type %r); results may be wrong.", model_type, cls.__name__,
                cls.model_type,
            )
        data.update(kwargs)
        return cls(**data)

    @classmethod
    def from_json_file(cls, path: str | os.PathLike):
        return cls.from_dict(read_json(path))

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike, **kwargs: Any):
        """Load `config.json` from a directory or hub id; keyword arguments override its values.

        A keyword that is no field of this config and looks like a misspelt one raises instead of being kept silently.
        """
        hub = hub_kwargs(kwargs)
        path = resolve_file(name_or_path, CONFIG_NAME, **hub)
        data = read_json(path)
        known = set(cls.field_names()) | {"num_labels", "attn_implementation", "torch_dtype"}
        for key in kwargs:
            if key not in known and key not in data:
                close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.8)
                if close:
                    raise ConfigError(f"Unknown config key {key!r} for {cls.__name__}; did you mean {close[0]!r}?")
        config = cls.from_dict(data, **kwargs)
        config.name_or_path = str(name_or_path)
        return config

    def save_pretrained(self, save_directory: str | os.PathLike) -> None:
        self.to_json_file(Path(save_directory) / CONFIG_NAME)  # atomic; "is a file" errors come from storage

    # ---- misc -------------------------------------------------------------------------------------------------
    def copy(self):
        return copy.deepcopy(self)

    def update(self, values: dict[str, Any]) -> None:
        for k, v in values.items():
            setattr(self, k, v)
            if k not in _fields_of(type(self)) and k not in self._extra_keys and k not in self.attribute_map:
                self._extra_keys.append(k)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PretrainedConfig) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"{type(self).__name__} {self.to_json_string()}"


def classifier_dropout(config: PretrainedConfig) -> float:
    """The task heads' dropout in every backend: config.classifier_dropout when set, else the hidden dropout."""
    p = getattr(config, "classifier_dropout", None)
    return p if p is not None else getattr(config, "hidden_dropout_prob", 0.0)


def load_config(
    config_class: type[PretrainedConfig],
    name_or_path: str | os.PathLike,
    config: PretrainedConfig | None,
    overrides: dict[str, Any],
    hub: dict[str, Any],
    caller: str,
) -> PretrainedConfig:
    """The config a model's from_pretrained builds with (every backend): the checkpoint's config.json, or a copy of
    `config`, with `overrides` (e.g. num_labels=3) applied. Arguments other libraries accept but that change
    nothing here are dropped; trust_remote_code=True is ignored with a warning."""
    overrides = dict(overrides)
    ignore_remote_code(overrides.pop("trust_remote_code", None))
    for ignored in ("low_cpu_mem_usage", "use_safetensors", "_fast_init"):
        overrides.pop(ignored, None)
    if config is None:
        config = config_class.from_pretrained(name_or_path, **hub, **overrides)
    else:
        config = config.copy()
        for key, value in overrides.items():
            if key == "attn_implementation":
                config.attn_implementation = value
            elif key not in config.field_names() and key != "num_labels":
                raise ConfigError(f"Unknown argument {key!r} for {caller}.from_pretrained.")
            else:
                setattr(config, key, value)
        config.validate()
    config.name_or_path = str(name_or_path)
    return config


def _jsonable(value: Any) -> Any:
    if isinstance(value, PretrainedConfig):
        return value.to_dict()
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if type(value).__module__ == "torch":  # a torch.dtype
        return str(value).replace("torch.", "")
    return value


_HINTS: dict[type, dict] = {}


def _type_hints(cls) -> dict:
    if cls not in _HINTS:
        hints = {}
        for klass in reversed(cls.__mro__):
            if klass is object:
                continue
            try:
                hints.update(typing.get_type_hints(klass))
            except Exception:  # an annotation we cannot resolve is simply not checked
                pass
        _HINTS[cls] = hints
    return _HINTS[cls]


def _check_type(owner: str, name: str, value: Any, hint: Any) -> None:
    """Catch the common mistakes (a string for a number, a float layer count) with a message naming the field."""
    if hint is None or value is None:
        return
    allowed = typing.get_args(hint) if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union else (hint,)
    allowed = tuple(typing.get_origin(a) or a for a in allowed if a is not type(None))
    if not all(isinstance(a, type) for a in allowed):
        return
    if float in allowed and isinstance(value, int) and not isinstance(value, bool):
        return
    if int in allowed and bool not in allowed and isinstance(value, bool):
        raise ConfigError(f"{owner}.{name} must be an int, got the bool {value!r}.")
    if not isinstance(value, allowed):
        want = " or ".join(a.__name__ for a in allowed)
        raise ConfigError(f"{owner}.{name} must be {want}, got {type(value).__name__} {value!r}.")
