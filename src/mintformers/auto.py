"""The one place that maps `model_type` to classes, and the Auto* front doors built on it.

Classes are named by string and imported on first use, so `import mintformers` stays fast. User code can add a
family with `register(model_type, module, {...})`.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from .config import CONFIG_NAME, PretrainedConfig, read_json
from .hub import CheckpointError, hub_kwargs, resolve_file

__all__ = [
    "MODEL_TYPES",
    "AUTO_CLASSES",
    "register",
    "config_class_for",
    "model_class_for",
    "AutoConfig",
    "AutoModel",
    "AutoModelForPreTraining",
    "AutoModelForMaskedLM",
    "AutoModelForCausalLM",
    "AutoModelForSequenceClassification",
    "AutoModelForTokenClassification",
    "AutoModelForQuestionAnswering",
    "AutoModelForMultipleChoice",
    "AutoModelForNextSentencePrediction",
    "AutoModelForInformationExtraction",
]

# model_type → (module, config class)
MODEL_TYPES: dict[str, tuple[str, str]] = {
    "bert": ("mintformers.models.bert", "BertConfig"),
    "mobilebert": ("mintformers.models.mobilebert", "MobileBertConfig"),
    "mpnet": ("mintformers.models.mpnet", "MPNetConfig"),
    "mpt": ("mintformers.models.mpt", "MptConfig"),
    "ernie_m": ("mintformers.models.ernie_m", "ErnieMConfig"),
}

# Auto class → model_type → class name (in that family's module), as in the reference's mappings.
AUTO_CLASSES: dict[str, dict[str, str]] = {
    "AutoModel": {
        "bert": "BertModel", "mobilebert": "MobileBertModel", "mpnet": "MPNetModel", "mpt": "MptModel",
        "ernie_m": "ErnieMModel",
    },
    "AutoModelForPreTraining": {
        "bert": "BertForPreTraining", "mobilebert": "MobileBertForPreTraining", "mpnet": "MPNetForMaskedLM",
        "mpt": "MptForCausalLM",
    },
    "AutoModelForMaskedLM": {"bert": "BertForMaskedLM", "mobilebert": "MobileBertForMaskedLM", "mpnet": "MPNetForMaskedLM"},
    "AutoModelForCausalLM": {"bert": "BertLMHeadModel", "mpt": "MptForCausalLM"},
    "AutoModelForSequenceClassification": {
        "bert": "BertForSequenceClassification", "mobilebert": "MobileBertForSequenceClassification",
        "mpnet": "MPNetForSequenceClassification", "mpt": "MptForSequenceClassification",
        "ernie_m": "ErnieMForSequenceClassification",
    },
    "AutoModelForTokenClassification": {
        "bert": "BertForTokenClassification", "mobilebert": "MobileBertForTokenClassification",
        "mpnet": "MPNetForTokenClassification", "mpt": "MptForTokenClassification",
        "ernie_m": "ErnieMForTokenClassification",
    },
    "AutoModelForQuestionAnswering": {
        "bert": "BertForQuestionAnswering", "mobilebert": "MobileBertForQuestionAnswering",
        "mpnet": "MPNetForQuestionAnswering", "mpt": "MptForQuestionAnswering",
        "ernie_m": "ErnieMForQuestionAnswering",
    },
    "AutoModelForMultipleChoice": {
        "bert": "BertForMultipleChoice", "mobilebert": "MobileBertForMultipleChoice",
        "mpnet": "MPNetForMultipleChoice", "ernie_m": "ErnieMForMultipleChoice",
    },
    "AutoModelForNextSentencePrediction": {
        "bert": "BertForNextSentencePrediction", "mobilebert": "MobileBertForNextSentencePrediction",
    },
    "AutoModelForInformationExtraction": {"ernie_m": "ErnieMForInformationExtraction"},
}


def register(model_type: str, module: str, config_class: str, classes: dict[str, str] | None = None) -> None:
    """Add a family: `classes` maps Auto class names (e.g. "AutoModel") to class names in `module`."""
    MODEL_TYPES[model_type] = (module, config_class)
    for auto_name, class_name in (classes or {}).items():
        AUTO_CLASSES.setdefault(auto_name, {})[model_type] = class_name


def _import(module: str, name: str):
    return getattr(importlib.import_module(module), name)


def _family(model_type: str | None) -> tuple[str, str]:
    if model_type not in MODEL_TYPES:
        raise ValueError(
            f"Unknown model_type {model_type!r}; mintformers supports {sorted(MODEL_TYPES)}. "
            "Check config.json's 'model_type'."
        )
    return MODEL_TYPES[model_type]


def config_class_for(model_type: str) -> type[PretrainedConfig]:
    module, name = _family(model_type)
    if module.startswith("mintformers.models."):  # built-in families: models/configs.py, which imports no torch
        module = "mintformers.models.configs"
    return _import(module, name)


def model_class_for(auto_name: str, model_type: str):
    module, _ = _family(model_type)
    names = AUTO_CLASSES[auto_name]
    if model_type not in names:
        have = sorted(a for a, m in AUTO_CLASSES.items() if model_type in m)
        raise ValueError(f"{model_type!r} models have no {auto_name} head; available: {have}.")
    return _import(module, names[model_type])


def checkpoint_model_type(name_or_path: str | os.PathLike, kwargs: dict[str, Any]) -> str:
    """The model_type of a checkpoint's config.json (hub arguments are read from `kwargs`, not popped)."""
    data = read_json(resolve_file(name_or_path, CONFIG_NAME, **hub_kwargs(dict(kwargs))))
    if "model_type" not in data:
        raise CheckpointError(f"config.json of {os.fspath(name_or_path)!r} has no 'model_type'.")
    if "auto_map" in data and data["model_type"] not in MODEL_TYPES:
        raise ValueError(
            f"{os.fspath(name_or_path)!r} is a {data['model_type']!r} model that needs the code in its own repository "
            f"(config.json's auto_map); mintformers never runs such code and supports {sorted(MODEL_TYPES)}."
        )
    return data["model_type"]


