"""Helpers for the generation tests: tiny models and a tiny byte-level BPE tokenizer (trained in memory)."""

from __future__ import annotations

import torch

from byte_bpe import EOS, train_byte_bpe
from mintformers import BertConfig, BertLMHeadModel, MptConfig, MptForCausalLM

from parity import perturb_

CORPUS = [
    "the cat sat on the mat. the dog ate the bone.",
    "stop here, then go on; stopping is not the end.",
    "naïve café — 東京 and 大阪 are cities. 🙂 emoji too!",
    "line one\nline two\n",
] * 5


class ByteTokenizer:
    """Byte-level BPE (like MPT's GPT-NeoX tokenizer): ids ↔ text through `tokenizers`; only what generation uses."""

    def __init__(self):
        self.backend = train_byte_bpe(CORPUS, 300, special_tokens=(EOS,))
        self.eos_token_id = self.backend.token_to_id(EOS)

    def __len__(self) -> int:
        return self.backend.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        return self.backend.encode(text).ids

    def decode(self, ids, skip_special_tokens: bool = False) -> str:
        ids = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        return self.backend.decode(ids, skip_special_tokens=skip_special_tokens)


def tiny_mpt(vocab_size: int = 300, seed: int = 0, **overrides) -> MptForCausalLM:
    kwargs = dict(d_model=32, n_heads=4, n_layers=2, vocab_size=vocab_size, max_seq_len=24, learned_pos_emb=False)
    kwargs.update(overrides)
    torch.manual_seed(seed)
    return perturb_(MptForCausalLM(MptConfig(**kwargs)), seed).eval()


def tiny_bert(seed: int = 0, **overrides) -> BertLMHeadModel:
    kwargs = dict(
        vocab_size=90, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
        max_position_embeddings=40, is_decoder=True, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    )
    kwargs.update(overrides)
    torch.manual_seed(seed)
    return perturb_(BertLMHeadModel(BertConfig(**kwargs)), seed).eval()


def left_padded(vocab: int, batch: int = 3, length: int = 8, pad: int = 0, seed: int = 0):
    """Random prompts (ids avoid `pad`), row i padded on the left by 2·i tokens."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, vocab, (batch, length), generator=g)
    ids[ids == pad] = pad + 1
    mask = torch.ones_like(ids)
    for i in range(batch):
        mask[i, : 2 * i] = 0
    return ids.masked_fill(mask == 0, pad), mask
