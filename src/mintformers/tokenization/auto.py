"""`AutoTokenizer`: pick the tokenizer class a checkpoint asks for, never running remote code.

Order: tokenizer_config.json `tokenizer_class` → config.json `model_type` → a bare tokenizer.json (generic fast).
Classes are imported by name on first use, so a family's module loads only when needed.
"""

from __future__ import annotations

import importlib
import logging
import os
from typing import Any

from mintformers.hub import HUB_KWARGS, CheckpointError, ignore_remote_code, resolve_file
from mintformers.storage import read_json

__all__ = ["AutoTokenizer", "TOKENIZER_CLASSES", "GENERIC_FAST_DEFAULTS"]

logger = logging.getLogger(__name__)

# model_type → (slow class name, fast class name); None where the family has no such tokenizer.
TOKENIZER_CLASSES: dict[str, tuple[str | None, str | None]] = {
    "bert": ("BertTokenizer", "BertTokenizerFast"),
    "mobilebert": ("MobileBertTokenizer", "MobileBertTokenizerFast"),
    "mpnet": ("MPNetTokenizer", "MPNetTokenizerFast"),
    "ernie_m": ("ErnieMTokenizer", "ErnieMTokenizerFast"),
    "mpt": (None, "PreTrainedTokenizerFast"),
}

# Reference tokenizer classes that are thin wrappers over a tokenizer.json: mintformers serves them with the generic
# PreTrainedTokenizerFast and these init defaults, which make it behave like them (decoder tokenizers return no
# token_type_ids; GPT-NeoX / Llama rebuild the post-processor from add_bos_token / add_eos_token).
_DECODER_INPUTS = ["input_ids", "attention_mask"]
GENERIC_FAST_DEFAULTS: dict[str, dict[str, Any]] = {
    "GPTNeoXTokenizer": {"add_bos_token": False, "add_eos_token": False, "model_input_names": _DECODER_INPUTS},
    "LlamaTokenizer": {"add_bos_token": True, "add_eos_token": False, "model_input_names": _DECODER_INPUTS},
    "GPT2Tokenizer": {"model_input_names": _DECODER_INPUTS},
    "PreTrainedTokenizer": {},
}
# The reference tokenizer class of model types served by the generic class (MPT checkpoints use GPT-NeoX's).
_REFERENCE_CLASS_OF_MODEL_TYPE = {"mpt": "GPTNeoXTokenizer"}

_MODULES = ("mintformers.tokenization",)
_GENERIC = "PreTrainedTokenizerFast"


def _load_class(name: str) -> type | None:
    for module_name in _MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        cls = getattr(module, name, None)
        if cls is not None:
            return cls
    return None


def _pick(slow: str | None, fast: str | None, use_fast: bool) -> type:
    """The preferred class of the pair, else the other one; a clear error if neither is implemented yet."""
    order = [fast, slow] if use_fast else [slow, fast]
    names = [n for n in order if n is not None]
    for name in names:
        cls = _load_class(name)
        if cls is not None:
            return cls
    raise NotImplementedError(
        f"{' / '.join(names)} is not available in this version of mintformers (looked in {', '.join(_MODULES)})."
    )


def _read_json(path) -> dict:
    return {} if path is None else read_json(path)


class AutoTokenizer:
    """`AutoTokenizer.from_pretrained(dir_or_hub_id)` → the right tokenizer class, loaded."""

    def __init__(self):
        raise OSError("AutoTokenizer is designed to be instantiated using `AutoTokenizer.from_pretrained(path)`.")

    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike,
        *inputs,
        use_fast: bool = True,
        tokenizer_type: str | None = None,
        **kwargs,
    ):
        """Load the tokenizer of a local directory or Hub repo.

        `use_fast=False` picks the pure-Python class where the family has one. `trust_remote_code` is accepted and
        ignored: custom code from a checkpoint is never executed.
        """
        ignore_remote_code(kwargs.pop("trust_remote_code", None))
        name = os.fspath(pretrained_model_name_or_path)
        hub = {k: kwargs[k] for k in HUB_KWARGS if k in kwargs}
        tokenizer_config = _read_json(resolve_file(name, "tokenizer_config.json", required=False, **hub))
        has_tokenizer_json = resolve_file(name, "tokenizer.json", required=False, **hub) is not None

        tokenizer_class, reference_name = cls._choose(name, tokenizer_type, tokenizer_config, hub, use_fast)
        if tokenizer_class is None:
            if not has_tokenizer_json and not reference_name:
                raise CheckpointError(
                    f"Can't load a tokenizer from {name!r}: it has no tokenizer.json, and no tokenizer_config.json "
                    "or config.json names its family. Pass the folder that holds the tokenizer files "
                    "(save_pretrained() writes them), or a hub id."
                )
            if not has_tokenizer_json:
                wanted = reference_name
                raise CheckpointError(
                    f"Can't load a tokenizer from {name!r}: it asks for {wanted}, which mintformers does not "
                    "implement, and has no tokenizer.json to load generically. Pass a checkpoint with a "
                    "tokenizer.json or one of the supported families (" + ", ".join(TOKENIZER_CLASSES) + ")."
                )
            tokenizer_class = _pick(None, _GENERIC, use_fast=True)
        if tokenizer_class.__name__ != _GENERIC:
            return tokenizer_class.from_pretrained(name, *inputs, **kwargs)
        defaults = GENERIC_FAST_DEFAULTS.get((reference_name or "").removesuffix("Fast"), {})
        for key, value in defaults.items():
            if key not in kwargs and key not in tokenizer_config:
                kwargs[key] = list(value) if isinstance(value, list) else value
        tokenizer = tokenizer_class.from_pretrained(name, *inputs, **kwargs)
        if tokenizer_config.get("tokenizer_class"):
            # Standing in for another class: save_pretrained writes that name back, so the checkpoint is unchanged.
            tokenizer.saved_tokenizer_class = tokenizer_config["tokenizer_class"]
        return tokenizer

    @staticmethod
    def _choose(
        name: str, tokenizer_type: str | None, tokenizer_config: dict, hub: dict, use_fast: bool
    ) -> tuple[type | None, str | None]:
        """(class, or None for "generic if there is a tokenizer.json"; the reference class name asked for)."""
        if tokenizer_type is not None:
            if tokenizer_type not in TOKENIZER_CLASSES:
                raise ValueError(f"Unknown tokenizer_type {tokenizer_type!r}; valid: {sorted(TOKENIZER_CLASSES)}")
            return _pick(*TOKENIZER_CLASSES[tokenizer_type], use_fast), _REFERENCE_CLASS_OF_MODEL_TYPE.get(
                tokenizer_type
            )

        class_name = tokenizer_config.get("tokenizer_class")
        if class_name:
            base = class_name.removesuffix("Fast")
            if base == _GENERIC.removesuffix("Fast"):
                return _pick(None, _GENERIC, use_fast), None
            for slow, fast in TOKENIZER_CLASSES.values():
                if base in {n.removesuffix("Fast") for n in (slow, fast) if n}:
                    return _pick(slow, fast, use_fast), class_name
            if "auto_map" in tokenizer_config:
                logger.warning(f"Ignoring auto_map of {name!r}: mintformers never executes code from a checkpoint.")
            return None, class_name

        model_type = _read_json(resolve_file(name, "config.json", required=False, **hub)).get("model_type")
        if model_type in TOKENIZER_CLASSES:
            return _pick(*TOKENIZER_CLASSES[model_type], use_fast), _REFERENCE_CLASS_OF_MODEL_TYPE.get(model_type)
        return None, None
