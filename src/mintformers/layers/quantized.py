"""int8 layers: `Int8Linear` (two schemes) and `Int8Embedding`, on PyTorch's own int8 kernels.

Weights are int8 per output channel: W ≈ weight_scale[:, None] · weight, weight = round(W / weight_scale), the
scale chosen so the largest |W| of each row maps to the top of the range. Two ways to multiply:

- "int8-dynamic" (encoders; compute-bound): activations are quantized per token at run time, asymmetrically
  (x ≈ s · q + lo with q in 0..255, s and lo per row: BERT-style models put a few very large values on a few
  tokens, so one scale per tensor loses the rest — measured on all-MiniLM-L6-v2, per-tensor scales give a min
  cosine to float32 of 0.98, per-token 0.997). The product runs on oneDNN (`onednn::qlinear_pointwise`, u8 × s8 →
  float32); the per-row scale and offset are applied after: y = s ⊙ (q·Wqᵀ·w) + lo ⊗ (Σ_k Wq·w) + b.
  Weights use 7 bits (|q| ≤ 63): x86 CPUs without VNNI (AVX2, and AVX-512 before Cascade Lake) add byte products
  in pairs into signed 16-bit lanes, and 255 · 127 · 2 overflows them; with 7 bits the kernel is exact on every
  x86 CPU, so a saved model gives the same numbers everywhere (min cosine 0.995 on the benchmark corpus).
- "int8-weight-only" (decoding; memory-bound): activations stay floating point; a step reads a quarter of the
  float32 bytes. Few rows (decode steps) use `torch._weight_int8pack_mm` with bfloat16 activations (its fast
  path; with float32 activations it is ~10x slower on the CPUs measured); many rows (prefill) dequantize the
  weight and run the float matrix product.

Other devices (or a PyTorch without oneDNN) compute the same arithmetic with float matrix products.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Int8Linear", "Int8Embedding", "quantize_weight", "SCHEMES", "DECODE_ROWS"]

SCHEMES = ("int8-dynamic", "int8-weight-only")
DYNAMIC_WEIGHT_BITS = 7  # see the module docstring: exact on x86 CPUs without VNNI
DECODE_ROWS = 16  # weight-only: up to this many rows use the int8 kernel, more dequantize (prefill)


def quantize_weight(weight: torch.Tensor, bits: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """(out, in) float weight → int8 weight (|q| ≤ 2^(bits-1) - 1) and float32 scale per output row."""
    top = 2 ** (bits - 1) - 1
    w = weight.detach().float()
    scale = w.abs().amax(dim=1) / top
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # an all-zero row stays zero
    q = torch.round(w / scale[:, None]).clamp_(-top, top).to(torch.int8)
    return q, scale


def _version(t: torch.Tensor) -> int:
    """A tensor's in-place write counter (inference tensors have none: they cannot be written outside inference)."""
    return -1 if t.is_inference() else t._version


def _onednn_int8() -> bool:
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops, "onednn") and hasattr(torch.ops.onednn, "qlinear_pointwise")


