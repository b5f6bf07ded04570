"""Logits processors against direct formulas (written independently, often with Python loops over rows)."""

from __future__ import annotations

import math

import pytest
import torch

from mintformers.generation import (
    LogitsProcessorList,
    MinLengthLogitsProcessor,
    MinPLogitsWarper,
    NoBadWordsLogitsProcessor,
    NoRepeatNGramLogitsProcessor,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
    TypicalLogitsWarper,
)

V = 30


def logits(batch: int = 4, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, V, generator=torch.Generator().manual_seed(seed)) * 3


def ids(batch: int = 4, length: int = 12, seed: int = 1, high: int = V) -> torch.Tensor:
    return torch.randint(0, high, (batch, length), generator=torch.Generator().manual_seed(seed))


def kept(scores: torch.Tensor) -> list[set[int]]:
    return [set(torch.nonzero(row > -math.inf).flatten().tolist()) for row in scores]


def test_processors_do_not_modify_their_input():
    x, i = logits(), ids()
    before = x.clone()
    for p in (
        RepetitionPenaltyLogitsProcessor(1.3), NoRepeatNGramLogitsProcessor(2), NoBadWordsLogitsProcessor([[1], [2, 3]]),
        MinLengthLogitsProcessor(50, 0), TemperatureLogitsWarper(0.7), TopKLogitsWarper(5), TopPLogitsWarper(0.8),
        MinPLogitsWarper(0.1), TypicalLogitsWarper(0.9),
    ):
        p(i, x)
        assert torch.equal(x, before), type(p).__name__


def test_temperature_divides():
    x = logits()
    assert torch.allclose(TemperatureLogitsWarper(0.5)(ids(), x), x * 2)


def test_top_k_keeps_the_k_largest():
    x = logits()
    out = TopKLogitsWarper(5)(ids(), x)
    for row, keep in zip(x, kept(out)):
        assert keep == set(sorted(range(V), key=lambda j: -row[j].item())[:5])
    assert torch.equal(out[out > -math.inf], x[out > -math.inf])  # kept scores unchanged
    assert kept(TopKLogitsWarper(1, min_tokens_to_keep=3)(ids(), x)) == kept(TopKLogitsWarper(3)(ids(), x))


def test_top_p_keeps_the_smallest_set_reaching_the_mass():
    x = logits()
    for p in (0.3, 0.75, 0.95):
        out = TopPLogitsWarper(p)(ids(), x)
        for row, keep in zip(x, kept(out)):
            probs = row.softmax(-1).tolist()
            order = sorted(range(V), key=lambda j: -probs[j])
            want, mass = set(), 0.0
            for j in order:  # add tokens, most likely first, until the mass reaches p
                want.add(j)
                mass += probs[j]
                if mass >= p:
                    break
            assert keep == want, p
    assert kept(TopPLogitsWarper(1.0)(ids(), x)) == [set(range(V))] * 4
    assert all(len(k) >= 3 for k in kept(TopPLogitsWarper(0.01, min_tokens_to_keep=3)(ids(), x)))


def test_min_p_keeps_tokens_near_the_top_probability():
    x = logits()
    out = MinPLogitsWarper(0.2)(ids(), x)
    for row, keep in zip(x, kept(out)):
        probs = row.softmax(-1)
        assert keep == {j for j in range(V) if probs[j] >= 0.2 * probs.max()}
    assert all(len(k) >= 4 for k in kept(MinPLogitsWarper(1.0, min_tokens_to_keep=4)(ids(), x)))


def test_typical_keeps_tokens_closest_to_the_entropy():
    x = logits()
    out = TypicalLogitsWarper(0.6)(ids(), x)
    for row, keep in zip(x, kept(out)):
        logp = row.log_softmax(-1)
        entropy = -(logp.exp() * logp).sum()
        order = sorted(range(V), key=lambda j: abs(-logp[j].item() - entropy.item()))
        want, mass = set(), 0.0
        for j in order:  # most typical first, until the mass reaches 0.6
            want.add(j)
            mass += logp[j].exp().item()
            if mass >= 0.6:
                break
        assert keep == want


