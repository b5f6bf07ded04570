"""fill-mask: the most likely tokens for each mask token of a text.

    fill("Paris is the [MASK] of France.")  → [{"score", "token", "token_str", "sequence"}, ...]  (top_k, default 5)

With several masks in one text the result is one such list per mask (independent per-mask probabilities, as in the
reference). `targets` restricts the candidates; a target that is not one vocabulary entry is replaced by its first
token (with a warning). A list input of exactly one text returns that text's result, not a list of one (as the
reference does).
"""

from __future__ import annotations

import logging
from typing import Any

from .base import Chunk, Pipeline

__all__ = ["FillMaskPipeline"]

logger = logging.getLogger(__name__)


class FillMaskPipeline(Pipeline):
    task = "fill-mask"
    sequence_outputs = ("logits",)

    def __call__(self, inputs: Any, **options: Any) -> Any:
        result = super().__call__(inputs, **options)
        if isinstance(inputs, list) and len(inputs) == 1:
            return result[0]
        return result

    def _sanitize(
        self, top_k: int | None = None, targets: str | list[str] | None = None, tokenizer_kwargs: dict | None = None
    ) -> tuple[dict, dict, dict]:
        if self.tokenizer.mask_token_id is None:
            raise ValueError(f"The fill-mask pipeline needs a tokenizer with a mask token; {type(self.tokenizer).__name__} has none.")
        pre = {"tokenizer_kwargs": tokenizer_kwargs} if tokenizer_kwargs is not None else {}
        post: dict[str, Any] = {}
        if top_k is not None:
            if top_k < 1:
                raise ValueError(f"top_k must be >= 1, got {top_k}.")
            post["top_k"] = top_k
        if targets is not None:
            post["target_ids"] = self._target_ids(targets)
        return pre, {}, post

    def _target_ids(self, targets: str | list[str]) -> list[int]:
        vocab = self.tokenizer.get_vocab()
        ids = []
        for target in [targets] if isinstance(targets, str) else targets:
            if target in vocab:
                ids.append(vocab[target])
                continue
            pieces = self.tokenizer(target, add_special_tokens=False, return_attention_mask=False,
                                    return_token_type_ids=False, max_length=1, truncation=True)["input_ids"]
            if not pieces:
                logger.warning("Target %r does not exist in the model vocabulary and tokenizes to nothing; ignoring it.", target)
                continue
            logger.warning(
                "Target %r does not exist in the model vocabulary; using its first token %r instead.",
                target, self.tokenizer.convert_ids_to_tokens(pieces[0]),
            )
            ids.append(pieces[0])
        if not ids:
            raise ValueError("At least one target must be provided when passed.")
        return list(dict.fromkeys(ids))

    def preprocess(self, text: str, tokenizer_kwargs: dict | None = None) -> Chunk:
        encoding = self.tokenizer(text, **(tokenizer_kwargs or {}))
        if self.tokenizer.mask_token_id not in encoding["input_ids"]:
            raise ValueError(f"No mask_token ({self.tokenizer.mask_token}) found in the input {text!r}.")
        return Chunk(self._tokenizer_inputs(encoding))

    def postprocess(self, chunk: Chunk, top_k: int = 5, target_ids: list[int] | None = None) -> list:
        input_ids = chunk.inputs["input_ids"]
        masked = [i for i, t in enumerate(input_ids) if t == self.tokenizer.mask_token_id]
        probs = chunk.outputs["logits"][masked].float().softmax(dim=-1)  # (masks, vocab)
        if target_ids is not None:
            probs = probs[:, target_ids]
        values, predictions = probs.topk(min(top_k, probs.shape[-1]))
        single = len(masked) == 1
        pad = self.tokenizer.pad_token_id
        results = []
        for position, scores, ids in zip(masked, values.tolist(), predictions.tolist()):
            row = []
            for score, index in zip(scores, ids):
                token = target_ids[index] if target_ids is not None else index
                tokens = [token if i == position else t for i, t in enumerate(input_ids)]
                # Other masks stay visible when there are several, so the sequence still shows where they are.
                sequence = self.tokenizer.decode([t for t in tokens if t != pad], skip_special_tokens=single)
                row.append({"score": score, "token": token, "token_str": self.tokenizer.decode([token]), "sequence": sequence})
            results.append(row)
        return results[0] if single else results

