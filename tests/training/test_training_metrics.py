"""The Trainer's metrics against their reference implementations: scikit-learn, scipy and the SQuAD script's rules."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import f1_score

from mintformers.training import metrics


@pytest.mark.parametrize("num_labels", [2, 3, 5])
def test_f1_equals_scikit_learn(num_labels):
    rng = np.random.default_rng(num_labels)
    predictions, labels = rng.integers(0, num_labels, 200), rng.integers(0, num_labels, 200)
    average = "binary" if num_labels == 2 else "macro"
    expected = f1_score(labels, predictions, average=average, labels=list(range(num_labels)), zero_division=0)
    assert metrics.f1(predictions, labels, num_labels) == pytest.approx(expected)
    assert metrics.accuracy(predictions, labels) == pytest.approx((predictions == labels).mean())


def test_token_f1_ignores_the_outside_label():
    # gold: 3 entity tokens; predicted: 2 entity tokens, one right → P = 1/2, R = 1/3
    gold = [0, 1, 2, 0, 3, 0]
    pred = [0, 1, 0, 0, 2, 0]
    assert metrics.token_f1(pred, gold, outside=0) == pytest.approx(2 * (1 / 2) * (1 / 3) / (1 / 2 + 1 / 3))
    assert metrics.token_f1(pred, gold, outside=None) == pytest.approx(metrics.accuracy(pred, gold))
    assert metrics.token_f1([0, 0], [0, 0], outside=0) == 1.0


@pytest.mark.parametrize("seed", [0, 1])
def test_spearman_and_pearson_equal_scipy_with_ties(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 5, 60).astype(float)  # many ties
    y = x + rng.normal(0, 2, 60)
    assert metrics.spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    assert metrics.pearson(x, y) == pytest.approx(stats.pearsonr(x, y).statistic, abs=1e-12)


def test_squad_exact_match_and_f1():
    # the SQuAD script lower-cases, drops punctuation and articles, collapses spaces
    assert metrics.normalize_answer("The  Eiffel Tower!") == "eiffel tower"
    assert metrics.exact_match("the eiffel tower", ["Eiffel Tower.", "Paris"]) == 1.0
    assert metrics.exact_match("tower", ["Eiffel Tower"]) == 0.0
    assert metrics.squad_f1("the tower", ["Eiffel Tower"]) == pytest.approx(2 * 1 * 0.5 / 1.5)
    assert metrics.exact_match("", [""]) == 1.0  # no answer, predicted as none