def test_repetition_penalty_formula():
    x, seq = logits(), ids(length=6)
    out = RepetitionPenaltyLogitsProcessor(2.0)(seq, x)
    for b in range(x.shape[0]):
        seen = set(seq[b].tolist())
        for j in range(V):
            v = x[b, j].item()
            want = (v / 2.0 if v > 0 else v * 2.0) if j in seen else v
            assert out[b, j].item() == pytest.approx(want)


def banned_ngram_tokens(seq: list[int], n: int) -> set[int]:
    """Tokens t such that seq + [t] ends with an n-gram already in seq."""
    grams = {tuple(seq[i : i + n]) for i in range(len(seq) - n + 1)}
    return {t for t in range(V) if tuple((seq + [t])[-n:]) in grams} if len(seq) >= n - 1 else set()


@pytest.mark.parametrize("n", [1, 2, 3])
def test_no_repeat_ngram_bans_exactly_the_repeats(n):
    seq = ids(length=25, high=6)  # a small alphabet: many repeats
    out = NoRepeatNGramLogitsProcessor(n)(seq, logits())
    for b in range(seq.shape[0]):
        assert set(range(V)) - kept(out)[b] == banned_ngram_tokens(seq[b].tolist(), n)


def test_no_repeat_ngram_needs_enough_context():
    x = logits(batch=1)
    assert torch.equal(NoRepeatNGramLogitsProcessor(4)(torch.tensor([[1, 2]]), x), x)


def test_bad_words_single_and_multi_token():
    seq = torch.tensor([[5, 6, 7], [5, 6, 8]])
    out = NoBadWordsLogitsProcessor([[3], [6, 7, 9], [8, 4]], eos_token_id=None)(seq, logits(batch=2))
    banned = [set(range(V)) - k for k in kept(out)]
    assert banned[0] == {3, 9}  # row 0 ends with 6, 7 → 9 would complete [6, 7, 9]
    assert banned[1] == {3, 4}  # row 1 ends with 8 → 4 would complete [8, 4]


def test_bad_words_never_ban_eos():
    out = NoBadWordsLogitsProcessor([[2], [3]], eos_token_id=2)(ids(batch=1), logits(batch=1))
    assert set(range(V)) - kept(out)[0] == {3}


def test_bad_words_out_of_vocabulary_is_an_error():
    with pytest.raises(ValueError, match="outside the vocabulary"):
        NoBadWordsLogitsProcessor([[V + 5]])(ids(), logits())


def test_min_length_bans_eos_until_reached():
    x = logits(batch=2)
    short = MinLengthLogitsProcessor(10, [1, 4])(ids(batch=2, length=9), x)
    assert (short[:, [1, 4]] == -math.inf).all() and torch.equal(short[:, 5:], x[:, 5:])
    assert torch.equal(MinLengthLogitsProcessor(10, [1, 4])(ids(batch=2, length=10), x), x)


def test_list_applies_in_order():
    x, seq = logits(), ids()
    chain = LogitsProcessorList([TemperatureLogitsWarper(0.5), TopKLogitsWarper(3)])
    assert torch.equal(chain(seq, x), TopKLogitsWarper(3)(seq, TemperatureLogitsWarper(0.5)(seq, x)))
    assert torch.equal(LogitsProcessorList()(seq, x), x)


@pytest.mark.parametrize(
    "make",
    [
        lambda: TemperatureLogitsWarper(0.0),
        lambda: TopKLogitsWarper(0),
        lambda: TopPLogitsWarper(0.0),
        lambda: TopPLogitsWarper(1.5),
        lambda: MinPLogitsWarper(-0.1),
        lambda: TypicalLogitsWarper(0.0),
        lambda: RepetitionPenaltyLogitsProcessor(0.0),
        lambda: NoRepeatNGramLogitsProcessor(0),
        lambda: NoBadWordsLogitsProcessor([]),
        lambda: MinLengthLogitsProcessor(-1, 0),
    ],
)
def test_bad_parameters_raise(make):
    with pytest.raises(ValueError):
        make()
