"""Small modules that several encoder families share, named as their checkpoints name them."""

from __future__ import annotations

import torch
from torch import nn

from .activations import get_activation

__all__ = ["Pooler", "Intermediate", "ResidualOutput", "PredictionHeadTransform", "apply_chunked"]


class Pooler(nn.Module):
    """`dense` + tanh on the first token: (B, T, H) → (B, H)."""

    def __init__(self, hidden_size: int, activation: bool = True):
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.activation = nn.Tanh() if activation else nn.Identity()

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.activation(self.dense(hidden_states[:, 0]))


class Intermediate(nn.Module):
    """The feed-forward expansion: `dense` (H → I) + activation."""

    def __init__(self, hidden_size: int, intermediate_size: int, act: str):
        super().__init__()
        self.dense = nn.Linear(hidden_size, intermediate_size)
        self.intermediate_act_fn = get_activation(act)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.intermediate_act_fn(self.dense(hidden_states))


class ResidualOutput(nn.Module):
    """Post-LN sublayer output: LayerNorm(dropout(dense(x)) + residual)."""

    def __init__(self, in_size: int, hidden_size: int, eps: float, dropout: float):
        super().__init__()
        self.dense = nn.Linear(in_size, hidden_size)
        self.LayerNorm = nn.LayerNorm(hidden_size, eps=eps)
        self.dropout = nn.Dropout(dropout)

    def forward(self, hidden_states: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + residual)


class PredictionHeadTransform(nn.Module):
    """The LM head's `dense` + activation + `LayerNorm` before the vocabulary projection."""

    def __init__(self, hidden_size: int, act: str, eps: float):
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.transform_act_fn = get_activation(act)
        self.LayerNorm = nn.LayerNorm(hidden_size, eps=eps)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.transform_act_fn(self.dense(hidden_states)))


def apply_chunked(fn, chunk_size: int, x: torch.Tensor) -> torch.Tensor:
    """fn over sequence chunks of `chunk_size` (config.chunk_size_feed_forward; 0 = whole): same result, less peak
    memory for the feed-forward activations."""
    if chunk_size <= 0 or x.shape[1] <= chunk_size:
        return fn(x)
    return torch.cat([fn(c) for c in x.split(chunk_size, dim=1)], dim=1)
