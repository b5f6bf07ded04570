"""Search over embeddings: `semantic_search` (queries × corpus, top k), `paraphrase_mining` (the most similar pairs
within one set) and `community_detection` (clusters above a similarity threshold), with sentence-transformers'
arguments and results. Each works chunk by chunk, so memory stays bounded for large corpora.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..progress import Progress
from .similarity import as_matrix, cos_sim, dot_score, normalize_embeddings


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
    corpus = as_matrix(corpus_embeddings)
    queries = as_matrix(query_embeddings).to(corpus.device)
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




def paraphrase_mining(
    model: Any,
    sentences: list[str],
    show_progress_bar: bool = False,
    batch_size: int = 32,
    query_chunk_size: int = 5000,
    corpus_chunk_size: int = 100_000,
    max_pairs: int = 500_000,
    top_k: int = 100,
    score_function: Callable[[Any, Any], torch.Tensor] = cos_sim,
    truncate_dim: int | None = None,
    prompt_name: str | None = None,
    prompt: str | None = None,
) -> list[list[float | int]]:
    """Embed `sentences` with `model`, then `paraphrase_mining_embeddings`: [[score, i, j], ...] with i < j, best first."""
    embeddings = model.encode(
        sentences, show_progress_bar=show_progress_bar, batch_size=batch_size, convert_to_tensor=True,
        truncate_dim=truncate_dim, prompt_name=prompt_name, prompt=prompt,
    )
    return paraphrase_mining_embeddings(
        embeddings, query_chunk_size=query_chunk_size, corpus_chunk_size=corpus_chunk_size, max_pairs=max_pairs,
        top_k=top_k, score_function=score_function,
    )


def paraphrase_mining_embeddings(
    embeddings: Any,
    query_chunk_size: int = 5000,
    corpus_chunk_size: int = 100_000,
    max_pairs: int = 500_000,
    top_k: int = 100,
    score_function: Callable[[Any, Any], torch.Tensor] = cos_sim,
) -> list[list[float | int]]:
    """The most similar pairs of rows: [[score, i, j], ...] with i < j, highest score first.

    As in sentence-transformers: each row's `top_k` best partners are taken within each corpus chunk (so chunking
    can add candidates), scores must exceed -1, and of the (i, j) and (j, i) candidates only the `max_pairs` - 1
    best are kept before pairs are merged, keeping each pair's lower score. Ties are ordered by (i, j).
    """
    embeddings = as_matrix(embeddings)
    n = len(embeddings)
    k = top_k + 1  # every row is its own best match
    kept = (np.empty(0, np.float32), np.empty(0, np.int64), np.empty(0, np.int64))  # (scores, i, j), directed
    total = 0  # candidates seen: once max_pairs is reached, only the best max_pairs - 1 survive
    for c_start in range(0, n, corpus_chunk_size):
        corpus = embeddings[c_start : c_start + corpus_chunk_size]
        for q_start in range(0, n, query_chunk_size):
            scores = score_function(embeddings[q_start : q_start + query_chunk_size], corpus)
            values, ids = scores.topk(min(k, scores.shape[1]), dim=1)
            rows = torch.arange(q_start, q_start + len(scores), device=ids.device)[:, None].expand_as(ids)
            cols = ids + c_start
            ok = (rows != cols) & (values > -1)
            chunk = (values[ok].float().cpu().numpy(), rows[ok].cpu().numpy(), cols[ok].cpu().numpy())
            total += len(chunk[0])
            kept = tuple(np.concatenate(pair) for pair in zip(kept, chunk))
            if total >= max_pairs and len(kept[0]) >= max(2 * max_pairs, 1024):
                kept = _best_directed(kept, max_pairs - 1)
    if total >= max_pairs:
        kept = _best_directed(kept, max_pairs - 1)
    scores, rows, cols = _best_directed(kept, len(kept[0]))  # ascending (score, i, j)
    lo, hi = np.minimum(rows, cols), np.maximum(rows, cols)
    _, first = np.unique(lo * max(n, 1) + hi, return_index=True)  # each pair's first (lowest) occurrence
    first.sort()
    first = first[np.argsort(-scores[first], kind="stable")]  # best first; ties keep (i, j) order
    return [[s, a, b] for s, a, b in zip(scores[first].tolist(), lo[first].tolist(), hi[first].tolist())]


def _best_directed(candidates: tuple[np.ndarray, ...], keep: int) -> tuple[np.ndarray, ...]:
    """The `keep` largest (score, i, j) triples, in ascending order."""
    scores, rows, cols = candidates
    order = np.lexsort((cols, rows, scores))[len(scores) - keep :] if keep > 0 else np.empty(0, np.int64)
    return scores[order], rows[order], cols[order]


def community_detection(
    embeddings: Any,
    threshold: float = 0.75,
    min_community_size: int = 10,
    batch_size: int = 1024,
    show_progress_bar: bool = False,
) -> list[list[int]]:
    """Clusters of rows whose cosine similarity to a central row is ≥ `threshold`, with at least
    `min_community_size` members; largest first, each listing its central row first, no row in two clusters."""
    embeddings = normalize_embeddings(as_matrix(embeddings))
    n = len(embeddings)
    min_community_size = min(min_community_size, n)
    search_width = min(max(2 * min_community_size, 50), n)  # neighbours looked at per row; doubled when all pass
    candidates: list[np.ndarray] = []
    starts = range(0, n, batch_size)
    with Progress(total=len(starts), desc="Finding clusters", unit="batches", enabled=show_progress_bar) as bar:
        for start in starts:
            scores = embeddings[start : start + batch_size] @ embeddings.T  # (b, n)
            counts = (scores >= threshold).sum(1)
            if embeddings.device.type != "cpu":  # on accelerators: one top-k for the whole batch
                dense = counts >= min_community_size
                if dense.any():
                    ids = scores[dense].topk(int(counts[dense].max())).indices.cpu()
                    candidates += [row[:c].numpy() for c, row in zip(counts[dense].tolist(), ids)]
            else:
                for row in torch.nonzero(counts >= min_community_size).flatten().tolist():
                    values, ids = scores[row].topk(search_width)
                    while values[-1] >= threshold and search_width < n:
                        search_width = min(2 * search_width, n)
                        values, ids = scores[row].topk(search_width)
                    candidates.append(ids[values >= threshold].numpy())
            bar.update(1)
    # largest first; a row already taken leaves every later cluster, which survives if still large enough
    taken = np.zeros(n, dtype=bool)
    communities = []
    for community in sorted(candidates, key=len, reverse=True):
        rest = community[~taken[community]]
        if len(rest) >= min_community_size:
            communities.append(rest)
            taken[rest] = True
    return [c.tolist() for c in sorted(communities, key=len, reverse=True)]