class AutoConfig:
    """Reads config.json and returns the config class its model_type names."""

    @staticmethod
    def from_pretrained(name_or_path: str | os.PathLike, **kwargs: Any) -> PretrainedConfig:
        return config_class_for(checkpoint_model_type(name_or_path, kwargs)).from_pretrained(name_or_path, **kwargs)

    @staticmethod
    def for_model(model_type: str, **kwargs: Any) -> PretrainedConfig:
        return config_class_for(model_type)(**kwargs)


class _AutoModel:
    _name: str = ""

    def __init__(self, *args: Any, **kwargs: Any):
        raise TypeError(f"Use {type(self).__name__}.from_pretrained(...) or .from_config(config).")

    @classmethod
    def class_for(cls, config: PretrainedConfig):
        return model_class_for(cls._name, config.model_type)

    @classmethod
    def from_config(cls, config: PretrainedConfig, **kwargs: Any):
        return cls.class_for(config).from_config(config, **kwargs)

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike, *, config: PretrainedConfig | None = None, **kwargs: Any):
        if config is None:
            model_class = model_class_for(cls._name, checkpoint_model_type(name_or_path, kwargs))
        else:
            model_class = cls.class_for(config)
        return model_class.from_pretrained(name_or_path, config=config, **kwargs)


def _auto(name: str) -> type:
    return type(name, (_AutoModel,), {"_name": name, "__doc__": f"Picks the {name[4:] or 'base model'} class for a checkpoint's model_type."})


AutoModel = _auto("AutoModel")
AutoModelForPreTraining = _auto("AutoModelForPreTraining")
AutoModelForMaskedLM = _auto("AutoModelForMaskedLM")
AutoModelForCausalLM = _auto("AutoModelForCausalLM")
AutoModelForSequenceClassification = _auto("AutoModelForSequenceClassification")
AutoModelForTokenClassification = _auto("AutoModelForTokenClassification")
AutoModelForQuestionAnswering = _auto("AutoModelForQuestionAnswering")
AutoModelForMultipleChoice = _auto("AutoModelForMultipleChoice")
AutoModelForNextSentencePrediction = _auto("AutoModelForNextSentencePrediction")
AutoModelForInformationExtraction = _auto("AutoModelForInformationExtraction")


def __getattr__(name: str):
    if name == "AutoTokenizer":  # lives with the tokenizers; re-exported here for `from mintformers.auto import *`
        return _import("mintformers.tokenization.auto", "AutoTokenizer")
    raise AttributeError(name)
