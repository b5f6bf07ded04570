"""zero-shot-classification: score labels chosen at call time with an NLI model.

    classify("The match ended 2-1.", candidate_labels=["sports", "politics"])
    → {"sequence": "The match ended 2-1.", "labels": ["sports", "politics"], "scores": [0.9, 0.1]}

Each label becomes the hypothesis `hypothesis_template.format(label)` (default "This example is {}.") paired with
the text; the model's entailment logit (the label id whose name starts with "entail" in config.label2id) scores
it. By default the entailment logits are softmaxed across labels (scores sum to 1); with `multi_label=True` (or a
single label) each label gets its own softmax of entailment against contradiction. `candidate_labels` may be a
list or a comma-separated string.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

import numpy as np

from .base import Chunk, Pipeline

__all__ = ["ZeroShotClassificationPipeline"]

logger = logging.getLogger(__name__)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class ZeroShotClassificationPipeline(Pipeline):
    task = "zero-shot-classification"
    chunked = True

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self.entailment_id == -1:
            logger.warning(
                "No label of %s starts with 'entail' in config.label2id %s; using the last logit as entailment. Give "
                "the model a descriptive label2id so that zero-shot scores mean something.",
                type(self.model).__name__, self.model.config.label2id,
            )

    @property
    def entailment_id(self) -> int:
        for label, index in self.model.config.label2id.items():
            if label.lower().startswith("entail"):
                return index
        return -1

    def __call__(self, sequences: Any, *args: Any, **options: Any) -> Any:
        if len(args) == 1 and "candidate_labels" not in options:
            options["candidate_labels"] = args[0]
        elif args:
            raise ValueError(f"Unable to understand extra arguments {args}; pass candidate_labels=[...].")
        return super().__call__(sequences, **options)

    def _sanitize(
        self,
        candidate_labels: str | list[str] | None = None,
        hypothesis_template: str | None = None,
        multi_label: bool | None = None,
        multi_class: bool | None = None,
    ) -> tuple[dict, dict, dict]:
        pre: dict[str, Any] = {}
        if candidate_labels is not None:
            if isinstance(candidate_labels, str):
                candidate_labels = [label.strip() for label in candidate_labels.split(",") if label.strip()]
            pre["candidate_labels"] = list(candidate_labels)
        if hypothesis_template is not None:
            pre["hypothesis_template"] = hypothesis_template
        if multi_label is None and multi_class is not None:
            logger.warning("multi_class is deprecated; use multi_label.")
            multi_label = multi_class
        post = {"multi_label": multi_label} if multi_label is not None else {}
        return pre, {}, post

    def preprocess(
        self, sequence: str, candidate_labels: list[str] | None = None, hypothesis_template: str = "This example is {}."
    ) -> list[Chunk]:
        if not candidate_labels or not sequence:
            raise ValueError("You must include at least one label and at least one sequence (candidate_labels=[...]).")
        if hypothesis_template.format(candidate_labels[0]) == hypothesis_template:
            raise ValueError(
                f"hypothesis_template {hypothesis_template!r} has no place for the label; include {{}} where the label "
                "should go, e.g. 'This example is {}.'"
            )
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        chunks = []
        for label in candidate_labels:
            hypothesis = hypothesis_template.format(label)
            try:  # truncate the text, never the hypothesis
                encoding = self.tokenizer(sequence, hypothesis, truncation="only_first")
            except Exception as e:
                if "too short" not in str(e):
                    raise
                encoding = self.tokenizer(sequence, hypothesis, truncation=False)
            chunks.append(Chunk(self._tokenizer_inputs(encoding), {"label": label, "sequence": sequence}))
        return chunks

    def forward(self, batch: dict, **options: Any) -> dict:
        if "use_cache" in inspect.signature(self.model.forward).parameters:
            batch["use_cache"] = False
        return {"logits": self.model(**batch).logits}

    def postprocess(self, chunks: list[Chunk], multi_label: bool = False) -> dict:
        labels = [c.info["label"] for c in chunks]
        logits = np.stack([c.outputs["logits"].float().numpy() for c in chunks])  # (labels, classes)
        entail = self.entailment_id
        if multi_label or len(labels) == 1:
            contradiction = -1 if entail == 0 else 0
            scores = _softmax(logits[:, [contradiction, entail]])[:, 1]
        else:
            scores = _softmax(logits[:, entail])
        order = list(reversed(scores.argsort()))  # best first; ties as the reference orders them
        return {"sequence": chunks[0].info["sequence"], "labels": [labels[i] for i in order],
                "scores": scores[order].tolist()}
