"""Tiny checkpoints for the training tests: dropout off (so one process and several see the same function)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mintformers import BertForMaskedLM
from task_models import make_tiny_family
from test_embeddings import make_st_folder, make_tiny_checkpoint

NO_DROPOUT = {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> dict[str, Path]:
    """bert (a base model), mlm (BertForMaskedLM), st (a sentence-transformers folder), mpt (a causal LM)."""
    root = tmp_path_factory.mktemp("training-models")
    bert = make_tiny_checkpoint(root / "bert", **NO_DROPOUT)
    return {
        "bert": bert,
        "mlm": make_tiny_checkpoint(root / "mlm", BertForMaskedLM, **NO_DROPOUT),
        "st": make_st_folder(root / "st", bert),
        "mpt": make_tiny_family(root / "mpt", bert, "mpt", "AutoModelForCausalLM", d_model=32, n_heads=4, n_layers=2, max_seq_len=64),
    }
