"""Sentence embeddings: load a sentence-transformers folder (or any plain checkpoint) and encode text, fast.

    from mintformers import SentenceEncoder
    encoder = SentenceEncoder.from_pretrained("sentence-transformers/all-MiniLM-L6-v2")
    embeddings = encoder.encode(["A man is eating food.", "A man is eating a piece of bread."])
    encoder.similarity(embeddings, embeddings)

The package, one job per file:
    encoder.py      SentenceEncoder / SentenceTransformer: tokenize, run the model and the modules, encode
    modules.py      the module chain: Transformer (checkpoint + tokenizer), Pooling, Dense, Normalize
    folder.py       reading and writing a sentence-transformers folder (modules.json and its configs)
    batching.py     length-sorted batching, shared by every encode-like loop
    multiprocess.py encoding on several processes / devices (torch.multiprocessing)
    similarity.py   similarity functions (sentence-transformers' util; `mintformers.util` gathers them all)
    search.py       semantic search, paraphrase mining, community detection
    quantization.py int8 / binary embeddings
    index.py        a saved corpus index: embeddings beside their texts
    cross_encoder.py CrossEncoder: rerankers and pair classifiers (predict, rank)
    base.py         what both share: loading options, prompts, worker pools
"""

from .batching import CPU_BATCH_OVERHEAD_TOKENS, plan_batches
from .cross_encoder import CrossEncoder
from .encoder import SentenceEncoder, SentenceTransformer
from .index import SavedEmbeddings, load_embeddings, save_embeddings, texts_fingerprint
from .modules import POOLING_MODES, Dense, Normalize, Pooling, Transformer, pooling_modes_from_config
from .quantization import PRECISIONS, quantize_embeddings
from .search import community_detection, paraphrase_mining, paraphrase_mining_embeddings, semantic_search
from .similarity import (
    SIMILARITY_FUNCTIONS,
    SimilarityFunction,
    cos_sim,
    dot_score,
    euclidean_sim,
    manhattan_sim,
    pairwise_cos_sim,
    pairwise_dot_score,
    pairwise_euclidean_sim,
    pairwise_manhattan_sim,
    pytorch_cos_sim,
)

__all__ = [
    "SentenceEncoder",
    "SentenceTransformer",
    "CrossEncoder",
    "Transformer",
    "Pooling",
    "Dense",
    "Normalize",
    "POOLING_MODES",
    "PRECISIONS",
    "SIMILARITY_FUNCTIONS",
    "cos_sim",
    "dot_score",
    "euclidean_sim",
    "manhattan_sim",
    "pairwise_cos_sim",
    "pairwise_dot_score",
    "pairwise_euclidean_sim",
    "pairwise_manhattan_sim",
    "semantic_search",
    "paraphrase_mining",
    "paraphrase_mining_embeddings",
    "community_detection",
    "pytorch_cos_sim",
    "SimilarityFunction",
    "quantize_embeddings",
    "save_embeddings",
    "load_embeddings",
    "SavedEmbeddings",
    "texts_fingerprint",
    "pooling_modes_from_config",
    "plan_batches",
    "CPU_BATCH_OVERHEAD_TOKENS",
]
