"""UIE-M information extraction with `ErnieMForInformationExtraction`: prompts, windows, span decoding.

Universal Information Extraction (UIE; PaddleNLP's UIE-M for ErnieM) asks one question per label: the label is the
prompt, the text the second sequence (`[CLS] prompt [SEP] [SEP] text [SEP]`), and the model scores every token as a
span start and a span end. Here:

1. every text is tokenized once, with character offsets, and cut into windows of tokens that overlap by `stride`
   tokens, so a text of any length fits the model (`max_seq_len` tokens, prompt and special tokens included);
2. (prompt, window) pairs run through the model in batches; sigmoid turns the start / end logits into probabilities;
3. tokens of the text whose start (end) probability exceeds `position_prob` are start (end) candidates; UIE's pairing
   (`_pair_spans`) matches each end with the closest start before it, and a span's probability is the product of
   its start and end probabilities;
4. token spans become character spans of the original text; a span found in several windows is kept once, with its
   highest probability.

A schema is a label, a list of labels, or {label: [relation labels]} (nested as deep as wanted, in lists or dicts,
as UIE's). Relations are extracted for every span found for their parent, with the prompt "<relation> of <span>"
(`schema_lang="en"`) or "<span>的<relation>" (`"ch"`, UIE's default), and nested under the span's "relations".

    from mintformers import AutoTokenizer, ErnieMForInformationExtraction
    from mintformers.extraction import extract
    extract(model, tokenizer, "Tim Cook leads Apple.", ["person", "organisation"])
    → {"person": [{"text": "Tim Cook", "start": 0, "end": 8, "probability": 0.97}], "organisation": [...]}

Labels with no span are left out of a text's result, as UIE does.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

import torch

__all__ = ["Schema", "Span", "extract"]

logger = logging.getLogger(__name__)

_DEFAULT_STRIDE = 64

Schema = str | Sequence[str | Mapping[str, "Schema"]] | Mapping[str, "Schema"]


class Span(TypedDict, total=False):
    text: str  # text[start:end]
    start: int  # character offsets in the original text
    end: int
    probability: float  # start probability × end probability
    relations: dict[str, list[Span]]  # only for schema labels with relations, and only the labels that matched


@dataclass
class _Node:
    """One schema label and the labels asked about each of its spans."""

    name: str
    children: list[_Node] = field(default_factory=list)


def _parse_schema(schema: Schema) -> list[_Node]:
    if isinstance(schema, str):
        return [_Node(schema)]
    if isinstance(schema, Mapping):
        return [_Node(_label(name), _parse_schema(children) if children else []) for name, children in schema.items()]
    if isinstance(schema, Sequence):
        return [node for item in schema for node in _parse_schema(item)]
    raise TypeError(f"A schema is a label, a list of labels or a {{label: [relation labels]}} dict, not {schema!r}")


def _label(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"Schema labels must be non-empty strings, got {name!r}")
    return name


def _pair_spans(starts: list[tuple[int, float]], ends: list[tuple[int, float]]) -> list[tuple[int, int, float]]:
    """UIE's `get_span`: walk starts and ends in position order; an end takes the closest start at or before it
    (a start is used once, unless it is also the end); ends with no start are dropped.

    starts / ends: (token index, probability). Returns (start index, end index, probability), probability =
    start probability × end probability."""
    starts, ends = sorted(starts), sorted(ends)
    paired: dict[tuple[int, float], tuple[int, float]] = {}
    i = j = 0
    while i < len(starts) and j < len(ends):
        if starts[i][0] == ends[j][0]:
            paired[ends[j]] = starts[i]
            i += 1
            j += 1
        elif starts[i][0] < ends[j][0]:
            paired[ends[j]] = starts[i]  # a later start before the same end replaces this one
            i += 1
        else:
            j += 1
    return sorted({(s[0], e[0], s[1] * e[1]) for e, s in paired.items()})


@dataclass
class _Text:
    """A text tokenized once: its token ids and each token's character span."""

    text: str
    ids: list[int]
    offsets: list[tuple[int, int]]


@dataclass
class _Query:
    """One question: a prompt about one text; `spans` collects {(start, end): probability} over its windows.
    A question about a span (a relation) whose prompt leaves no room for the text is skipped with a warning; one
    about a schema label is an error."""

    prompt: str
    text: int
    about_span: bool = False
    spans: dict[tuple[int, int], float] = field(default_factory=dict)


