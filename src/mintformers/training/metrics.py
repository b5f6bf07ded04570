"""Evaluation metrics the Trainer reports, in plain numpy (no scikit-learn / scipy dependency for a few formulas).

Each follows a named convention, checked against scikit-learn, scipy and the SQuAD script in the tests.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

import numpy as np

__all__ = ["accuracy", "f1", "token_f1", "exact_match", "squad_f1", "normalize_answer", "pearson", "spearman"]


def accuracy(predictions: Sequence, references: Sequence) -> float:
    p, r = np.asarray(predictions), np.asarray(references)
    return float((p == r).mean()) if len(r) else 0.0


def f1(predictions: Sequence[int], references: Sequence[int], num_labels: int) -> float:
    """Binary F1 of class 1 when there are two labels; otherwise macro F1 over the labels (as scikit-learn's
    `f1_score(average="binary" | "macro")`, a class never predicted nor present scoring 0)."""
    p, r = np.asarray(predictions), np.asarray(references)
    classes = [1] if num_labels == 2 else range(num_labels)
    scores = []
    for c in classes:
        tp = int(((p == c) & (r == c)).sum())
        denominator = int((p == c).sum() + (r == c).sum())
        scores.append(2 * tp / denominator if denominator else 0.0)
    return float(np.mean(scores)) if scores else 0.0


def token_f1(predictions: Sequence[int], references: Sequence[int], outside: int | None = None) -> float:
    """Token-level micro F1 over labelled tokens, the `outside` label ("O") not counting as an entity.

    precision = correct entity-token predictions / entity-token predictions; recall = / gold entity tokens.
    Without an outside label every token counts, and this equals accuracy.
    """
    p, r = np.asarray(predictions), np.asarray(references)
    predicted = p != outside if outside is not None else np.ones_like(p, dtype=bool)
    gold = r != outside if outside is not None else np.ones_like(r, dtype=bool)
    correct = int((predicted & (p == r)).sum())
    if not predicted.any() and not gold.any():
        return 1.0
    precision = correct / max(int(predicted.sum()), 1)
    recall = correct / max(int(gold.sum()), 1)
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def normalize_answer(text: str) -> str:
    """The SQuAD evaluation script's normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact_match(prediction: str, answers: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals any normalised gold answer (SQuAD's EM for one question)."""
    return float(any(normalize_answer(prediction) == normalize_answer(a) for a in answers)) if answers else 0.0


def squad_f1(prediction: str, answers: Sequence[str]) -> float:
    """Best bag-of-tokens F1 against the gold answers (SQuAD's F1 for one question)."""
    best = 0.0
    predicted = normalize_answer(prediction).split()
    for answer in answers:
        gold = normalize_answer(answer).split()
        common = sum((Counter(predicted) & Counter(gold)).values())
        if not predicted or not gold:
            best = max(best, float(predicted == gold))
        elif common:
            precision, recall = common / len(predicted), common / len(gold)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    x, y = x - x.mean(), y - y.mean()
    denominator = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / denominator) if denominator > 0 else 0.0


def _ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their average rank (scipy's rankdata(method="average"))."""
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    # each run of equal values gets the mean of the positions it spans
    starts = np.r_[0, np.flatnonzero(sorted_values[1:] != sorted_values[:-1]) + 1]
    ends = np.r_[starts[1:], len(values)]
    ranks = np.empty(len(values))
    for s, e in zip(starts, ends):
        ranks[order[s:e]] = (s + e + 1) / 2
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation: Pearson's on the ranks (ties averaged), as scipy.stats.spearmanr."""
    return pearson(_ranks(np.asarray(x, dtype=np.float64)), _ranks(np.asarray(y, dtype=np.float64)))
