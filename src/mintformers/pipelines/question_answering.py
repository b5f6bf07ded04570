"""question-answering: the span of a context that answers a question.

    qa(question="Where does John live?", context="John lives in Paris.")
    → {"score": 0.93, "start": 14, "end": 19, "answer": "Paris"}

Inputs: `question=` / `context=` (strings, or a list of questions for one context, or two lists of equal length),
a {"question", "context"} dict, a list of such dicts, or two positional strings. One question gives a dict (or a
list when top_k > 1); several give a list of those.

A context too long for `max_seq_len` tokens (default min(384, model maximum)) is cut into windows overlapping by
`doc_stride` tokens (default min(max_seq_len // 2, 128)); every window is scored and the best spans of all windows
compete, identical answer texts adding their scores. A span's score is p(start) · p(end) with softmax over the
context tokens of its window; spans are at most `max_answer_len` tokens. `handle_impossible_answer=True` adds the
empty answer {"answer": "", "start": 0, "end": 0} scored by the [CLS] position. `align_to_words` (default True)
widens spans to whole words. Character offsets come from a fast tokenizer.
"""

from __future__ import annotations

import inspect
import types
from typing import Any

import numpy as np

from .base import Chunk, Pipeline

__all__ = ["QuestionAnsweringPipeline", "best_spans"]


