"""One loss helper per task, with the reference's conventions (-100 ignored, problem_type inference)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = [
    "sequence_classification_loss",
    "token_classification_loss",
    "question_answering_loss",
    "masked_lm_loss",
    "causal_lm_loss",
    "multiple_negatives_ranking_loss",
]


def sequence_classification_loss(logits: torch.Tensor, labels: torch.Tensor, config) -> torch.Tensor:
    """logits (B, num_labels). The problem type comes from config.problem_type, else is inferred — and, as the
    reference does, written into the config on first use: 1 label → regression (MSE); integer labels →
    single-label (cross-entropy); otherwise multi-label (BCE with logits on float targets)."""
    num_labels = logits.shape[-1]
    labels = labels.to(logits.device)
    if config.problem_type is None:
        if num_labels == 1:
            config.problem_type = "regression"
        elif labels.dtype in (torch.long, torch.int):
            config.problem_type = "single_label_classification"
        else:
            config.problem_type = "multi_label_classification"
    if config.problem_type == "regression":
        if num_labels == 1:
            return F.mse_loss(logits.squeeze(), labels.squeeze().to(logits.dtype))
        return F.mse_loss(logits, labels.to(logits.dtype))
    if config.problem_type == "single_label_classification":
        return F.cross_entropy(logits.view(-1, num_labels), labels.view(-1))
    return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))


def token_classification_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """logits (B, T, C), labels (B, T) with -100 for positions to ignore."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.to(logits.device).reshape(-1))


masked_lm_loss = token_classification_loss


def question_answering_loss(
    start_logits: torch.Tensor, end_logits: torch.Tensor, start_positions: torch.Tensor, end_positions: torch.Tensor
) -> torch.Tensor:
    """Mean of start and end cross-entropies. Positions outside the sequence are clamped to T and ignored."""
    seq_len = start_logits.shape[1]
    losses = []
    for logits, positions in ((start_logits, start_positions), (end_logits, end_positions)):
        if positions.dim() > 1:
            positions = positions.squeeze(-1)
        positions = positions.to(logits.device).clamp(0, seq_len)
        losses.append(F.cross_entropy(logits, positions, ignore_index=seq_len))
    return (losses[0] + losses[1]) / 2


def causal_lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Next-token loss: position t predicts labels[t+1]; computed in fp32; -100 ignored."""
    labels = F.pad(labels.to(logits.device), (0, 1), value=-100)[..., 1:]
    return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)


def multiple_negatives_ranking_loss(anchors: torch.Tensor, candidates: torch.Tensor, scale: float = 20.0) -> torch.Tensor:
    """In-batch negatives, as sentence-transformers' MultipleNegativesRankingLoss (default settings) computes it.

    anchors (B, D); candidates (k·B, D): the B positives (row i belongs to anchor i), then any hard negatives.
    Cross-entropy over scale × cos(anchor i, every candidate), the target being anchor i's positive.
    """
    scores = F.normalize(anchors, p=2, dim=1) @ F.normalize(candidates, p=2, dim=1).T * scale  # (B, k·B)
    return F.cross_entropy(scores, torch.arange(len(anchors), device=scores.device))
