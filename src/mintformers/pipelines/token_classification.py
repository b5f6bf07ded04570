"""token-classification (alias ner): a label per token, or entities grouped from them.

    ner("John lives in New York")
    → [{"entity": "B-PER", "score", "index": 1, "word": "john", "start": 0, "end": 4}, ...]
    ner("John lives in New York", aggregation_strategy="simple")
    → [{"entity_group": "PER", "score", "word": "john", "start": 0, "end": 4}, {"entity_group": "LOC", ...}]

aggregation_strategy (the reference's rules):
  none     one result per token (labels in `ignore_labels`, default ["O"], dropped).
  simple   adjacent tokens merge while the tag stays the same and the next token does not start with B-;
           the group's score is the mean of its tokens' scores.
  first / average / max   first make every word agree on one label (the first sub-token's, the average of the
           sub-tokens' distributions, or the most confident sub-token's), then group words as in simple.
           These need a fast tokenizer, which knows where words start.
`stride`: a text longer than the model's maximum length is cut into overlapping windows (stride tokens of overlap),
each window labelled, and overlapping entities resolved (longest wins, then highest score); needs an aggregation.
`is_split_into_words=True` takes a list of words (joined with `delimiter`, default " ") instead of a string.
Scores are Python floats (the reference returns numpy float32).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .base import Chunk, Pipeline

__all__ = ["TokenClassificationPipeline", "AGGREGATION_STRATEGIES"]

AGGREGATION_STRATEGIES = ("none", "simple", "first", "average", "max")
WORD_STRATEGIES = ("first", "average", "max")


def _strategy(value: Any) -> str:
    name = str(getattr(value, "value", value)).lower()
    if name not in AGGREGATION_STRATEGIES:
        raise ValueError(f"aggregation_strategy={value!r} is not one of {AGGREGATION_STRATEGIES}.")
    return name


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def _split_tag(label: str) -> tuple[str, str]:
    """("B" or "I", tag): B-X / I-X prefixes; a bare label counts as inside."""
    if label.startswith(("B-", "I-")):
        return label[0], label[2:]
    return "I", label


class TokenClassificationPipeline(Pipeline):
    task = "token-classification"
    chunked = True
    sequence_outputs = ("logits",)

    def __call__(self, inputs: Any, **options: Any) -> Any:
        split = options.get("is_split_into_words", self._defaults[0].get("is_split_into_words", False))
        if split and isinstance(inputs, list) and inputs and not all(isinstance(words, list) for words in inputs):
            inputs = [inputs]  # one pre-split text; the reference answers it as a batch of one
        return super().__call__(inputs, **options)

    def _sanitize(
        self,
        ignore_labels: list[str] | None = None,
        aggregation_strategy: str | None = None,
        stride: int | None = None,
        is_split_into_words: bool | None = None,
        delimiter: str | None = None,
        grouped_entities: bool | None = None,
        ignore_subwords: bool | None = None,
    ) -> tuple[dict, dict, dict]:
        pre: dict[str, Any] = {}
        if is_split_into_words is not None:
            pre["is_split_into_words"] = is_split_into_words
        if delimiter is not None:
            pre["delimiter"] = delimiter
        post: dict[str, Any] = {}
        if grouped_entities is not None or ignore_subwords is not None:
            aggregation_strategy = ("first" if ignore_subwords else "simple") if grouped_entities else "none"
            warnings.warn(
                f"grouped_entities / ignore_subwords are deprecated; use aggregation_strategy={aggregation_strategy!r}.",
                FutureWarning,
                stacklevel=3,
            )
        if aggregation_strategy is not None:
            aggregation_strategy = _strategy(aggregation_strategy)
            if aggregation_strategy in WORD_STRATEGIES and not self.tokenizer.is_fast:
                raise ValueError(
                    f'aggregation_strategy="{aggregation_strategy}" needs a fast tokenizer (it must know where words '
                    'start); use "simple" or a fast tokenizer.'
                )
            post["aggregation_strategy"] = aggregation_strategy
        if ignore_labels is not None:
            post["ignore_labels"] = list(ignore_labels)
        if stride is not None:
            if stride >= self.tokenizer.model_max_length:
                raise ValueError(
                    f"stride ({stride}) must be less than tokenizer.model_max_length ({self.tokenizer.model_max_length})"
                    " (or lower still, since special tokens are added)."
                )
            if aggregation_strategy == "none":
                raise ValueError(
                    'stride labels every window of a long text and then merges entities, which needs an aggregation: '
                    'choose aggregation_strategy "simple", "first", "average" or "max" instead of "none".'
                )
            if not self.tokenizer.is_fast:
                raise ValueError("stride needs a fast tokenizer (it splits the text into overlapping windows).")
            pre["stride"] = stride
        return pre, {}, post

    def preprocess(
        self, sentence: str | list[str], is_split_into_words: bool = False, delimiter: str = " ", stride: int | None = None
    ) -> list[Chunk]:
        word_starts = None
        if is_split_into_words:
            if not isinstance(sentence, list):
                raise ValueError("With is_split_into_words=True each input must be a list of words.")
            if not self.tokenizer.is_fast:
                raise ValueError("is_split_into_words=True needs a fast tokenizer.")
            words, sentence = sentence, delimiter.join(sentence)
            word_starts, position = [], 0
            for word in words:
                word_starts.append(position)
                position += len(word) + len(delimiter)
            text: str | list[str] = words
        elif not isinstance(sentence, str):
            raise ValueError(
                f"token-classification takes a string (or, with is_split_into_words=True, a list of words); got "
                f"{type(sentence).__name__}."
            )
        else:
            text = sentence
        windows = {"return_overflowing_tokens": True, "stride": stride} if stride is not None else {}
        max_length = self.tokenizer.model_max_length
        encoding = self.tokenizer(
            text,
            truncation=bool(max_length and max_length > 0),
            return_special_tokens_mask=True,
            return_offsets_mapping=self.tokenizer.is_fast,
            is_split_into_words=is_split_into_words,
            **windows,
        )
        rows = range(len(encoding["input_ids"])) if stride is not None else [None]
        chunks = []
        for row in rows:
            pick = (lambda v: v) if row is None else (lambda v, r=row: v[r])  # noqa: E731
            offsets = [tuple(o) for o in pick(encoding["offset_mapping"])] if "offset_mapping" in encoding else None
            if offsets is not None and word_starts is not None:
                # offsets are within each word: move them onto the joined sentence
                word_ids = encoding.word_ids(row or 0)
                offsets = [(s + word_starts[w], e + word_starts[w]) if w is not None else (s, e)
                           for (s, e), w in zip(offsets, word_ids)]
            info = {"sentence": sentence, "special": list(pick(encoding["special_tokens_mask"])), "offsets": offsets}
            chunks.append(Chunk(self._tokenizer_inputs(encoding, row), info))
        return chunks

    def forward(self, batch: dict, **options: Any) -> dict:
        return {"logits": self.model(**batch).logits}

    def postprocess(
        self, chunks: list[Chunk], aggregation_strategy: str = "none", ignore_labels: list[str] | None = None
    ) -> list[dict]:
        ignore = ["O"] if ignore_labels is None else ignore_labels
        entities = []
        for chunk in chunks:
            scores = _softmax(chunk.outputs["logits"].float().numpy())
            tokens = self._tokens(chunk, scores, aggregation_strategy)
            for entity in self._aggregate(tokens, aggregation_strategy):
                if entity.get("entity", entity.get("entity_group")) not in ignore:
                    entities.append(entity)
        if len(chunks) > 1:
            entities = self._resolve_overlaps(entities)
        for entity in entities:
            entity["score"] = float(entity["score"])
        return entities

    def _tokens(self, chunk: Chunk, scores: np.ndarray, strategy: str) -> list[dict]:
        """One record per non-special token: its text piece, distribution, char span and whether it continues a word."""
        sentence, offsets = chunk.info["sentence"], chunk.info["offsets"]
        ids = chunk.inputs["input_ids"]
        backend = getattr(self.tokenizer, "_tokenizer", None)
        knows_subwords = bool(backend is not None and getattr(backend.model, "continuing_subword_prefix", None))
        tokens = []
        for index, (token_id, special) in enumerate(zip(ids, chunk.info["special"])):
            if special:
                continue
            word = self.tokenizer.convert_ids_to_tokens(int(token_id))
            start = end = None
            is_subword = False
            if offsets is not None:
                start, end = offsets[index]
                piece = sentence[start:end]
                if knows_subwords:
                    # A continuation piece carries the prefix ("##"), so it is longer than its text.
                    is_subword = len(word) != len(piece)
                else:
                    if strategy in WORD_STRATEGIES:
                        warnings.warn("Tokenizer does not support real words, using fallback heuristic", UserWarning, stacklevel=2)
                    is_subword = start > 0 and " " not in sentence[start - 1 : start + 1]
                if token_id == self.tokenizer.unk_token_id:
                    word, is_subword = piece, False
            tokens.append({"word": word, "scores": scores[index], "start": start, "end": end, "index": index,
                           "is_subword": is_subword})
        return tokens

    def _aggregate(self, tokens: list[dict], strategy: str) -> list[dict]:
        id2label = self.model.config.id2label
        if strategy in ("none", "simple"):
            entities = []
            for token in tokens:
                best = int(token["scores"].argmax())
                entities.append({"entity": id2label[best], "score": token["scores"][best], "index": token["index"],
                                 "word": token["word"], "start": token["start"], "end": token["end"]})
            if strategy == "none":
                return entities
        else:
            entities = [self._word_entity(word, strategy) for word in self._words(tokens)]
        return self._group(entities)

    @staticmethod
    def _words(tokens: list[dict]) -> list[list[dict]]:
        words: list[list[dict]] = []
        for token in tokens:
            if words and token["is_subword"]:
                words[-1].append(token)
            else:
                words.append([token])
        return words

    def _word_entity(self, pieces: list[dict], strategy: str) -> dict:
        """One label for a whole word, so that a word is never split between entities."""
        if strategy == "first":
            scores = pieces[0]["scores"]
        elif strategy == "max":
            scores = max(pieces, key=lambda p: p["scores"].max())["scores"]
        else:
            scores = np.nanmean(np.stack([p["scores"] for p in pieces]), axis=0)
        best = int(scores.argmax())
        return {"entity": self.model.config.id2label[best], "score": scores[best],
                "word": self.tokenizer.convert_tokens_to_string([p["word"] for p in pieces]),
                "start": pieces[0]["start"], "end": pieces[-1]["end"]}

    def _group(self, entities: list[dict]) -> list[dict]:
        """Merge runs of the same tag; a B- label always starts a new entity."""
        groups: list[list[dict]] = []
        for entity in entities:
            bi, tag = _split_tag(entity["entity"])
            if groups and bi != "B" and _split_tag(groups[-1][-1]["entity"])[1] == tag:
                groups[-1].append(entity)
            else:
                groups.append([entity])
        return [
            {"entity_group": group[0]["entity"].split("-", 1)[-1],
             "score": np.mean(np.nanmean([e["score"] for e in group])),
             "word": self.tokenizer.convert_tokens_to_string([e["word"] for e in group]),
             "start": group[0]["start"], "end": group[-1]["end"]}
            for group in groups
        ]

    @staticmethod
    def _resolve_overlaps(entities: list[dict]) -> list[dict]:
        """Entities found in overlapping windows: of two that overlap keep the longer, then the more confident."""
        if not entities:
            return entities
        entities = sorted(entities, key=lambda e: e["start"])
        kept, current = [], entities[0]
        for entity in entities:
            if current["start"] <= entity["start"] < current["end"]:
                longer = entity["end"] - entity["start"] - (current["end"] - current["start"])
                if longer > 0 or (longer == 0 and entity["score"] > current["score"]):
                    current = entity
            else:
                kept.append(current)
                current = entity
        kept.append(current)
        return kept
