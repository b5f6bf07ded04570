"""Helpers for the Flax tests: tiny reference checkpoints, padded batches, masked comparison of output pytrees."""

from __future__ import annotations

import jax
import numpy as np
import torch

from parity import batch_inputs, perturb_

ATOL = 1e-5
TINY = dict(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
    max_position_embeddings=64, type_vocab_size=2, num_labels=3,
)
# reference PyTorch class → the Flax class (the reference's name and ours), for the nine Flax classes
CLASSES = {
    "BertModel": "FlaxBertModel",
    "BertForPreTraining": "FlaxBertForPreTraining",
    "BertLMHeadModel": "FlaxBertForCausalLM",
    "BertForMaskedLM": "FlaxBertForMaskedLM",
    "BertForNextSentencePrediction": "FlaxBertForNextSentencePrediction",
    "BertForSequenceClassification": "FlaxBertForSequenceClassification",
    "BertForMultipleChoice": "FlaxBertForMultipleChoice",
    "BertForTokenClassification": "FlaxBertForTokenClassification",
    "BertForQuestionAnswering": "FlaxBertForQuestionAnswering",
}


def batch(seed: int = 0, batch_size: int = 3, seq: int = 9) -> dict[str, np.ndarray]:
    """A right-padded batch (row 0 full, the others shorter) with two segments, as numpy arrays."""
    ids, mask = batch_inputs(TINY["vocab_size"], batch_size, seq, seed=seed)
    ids, mask = ids.numpy(), mask.numpy()
    token_type_ids = np.zeros_like(ids)
    token_type_ids[:, seq // 2 :] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": token_type_ids * mask}


def choices(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Multiple-choice inputs (batch, 2, T): each row with itself reversed in the batch as the second choice."""
    return {k: np.stack([v, v[::-1]], axis=1) for k, v in inputs.items()}


def reference_folder(directory, pt_class: str, seed: int = 0, **config):
    """A transformers PyTorch model with re-drawn weights, saved as safetensors into `directory`."""
    import transformers

    torch.manual_seed(seed)
    kwargs = {**TINY, **config}
    if pt_class == "BertLMHeadModel":
        kwargs.setdefault("is_decoder", True)
    if pt_class == "BertForQuestionAnswering":
        kwargs["num_labels"] = 2
    model = getattr(transformers, pt_class)(transformers.BertConfig(**kwargs)).eval()
    perturb_(model, seed=seed)
    model.save_pretrained(directory)
    return directory


def max_diff(ours, ref, mask: np.ndarray | None = None) -> float:
    """Max |ours - ref| over matching leaves of two output pytrees; with a (rows, T) `mask`, per-token arrays
    (rows, T, ...) and attention weights (rows, H, T, K) are compared at real (non-pad) query positions only."""
    a_leaves, b_leaves = jax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(ref)
    assert len(a_leaves) == len(b_leaves), f"{len(a_leaves)} arrays vs {len(b_leaves)}"
    worst = 0.0
    for a, b in zip(a_leaves, b_leaves):
        a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
        assert a.shape == b.shape, f"shape {a.shape} != {b.shape}"
        if mask is not None:
            m = mask.reshape(-1, mask.shape[-1]).astype(bool)
            if a.shape[:2] == m.shape:
                a, b = a[m], b[m]
            elif a.ndim == 4 and (a.shape[0], a.shape[2]) == m.shape:
                a, b = a.transpose(0, 2, 1, 3)[m], b.transpose(0, 2, 1, 3)[m]
        if a.size:
            worst = max(worst, float(np.abs(a - b).max()))
    return worst