def quantize_rows(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(rows, K) float32 → q (rows, K) uint8, scale (rows, 1), lo (rows, 1) with x ≈ scale · q + lo.

    Written for eager speed (each line is one pass over x): float → int8 conversion is vectorised where float →
    uint8 is not, so q - 128 is rounded and converted to int8, then viewed as uint8 and shifted back (+128 wraps
    modulo 256)."""
    lo = x.amin(dim=1, keepdim=True).clamp_(max=0.0)  # the range holds 0, so zero (padding) stays exact
    inv = 255.0 / (x.amax(dim=1, keepdim=True).clamp_(min=0.0) - lo).clamp_(min=1e-12)
    q = (x * inv).sub_(lo * inv + 128.0).round_().to(torch.int8).view(torch.uint8).add_(128)
    return q, 1.0 / inv, lo


class Int8Linear(nn.Module):
    """A linear layer with int8 weights (`weight`, `weight_scale`) and a float `bias`; state-dict keys are the
    float layer's plus `weight_scale`."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *, scheme: str = "int8-dynamic",
                 weight_bits: int | None = None, device=None, dtype=None):
        super().__init__()
        if scheme not in SCHEMES:
            raise ValueError(f"Unknown int8 scheme {scheme!r}; use one of {SCHEMES}.")
        self.in_features, self.out_features, self.scheme = in_features, out_features, scheme
        self.weight_bits = weight_bits or (DYNAMIC_WEIGHT_BITS if scheme == "int8-dynamic" else 8)
        self.register_buffer("weight", torch.zeros(out_features, in_features, dtype=torch.int8, device=device))
        self.register_buffer("weight_scale", torch.ones(out_features, dtype=dtype or torch.float32, device=device))
        self.bias = nn.Parameter(torch.zeros(out_features, dtype=dtype, device=device), requires_grad=False) if bias else None

    @classmethod
    def from_linear(cls, linear: nn.Linear, scheme: str, weight_bits: int | None = None) -> Int8Linear:
        layer = cls(linear.in_features, linear.out_features, linear.bias is not None, scheme=scheme,
                    weight_bits=weight_bits, device=linear.weight.device, dtype=linear.weight.dtype)
        q, scale = quantize_weight(linear.weight, layer.weight_bits)
        with torch.no_grad():
            layer.weight.copy_(q)
            layer.weight_scale.copy_(scale)
            if linear.bias is not None:
                layer.bias.copy_(linear.bias)
        return layer

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}, "
                f"scheme={self.scheme!r}, weight_bits={self.weight_bits}")

    def dequantized_weight(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return self.weight.to(dtype).mul_(self.weight_scale.to(dtype)[:, None])  # one temporary, scaled in place

    def _cached(self, name: str, build):
        """Derived tensors (oneDNN's packed weight, column sums), rebuilt when the int8 weight changes."""
        key = (self.weight.data_ptr(), _version(self.weight), _version(self.weight_scale), self.weight.device)
        cache = self.__dict__.setdefault("_mf_derived", {})
        if cache.get(name, (None,))[0] != key:
            cache[name] = (key, build())
        return cache[name][1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        rows = x.reshape(-1, shape[-1])
        if self.scheme == "int8-weight-only":
            y = self._weight_only(rows)
        else:
            y = self._dynamic(rows.float()).to(x.dtype)
        return y.reshape(*shape[:-1], self.out_features)

    def _weight_only(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type == "cpu" and x.shape[0] <= DECODE_ROWS:
            scale = self._cached("bf16_scale", lambda: self.weight_scale.to(torch.bfloat16))
            y = torch._weight_int8pack_mm(x.to(torch.bfloat16).contiguous(), self.weight, scale).to(x.dtype)
            return y if self.bias is None else y + self.bias.to(x.dtype)
        bias = None if self.bias is None else self.bias.to(x.dtype)
        return F.linear(x, self.dequantized_weight(x.dtype), bias)

    def _dynamic(self, x: torch.Tensor) -> torch.Tensor:
        return _dynamic_product(x, self._cached("product", lambda: _DynamicWeights([self])))

    @staticmethod
    def fused(layers: list[Int8Linear], x: torch.Tensor) -> list[torch.Tensor]:
        """Several "int8-dynamic" layers on the same input (attention's query/key/value): x is quantized once
        and multiplied by their stacked weights in one product; the outputs are split again."""
        first = layers[0]
        key = tuple((id(m), m.weight.data_ptr(), _version(m.weight), _version(m.weight_scale)) for m in layers)
        cache = first.__dict__.setdefault("_mf_fused", {})
        if cache.get("key") != key:
            cache.update(key=key, weights=_DynamicWeights(layers))
        shape = x.shape
        y = _dynamic_product(x.reshape(-1, shape[-1]).float(), cache["weights"]).to(x.dtype)
        return [part.reshape(*shape[:-1], -1) for part in y.split([m.out_features for m in layers], dim=-1)]


class _DynamicWeights:
    """What the int8-dynamic product needs from one or more stacked layers: oneDNN's packed int8 weight, the
    per-channel scales, and `offset` = (Σ_k Wq·w ; bias), which turns the per-row offset and the bias into one
    (rows, 2) @ (2, out) product."""

    def __init__(self, layers: list[Int8Linear]):
        self.weight = torch.cat([m.weight for m in layers]) if len(layers) > 1 else layers[0].weight
        self.scale = torch.cat([m.weight_scale.float() for m in layers])
        colsum = (self.weight.float() * self.scale[:, None]).sum(dim=1)
        bias = torch.cat([m.bias.float() if m.bias is not None else torch.zeros(m.out_features) for m in layers])
        self.offset = torch.stack([colsum, bias.to(colsum.device)])
        self.onednn = self.weight.device.type == "cpu" and _onednn_int8()
        if self.onednn:
            self.packed = torch.ops.onednn.qlinear_prepack(self.weight, None)
            self.zeros = torch.zeros(self.weight.shape[0], dtype=torch.long)


def _dynamic_product(x: torch.Tensor, w: _DynamicWeights) -> torch.Tensor:
    """(rows, in) float32 → (rows, out) float32: y = scale ⊙ (q · Wqᵀ · w) + lo ⊗ colsum + bias."""
    q, scale, lo = quantize_rows(x.contiguous())
    if w.onednn:
        acc = torch.ops.onednn.qlinear_pointwise(q, 1.0, 0, w.packed, w.scale, w.zeros, None, 1.0, 0, torch.float32,
                                                 "none", [], "")
    else:  # the same integers, multiplied in float (exact: |sums| stay far below 2^24 per term)
        acc = q.float() @ (w.weight.float() * w.scale[:, None]).t()
    return acc.mul_(scale).addmm_(torch.cat([lo, torch.ones_like(lo)], dim=1), w.offset)


class Int8Embedding(nn.Module):
    """An embedding table stored as int8 rows with a float scale per row (looked up, then scaled); shared with a
    tied weight-only `Int8Linear` output projection, so a tied vocabulary is stored once, in int8."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None, device=None, dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, padding_idx
        self.register_buffer("weight", torch.zeros(num_embeddings, embedding_dim, dtype=torch.int8, device=device))
        self.register_buffer("weight_scale", torch.ones(num_embeddings, dtype=dtype or torch.float32, device=device))

    @classmethod
    def from_embedding(cls, embedding: nn.Embedding) -> Int8Embedding:
        layer = cls(embedding.num_embeddings, embedding.embedding_dim, embedding.padding_idx,
                    device=embedding.weight.device, dtype=embedding.weight.dtype)
        q, scale = quantize_weight(embedding.weight, 8)
        with torch.no_grad():
            layer.weight.copy_(q)
            layer.weight_scale.copy_(scale)
        return layer

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}, int8"

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        dtype = self.weight_scale.dtype
        return F.embedding(ids, self.weight).to(dtype) * F.embedding(ids, self.weight_scale[:, None])
