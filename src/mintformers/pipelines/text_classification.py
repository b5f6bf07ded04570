"""text-classification (alias sentiment-analysis): labels and scores for a text or a text pair.

    classify("Great movie!")                         → [{"label": "POSITIVE", "score": 0.98}]
    classify("Great movie!", top_k=None)             → every label, best first
    classify({"text": "A man eats.", "text_pair": "Someone eats."})  → {"label", "score"}

Scores: `function_to_apply` "softmax" / "sigmoid" / "none"; by default sigmoid for one label or multi-label
problems, none for regression, softmax otherwise (the reference's rule). Result shapes follow the reference exactly,
including its legacy quirks: a single string without `top_k` gives a list holding one dict, `return_all_scores=True`
gives every label in label order.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import torch

from .base import Chunk, Pipeline

__all__ = ["TextClassificationPipeline"]

FUNCTIONS = ("softmax", "sigmoid", "none")
_UNSET: Any = ""  # top_k=None means "all labels", so "not given" needs its own marker


def _function_name(value: Any) -> str:
    name = str(getattr(value, "value", value)).lower()
    if name not in FUNCTIONS:
        raise ValueError(f"function_to_apply={value!r} is not one of {FUNCTIONS}.")
    return name


class TextClassificationPipeline(Pipeline):
    task = "text-classification"
    item_types = (str, dict)

    def __call__(self, inputs: Any, **options: Any) -> Any:
        result = super().__call__(inputs, **options)
        if isinstance(inputs, str) and "top_k" not in options:
            return [result]  # the reference's legacy shape for one string
        return result

    def _sanitize(
        self,
        return_all_scores: bool | None = None,
        function_to_apply: str | None = None,
        top_k: int | None = _UNSET,
        **tokenizer_kwargs: Any,
    ) -> tuple[dict, dict, dict]:
        post: dict[str, Any] = {}
        if return_all_scores is None:
            return_all_scores = getattr(self.model.config, "return_all_scores", None)
        if top_k is None or isinstance(top_k, int):
            post.update(top_k=top_k, legacy=False)
        elif return_all_scores is not None:
            warnings.warn(
                "return_all_scores is deprecated: use top_k=None instead of return_all_scores=True, top_k=1 instead "
                "of return_all_scores=False.",
                UserWarning,
                stacklevel=3,
            )
            post["top_k"] = None if return_all_scores else 1
        if function_to_apply is not None:
            post["function_to_apply"] = _function_name(function_to_apply)
        return tokenizer_kwargs, {}, post

    def preprocess(self, item: str | dict, **tokenizer_kwargs: Any) -> Chunk:
        if isinstance(item, dict):
            unknown = set(item) - {"text", "text_pair"}
            if "text" not in item or unknown:
                raise ValueError(
                    f"A text pair is a dict with keys 'text' and 'text_pair'; got keys {sorted(item)}."
                )
            encoding = self.tokenizer(**item, **tokenizer_kwargs)
        elif isinstance(item, list):
            raise ValueError(
                'The pipeline received invalid inputs, if you are trying to send text pairs, you can try to send a '
                'dictionary `{"text": "My text", "text_pair": "My pair"}` in order to send a text pair.'
            )
        else:
            encoding = self.tokenizer(item, **tokenizer_kwargs)
        return Chunk(self._tokenizer_inputs(encoding))

    def forward(self, batch: dict, **options: Any) -> dict:
        if "use_cache" in inspect.signature(self.model.forward).parameters:
            batch["use_cache"] = False  # no cache for a single forward pass of a decoder classifier
        return {"logits": self.model(**batch).logits}

    def _default_function(self) -> str:
        config = self.model.config
        if config.problem_type == "regression":
            return "none"
        if config.problem_type == "multi_label_classification" or config.num_labels == 1:
            return "sigmoid"
        if config.problem_type == "single_label_classification" or config.num_labels > 1:
            return "softmax"
        return _function_name(getattr(config, "function_to_apply", "none"))

    def postprocess(
        self, chunk: Chunk, function_to_apply: str | None = None, top_k: int | None = 1, legacy: bool = True
    ) -> dict | list[dict]:
        logits = chunk.outputs["logits"].float()
        function = function_to_apply or self._default_function()
        if function == "softmax":
            scores = torch.softmax(logits, dim=-1)
        elif function == "sigmoid":
            scores = torch.sigmoid(logits)
        else:
            scores = logits
        id2label = self.model.config.id2label
        if top_k == 1 and legacy:
            best = int(scores.argmax())
            return {"label": id2label[best], "score": scores[best].item()}
        results = [{"label": id2label[i], "score": score} for i, score in enumerate(scores.tolist())]
        if not legacy:
            results.sort(key=lambda r: r["score"], reverse=True)
            if top_k is not None:
                results = results[:top_k]
        return results
