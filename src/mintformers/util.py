"""sentence-transformers' `util`, for scripts that `from sentence_transformers import util`: change the import to
`from mintformers import util` and the same calls give the same results.

    from mintformers import SentenceTransformer, util
    model = SentenceTransformer("sentence-transformers/all-MiniLM-L6-v2")
    hits = util.semantic_search(model.encode(queries), model.encode(corpus), top_k=5)
"""

from .embeddings.quantization import quantize_embeddings
from .embeddings.search import community_detection, paraphrase_mining, paraphrase_mining_embeddings, semantic_search
from .embeddings.similarity import (
    SimilarityFunction,
    cos_sim,
    dot_score,
    euclidean_sim,
    manhattan_sim,
    normalize_embeddings,
    pairwise_angle_sim,
    pairwise_cos_sim,
    pairwise_dot_score,
    pairwise_euclidean_sim,
    pairwise_manhattan_sim,
    pytorch_cos_sim,
    truncate_embeddings,
)

__all__ = [
    "cos_sim",
    "pytorch_cos_sim",
    "dot_score",
    "manhattan_sim",
    "euclidean_sim",
    "pairwise_cos_sim",
    "pairwise_dot_score",
    "pairwise_manhattan_sim",
    "pairwise_euclidean_sim",
    "pairwise_angle_sim",
    "normalize_embeddings",
    "truncate_embeddings",
    "SimilarityFunction",
    "semantic_search",
    "paraphrase_mining",
    "paraphrase_mining_embeddings",
    "community_detection",
    "quantize_embeddings",
]