@dataclass
class _Window:
    ids: list[int]  # the model input: [CLS] prompt [SEP] [SEP] window [SEP]
    at: int  # where the window's tokens start in `ids`
    first: int  # index of the window's first token in the text
    size: int  # tokens of the text in the window


class _Extractor:
    def __init__(self, model, tokenizer, position_prob, max_seq_len, stride, batch_size, schema_lang):
        if not 0 <= position_prob < 1:
            raise ValueError(f"position_prob must be in [0, 1), got {position_prob}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if stride is not None and stride < 0:
            raise ValueError(f"stride must be >= 0, got {stride}")
        if schema_lang not in ("ch", "en"):
            raise ValueError(f"schema_lang must be 'ch' or 'en', got {schema_lang!r}")
        limit = getattr(getattr(model, "config", None), "max_tokens", None)
        self.max_seq_len = min(max_seq_len, limit) if limit else max_seq_len
        self.model, self.tokenizer = model, tokenizer
        self.position_prob, self.stride, self.batch_size, self.schema_lang = (
            position_prob,
            stride,
            batch_size,
            schema_lang,
        )
        self.n_special = len(tokenizer.build_inputs_with_special_tokens([], []))
        self._prompt_ids: dict[str, list[int]] = {}

    def tokenize_text(self, text: str) -> _Text:
        try:
            encoded = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        except NotImplementedError as e:
            raise ValueError(
                f"{type(self.tokenizer).__name__} gives no character offsets, which span extraction needs; use "
                "ErnieMTokenizer or ErnieMTokenizerFast."
            ) from e
        return _Text(text, list(encoded["input_ids"]), [tuple(o) for o in encoded["offset_mapping"]])

    def prompt_ids(self, prompt: str) -> list[int]:
        ids = self._prompt_ids.get(prompt)
        if ids is None:
            ids = self._prompt_ids[prompt] = list(self.tokenizer(prompt, add_special_tokens=False)["input_ids"])
        return ids

    def relation_prompt(self, relation: str, span_text: str) -> str:
        return f"{span_text}的{relation}" if self.schema_lang == "ch" else f"{relation} of {span_text}"

    def windows(self, query: _Query, text: _Text) -> list[_Window]:
        """The model inputs for the question: one per window of the text."""
        prompt = self.prompt_ids(query.prompt)
        room = self.max_seq_len - len(prompt) - self.n_special
        stride = min(_DEFAULT_STRIDE, room // 4) if self.stride is None else self.stride
        if room <= stride or room <= 0:
            message = (
                f"The prompt {query.prompt!r} ({len(prompt)} tokens) leaves {max(room, 0)} of max_seq_len="
                f"{self.max_seq_len} tokens for the text, not more than stride={stride}"
            )
            if query.about_span:
                logger.warning(message + "; this relation question is skipped.")
                return []
            raise ValueError(message + ": use a shorter label, a larger max_seq_len or a smaller stride.")
        out = []
        first = 0
        while first < len(text.ids):
            window = text.ids[first : first + room]
            mask = self.tokenizer.get_special_tokens_mask(prompt, window)
            # The window's tokens are the last len(window) non-special positions (the prompt's come first).
            at = [i for i, special in enumerate(mask) if not special][len(prompt)]
            out.append(_Window(self.tokenizer.build_inputs_with_special_tokens(prompt, window), at, first, len(window)))
            if first + room >= len(text.ids):
                break
            first += room - stride
        return out

    @torch.no_grad()
    def run(self, queries: list[_Query], texts: list[_Text]) -> None:
        """Fill every question's spans: all their windows, in batches of `batch_size`."""
        jobs = [(query, window) for query in queries for window in self.windows(query, texts[query.text])]
        device = next(self.model.parameters()).device
        pad = self.tokenizer.pad_token_id
        for begin in range(0, len(jobs), self.batch_size):
            batch = jobs[begin : begin + self.batch_size]
            width = max(len(window.ids) for _, window in batch)
            input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
            attention_mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, (_, window) in enumerate(batch):
                input_ids[row, : len(window.ids)] = torch.tensor(window.ids)
                attention_mask[row, : len(window.ids)] = 1
            outputs = self.model(input_ids=input_ids.to(device), attention_mask=attention_mask.to(device))
            start_probs = torch.sigmoid(outputs.start_logits.float()).cpu()  # (B, T)
            end_probs = torch.sigmoid(outputs.end_logits.float()).cpu()
            for row, (query, window) in enumerate(batch):
                text_part = slice(window.at, window.at + window.size)
                self._collect(query, texts[query.text], window, start_probs[row, text_part], end_probs[row, text_part])

    def _collect(self, query: _Query, text: _Text, window: _Window, start_probs, end_probs) -> None:
        """Candidates above position_prob → paired spans → character spans, best probability per span."""
        limit = self.position_prob
        starts = [(k, p) for k, p in enumerate(start_probs.tolist()) if p > limit]
        ends = [(k, p) for k, p in enumerate(end_probs.tolist()) if p > limit]
        for s, e, probability in _pair_spans(starts, ends):
            key = (text.offsets[window.first + s][0], text.offsets[window.first + e][1])
            if probability > query.spans.get(key, -1.0):
                query.spans[key] = probability


def _spans(query: _Query, text: str) -> list[Span]:
    return [
        Span(text=text[start:end], start=start, end=end, probability=probability)
        for (start, end), probability in sorted(query.spans.items())
    ]


def extract(
    model: torch.nn.Module,
    tokenizer: Any,
    texts: str | Sequence[str],
    schema: Schema,
    *,
    position_prob: float = 0.5,
    max_seq_len: int = 512,
    stride: int | None = None,
    batch_size: int = 16,
    schema_lang: str = "ch",
) -> dict[str, list[Span]] | list[dict[str, list[Span]]]:
    """Extract the schema's spans from `texts` (see the module docstring).

    Args:
        model: an `ErnieMForInformationExtraction` (anything returning `start_logits` / `end_logits` (B, T)).
        tokenizer: its `ErnieMTokenizer` / `ErnieMTokenizerFast` (character offsets are needed).
        texts: one text (→ one result dict) or a list (→ a list of dicts).
        schema: labels, or {label: [relation labels]} for relations.
        position_prob: a token is a start / end candidate when its probability is above this (UIE's 0.5).
        max_seq_len: tokens per model input, prompt and special tokens included (at most the model's limit).
        stride: tokens shared by consecutive windows of a long text; by default 64, or a quarter of the window
            when the window is shorter than 256 tokens.
        batch_size: model inputs per forward pass.
        schema_lang: how relation prompts are phrased: "ch" → "<span>的<relation>", "en" → "<relation> of <span>".

    Returns {label: [{"text", "start", "end", "probability"(, "relations")}]} per text, spans in text order.
    """
    single = isinstance(texts, str)
    texts = [texts] if single else list(texts)
    if not all(isinstance(t, str) for t in texts):
        raise TypeError("texts must be a str or a list of str")
    nodes = _parse_schema(schema)
    if not nodes:
        raise ValueError("The schema has no label.")
    extractor = _Extractor(model, tokenizer, position_prob, max_seq_len, stride, batch_size, schema_lang)
    tokenized = [extractor.tokenize_text(t) for t in texts]
    results: list[dict[str, list[Span]]] = [{} for _ in texts]

    was_training = getattr(model, "training", False)
    model.eval()
    try:
        # One level of the schema at a time: every question of a level runs in the same batches.
        level = [_Query(node.name, i) for node in nodes for i in range(len(texts))]
        level_nodes = [node for node in nodes for _ in texts]
        targets: list[dict[str, list[Span]]] = [results[i] for _ in nodes for i in range(len(texts))]
        while level:
            extractor.run(level, tokenized)
            next_level, next_nodes, next_targets = [], [], []
            for query, node, target in zip(level, level_nodes, targets):
                spans = _spans(query, texts[query.text])
                if not spans:
                    continue
                target.setdefault(node.name, []).extend(spans)
                for span in spans:
                    for child in node.children:
                        prompt = extractor.relation_prompt(child.name, span["text"])
                        next_level.append(_Query(prompt, query.text, about_span=True))
                        next_nodes.append(child)
                        next_targets.append(span.setdefault("relations", {}))
            level, level_nodes, targets = next_level, next_nodes, next_targets
        for result in results:  # drop the relation dicts nothing was found for
            _prune(result)
    finally:
        model.train(was_training)
    return results[0] if single else results


def _prune(result: dict[str, list[Span]]) -> None:
    for spans in result.values():
        for span in spans:
            if "relations" in span:
                _prune(span["relations"])
                if not span["relations"]:
                    del span["relations"]
