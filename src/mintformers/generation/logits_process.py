"""Logits processors: small callables `(input_ids (B, T), scores (B, V)) -> scores (B, V)`, chained by a list.

Each is pure tensor code (no host syncs, no Python loops over the batch) and returns a new tensor, so the caller
may keep the scores it passed in. Masked-out tokens get -inf, as in the reference, so that softmax gives them 0.
The arithmetic follows the reference's order of operations (e.g. top-p sums probabilities in ascending order), so
the same logits give the same kept set.
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "LogitsProcessor",
    "LogitsProcessorList",
    "RepetitionPenaltyLogitsProcessor",
    "NoRepeatNGramLogitsProcessor",
    "NoBadWordsLogitsProcessor",
    "MinLengthLogitsProcessor",
    "TemperatureLogitsWarper",
    "TopKLogitsWarper",
    "TopPLogitsWarper",
    "MinPLogitsWarper",
    "TypicalLogitsWarper",
]


class LogitsProcessor:
    """Base class: maps the next-token scores given the tokens so far."""

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        raise NotImplementedError


class LogitsProcessorList(list):
    """Applies its processors in order."""

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        for processor in self:
            scores = processor(input_ids, scores)
        return scores


def _token_mask(token_ids: list[int] | torch.Tensor, vocab_size: int, device: torch.device) -> torch.Tensor:
    """(V,) bool, True at the given ids."""
    mask = torch.zeros(vocab_size, dtype=torch.bool, device=device)
    ids = torch.as_tensor(token_ids, dtype=torch.long, device=device)
    mask[ids[ids < vocab_size]] = True
    return mask


class RepetitionPenaltyLogitsProcessor(LogitsProcessor):
    """CTRL's penalty (Keskar et al., 2019): scores of tokens already in the sequence (prompt included) are divided
    by `penalty` when positive and multiplied by it when negative, so >1 discourages repeats, <1 encourages them."""

    def __init__(self, penalty: float):
        if not penalty > 0:
            raise ValueError(f"repetition_penalty must be > 0, got {penalty}.")
        self.penalty = float(penalty)

    def __call__(self, input_ids, scores):
        seen = torch.gather(scores, 1, input_ids)  # (B, T)
        seen = torch.where(seen < 0, seen * self.penalty, seen / self.penalty)
        return scores.scatter(1, input_ids, seen)


class NoRepeatNGramLogitsProcessor(LogitsProcessor):
    """Bans every token that would complete an n-gram already present in the sequence (fairseq's
    no_repeat_ngram_size): the last n-1 tokens are compared with every earlier (n-1)-gram, vectorised."""

    def __init__(self, ngram_size: int):
        if not isinstance(ngram_size, int) or ngram_size <= 0:
            raise ValueError(f"no_repeat_ngram_size must be a positive int, got {ngram_size!r}.")
        self.n = ngram_size

    def __call__(self, input_ids, scores):
        n, length = self.n, input_ids.shape[1]
        if length + 1 < n:  # not enough tokens to complete any n-gram
            return scores
        grams = input_ids.unfold(1, n, 1)  # (B, length-n+1, n): every n-gram so far
        context = input_ids[:, length - n + 1 :]  # (B, n-1): the prefix the next token would extend
        hits = (grams[..., :-1] == context[:, None, :]).all(-1)  # (B, W): n-grams starting with that prefix
        banned = torch.zeros_like(scores).scatter_add_(1, grams[..., -1], hits.to(scores.dtype)) > 0  # (B, V)
        return scores.masked_fill(banned, -math.inf)


class NoBadWordsLogitsProcessor(LogitsProcessor):
    """Never generate the given token sequences: a single-token entry is always banned; for a longer one, its last
    token is banned whenever the sequence ends with the rest of it. A bad word equal to an eos id is ignored (the
    model must stay able to stop), as in the reference."""

    def __init__(self, bad_words_ids: list[list[int]], eos_token_id: int | list[int] | None = None):
        if not bad_words_ids or not all(isinstance(w, (list, tuple)) and len(w) > 0 for w in bad_words_ids):
            raise ValueError(f"bad_words_ids must be a non-empty list of non-empty token-id lists, got {bad_words_ids!r}.")
        eos = {eos_token_id} if isinstance(eos_token_id, int) else set(eos_token_id or ())
        words = [list(w) for w in bad_words_ids if not (len(w) == 1 and w[0] in eos)]
        self.single = [w[0] for w in words if len(w) == 1]
        self.multi = [w for w in words if len(w) > 1]
        self._single_mask: torch.Tensor | None = None

    def __call__(self, input_ids, scores):
        vocab = scores.shape[-1]
        too_big = [t for w in self.multi + [self.single] for t in w if t >= vocab]
        if too_big:
            raise ValueError(f"bad_words_ids holds ids {too_big} outside the vocabulary (size {vocab}).")
        if self._single_mask is None or self._single_mask.shape[0] != vocab:
            self._single_mask = _token_mask(self.single, vocab, scores.device)
        banned = self._single_mask[None].expand_as(scores).clone()
        for word in self.multi:
            prefix = word[:-1]
            if len(prefix) > input_ids.shape[1]:
                continue
            tail = input_ids[:, -len(prefix) :]
            match = (tail == torch.tensor(prefix, device=input_ids.device)).all(-1)  # (B,)
            banned[:, word[-1]] |= match
        return scores.masked_fill(banned, -math.inf)


class MinLengthLogitsProcessor(LogitsProcessor):
    """Bans the eos tokens while the sequence (prompt included) is shorter than `min_length`."""

    def __init__(self, min_length: int, eos_token_id: int | list[int]):
        if not isinstance(min_length, int) or min_length < 0:
            raise ValueError(f"min_length must be an int >= 0, got {min_length!r}.")
        self.min_length = min_length
        self.eos = [eos_token_id] if isinstance(eos_token_id, int) else list(eos_token_id)

    def __call__(self, input_ids, scores):
        if input_ids.shape[-1] >= self.min_length:
            return scores
        return scores.masked_fill(_token_mask(self.eos, scores.shape[-1], scores.device), -math.inf)


class TemperatureLogitsWarper(LogitsProcessor):
    """scores / temperature: <1 sharpens the distribution, >1 flattens it."""

    def __init__(self, temperature: float):
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}; for greedy decoding use do_sample=False.")
        self.temperature = float(temperature)

    def __call__(self, input_ids, scores):
        return scores / self.temperature


class TopKLogitsWarper(LogitsProcessor):
    """Keeps the k highest scores (ties with the k-th kept too)."""

    def __init__(self, top_k: int, min_tokens_to_keep: int = 1, filter_value: float = -math.inf):
        if not isinstance(top_k, int) or top_k <= 0:
            raise ValueError(f"top_k must be a positive int, got {top_k!r}.")
        self.top_k = max(top_k, min_tokens_to_keep)
        self.filter_value = filter_value

    def __call__(self, input_ids, scores):
        k = min(self.top_k, scores.shape[-1])
        kth = torch.topk(scores, k).values[..., -1:]  # (B, 1)
        return scores.masked_fill(scores < kth, self.filter_value)


class TopPLogitsWarper(LogitsProcessor):
    """Nucleus sampling (Holtzman et al., 2019): keeps the smallest set of most likely tokens whose probability
    mass reaches top_p. In ascending order a token goes when the mass below and including it is <= 1 - top_p."""

    def __init__(self, top_p: float, min_tokens_to_keep: int = 1, filter_value: float = -math.inf):
        if not 0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {top_p}.")
        self.top_p, self.min_tokens_to_keep, self.filter_value = float(top_p), min_tokens_to_keep, filter_value

    def __call__(self, input_ids, scores):
        sorted_scores, order = torch.sort(scores, descending=False)
        mass_up_to = sorted_scores.softmax(-1).cumsum(-1)  # (B, V), ascending
        drop_sorted = mass_up_to <= 1 - self.top_p
        drop_sorted[..., -self.min_tokens_to_keep :] = False
        drop = drop_sorted.scatter(1, order, drop_sorted)
        return scores.masked_fill(drop, self.filter_value)


class MinPLogitsWarper(LogitsProcessor):
    """min-p sampling (Nguyen et al., 2024): keeps tokens whose probability is at least min_p times the top one's."""

    def __init__(self, min_p: float, min_tokens_to_keep: int = 1, filter_value: float = -math.inf):
        if not 0 <= min_p <= 1:
            raise ValueError(f"min_p must be in [0, 1], got {min_p}.")
        self.min_p, self.min_tokens_to_keep, self.filter_value = float(min_p), min_tokens_to_keep, filter_value

    def __call__(self, input_ids, scores):
        probs = scores.softmax(-1)
        drop = probs < self.min_p * probs.amax(-1, keepdim=True)
        if self.min_tokens_to_keep > 1:
            order = torch.argsort(scores, dim=-1, descending=True)
            drop_sorted = drop.gather(1, order)
            drop_sorted[..., : self.min_tokens_to_keep] = False
            drop = drop_sorted.scatter(1, order, drop_sorted)
        return scores.masked_fill(drop, self.filter_value)


