"""Helpers for parity tests against the reference implementation (transformers 4.57.6, a test-only oracle).

The reference's init gives near-uniform attention and unit norms, which hides bugs; `perturb_` re-draws every
parameter so that norms, biases and attention patterns all matter.
"""

from __future__ import annotations

import math
import tempfile

import torch
from torch import nn

ATOL = 1e-5


def perturb_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Re-draw weights in place: Linear/conv ~ N(0, 1/fan_in), embeddings ~ N(0, 0.5²), norm scales ~ 1 ± 0.1,
    everything else (biases, norm shifts, extra vectors) ~ N(0, 0.1²)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            for name, p in module.named_parameters(recurse=False):
                if isinstance(module, nn.Embedding):
                    value = torch.randn(p.shape, generator=g) * 0.5
                elif name == "weight" and p.dim() == 1:  # LayerNorm / NoNorm scales
                    value = 1.0 + 0.1 * torch.randn(p.shape, generator=g)
                elif p.dim() >= 2:
                    value = torch.randn(p.shape, generator=g) / math.sqrt(p.shape[-1])
                else:
                    value = 0.1 * torch.randn(p.shape, generator=g)
                p.copy_(value.to(p.dtype))
    return model


def load_like(ref_model: nn.Module, our_class, via_disk: bool = True, **kwargs):
    """Our model with the reference model's weights: through save_pretrained → from_pretrained (the real path),
    or straight from its state dict."""
    if via_disk:
        with tempfile.TemporaryDirectory() as d:
            ref_model.save_pretrained(d)
            return our_class.from_pretrained(d, **kwargs)
    from mintformers.auto import config_class_for

    config = config_class_for(ref_model.config.model_type).from_dict(ref_model.config.to_dict())
    return our_class.from_pretrained("unused", config=config, state_dict=ref_model.state_dict(), **kwargs)


def max_diff(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor | None = None) -> float:
    """Max |a - b|, over the positions where `mask` (B, T) is 1 when given (padding rows may differ freely)."""
    a, b = a.detach().float(), b.detach().float()
    assert a.shape == b.shape, f"shape {tuple(a.shape)} != {tuple(b.shape)}"
    if mask is not None:
        m = mask.bool()
        a, b = a[m], b[m]
    return (a - b).abs().max().item() if a.numel() else 0.0


def assert_close(a, b, mask=None, atol: float = ATOL, what: str = "") -> None:
    d = max_diff(a, b, mask)
    assert d <= atol, f"{what}: max abs diff {d:.3g} > {atol}"


def batch_inputs(vocab_size: int, batch: int = 3, seq: int = 17, seed: int = 0, pad_id: int = 0, left: bool = False):
    """Random ids with a ragged attention mask (row 0 full, others padded on the right, or left)."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vocab_size, (batch, seq), generator=g)
    mask = torch.ones(batch, seq, dtype=torch.long)
    for i in range(1, batch):
        n = max(1, seq - 3 * i - 2)
        if left:
            mask[i, : seq - n] = 0
        else:
            mask[i, n:] = 0
    ids = ids.masked_fill(mask == 0, pad_id)
    return ids, mask