def best_spans(
    start: np.ndarray, end: np.ndarray, allowed: np.ndarray, k: int, max_answer_len: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The k best (start, end, score) with start <= end < start + max_answer_len, score = start[s] · end[e], then
    those whose start and end are allowed positions. Tie order follows numpy exactly as the reference does."""
    scores = np.tril(np.triu(np.outer(start, end)), max_answer_len - 1)  # (T, T): valid spans only
    flat = scores.ravel()
    if k == 1:
        order = np.array([flat.argmax()])
    elif flat.size < k:
        order = np.argsort(-flat)
    else:
        top = np.argpartition(-flat, k)[:k]
        order = top[np.argsort(-flat[top])]
    starts, ends = np.unravel_index(order, scores.shape)
    # The reference tests membership in both axes of a (1, T) mask's nonzero(), so position 0 always passes.
    ok = allowed.copy()
    ok[0] |= bool(allowed.any())
    keep = ok[starts] & ok[ends]
    starts, ends = starts[keep], ends[keep]
    return starts, ends, scores[starts, ends]


class QuestionAnsweringPipeline(Pipeline):
    task = "question-answering"
    chunked = True
    sequence_outputs = ("start_logits", "end_logits")
    item_types = (dict,)

    def __call__(self, *args: Any, **options: Any) -> Any:
        question, context = options.pop("question", None), options.pop("context", None)
        for legacy in ("X", "data"):
            if legacy in options:
                args = (options.pop(legacy),)
        items = self._items(args, question, context)
        if isinstance(items, list) and len(items) == 1:
            items = items[0]
        return super().__call__(items, **options)

    @staticmethod
    def _items(args: tuple, question: Any, context: Any) -> Any:
        if args:
            if len(args) == 2 and all(isinstance(a, str) for a in args):
                items: Any = [{"question": args[0], "context": args[1]}]
            elif len(args) == 1:
                items = args[0]
            else:
                items = list(args)
        elif question is not None and context is not None:
            if isinstance(question, str) and isinstance(context, str):
                items = [{"question": question, "context": context}]
            elif isinstance(question, list) and isinstance(context, str):
                items = [{"question": q, "context": context} for q in question]
            elif isinstance(question, list) and isinstance(context, list):
                if len(question) != len(context):
                    raise ValueError(f"Got {len(question)} questions but {len(context)} contexts; pass one context per question.")
                items = [{"question": q, "context": c} for q, c in zip(question, context)]
            else:
                raise ValueError("question/context must be strings, a list of questions with one context, or two lists.")
        else:
            raise ValueError("question-answering needs question=... and context=... (or {'question': ..., 'context': ...}).")
        if isinstance(items, (types.GeneratorType, dict)) or not isinstance(items, (list, tuple)):
            return items
        return list(items)

    def _sanitize(
        self,
        top_k: int | None = None,
        doc_stride: int | None = None,
        max_answer_len: int | None = None,
        max_seq_len: int | None = None,
        max_question_len: int | None = None,
        handle_impossible_answer: bool | None = None,
        align_to_words: bool | None = None,
        padding: Any = None,
        topk: int | None = None,
    ) -> tuple[dict, dict, dict]:
        pre = {k: v for k, v in {"doc_stride": doc_stride, "max_seq_len": max_seq_len, "padding": padding}.items()
               if v is not None}
        # max_question_len only matters for the reference's slow-tokenizer path; accepted and unused here.
        post: dict[str, Any] = {}
        top_k = top_k if top_k is not None else topk
        if top_k is not None:
            if top_k < 1:
                raise ValueError(f"top_k must be >= 1, got {top_k}.")
            post["top_k"] = top_k
        if max_answer_len is not None:
            if max_answer_len < 1:
                raise ValueError(f"max_answer_len must be >= 1, got {max_answer_len}.")
            post["max_answer_len"] = max_answer_len
        if handle_impossible_answer is not None:
            post["handle_impossible_answer"] = handle_impossible_answer
        if align_to_words is not None:
            post["align_to_words"] = align_to_words
        return pre, {}, post

    def preprocess(
        self, item: dict, doc_stride: int | None = None, max_seq_len: int | None = None, padding: Any = "do_not_pad"
    ) -> list[Chunk]:
        question, context = self._check_item(item)
        if not self.tokenizer.is_fast:
            raise NotImplementedError(
                f"question-answering needs a fast tokenizer (character offsets of tokens); {type(self.tokenizer).__name__} "
                "has none. Load the tokenizer with use_fast=True."
            )
        if max_seq_len is None:
            max_seq_len = min(self.tokenizer.model_max_length, 384)
        if doc_stride is None:
            doc_stride = min(max_seq_len // 2, 128)
        if doc_stride > max_seq_len:
            raise ValueError(f"doc_stride ({doc_stride}) is larger than max_seq_len ({max_seq_len}).")
        # Left-padding tokenizers put the context first (the reference's convention).
        question_first = self.tokenizer.padding_side == "right"
        encoding = self.tokenizer(
            text=question if question_first else context,
            text_pair=context if question_first else question,
            padding=padding,
            truncation="only_second" if question_first else "only_first",
            max_length=max_seq_len,
            stride=doc_stride,
            return_token_type_ids=True,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            return_special_tokens_mask=True,
        )
        cls_id = self.tokenizer.cls_token_id
        chunks = []
        for row in range(len(encoding["input_ids"])):
            # p_mask: 1 where an answer cannot be (question, special tokens), except [CLS] (the "no answer" slot).
            p_mask = [int(s != 1) if question_first else 0 for s in encoding.sequence_ids(row)]
            for i, token_id in enumerate(encoding["input_ids"][row]):
                if cls_id is not None and token_id == cls_id:
                    p_mask[i] = 0
            inputs = self._tokenizer_inputs(encoding, row)
            mask = encoding["attention_mask"][row] if "attention_mask" in encoding else None
            info = {"context": context, "p_mask": p_mask, "attention_mask": mask, "encoding": encoding[row],
                    "sequence_index": 1 if question_first else 0}
            chunks.append(Chunk(inputs, info))
        return chunks

    @staticmethod
    def _check_item(item: Any) -> tuple[str, str]:
        if not isinstance(item, dict):
            raise ValueError(f"A question-answering input is a dict with 'question' and 'context'; got {type(item).__name__}.")
        for key in ("question", "context"):
            if key not in item:
                raise KeyError(f"A question-answering input needs the keys 'question' and 'context'; {key!r} is missing.")
            if item[key] is None:
                raise ValueError(f"`{key}` cannot be None")
            if isinstance(item[key], str) and not item[key]:
                raise ValueError(f"`{key}` cannot be empty")
        return item["question"], item["context"]

    def forward(self, batch: dict, **options: Any) -> dict:
        if "use_cache" in inspect.signature(self.model.forward).parameters:
            batch["use_cache"] = False
        output = self.model(**batch)
        return {"start_logits": output.start_logits, "end_logits": output.end_logits}

    def postprocess(
        self,
        chunks: list[Chunk],
        top_k: int = 1,
        handle_impossible_answer: bool = False,
        max_answer_len: int = 15,
        align_to_words: bool = True,
    ) -> dict | list[dict]:
        null_score = 1000000.0  # the lowest "no answer" score over windows; starts large
        answers: list[dict] = []
        candidates = top_k * 2 + 10 if align_to_words else top_k  # word alignment may merge some candidates
        for chunk in chunks:
            info = chunk.info
            allowed = np.array(info["p_mask"]) == 0
            if info["attention_mask"] is not None:
                allowed &= np.array(info["attention_mask"]) == 1
            start = self._probs(chunk.outputs["start_logits"], allowed)
            end = self._probs(chunk.outputs["end_logits"], allowed)
            if handle_impossible_answer:
                null_score = min(null_score, (start[0] * end[0]).item())
            start[0] = end[0] = 0.0
            context = info["context"]
            for s, e, score in zip(*best_spans(start, end, allowed, candidates, max_answer_len)):
                first, last = self._char_span(info["encoding"], int(s), int(e), info["sequence_index"], align_to_words)
                text = context[first:last]
                same = next((a for a in answers if a["answer"].lower() == text.lower()), None)
                if same is not None:
                    same["score"] += score.item()
                else:
                    answers.append({"score": score.item(), "start": first, "end": last, "answer": text})
        if handle_impossible_answer:
            answers.append({"score": null_score, "start": 0, "end": 0, "answer": ""})
        answers = sorted(answers, key=lambda a: a["score"], reverse=True)[:top_k]
        return answers[0] if len(answers) == 1 else answers

    @staticmethod
    def _probs(logits: Any, allowed: np.ndarray) -> np.ndarray:
        """Softmax over the allowed positions (float32, as the reference computes it)."""
        x = np.where(allowed, logits.float().numpy(), np.float32(-10000.0))
        x = np.exp(x - x.max())
        return x / x.sum()

    @staticmethod
    def _char_span(encoding: Any, s: int, e: int, sequence_index: int, align_to_words: bool) -> tuple[int, int]:
        if align_to_words:
            try:
                first = encoding.word_to_chars(encoding.token_to_word(s), sequence_index=sequence_index)[0]
                last = encoding.word_to_chars(encoding.token_to_word(e), sequence_index=sequence_index)[1]
                return first, last
            except Exception:  # a token outside any word (special tokens): fall back to its own offsets
                pass
        return encoding.offsets[s][0], encoding.offsets[e][1]