class TypicalLogitsWarper(LogitsProcessor):
    """Locally typical sampling (Meister et al., 2022): ranks tokens by |−log p − entropy| and keeps the closest
    ones until their probability mass reaches `mass`."""

    def __init__(self, mass: float, min_tokens_to_keep: int = 1, filter_value: float = -math.inf):
        if not 0 < mass <= 1:
            raise ValueError(f"typical_p must be in (0, 1], got {mass}.")
        self.mass, self.min_tokens_to_keep, self.filter_value = float(mass), min_tokens_to_keep, filter_value

    def __call__(self, input_ids, scores):
        logp = scores.log_softmax(-1)
        entropy = -(logp * logp.exp()).nansum(-1, keepdim=True)  # (B, 1); nansum: 0 * -inf at masked tokens
        distance = (-logp - entropy).abs()
        sorted_distance, order = torch.sort(distance)
        mass_up_to = scores.gather(-1, order).softmax(-1).cumsum(-1)
        last = (mass_up_to < self.mass).sum(1).clamp_(max=scores.shape[-1] - 1)  # (B,) index of the last kept
        drop_sorted = sorted_distance > sorted_distance.gather(1, last[:, None])
        drop_sorted[..., : self.min_tokens_to_keep] = False
        drop = drop_sorted.scatter(1, order, drop_sorted)
        return scores.masked_fill(drop, self.filter_value)
