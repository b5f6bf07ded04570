"""`pipeline(task, model=...)`: inference for a task in one call, with the reference's inputs and output shapes.

    >>> from mintformers import pipeline
    >>> fill = pipeline("fill-mask", model="path/to/bert")
    >>> fill("Paris is the [MASK] of France.", top_k=2)
    [{'score': ..., 'token': ..., 'token_str': 'capital', 'sequence': 'paris is the capital of france.'}, ...]

Each task lives in its own module; this one maps task names to them and loads checkpoints. A task is available for
a checkpoint when `auto.py`'s table gives its model_type the head the task needs.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..auto import AUTO_CLASSES, AutoConfig, model_class_for
from ..config import PretrainedConfig
from ..hub import HUB_KWARGS, ignore_remote_code
from .base import Chunk, Pipeline, resolve_device

__all__ = ["pipeline", "Pipeline", "Chunk", "TASKS", "TASK_ALIASES", "supported_tasks", "resolve_device"]


@dataclass(frozen=True)
class Task:
    module: str  # module in mintformers.pipelines
    class_name: str
    auto_class: str  # the Auto class (auto.py) whose table says which model types have the needed head
    head: str  # what the task needs, in words, for error messages


TASKS: dict[str, Task] = {
    "feature-extraction": Task("feature_extraction", "FeatureExtractionPipeline", "AutoModel", "a base model"),
    "fill-mask": Task("fill_mask", "FillMaskPipeline", "AutoModelForMaskedLM", "a masked language modeling head"),
    "text-classification": Task(
        "text_classification", "TextClassificationPipeline", "AutoModelForSequenceClassification",
        "a sequence classification head",
    ),
    "token-classification": Task(
        "token_classification", "TokenClassificationPipeline", "AutoModelForTokenClassification",
        "a token classification head",
    ),
    "question-answering": Task(
        "question_answering", "QuestionAnsweringPipeline", "AutoModelForQuestionAnswering",
        "an extractive question answering head",
    ),
    "zero-shot-classification": Task(
        "zero_shot_classification", "ZeroShotClassificationPipeline", "AutoModelForSequenceClassification",
        "a sequence classification (NLI) head",
    ),
    "multiple-choice": Task(
        "multiple_choice", "MultipleChoicePipeline", "AutoModelForMultipleChoice", "a multiple choice head"
    ),
    "text-generation": Task(
        "text_generation", "TextGenerationPipeline", "AutoModelForCausalLM", "a causal language modeling head"
    ),
    "information-extraction": Task(
        "information_extraction", "InformationExtractionPipeline", "AutoModelForInformationExtraction",
        "a UIE-style span extraction head (ErnieMForInformationExtraction)",
    ),
}
TASK_ALIASES = {"sentiment-analysis": "text-classification", "ner": "token-classification"}

# Class-name endings of `config.architectures` → the task such a checkpoint was trained for (when task is omitted).
_ARCHITECTURE_TASKS = (
    ("ForInformationExtraction", "information-extraction"),
    ("ForMaskedLM", "fill-mask"),
    ("ForPreTraining", "fill-mask"),
    ("ForCausalLM", "text-generation"),
    ("LMHeadModel", "text-generation"),
    ("ForSequenceClassification", "text-classification"),
    ("ForTokenClassification", "token-classification"),
    ("ForQuestionAnswering", "question-answering"),
    ("ForMultipleChoice", "multiple-choice"),
    ("Model", "feature-extraction"),
)


def supported_tasks() -> list[str]:
    """Task names `pipeline` accepts (aliases included)."""
    return sorted(TASKS) + sorted(TASK_ALIASES)


def pipeline(
    task: str | None = None,
    model: str | os.PathLike | torch.nn.Module | None = None,
    tokenizer: Any = None,
    device: int | str | torch.device | None = None,
    torch_dtype: Any = None,
    dtype: Any = None,
    batch_size: int | None = None,
    *,
    config: str | PretrainedConfig | None = None,
    use_fast: bool = True,
    revision: str | None = None,
    token: str | bool | None = None,
    model_kwargs: dict[str, Any] | None = None,
    pipeline_class: type[Pipeline] | None = None,
    trust_remote_code: bool | None = None,
    quantize: str | None = None,
    **kwargs: Any,
) -> Pipeline:
    """Build the pipeline for `task` (see `TASKS`; aliases "sentiment-analysis", "ner").

    `model`: a checkpoint directory or hub id (the task's head class and the tokenizer are loaded from it), or a
    built model (then pass `tokenizer` too). `task` may be omitted for a checkpoint whose config names its
    architecture. `device`: index (-1 = CPU), "cpu", "cuda:1", torch.device; by default a loaded checkpoint goes to
    the first GPU when there is one (as in the reference) and a built model stays where it is. `dtype`
    (`torch_dtype`): e.g. "bfloat16"; default "auto" = the checkpoint's. `batch_size`: default for every call.
    `model_kwargs` go to `from_pretrained`; other keyword arguments are the task's options (defaults for each call).
    `quantize="int8"` loads the model with int8 linear layers (mintformers.quantization).
    """
    ignore_remote_code(trust_remote_code)
    if model is None:
        raise ValueError(
            f"pipeline({task!r}) needs model=...: a checkpoint directory, a hub id, or a built model. mintformers "
            "downloads no default model for a task."
        )
    hub = {k: v for k, v in {"revision": revision, "token": token}.items() if v is not None}
    model_kwargs = dict(model_kwargs or {})
    hub.update({k: model_kwargs.pop(k) for k in HUB_KWARGS if k in model_kwargs})
    if quantize is not None:
        if not isinstance(model, (str, os.PathLike)):
            raise ValueError("quantize applies when pipeline() loads the model; quantize a built model with "
                             "mintformers.quantization.quantize_model(model).")
        model_kwargs["quantize"] = quantize
    if isinstance(model, Path):
        model = os.fspath(model)
    if isinstance(config, (str, os.PathLike)):
        config = AutoConfig.from_pretrained(config, **hub)
    if isinstance(model, str) and config is None:
        config = AutoConfig.from_pretrained(model, **hub)

    task = _normalize_task(task, model, config)
    spec = TASKS[task]
    cls = pipeline_class or getattr(importlib.import_module(f"{__name__}.{spec.module}"), spec.class_name)
    if isinstance(model, str):
        _check_head(task, spec, config)
        if device is None and torch.cuda.is_available():
            device = 0  # the reference's default for checkpoints it loads
        if dtype is None and torch_dtype is None and "dtype" not in model_kwargs and "torch_dtype" not in model_kwargs:
            dtype = "auto"  # the reference pipeline's default: the checkpoint's dtype
        load_dtype = dtype if dtype is not None else torch_dtype
        if load_dtype is not None:
            model_kwargs["dtype"] = load_dtype
        model_class = model_class_for(spec.auto_class, config.model_type)
        name = model
        model = model_class.from_pretrained(name, config=config, **hub, **model_kwargs)
        dtype = torch_dtype = None  # already applied
        if tokenizer is None:
            tokenizer = name
    else:
        if model_kwargs:
            raise ValueError("model_kwargs apply when pipeline() loads the model; this model is already built.")
        _check_model_class(task, spec, model)
    if isinstance(tokenizer, (str, os.PathLike)):
        from ..tokenization import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(os.fspath(tokenizer), use_fast=use_fast, **hub)

    return cls(
        model, tokenizer, task=task, device=device, dtype=dtype, torch_dtype=torch_dtype, batch_size=batch_size, **kwargs
    )


def _normalize_task(task: str | None, model: Any, config: PretrainedConfig | None) -> str:
    if task is None:
        names = [type(model).__name__] if not isinstance(model, str) else list(getattr(config, "architectures", None) or [])
        for name in names:
            for suffix, inferred in _ARCHITECTURE_TASKS:
                if name.endswith(suffix):
                    return inferred
        raise ValueError(
            f"Cannot tell which task to run for {names or 'this model'}; pass one of {supported_tasks()} as task."
        )
    if not isinstance(task, str):
        raise TypeError(f"task must be a string like 'fill-mask', got {type(task).__name__}.")
    name = TASK_ALIASES.get(task, task)
    if name not in TASKS:
        raise ValueError(
            f"Unknown task {task!r}. mintformers pipelines support: {', '.join(sorted(TASKS))} "
            f"(aliases: {', '.join(f'{a} → {t}' for a, t in TASK_ALIASES.items())})."
        )
    return name


def _tasks_for(model_type: str, config: PretrainedConfig | None = None) -> list[str]:
    return [t for t, spec in TASKS.items() if model_type in AUTO_CLASSES[spec.auto_class] and _usable(t, config)]


def _usable(task: str, config: PretrainedConfig | None) -> bool:
    # BERT-style encoders have a causal LM class, but it only generates sensibly when trained as a decoder.
    return task != "text-generation" or config is None or config.model_type == "mpt" or bool(config.is_decoder)


def _heads_message(model_type: str, config: PretrainedConfig | None) -> str:
    heads = [classes[model_type] for classes in AUTO_CLASSES.values() if model_type in classes]
    return (
        f"{model_type!r} models have these heads: {', '.join(dict.fromkeys(heads))}; tasks this checkpoint can run: "
        f"{', '.join(_tasks_for(model_type, config)) or 'none'}."
    )


def _check_head(task: str, spec: Task, config: PretrainedConfig) -> None:
    model_type = config.model_type
    if model_type not in AUTO_CLASSES[spec.auto_class]:
        raise ValueError(f"Task {task!r} needs {spec.head}, which {model_type!r} models do not have. " + _heads_message(model_type, config))
    if not _usable(task, config):
        raise ValueError(
            f"Task {task!r} needs a decoder, but this {model_type!r} checkpoint is an encoder (config.is_decoder is "
            "False): it would attend to future tokens. Use a causal language model (e.g. MPT) or a checkpoint "
            "trained with is_decoder=True. " + _heads_message(model_type, config)
        )


def _check_model_class(task: str, spec: Task, model: Any) -> None:
    if not isinstance(model, torch.nn.Module):
        raise TypeError(
            f"model must be a checkpoint directory, a hub id or a built model (torch.nn.Module); got {type(model).__name__}."
        )
    if task == "feature-extraction":  # any model: its first output is the features
        return
    allowed = set(AUTO_CLASSES[spec.auto_class].values())
    if not any(klass.__name__ in allowed for klass in type(model).__mro__):
        model_type = getattr(getattr(model, "config", None), "model_type", "?")
        raise ValueError(
            f"Task {task!r} needs {spec.head} ({' / '.join(sorted(allowed))}), got a {type(model).__name__}. "
            + _heads_message(model_type, getattr(model, "config", None))
        )
    if task == "text-generation" and not _usable(task, model.config):
        _check_head(task, spec, model.config)

