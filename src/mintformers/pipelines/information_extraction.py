"""information-extraction: UIE-M style extraction with ErnieMForInformationExtraction (no reference pipeline).

    extract = pipeline("information-extraction", model="path/to/uie-m", schema=["person", "organisation"])
    extract("Tim Cook leads Apple.")
    → {"person": [{"text": "Tim Cook", "start": 0, "end": 8, "probability": 0.97}], "organisation": [...]}

The extraction itself (prompts per label, windows over long texts, span decoding, relations) is
`mintformers.extraction.extract`; this pipeline gives it the pipeline interface: a text, a list (→ a list of
results) or a stream (→ an iterator), options at build or call time. Options: `schema` (required: a label, a list of
labels, or {label: [relation labels]}), `position_prob` (0.5), `max_seq_len` (512), `stride` (64),
`schema_lang` ("ch" or "en", how relation prompts are phrased). `batch_size` counts model inputs (one per label and
window) per forward pass, 16 unless given; results do not depend on it. Labels with no span are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from .base import Pipeline

__all__ = ["InformationExtractionPipeline"]

DEFAULT_BATCH_SIZE = 16  # model inputs per pass, as extraction.extract's default


class InformationExtractionPipeline(Pipeline):
    task = "information-extraction"

    def __init__(self, *args: Any, batch_size: int | None = None, **kwargs: Any):
        super().__init__(*args, batch_size=batch_size or DEFAULT_BATCH_SIZE, **kwargs)

    def _sanitize(
        self,
        schema: Any = None,
        position_prob: float | None = None,
        max_seq_len: int | None = None,
        stride: int | None = None,
        schema_lang: str | None = None,
    ) -> tuple[dict, dict, dict]:
        given = {"schema": schema, "position_prob": position_prob, "max_seq_len": max_seq_len, "stride": stride,
                 "schema_lang": schema_lang}
        return {}, {k: v for k, v in given.items() if v is not None}, {}

    # extract() batches (label, window) inputs across texts itself, so texts go to it whole rather than as chunks.
    def _extract(self, texts: list[str], batch_size: int, options: dict) -> list[dict]:
        if "schema" not in options:
            raise ValueError(
                'information-extraction needs schema=...: a label, a list of labels or {label: [relation labels]}, '
                'e.g. pipeline("information-extraction", model=..., schema=["person", "organisation"]).'
            )
        from ..extraction import extract

        return extract(self.model, self.tokenizer, texts, batch_size=batch_size, **options)

    def _run(self, items: Iterable[Any], batch_size: int, pre: dict, fwd: dict, post: dict) -> Iterator[dict]:
        for text in items:  # a stream: one text at a time, results as they come
            yield from self._extract([text], batch_size, fwd)

    def _run_by_length(self, items: list | tuple, batch_size: int, pre: dict, fwd: dict, post: dict) -> list[dict]:
        return self._extract(list(items), batch_size, fwd)
