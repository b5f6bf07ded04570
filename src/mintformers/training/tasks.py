"""What each fine-tuning task reads, how it batches, what loss it trains and what it reports.

| task                      | model                               | record fields                                      | main metric  |
|---------------------------|-------------------------------------|----------------------------------------------------|--------------|
| sequence-classification   | AutoModelForSequenceClassification  | text, text_pair (optional), label (int/str; float: regression) | accuracy (regression: spearman) |
| token-classification      | AutoModelForTokenClassification     | tokens (words), tags (one per word, int/str)       | token_f1     |
| question-answering        | AutoModelForQuestionAnswering       | question, context, answers {text: [..], answer_start: [..]} | exact_match |
| multiple-choice           | AutoModelForMultipleChoice          | question, choices (list), label (index)            | accuracy     |
| masked-lm                 | AutoModelForMaskedLM                | text                                               | loss         |
| causal-lm                 | AutoModelForCausalLM (MPT)          | text                                               | loss         |
| sentence-embedding        | SentenceEncoder                     | train: anchor, positive, negative (optional); eval: sentence1, sentence2, score | spearman |

A task tokenizes a list of records into padded tensors (`collate`), says how many items its loss averages over
(`count`: examples, or labelled tokens), and turns model outputs into per-example results for its metrics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..layers.losses import (
    causal_lm_loss,
    masked_lm_loss,
    multiple_negatives_ranking_loss,
    question_answering_loss,
    sequence_classification_loss,
    token_classification_loss,
)
from . import metrics
from .data import pad_rows

__all__ = ["Task", "TASKS", "task_for", "infer_task"]

Batch = tuple[dict[str, torch.Tensor], dict[str, Any]]  # (model inputs, what evaluation needs besides)
# Families whose position ids start after the padding index (as RoBERTa): two fewer usable positions.
_POSITION_OFFSETS = {"mpnet": 2, "ernie_m": 2}


def _field(record: dict[str, Any], names: Sequence[str], task: str, index: int) -> Any:
    for name in names:
        if name in record:
            return record[name]
    raise ValueError(
        f"Record {index} has no {' / '.join(repr(n) for n in names)} field, which the {task} task reads "
        f"(it has: {sorted(record)}). See mintformers.training.tasks for each task's fields."
    )


class Task:
    name: ClassVar[str]
    auto_class: ClassVar[str | None] = None
    main_metric: str = "loss"
    find_unused_parameters: ClassVar[bool] = False  # DDP: parameters the task's loss never reaches

    def __init__(self, tokenizer: Any, *, max_length: int | None = None, seed: int = 0, mlm_probability: float = 0.15,
                 embedding_scale: float = 20.0, labels: Sequence[Any] | None = None):
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.seed = seed
        self.mlm_probability = mlm_probability
        self.embedding_scale = embedding_scale
        self.label_names = list(labels) if labels is not None else None

    @property
    def greater_is_better(self) -> bool:
        return not self.main_metric.endswith("loss")

    # ---- the model -------------------------------------------------------------------------------------------------
    def prepare(self, train: Any, evaluation: Any) -> None:
        """Look at the data before the model is built (e.g. to learn the label set)."""

    def model_kwargs(self) -> dict[str, Any]:
        return {}

    def load(self, source: Any) -> nn.Module:
        from .. import auto

        return getattr(auto, self.auto_class).from_pretrained(source, **self.model_kwargs())

    def adopt(self, model: nn.Module) -> None:
        """A model built by the user: take what the task needs from its config (labels, limits)."""
        self._set_max_length(model.config)

    def _set_max_length(self, config: Any) -> None:
        limits = [self.max_length, getattr(self.tokenizer, "model_max_length", None)]
        for key in ("max_position_embeddings", "max_seq_len"):
            value = getattr(config, key, None)
            if isinstance(value, int) and value > 0:
                limits.append(value - _POSITION_OFFSETS.get(config.model_type, 0))
                break
        limits = [v for v in limits if isinstance(v, int) and 0 < v < 1_000_000]
        self.max_length = min(limits) if limits else None

    def save(self, model: nn.Module, directory: Any) -> None:
        model.save_pretrained(directory)
        self.tokenizer.save_pretrained(directory)

    # ---- data ------------------------------------------------------------------------------------------------------
    def _encode(self, first: list[Any], second: list[Any] | None = None, **kwargs: Any):
        return self.tokenizer(
            first, second, padding=True, truncation="only_second" if kwargs.pop("only_second", False) else True,
            max_length=self.max_length, padding_side="right", return_tensors="pt", **kwargs,
        )

    def _inputs(self, encoding: Any) -> dict[str, torch.Tensor]:
        return {k: encoding[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in encoding}

    def collate(self, records: list[dict[str, Any]], indices: list[int], epoch: int, train: bool) -> Batch:
        raise NotImplementedError

    def count(self, inputs: dict[str, torch.Tensor]) -> int:
        """How many items the loss of this batch averages over."""
        return int(inputs["input_ids"].shape[0])

    def loss(self, model: nn.Module, inputs: dict[str, torch.Tensor], meta: dict[str, Any]) -> torch.Tensor:
        return model(**inputs).loss

    # ---- evaluation ------------------------------------------------------------------------------------------------
    def evaluate_batch(self, model: nn.Module, inputs: dict[str, torch.Tensor], meta: dict[str, Any]) -> list[dict[str, Any]]:
        """Per example: {"loss": summed loss, "count": items} and whatever the metrics need."""
        raise NotImplementedError

    def metrics(self, results: list[dict[str, Any]]) -> dict[str, float]:
        total = sum(r["count"] for r in results)
        loss = sum(r["loss"] for r in results) / total if total else float("nan")
        return {"loss": loss}


def _labels_only(inputs: dict[str, torch.Tensor], *names: str) -> tuple[dict[str, torch.Tensor], list[torch.Tensor]]:
    return {k: v for k, v in inputs.items() if k not in names}, [inputs[n] for n in names]


def _label_order(values: Sequence[Any]) -> list[Any]:
    """The label set, sorted, with an outside tag 'O' first when there is one."""
    names = sorted(set(values), key=str)
    return (["O"] + [n for n in names if n != "O"]) if "O" in names else names


class _Labelled(Task):
    """Label names ↔ ids for the classification tasks: names from the data (sorted, 'O' first), from `labels=`, or
    from a model whose config names them; integer labels are ids already."""

    def __init__(self, tokenizer: Any, **kwargs: Any):
        super().__init__(tokenizer, **kwargs)
        self.label2id: dict[Any, int] | None = None
        self.num_labels = 2

    def _learn_labels(self, values: list[Any], minimum: int) -> None:
        if all(isinstance(v, int) and not isinstance(v, bool) for v in values) and self.label_names is None:
            self.num_labels = max(minimum, max(values) + 1)
        else:
            names = self.label_names or _label_order(values)
            self.label2id = {n: i for i, n in enumerate(names)}
            self.num_labels = len(names)

    def model_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"num_labels": self.num_labels}
        if self.label2id is not None:
            kwargs["id2label"] = {i: str(n) for n, i in self.label2id.items()}
            kwargs["label2id"] = {str(n): i for n, i in self.label2id.items()}
        return kwargs

    def adopt(self, model: nn.Module) -> None:
        super().adopt(model)
        self.num_labels = model.config.num_labels
        mapping = getattr(model.config, "label2id", None) or {}
        if any(not str(name).startswith("LABEL_") for name in mapping):  # the model names its labels: they win
            self.label2id = dict(mapping)

    def _label_id(self, value: Any, index: int) -> int:
        if self.label2id is not None and not isinstance(value, int):
            if value not in self.label2id:
                raise ValueError(f"Record {index}: label {value!r} is not one of {sorted(self.label2id, key=str)}.")
            return self.label2id[value]
        if not 0 <= int(value) < self.num_labels:
            raise ValueError(f"Record {index}: label {value} is outside 0..{self.num_labels - 1}.")
        return int(value)


class SequenceClassification(_Labelled):
    name = "sequence-classification"
    auto_class = "AutoModelForSequenceClassification"
    main_metric = "accuracy"

    def __init__(self, tokenizer: Any, **kwargs: Any):
        super().__init__(tokenizer, **kwargs)
        self.regression = False

    def prepare(self, train: Any, evaluation: Any) -> None:
        values = [_field(data[i], ("label",), self.name, i) for data in (train, evaluation) if data is not None for i in range(len(data))]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values) and any(
            isinstance(v, float) and not float(v).is_integer() for v in values
        ):
            self.regression, self.num_labels, self.main_metric = True, 1, "spearman"
        else:
            self._learn_labels(values, minimum=2)

    def model_kwargs(self) -> dict[str, Any]:
        return {**super().model_kwargs(), **({"problem_type": "regression"} if self.regression else {})}

    def adopt(self, model: nn.Module) -> None:
        super().adopt(model)
        self.regression = self.num_labels == 1
        if self.regression:
            self.main_metric = "spearman"

    def collate(self, records: list[dict[str, Any]], indices: list[int], epoch: int, train: bool) -> Batch:
        texts = [_field(r, ("text", "sentence"), self.name, i) for r, i in zip(records, indices)]
        pairs = [r.get("text_pair") for r in records]
        if any(p is not None for p in pairs) and any(p is None for p in pairs):
            raise ValueError("Some records have a 'text_pair' and some do not: give every record one, or none.")
        inputs = self._inputs(self._encode(texts, pairs if pairs[0] is not None else None))
        labels = [_field(r, ("label",), self.name, i) for r, i in zip(records, indices)]
        if self.regression:
            inputs["labels"] = torch.tensor([float(v) for v in labels], dtype=torch.float32)
        else:
            inputs["labels"] = torch.tensor([self._label_id(v, i) for v, i in zip(labels, indices)], dtype=torch.long)
        return inputs, {}

    def evaluate_batch(self, model, inputs, meta):
        features, (labels,) = _labels_only(inputs, "labels")
        logits = model(**features).logits.float()
        config = getattr(model, "config", None)
        results = []
        for i in range(len(labels)):
            loss = sequence_classification_loss(logits[i : i + 1], labels[i : i + 1], config)
            prediction = logits[i, 0].item() if self.regression else int(logits[i].argmax())
            label = labels[i].item() if self.regression else int(labels[i])
            results.append({"loss": loss.item(), "count": 1, "prediction": prediction, "label": label})
        return results

    def metrics(self, results):
        out = super().metrics(results)
        predictions, labels = [r["prediction"] for r in results], [r["label"] for r in results]
        if self.regression:
            out.update(spearman=metrics.spearman(predictions, labels), pearson=metrics.pearson(predictions, labels))
        else:
            out.update(accuracy=metrics.accuracy(predictions, labels), f1=metrics.f1(predictions, labels, self.num_labels))
        return out


class TokenClassification(_Labelled):
    name = "token-classification"
    auto_class = "AutoModelForTokenClassification"
    main_metric = "token_f1"

    def _tags(self, record: dict[str, Any], index: int) -> list[Any]:
        return list(_field(record, ("tags", "ner_tags", "labels"), self.name, index))

    def prepare(self, train: Any, evaluation: Any) -> None:
        self._learn_labels([t for data in (train, evaluation) if data is not None for i in range(len(data)) for t in self._tags(data[i], i)], minimum=1)

    @property
    def outside(self) -> int | None:
        return self.label2id.get("O") if self.label2id else None

    def collate(self, records, indices, epoch, train):
        words = [list(_field(r, ("tokens", "words"), self.name, i)) for r, i in zip(records, indices)]
        tags = [self._tags(r, i) for r, i in zip(records, indices)]
        if not getattr(self.tokenizer, "is_fast", False):
            raise ValueError("Token classification aligns labels with word_ids(): load the fast tokenizer (tokenizer.json).")
        encoding = self._encode(words, is_split_into_words=True)
        rows = []
        for b, (word_tags, index) in enumerate(zip(tags, indices)):
            if len(word_tags) != len(words[b]):
                raise ValueError(f"Record {index}: {len(words[b])} tokens but {len(word_tags)} tags.")
            ids = [self._label_id(t, index) for t in word_tags]
            row, previous = [], None
            for word in encoding.word_ids(b):  # the first piece of each word carries its label; the rest -100
                row.append(-100 if word is None or word == previous else ids[word])
                previous = word
            rows.append(row)
        inputs = self._inputs(encoding)
        inputs["labels"] = pad_rows(rows, -100, inputs["input_ids"].shape[1])
        return inputs, {}

    def count(self, inputs):
        return int((inputs["labels"] != -100).sum())

    def evaluate_batch(self, model, inputs, meta):
        features, (labels,) = _labels_only(inputs, "labels")
        logits = model(**features).logits.float()
        results = []
        for i in range(len(labels)):
            keep = labels[i] != -100
            n = int(keep.sum())
            loss = token_classification_loss(logits[i : i + 1], labels[i : i + 1]).item() * n if n else 0.0
            results.append({
                "loss": loss, "count": n,
                "predictions": logits[i][keep].argmax(-1).tolist(), "labels": labels[i][keep].tolist(),
            })
        return results

    def metrics(self, results):
        out = super().metrics(results)
        predictions = [p for r in results for p in r["predictions"]]
        labels = [t for r in results for t in r["labels"]]
        out.update(token_f1=metrics.token_f1(predictions, labels, self.outside), accuracy=metrics.accuracy(predictions, labels))
        return out


class QuestionAnswering(Task):
    """Extractive QA, one window per example: a context longer than max_length is cut (an answer cut off is
    trained as "no answer", at the first token, as the reference's examples do)."""

    name = "question-answering"
    auto_class = "AutoModelForQuestionAnswering"
    main_metric = "exact_match"
    max_answer_tokens = 30

    def collate(self, records, indices, epoch, train):
        questions = [_field(r, ("question",), self.name, i) for r, i in zip(records, indices)]
        contexts = [_field(r, ("context",), self.name, i) for r, i in zip(records, indices)]
        answers = [_field(r, ("answers",), self.name, i) for r, i in zip(records, indices)]
        if not getattr(self.tokenizer, "is_fast", False):
            raise ValueError("Question answering maps answers to tokens with offsets: load the fast tokenizer (tokenizer.json).")
        encoding = self._encode(questions, contexts, only_second=True, return_offsets_mapping=True)
        offsets = encoding["offset_mapping"].tolist()
        starts, ends, context_tokens = [], [], []
        for b, answer in enumerate(answers):
            sequence_ids = encoding.sequence_ids(b)
            in_context = [t for t, s in enumerate(sequence_ids) if s == 1]
            context_tokens.append(in_context)
            start = end = 0  # no answer (or cut off): the first token
            if answer.get("text") and in_context:
                first_char = int(answer["answer_start"][0])
                last_char = first_char + len(answer["text"][0])
                if offsets[b][in_context[0]][0] <= first_char and offsets[b][in_context[-1]][1] >= last_char:
                    start = next(t for t in in_context if offsets[b][t][1] > first_char)
                    end = next(t for t in reversed(in_context) if offsets[b][t][0] < last_char)
            starts.append(start)
            ends.append(end)
        inputs = self._inputs(encoding)
        inputs["start_positions"] = torch.tensor(starts)
        inputs["end_positions"] = torch.tensor(ends)
        meta = {"offsets": offsets, "context_tokens": context_tokens, "contexts": contexts,
                "answers": [list(a.get("text") or []) for a in answers]}
        return inputs, meta

    def evaluate_batch(self, model, inputs, meta):
        features, (starts, ends) = _labels_only(inputs, "start_positions", "end_positions")
        out = model(**features)
        start_logits, end_logits = out.start_logits.float(), out.end_logits.float()
        results = []
        for i in range(len(starts)):
            loss = question_answering_loss(start_logits[i : i + 1], end_logits[i : i + 1], starts[i : i + 1], ends[i : i + 1])
            s, e = start_logits[i].tolist(), end_logits[i].tolist()
            best, text = s[0] + e[0], ""  # the no-answer score: both ends on the first token
            tokens = meta["context_tokens"][i]
            for a, first in enumerate(tokens):
                for last in tokens[a : a + self.max_answer_tokens]:
                    if s[first] + e[last] > best:
                        best = s[first] + e[last]
                        text = meta["contexts"][i][meta["offsets"][i][first][0] : meta["offsets"][i][last][1]]
            gold = meta["answers"][i] or [""]
            results.append({"loss": loss.item(), "count": 1, "exact_match": metrics.exact_match(text, gold),
                            "f1": metrics.squad_f1(text, gold)})
        return results

    def metrics(self, results):
        out = super().metrics(results)
        out.update(exact_match=float(np.mean([r["exact_match"] for r in results])), f1=float(np.mean([r["f1"] for r in results])))
        return out


class MultipleChoice(Task):
    name = "multiple-choice"
    auto_class = "AutoModelForMultipleChoice"
    main_metric = "accuracy"

    def collate(self, records, indices, epoch, train):
        choices = [list(_field(r, ("choices", "endings"), self.name, i)) for r, i in zip(records, indices)]
        if len({len(c) for c in choices}) != 1:
            raise ValueError(f"Records {indices} have different numbers of choices; multiple choice batches need equal counts.")
        questions = [r.get("question", r.get("text", "")) for r in records]
        firsts = [q for q, options in zip(questions, choices) for _ in options]
        seconds = [c for options in choices for c in options]
        inputs = self._inputs(self._encode(firsts, seconds))
        inputs = {k: v.view(len(records), len(choices[0]), -1) for k, v in inputs.items()}  # (B, choices, T)
        inputs["labels"] = torch.tensor([int(_field(r, ("label",), self.name, i)) for r, i in zip(records, indices)])
        return inputs, {}

    def evaluate_batch(self, model, inputs, meta):
        features, (labels,) = _labels_only(inputs, "labels")
        logits = model(**features).logits.float()
        return [
            {"loss": F.cross_entropy(logits[i : i + 1], labels[i : i + 1]).item(), "count": 1,
             "prediction": int(logits[i].argmax()), "label": int(labels[i])}
            for i in range(len(labels))
        ]

    def metrics(self, results):
        out = super().metrics(results)
        out["accuracy"] = metrics.accuracy([r["prediction"] for r in results], [r["label"] for r in results])
        return out


class _LanguageModeling(Task):
    main_metric = "loss"

    def count(self, inputs):
        return int((inputs["labels"] != -100).sum())

    def example_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> tuple[float, int]:
        raise NotImplementedError

    def evaluate_batch(self, model, inputs, meta):
        features, (labels,) = _labels_only(inputs, "labels")
        logits = model(**features).logits
        results = []
        for i in range(len(labels)):
            loss, n = self.example_loss(logits[i : i + 1], labels[i : i + 1])
            results.append({"loss": loss, "count": n})
        return results

    def metrics(self, results):
        out = super().metrics(results)
        out["perplexity"] = math.exp(min(out["loss"], 50.0))
        return out


class MaskedLM(_LanguageModeling):
    """Continued pre-training: BERT's masking (80% [MASK], 10% a random token, 10% unchanged), drawn per example
    from a generator seeded by (seed, epoch, example index), so the masks do not depend on batching or processes."""

    name = "masked-lm"
    auto_class = "AutoModelForMaskedLM"

    def collate(self, records, indices, epoch, train):
        texts = [_field(r, ("text",), self.name, i) for r, i in zip(records, indices)]
        if self.tokenizer.mask_token_id is None:
            raise ValueError("Masked-LM training needs a tokenizer with a mask token.")
        encoding = self._encode(texts, return_special_tokens_mask=True)
        inputs = self._inputs(encoding)
        ids = inputs["input_ids"]
        maskable = (encoding["special_tokens_mask"] == 0) & (inputs["attention_mask"] == 1)
        labels = torch.full_like(ids, -100)
        for b, index in enumerate(indices):
            g = torch.Generator().manual_seed(hash((self.seed, epoch if train else -1, index)) % 2**63)
            candidates = maskable[b].nonzero().flatten()
            if len(candidates) == 0:
                continue
            chosen = candidates[torch.rand(len(candidates), generator=g) < self.mlm_probability]
            if len(chosen) == 0:  # every example teaches something
                chosen = candidates[torch.randint(len(candidates), (1,), generator=g)]
            labels[b, chosen] = ids[b, chosen]
            action = torch.rand(len(chosen), generator=g)
            random_ids = torch.randint(len(self.tokenizer), (len(chosen),), generator=g)
            ids[b, chosen] = torch.where(action < 0.8, self.tokenizer.mask_token_id, torch.where(action < 0.9, random_ids, ids[b, chosen]))
        inputs["labels"] = labels
        return inputs, {}

    def example_loss(self, logits, labels):
        n = int((labels != -100).sum())
        return (masked_lm_loss(logits.float(), labels).item() * n if n else 0.0), n


class CausalLM(_LanguageModeling):
    """Next-token fine-tuning; each text is one sequence, ended by the EOS token so the model learns to stop."""

    name = "causal-lm"
    auto_class = "AutoModelForCausalLM"

    def __init__(self, tokenizer: Any, **kwargs: Any):
        super().__init__(tokenizer, **kwargs)
        if tokenizer.pad_token is None and tokenizer.eos_token is not None:
            tokenizer.pad_token = tokenizer.eos_token  # padding is masked out; any id will do

    def collate(self, records, indices, epoch, train):
        texts = [_field(r, ("text",), self.name, i) for r, i in zip(records, indices)]
        rows = self.tokenizer(texts, truncation=True, max_length=self.max_length)["input_ids"]
        eos = self.tokenizer.eos_token_id
        if eos is not None:
            rows = [r if r and r[-1] == eos else (r + [eos])[: self.max_length or None] for r in rows]
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        inputs = {"input_ids": pad_rows(rows, pad), "attention_mask": pad_rows([[1] * len(r) for r in rows], 0)}
        labels = pad_rows(rows, -100)
        inputs["labels"] = labels
        return inputs, {}

    def count(self, inputs):
        return int((inputs["labels"][:, 1:] != -100).sum())  # position t predicts t + 1

    def example_loss(self, logits, labels):
        n = int((labels[:, 1:] != -100).sum())
        return (causal_lm_loss(logits, labels).item() * n if n else 0.0), n


class SentenceEmbedding(Task):
    """A SentenceEncoder trained with in-batch negatives (MultipleNegativesRankingLoss): each anchor's positive
    must score above every other positive and negative in the batch. Under DDP the negatives are the process's own
    batch, as sentence-transformers does by default. Evaluated on scored pairs (STS): Spearman of the cosine."""

    name = "sentence-embedding"
    main_metric = "spearman"
    find_unused_parameters = True  # the transformer's pooler is not part of a sentence embedding

    def load(self, source):
        from ..embeddings import SentenceEncoder

        return SentenceEncoder.from_pretrained(source, device="cpu")

    def adopt(self, model):
        self.max_length = min(v for v in (self.max_length, model.max_seq_length, 1_000_000) if v)

    def save(self, model, directory):
        model.save_pretrained(directory)

    def _features(self, texts: list[str]) -> dict[str, torch.Tensor]:
        rows = self.tokenizer(texts, truncation=self.max_length is not None, max_length=self.max_length)["input_ids"]
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        return {"input_ids": pad_rows(rows, pad), "attention_mask": pad_rows([[1] * len(r) for r in rows], 0)}

    def collate(self, records, indices, epoch, train):
        if not train:
            pairs = [(_field(r, ("sentence1",), self.name, i), _field(r, ("sentence2",), self.name, i)) for r, i in zip(records, indices)]
            scores = [float(_field(r, ("score", "label"), self.name, i)) for r, i in zip(records, indices)]
            return self._features([a for a, _ in pairs] + [b for _, b in pairs]), {"scores": scores}
        columns = [[_field(r, ("anchor",), self.name, i) for r, i in zip(records, indices)],
                   [_field(r, ("positive",), self.name, i) for r, i in zip(records, indices)]]
        if any("negative" in r for r in records):
            columns.append([_field(r, ("negative",), self.name, i) for r, i in zip(records, indices)])
        return self._features([t for column in columns for t in column]), {"columns": len(columns)}

    def count(self, inputs):
        return 1  # the in-batch loss is one term per process; processes weigh equally

    def loss(self, model, inputs, meta):
        embeddings = model(dict(inputs))["sentence_embedding"]
        anchors, candidates = embeddings.tensor_split([len(embeddings) // meta["columns"]])
        return multiple_negatives_ranking_loss(anchors, candidates, self.embedding_scale)

    def evaluate_batch(self, model, inputs, meta):
        embeddings = model(dict(inputs))["sentence_embedding"].float()
        a, b = embeddings.chunk(2)
        cosines = F.cosine_similarity(a, b, dim=-1).tolist()
        return [{"loss": 0.0, "count": 0, "cosine": c, "score": s} for c, s in zip(cosines, meta["scores"])]

    def metrics(self, results):
        cosines, scores = [r["cosine"] for r in results], [r["score"] for r in results]
        return {"spearman": metrics.spearman(cosines, scores), "pearson": metrics.pearson(cosines, scores)}


TASKS: dict[str, type[Task]] = {
    cls.name: cls
    for cls in (SequenceClassification, TokenClassification, QuestionAnswering, MultipleChoice, MaskedLM, CausalLM, SentenceEmbedding)
}
_ALIASES = {
    "text-classification": "sequence-classification", "classification": "sequence-classification",
    "regression": "sequence-classification", "ner": "token-classification", "qa": "question-answering",
    "fill-mask": "masked-lm", "mlm": "masked-lm", "text-generation": "causal-lm", "clm": "causal-lm",
    "embedding": "sentence-embedding", "sentence-similarity": "sentence-embedding",
}
_HEAD_SUFFIXES = {
    "ForSequenceClassification": "sequence-classification", "ForTokenClassification": "token-classification",
    "ForQuestionAnswering": "question-answering", "ForMultipleChoice": "multiple-choice", "ForMaskedLM": "masked-lm",
    "ForCausalLM": "causal-lm", "LMHeadModel": "causal-lm",
}


def task_for(name: str) -> type[Task]:
    key = _ALIASES.get(name, name)
    if key not in TASKS:
        raise ValueError(f"Unknown task {name!r}; choose one of {sorted(TASKS)}.")
    return TASKS[key]


def infer_task(model: nn.Module) -> str:
    """The task of a model instance, from its class (SentenceEncoder → sentence-embedding)."""
    from ..embeddings import SentenceEncoder

    if isinstance(model, SentenceEncoder):
        return "sentence-embedding"
    for suffix, task in _HEAD_SUFFIXES.items():
        if type(model).__name__.endswith(suffix):
            return task
    raise ValueError(f"Cannot tell the task of a {type(model).__name__}; pass task=... to the Trainer.")
