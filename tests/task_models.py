"""Tiny checkpoints for every task command (and a one-label reranker for `rerank`), sharing one WordPiece tokenizer:
used by the CLI and server tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from mintformers import (
    BertForMaskedLM,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
)
from test_embeddings import make_st_folder, make_tiny_checkpoint

NER_LABELS = {0: "O", 1: "B-PER", 2: "I-PER", 3: "B-LOC", 4: "I-LOC"}


def task_models(root: Path) -> dict[str, Path]:
    base = make_tiny_checkpoint(root / "base")
    return {
        "st": make_st_folder(root / "st", base),
        "base": base,
        "mlm": make_tiny_checkpoint(root / "mlm", BertForMaskedLM),
        "cls": make_tiny_checkpoint(root / "cls", BertForSequenceClassification, id2label={0: "negative", 1: "positive"}),
        "rerank": make_tiny_checkpoint(root / "rerank", BertForSequenceClassification, seed=3, num_labels=1),  # a cross-encoder
        "ner": make_tiny_checkpoint(root / "ner", BertForTokenClassification, id2label=NER_LABELS),
        "qa": make_tiny_checkpoint(root / "qa", BertForQuestionAnswering),
        "gen": make_tiny_family(root / "gen", base, "mpt", "AutoModelForCausalLM", d_model=32, n_heads=4, n_layers=2, max_seq_len=64),
        "ie": make_tiny_family(root / "ie", base, "ernie_m", "AutoModelForInformationExtraction"),
    }


def make_tiny_family(directory: Path, tokenizer_from: Path, model_type: str, auto_name: str, **sizes) -> Path:
    """A tiny `auto_name` head of another family, sharing the tiny WordPiece tokenizer."""
    import mintformers.auto as auto

    vocab_size = json.loads((tokenizer_from / "config.json").read_text())["vocab_size"]
    sizes = sizes or dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48, max_position_embeddings=66)
    config = auto.AutoConfig.for_model(model_type, vocab_size=vocab_size, pad_token_id=0, **sizes)
    torch.manual_seed(0)
    getattr(auto, auto_name).from_config(config).save_pretrained(directory)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(tokenizer_from / name, directory / name)
    return directory
