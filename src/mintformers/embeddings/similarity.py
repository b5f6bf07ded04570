"""Similarity between embeddings: sentence-transformers' `util` similarity functions, by name and as functions.

Inputs may be torch tensors, numpy arrays, lists of vectors or of tensors; a vector counts as a one-row matrix.
Results are torch tensors, as there: `cos_sim(a, b)` (n, m) for every pair of rows, `pairwise_cos_sim(a, b)` (n,)
for row i against row i.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F


def as_tensor(x: Any) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        t = x
    elif isinstance(x, np.ndarray):
        t = torch.from_numpy(x)
    elif isinstance(x, (list, tuple)) and x and isinstance(x[0], torch.Tensor):
        t = torch.stack(list(x))
    else:
        t = torch.as_tensor(np.asarray(x))
    return t if t.is_floating_point() else t.float()


def as_matrix(x: Any) -> torch.Tensor:
    t = as_tensor(x)
    return t[None] if t.dim() == 1 else t


def _same_device(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return a, b.to(a.device) if b.device != a.device else b


def normalize_embeddings(embeddings: torch.Tensor) -> torch.Tensor:
    """Each row scaled to unit L2 norm (rows of zeros stay zero)."""
    return F.normalize(embeddings, p=2, dim=1)


def cos_sim(a: Any, b: Any) -> torch.Tensor:
    """cos(a[i], b[j]) for all i, j → (n, m). Vectors are treated as one-row matrices."""
    a, b = _same_device(as_matrix(a), as_matrix(b))
    return normalize_embeddings(a) @ normalize_embeddings(b).T


pytorch_cos_sim = cos_sim  # sentence-transformers' older name


def dot_score(a: Any, b: Any) -> torch.Tensor:
    a, b = _same_device(as_matrix(a), as_matrix(b))
    return a @ b.T


def euclidean_sim(a: Any, b: Any) -> torch.Tensor:
    """-‖a[i] - b[j]‖₂ (higher is more similar)."""
    a, b = _same_device(as_matrix(a), as_matrix(b))
    return -torch.cdist(a, b, p=2.0)


def manhattan_sim(a: Any, b: Any) -> torch.Tensor:
    """-‖a[i] - b[j]‖₁ (higher is more similar)."""
    a, b = _same_device(as_matrix(a), as_matrix(b))
    return -torch.cdist(a, b, p=1.0)


def pairwise_cos_sim(a: Any, b: Any) -> torch.Tensor:
    a, b = _same_device(as_tensor(a), as_tensor(b))
    return (F.normalize(a, p=2, dim=-1) * F.normalize(b, p=2, dim=-1)).sum(-1)


def pairwise_dot_score(a: Any, b: Any) -> torch.Tensor:
    a, b = _same_device(as_tensor(a), as_tensor(b))
    return (a * b).sum(-1)


def pairwise_euclidean_sim(a: Any, b: Any) -> torch.Tensor:
    a, b = _same_device(as_tensor(a), as_tensor(b))
    return -((a - b) ** 2).sum(-1).sqrt()


def pairwise_manhattan_sim(a: Any, b: Any) -> torch.Tensor:
    a, b = _same_device(as_tensor(a), as_tensor(b))
    return -(a - b).abs().sum(-1)


def pairwise_angle_sim(x: Any, y: Any) -> torch.Tensor:
    """AnglE's similarity (arXiv 2309.12871): each embedding read as complex numbers (first half real, second half
    imaginary; odd widths padded with a zero), |Σ x / y| with the quotient scaled by the norms' ratio."""
    x, y = _same_device(as_matrix(x), as_matrix(y))
    if x.shape[1] % 2:
        x, y = F.pad(x, (0, 1)), F.pad(y, (0, 1))
    a, b = x.chunk(2, dim=1)  # x = a + bi
    c, d = y.chunk(2, dim=1)  # y = c + di
    y_norm_sq = (c**2 + d**2).sum(1, keepdim=True)
    re, im = (a * c + b * d) / y_norm_sq, (b * c - a * d) / y_norm_sq  # x · conj(y) / ‖y‖², per component
    ratio = (a**2 + b**2).sum(1, keepdim=True).sqrt() / y_norm_sq.sqrt()  # ‖x‖ / ‖y‖
    return (torch.cat((re, im), dim=1) / ratio).sum(1).abs()


def truncate_embeddings(embeddings: Any, truncate_dim: int | None) -> Any:
    """The first `truncate_dim` dimensions of each embedding (Matryoshka models); None keeps them all."""
    return embeddings[..., :truncate_dim]


SIMILARITY_FUNCTIONS: dict[str, tuple[Callable[[Any, Any], torch.Tensor], Callable[[Any, Any], torch.Tensor]]] = {
    "cosine": (cos_sim, pairwise_cos_sim),
    "dot": (dot_score, pairwise_dot_score),
    "euclidean": (euclidean_sim, pairwise_euclidean_sim),
    "manhattan": (manhattan_sim, pairwise_manhattan_sim),
}




class SimilarityFunction(Enum):
    """The similarity functions by name, as `similarity_fn_name` takes them."""

    COSINE = "cosine"
    DOT_PRODUCT = "dot"
    DOT = "dot"  # an alias of DOT_PRODUCT
    EUCLIDEAN = "euclidean"
    MANHATTAN = "manhattan"

    @staticmethod
    def to_similarity_fn(similarity_function: str | SimilarityFunction) -> Callable[[Any, Any], torch.Tensor]:
        return SIMILARITY_FUNCTIONS[SimilarityFunction(similarity_function).value][0]

    @staticmethod
    def to_similarity_pairwise_fn(similarity_function: str | SimilarityFunction) -> Callable[[Any, Any], torch.Tensor]:
        return SIMILARITY_FUNCTIONS[SimilarityFunction(similarity_function).value][1]

    @staticmethod
    def possible_values() -> list[str]:
        return [m.value for m in SimilarityFunction]
