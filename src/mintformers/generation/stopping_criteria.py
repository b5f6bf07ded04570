"""Stopping criteria: callables `(input_ids (B, T), scores) -> (B,) bool`, True where a row is done.

A list ORs its members. generate() builds MaxLengthCriteria, EosTokenCriteria and StopStringCriteria from the
GenerationConfig and appends any user criteria.
"""

from __future__ import annotations

import torch

__all__ = [
    "StoppingCriteria",
    "StoppingCriteriaList",
    "MaxLengthCriteria",
    "EosTokenCriteria",
    "StopStringCriteria",
]


class StoppingCriteria:
    """Base class."""

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor | None = None, **kwargs) -> torch.BoolTensor:
        raise NotImplementedError


class StoppingCriteriaList(list):
    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor | None = None, **kwargs) -> torch.BoolTensor:
        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        for criterion in self:
            done = done | criterion(input_ids, scores, **kwargs)
        return done

    @property
    def max_length(self) -> int | None:
        return next((c.max_length for c in self if isinstance(c, MaxLengthCriteria)), None)


class MaxLengthCriteria(StoppingCriteria):
    """Every row is done once the sequence (prompt included) has `max_length` tokens."""

    def __init__(self, max_length: int):
        self.max_length = max_length

    def __call__(self, input_ids, scores=None, **kwargs):
        return torch.full((input_ids.shape[0],), input_ids.shape[1] >= self.max_length, device=input_ids.device)


class EosTokenCriteria(StoppingCriteria):
    """A row is done when its last token is one of the eos ids."""

    def __init__(self, eos_token_id: int | list[int] | torch.Tensor):
        ids = [eos_token_id] if isinstance(eos_token_id, int) else eos_token_id
        self.eos_token_id = torch.as_tensor(ids, dtype=torch.long).view(-1)

    def __call__(self, input_ids, scores=None, **kwargs):
        if self.eos_token_id.device != input_ids.device:
            self.eos_token_id = self.eos_token_id.to(input_ids.device)
        return torch.isin(input_ids[:, -1], self.eos_token_id)


class StopStringCriteria(StoppingCriteria):
    """A row is done when its decoded text contains one of `stop_strings` in a stretch that the last token helped
    write, e.g. "stop" ends ["st", "op"], ["sto", "pped"] and ["la", "stop"], but an occurrence entirely inside
    earlier tokens (the prompt, say) does not count, so the check can run after every token and never fires twice.

    Only the last `window` tokens are decoded per row (enough to hold the longest stop string even if every token
    were one character), so the cost per step does not grow with the sequence. Decoding needs the ids on the host:
    this criterion is the one per-step host sync of a run that uses it.
    """

    def __init__(self, tokenizer, stop_strings: str | list[str]):
        if tokenizer is None or not hasattr(tokenizer, "decode"):
            raise ValueError(
                "stop_strings need the model's tokenizer to read the generated text: pass tokenizer=... to generate()."
            )
        self.tokenizer = tokenizer
        self.stop_strings = [stop_strings] if isinstance(stop_strings, str) else list(stop_strings)
        self.window = max(len(s) for s in self.stop_strings) + 2

    def __call__(self, input_ids, scores=None, **kwargs):
        rows = input_ids[:, -self.window :].tolist()
        done = [self._hits(row) for row in rows]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    def _hits(self, ids: list[int]) -> bool:
        text = self.tokenizer.decode(ids)
        before = len(self.tokenizer.decode(ids[:-1]))  # text written before the last token
        for s in self.stop_strings:
            at = text.rfind(s)
            if at >= 0 and at + len(s) > before:
                return True
        return False
