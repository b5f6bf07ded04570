"""multiple-choice: which of several answers fits a question best (a `...ForMultipleChoice` head).

The reference has no pipeline for this task; this one follows the way those heads are trained (SWAG, RACE, ARC):
each choice is encoded as a text pair with the question and scored by the head, and the scores are compared across
the choices of that question.

    choose = pipeline("multiple-choice", model="path/to/checkpoint")
    choose({"question": "The capital of France is", "choices": ["Paris", "Rome", "Berlin"]})
    choose("The capital of France is", choices=["Paris", "Rome", "Berlin"])      # the same
    → {"answer": "Paris", "index": 0, "scores": [0.81, 0.12, 0.07], "choices": ["Paris", "Rome", "Berlin"]}

Pairs: (question, choice); with a "context" as well (reading comprehension), (context, question + " " + choice).
Only the first segment is truncated when a pair is too long, so the choices are always seen whole.
`scores` keep the order of `choices` and sum to 1 (`function_to_apply="none"` gives the raw logits); `answer` and
`index` name the best. Choices of one question may be batched with choices of other questions: each choice is one
row, so any number of choices per question works with any `batch_size`.
"""

from __future__ import annotations

from typing import Any

import torch

from .base import Chunk, Pipeline

__all__ = ["MultipleChoicePipeline"]


class MultipleChoicePipeline(Pipeline):
    task = "multiple-choice"
    chunked = True
    item_types = (dict,)

    def __call__(self, inputs: Any = None, **options: Any) -> Any:
        question, choices, context = (options.pop(k, None) for k in ("question", "choices", "context"))
        if isinstance(inputs, str) or question is not None:
            if inputs is not None and question is not None:
                raise ValueError("Pass the question once: positionally or as question=..., not both.")
            inputs = {"question": question if question is not None else inputs, "choices": choices}
            if context is not None:
                inputs["context"] = context
        elif choices is not None or context is not None:
            raise ValueError("choices=/context= go with a question string; dict inputs carry their own 'choices'.")
        return super().__call__(inputs, **options)

    def _sanitize(self, function_to_apply: str | None = None) -> tuple[dict, dict, dict]:
        post = {}
        if function_to_apply is not None:
            if function_to_apply not in ("softmax", "none"):
                raise ValueError(f"function_to_apply must be 'softmax' or 'none', got {function_to_apply!r}.")
            post["function_to_apply"] = function_to_apply
        return {}, {}, post

    def preprocess(self, item: dict) -> list[Chunk]:
        if not isinstance(item, dict):
            raise ValueError(f"A multiple-choice input is a dict with 'question' and 'choices'; got {type(item).__name__}.")
        unknown = set(item) - {"question", "choices", "context"}
        if unknown:
            raise ValueError(f"Unknown keys {sorted(unknown)} in a multiple-choice input; use 'question', 'choices', 'context'.")
        question, choices, context = item.get("question"), item.get("choices"), item.get("context")
        if not isinstance(question, str):
            raise ValueError("A multiple-choice input needs 'question': a string.")
        if isinstance(choices, str) or not choices or not all(isinstance(c, str) for c in choices):
            raise ValueError("A multiple-choice input needs 'choices': a non-empty list of strings.")
        chunks = []
        for choice in choices:
            first, second = (context, f"{question} {choice}") if context is not None else (question, choice)
            try:  # truncate the question (or context), never the choice
                encoding = self.tokenizer(first, second, truncation="only_first")
            except Exception as e:
                if "too short" not in str(e):
                    raise
                encoding = self.tokenizer(first, second, truncation=False)
            chunks.append(Chunk(self._tokenizer_inputs(encoding), {"choice": choice}))
        return chunks

    def forward(self, batch: dict, **options: Any) -> dict:
        # Every row is one (question, choice) pair: the head takes (rows, 1 choice, tokens) → (rows, 1) logits.
        logits = self.model(**{k: v.unsqueeze(1) for k, v in batch.items()}).logits
        return {"logit": logits[:, 0]}

    def postprocess(self, chunks: list[Chunk], function_to_apply: str = "softmax") -> dict:
        logits = torch.stack([c.outputs["logit"] for c in chunks]).float()
        scores = logits.softmax(-1) if function_to_apply == "softmax" else logits
        best = int(scores.argmax())
        choices = [c.info["choice"] for c in chunks]
        return {"answer": choices[best], "index": best, "scores": scores.tolist(), "choices": choices}
