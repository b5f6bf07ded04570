"""Similarity between embeddings, semantic search and quantization: sentence-transformers' `util` functions.

Inputs may be torch tensors, numpy arrays, lists of vectors or of tensors; results are torch tensors (numpy for
`quantize_embeddings`), as there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F

logger = logging.getLogger(__name__)

PRECISIONS = ("float32", "int8", "uint8", "binary", "ubinary")


def _as_tensor(x: Any) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        t = x
    elif isinstance(x, np.ndarray):
        t = torch.from_numpy(x)
    elif isinstance(x, (list, tuple)) and x and isinstance(x[0], torch.Tensor):
        t = torch.stack(list(x))
    else:
        t = torch.as_tensor(np.asarray(x))
    return t if t.is_floating_point() else t.float()


def _as_matrix(x: Any) -> torch.Tensor:
    t = _as_tensor(x)
    return t[None] if t.dim() == 1 else t


def _same_device(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return a, b.to(a.device) if b.device != a.device else b


def cos_sim(a: Any, b: Any) -> torch.Tensor:
    """cos(a[i], b[j]) for all i, j → (n, m). Vectors are treated as one-row matrices."""
    a, b = _same_device(_as_matrix(a), _as_matrix(b))
    return F.normalize(a, p=2, dim=1) @ F.normalize(b, p=2, dim=1).T


def dot_score(a: Any, b: Any) -> torch.Tensor:
    a, b = _same_device(_as_matrix(a), _as_matrix(b))
    return a @ b.T


def euclidean_sim(a: Any, b: Any) -> torch.Tensor:
    """-‖a[i] - b[j]‖₂ (higher is more similar)."""
    a, b = _same_device(_as_matrix(a), _as_matrix(b))
    return -torch.cdist(a, b, p=2.0)


def manhattan_sim(a: Any, b: Any) -> torch.Tensor:
    """-‖a[i] - b[j]‖₁ (higher is more similar)."""
    a, b = _same_device(_as_matrix(a), _as_matrix(b))
    return -torch.cdist(a, b, p=1.0)


def pairwise_cos_sim(a: Any, b: Any) -> torch.Tensor:
    a, b = _same_device(_as_tensor(a), _as_tensor(b))
    return (F.normalize(a, p=2, dim=-1) * F.normalize(b, p=2, dim=-1)).sum(-1)


def pairwise_dot_score(a: Any, b: Any) -> torch.Tensor:
    a, b = _same_device(_as_tensor(a), _as_tensor(b))
    return (a * b).sum(-1)


def pairwise_euclidean_sim(a: Any, b: Any) -> torch.Tensor:
    a, b = _same_device(_as_tensor(a), _as_tensor(b))
    return -((a - b) ** 2).sum(-1).sqrt()


def pairwise_manhattan_sim(a: Any, b: Any) -> torch.Tensor:
    a, b = _same_device(_as_tensor(a), _as_tensor(b))
    return -(a - b).abs().sum(-1)


SIMILARITY_FUNCTIONS: dict[str, tuple[Callable[[Any, Any], torch.Tensor], Callable[[Any, Any], torch.Tensor]]] = {
    "cosine": (cos_sim, pairwise_cos_sim),
    "dot": (dot_score, pairwise_dot_score),
    "euclidean": (euclidean_sim, pairwise_euclidean_sim),
    "manhattan": (manhattan_sim, pairwise_manhattan_sim),
}


def semantic_search(
    query_embeddings: Any,
    corpus_embeddings: Any,
    query_chunk_size: int = 100,
    corpus_chunk_size: int = 500_000,
    top_k: int = 10,
    score_function: Callable[[Any, Any], torch.Tensor] = cos_sim,
) -> list[list[dict[str, int | float]]]:
    """The `top_k` best corpus entries for each query: one list per query of {"corpus_id", "score"}, best first.

    Scores are computed chunk by chunk (queries × corpus), keeping a running top-k, so memory stays bounded for
    large corpora. Hits with equal scores are listed in corpus order.
    """
    corpus = _as_matrix(corpus_embeddings)
    queries = _as_matrix(query_embeddings).to(corpus.device)
    if top_k <= 0 or len(corpus) == 0:
        return [[] for _ in range(len(queries))]
    if score_function is cos_sim:  # normalise once instead of once per chunk pair
        queries, corpus, score_function = F.normalize(queries, dim=1), F.normalize(corpus, dim=1), dot_score
    results: list[list[dict[str, int | float]]] = []
    for q_start in range(0, len(queries), query_chunk_size):
        chunk = queries[q_start : q_start + query_chunk_size]
        best_scores = torch.empty((len(chunk), 0), device=chunk.device)
        best_ids = torch.empty((len(chunk), 0), dtype=torch.long, device=chunk.device)
        for c_start in range(0, len(corpus), corpus_chunk_size):
            scores = score_function(chunk, corpus[c_start : c_start + corpus_chunk_size]).float()
            k = min(top_k, scores.shape[1])
            values, ids = scores.topk(k, dim=1)
            merged_scores = torch.cat([best_scores, values], dim=1)
            merged_ids = torch.cat([best_ids, ids + c_start], dim=1)
            k = min(top_k, merged_scores.shape[1])
            keep = merged_scores.topk(k, dim=1).indices
            best_scores, best_ids = merged_scores.gather(1, keep), merged_ids.gather(1, keep)
        for scores_row, ids_row in zip(best_scores.tolist(), best_ids.tolist()):
            hits = sorted(zip(scores_row, ids_row), key=lambda h: (-h[0], h[1]))
            results.append([{"corpus_id": i, "score": s} for s, i in hits])
    return results


def quantize_embeddings(
    embeddings: Any,
    precision: Literal["float32", "int8", "uint8", "binary", "ubinary"],
    ranges: np.ndarray | None = None,
    calibration_embeddings: np.ndarray | None = None,
) -> np.ndarray:
    """Float embeddings → a smaller numpy representation, as sentence-transformers' `quantize_embeddings`.

    int8/uint8: each dimension's [min, max] (from `ranges` (2, dim), else `calibration_embeddings`, else these
    embeddings) is cut into 256 buckets. binary/ubinary: the sign bits (> 0), packed 8 per byte (int8 is offset
    by -128).
    """
    if isinstance(embeddings, torch.Tensor):
        embeddings = embeddings.detach().float().cpu().numpy()
    elif isinstance(embeddings, list):
        embeddings = np.array([e.detach().float().cpu().numpy() if isinstance(e, torch.Tensor) else e for e in embeddings])
    embeddings = np.asarray(embeddings)
    if embeddings.dtype in (np.int8, np.uint8):
        raise ValueError("Embeddings to quantize must be floats, not int8/uint8.")
    if precision == "float32":
        return embeddings.astype(np.float32)
    if precision in ("int8", "uint8"):
        if ranges is None:
            source = embeddings if calibration_embeddings is None else np.asarray(calibration_embeddings)
            if calibration_embeddings is None and len(embeddings) < 100:
                logger.warning(
                    "Computing %s quantization ranges from %d embeddings; pass ranges or calibration_embeddings "
                    "computed on more data for stable buckets.", precision, len(embeddings),
                )
            ranges = np.vstack((source.min(axis=0), source.max(axis=0)))
        starts = ranges[0, :]
        steps = (ranges[1, :] - ranges[0, :]) / 255
        steps = np.where(steps == 0, 1, steps)
        buckets = np.clip(np.floor((embeddings - starts) / steps), 0, 255)
        return buckets.astype(np.uint8) if precision == "uint8" else (buckets - 128).astype(np.int8)
    if precision in ("binary", "ubinary"):
        packed = np.packbits(embeddings > 0, axis=-1).reshape(embeddings.shape[0], -1)
        return packed if precision == "ubinary" else (packed.astype(np.int16) - 128).astype(np.int8)
    raise ValueError(f"precision={precision!r} is not one of {PRECISIONS}.")

