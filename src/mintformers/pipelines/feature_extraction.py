"""feature-extraction: the model's first output (a base model's last hidden state) for each text.

    extract("A sentence.")                      → nested lists of shape [1, tokens, hidden]
    extract("A sentence.", return_tensors=True) → a tensor of shape (1, tokens, hidden)

Unlike the reference with batch_size > 1, the features of a short text never include the padding positions of its
batch: every text gets exactly its own tokens, whatever the batch size.
"""

from __future__ import annotations

from typing import Any

from .base import Chunk, Pipeline

__all__ = ["FeatureExtractionPipeline"]


class FeatureExtractionPipeline(Pipeline):
    task = "feature-extraction"
    sequence_outputs = ("features",)

    def _sanitize(
        self, truncation: bool | str | None = None, tokenize_kwargs: dict | None = None, return_tensors: bool | None = None
    ) -> tuple[dict, dict, dict]:
        tokenize_kwargs = dict(tokenize_kwargs or {})
        if truncation is not None:
            if "truncation" in tokenize_kwargs:
                raise ValueError("truncation was given twice (as an option and inside tokenize_kwargs); give it once.")
            tokenize_kwargs["truncation"] = truncation
        post = {"return_tensors": return_tensors} if return_tensors is not None else {}
        return tokenize_kwargs, {}, post

    def preprocess(self, text: str, **tokenize_kwargs: Any) -> Chunk:
        return Chunk(self._tokenizer_inputs(self.tokenizer(text, **tokenize_kwargs)))

    def forward(self, batch: dict, **options: Any) -> dict:
        output = self.model(**batch)
        return {"features": output[0]}

    def postprocess(self, chunk: Chunk, return_tensors: bool = False) -> Any:
        features = chunk.outputs["features"].unsqueeze(0)  # the reference keeps the batch axis: (1, tokens, hidden)
        return features if return_tensors else features.tolist()
