"""A GPT-NeoX-style byte-level BPE tokenizer (what MPT checkpoints ship), trained in the test from a small corpus."""

from __future__ import annotations

import json
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

EOS, PAD = "<|endoftext|>", "<|padding|>"


def train_byte_bpe(corpus: list[str], vocab_size: int, special_tokens: tuple[str, ...] = (EOS, PAD)) -> Tokenizer:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=True)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=list(special_tokens), initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(corpus, trainer)
    return tokenizer


def write_neox_tokenizer(directory: Path, corpus: list[str], vocab_size: int, **config) -> Path:
    """tokenizer.json + an MPT-like tokenizer_config.json ("GPTNeoXTokenizer", eos as bos/unk) in `directory`."""
    train_byte_bpe(corpus, vocab_size).save(str(directory / "tokenizer.json"))
    config = {
        "tokenizer_class": "GPTNeoXTokenizer",
        "bos_token": EOS,
        "eos_token": EOS,
        "unk_token": EOS,
        "model_max_length": 2048,
        "clean_up_tokenization_spaces": True,
        **config,
    }
    (directory / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return directory
