"""Scaled dot-product attention, written once for every family.

Every family reduces its position scheme to an *additive bias* on the attention scores — the padding/causal mask,
MPNet's relative-position buckets, MPT's ALiBi, BERT's relative_key(_query) terms — so one function serves all:
`attend(q, k, v, bias)` runs torch SDPA, or the explicit (eager) softmax when attention weights or a head mask
are needed. Masked positions get `finfo(dtype).min` like the reference (finite, so fully padded rows never NaN).

`packed(Packing(lengths))` runs rows of different lengths laid end to end as one sequence, without padding: every
layer but attention works token by token, so only `SelfAttention` needs the rows apart (for the families that
declare `supports_packing`).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from contextvars import ContextVar

import torch
import torch.nn.functional as F
from torch import nn

from ..validation import check_head_mask_shape
from .quantized import Int8Linear

__all__ = [
    "attend",
    "choose_impl",
    "split_heads",
    "merge_heads",
    "project",
    "project_heads",
    "padding_bias",
    "drop_full_mask",
    "mask_to_bias",
    "causal_padding_bias",
    "head_mask_per_layer",
    "SelfAttention",
    "Packing",
    "packed",
    "prune_linear_layer",
    "kept_head_features",
]


def split_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """(B, T, heads*D) → (B, heads, T, D)"""
    b, t, _ = x.shape
    return x.view(b, t, num_heads, -1).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(B, heads, T, D) → (B, T, heads*D)"""
    b, h, t, d = x.shape
    return x.transpose(1, 2).reshape(b, t, h * d)


def choose_impl(requested: str, output_attentions: bool = False, head_mask: torch.Tensor | None = None) -> str:
    """SDPA cannot return weights nor scale single heads: those requests run eager."""
    return "eager" if requested == "eager" or output_attentions or head_mask is not None else "sdpa"


def attend(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    bias: torch.Tensor | None = None,
    *,
    scale: float | None = None,
    dropout: float = 0.0,
    head_mask: torch.Tensor | None = None,
    impl: str = "sdpa",
    softmax_dtype: torch.dtype | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """softmax(q·kᵀ·scale + bias)·v.

    q (B, H, Tq, D), k/v (B, H, Tk, D), bias broadcastable to (B, H, Tq, Tk), head_mask broadcastable to
    (B, H, 1, 1). Returns (B, H, Tq, D) and, for eager, the attention probabilities (B, H, Tq, Tk).
    `softmax_dtype` upcasts the softmax (the reference does so for MPT).
    """
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    if impl == "sdpa" and head_mask is None:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=dropout, scale=scale), None
    scores = torch.matmul(q, k.transpose(-1, -2)) * scale
    if bias is not None:
        scores = scores + bias
    probs = F.softmax(scores, dim=-1, dtype=softmax_dtype).to(v.dtype)
    if dropout:
        probs = F.dropout(probs, p=dropout)
    if head_mask is not None:
        probs = probs * head_mask
    return torch.matmul(probs, v), probs


def mask_to_bias(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """A 1/0 (or bool) keep-mask → additive bias: 0 where kept, finfo(dtype).min where masked."""
    return (1.0 - mask.to(dtype)) * torch.finfo(dtype).min


def drop_full_mask(attention_mask: torch.Tensor | None, impl: str) -> torch.Tensor | None:
    """An all-ones mask hides nothing: SDPA then runs without a bias (no (B, heads, Tq, Tk) sum). Kept while
    torch.compile / torch.export trace, where the check would depend on the data."""
    if attention_mask is not None and impl == "sdpa" and not torch.compiler.is_compiling():
        if bool(attention_mask.all()):
            return None
    return attention_mask


def padding_bias(attention_mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """Encoder mask: (B, Tk) → (B, 1, 1, Tk); (B, Tq, Tk) → (B, 1, Tq, Tk); None stays None."""
    if attention_mask is None:
        return None
    if attention_mask.dim() == 2:
        return mask_to_bias(attention_mask[:, None, None, :], dtype)
    if attention_mask.dim() == 3:
        return mask_to_bias(attention_mask[:, None, :, :], dtype)
    raise ValueError(
        f"attention_mask must have shape (batch, key_length) or (batch, query_length, key_length), "
        f"got {tuple(attention_mask.shape)}."
    )


def causal_padding_bias(attention_mask: torch.Tensor, query_length: int, dtype: torch.dtype) -> torch.Tensor:
    """Decoder mask: (B, past+Tq) padding mask → (B, 1, Tq, past+Tq) bias, query i sees keys ≤ past+i."""
    b, key_length = attention_mask.shape
    past = key_length - query_length
    q_pos = torch.arange(query_length, device=attention_mask.device)[:, None] + past
    k_pos = torch.arange(key_length, device=attention_mask.device)[None, :]
    keep = (k_pos <= q_pos)[None, None] & attention_mask[:, None, None, :].bool()
    return mask_to_bias(keep, dtype)


def head_mask_per_layer(head_mask: torch.Tensor | None, num_layers: int, dtype: torch.dtype) -> list:
    """(heads,) or (layers, heads) → per-layer (1, heads, 1, 1) multipliers (None when no mask)."""
    if head_mask is None:
        return [None] * num_layers
    check_head_mask_shape(head_mask.shape, num_layers)
    if head_mask.dim() == 1:
        head_mask = head_mask[None].expand(num_layers, -1)
    return [m.to(dtype)[None, :, None, None] for m in head_mask]


class Packing:
    """Rows of `lengths` tokens laid end to end: one sequence (1, T, ·) of T = sum(lengths) real tokens, where a
    padded batch would be (rows, longest, ·). The linear layers, norms and activations then spend nothing on padding;
    `SelfAttention` scatters its query/key/value into the padded grid, attends row by row with `bias` (padding), and
    gathers the real positions back. Worth it where lengths differ (a server's batches of whatever arrived)."""

    def __init__(self, lengths: list[int], device: torch.device | str | None = None):
        self.rows, self.width = len(lengths), max(lengths)
        span = torch.arange(self.width, device=device)
        keep = span[None, :] < torch.tensor(lengths, device=device)[:, None]  # (rows, width), right-padded
        self.mask = keep.long()
        self.index = keep.view(-1).nonzero().squeeze(1)  # (T,) the real tokens' places in the flattened grid
        self.position_ids = span.expand(self.rows, -1)[keep][None]  # (1, T): 0.. in each row
        self._bias: dict[torch.dtype, torch.Tensor] = {}

    def bias(self, dtype: torch.dtype) -> torch.Tensor:
        """The padding's attention bias (rows, 1, 1, width), made once for all layers."""
        if dtype not in self._bias:
            self._bias[dtype] = padding_bias(self.mask, dtype)
        return self._bias[dtype]

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        """(1, T, F) → (rows, width, F), zeros at the padding."""
        grid = x.new_zeros(self.rows * self.width, x.shape[-1])
        grid[self.index] = x[0]
        return grid.view(self.rows, self.width, -1)

    def unpad(self, x: torch.Tensor) -> torch.Tensor:
        """(rows, width, F) → (1, T, F)."""
        return x.reshape(self.rows * self.width, -1)[self.index][None]


_PACKING: ContextVar[Packing | None] = ContextVar("packing", default=None)


@contextlib.contextmanager
def packed(packing: Packing) -> Iterator[Packing]:
    """Within this block (this thread or task), self-attention takes its (1, T, ·) input as `packing`'s rows."""
    token = _PACKING.set(packing)
    try:
        yield packing
    finally:
        _PACKING.reset(token)


def prune_linear_layer(layer: nn.Linear, index: torch.Tensor, dim: int = 0) -> nn.Linear:
    """Keep only the rows (dim=0) or columns (dim=1) of `layer` listed in `index`."""
    index = index.to(layer.weight.device)
    weight = layer.weight.index_select(dim, index).detach().clone()
    bias = None
    if layer.bias is not None:
        bias = (layer.bias if dim == 1 else layer.bias[index]).detach().clone()
    new_size = list(layer.weight.shape)
    new_size[dim] = len(index)
    new = nn.Linear(new_size[1], new_size[0], bias=bias is not None).to(layer.weight.device, layer.weight.dtype)
    with torch.no_grad():
        new.weight.copy_(weight)
        if bias is not None:
            new.bias.copy_(bias)
    return new


def kept_head_features(num_heads: int, head_size: int, pruned: set[int], heads: set[int]) -> torch.Tensor:
    """Indices of the projection features (num_heads · head_size of them now) that remain when `heads` are removed,
    heads counted in the original model, of which `pruned` are gone already. On the CPU: pruning also runs while
    from_pretrained builds the model on the meta device."""
    keep = torch.ones(num_heads, head_size, dtype=torch.bool, device="cpu")
    for head in heads:
        keep[head - sum(1 for p in pruned if p < head)] = False  # shift past earlier pruned heads
    return torch.arange(keep.numel(), device="cpu")[keep.view(-1)]


def project(x: torch.Tensor, projections: tuple[nn.Module, ...]) -> list[torch.Tensor]:
    """Self-attention's query/key/value of x (B, T, in), each (B, T, out). int8 layers (layers/quantized.py)
    quantize x once and multiply by the three weights in one product."""
    if all(type(m) is Int8Linear and m.scheme == "int8-dynamic" for m in projections):
        return Int8Linear.fused(list(projections), x)
    return [proj(x) for proj in projections]


def project_heads(x: torch.Tensor, projections: tuple[nn.Module, ...], num_heads: int) -> list[torch.Tensor]:
    """`project`, split into heads: one (B, heads, T, D) tensor per projection."""
    return [split_heads(t, num_heads) for t in project(x, projections)]


class SelfAttention(nn.Module):
    """`query`/`key`/`value` projections (the BERT-style checkpoint names) around `attend`.

    Inputs for query, key and value may differ (MobileBERT feeds bottlenecked tensors, cross-attention feeds the
    encoder states); `in_*` give their widths. Supports head pruning. Subclasses add position terms through
    `position_bias(q, k)`.
    """

    def __init__(
        self,
        hidden_size: int,
        num_heads: int,
        dropout: float = 0.0,
        *,
        in_query: int | None = None,
        in_key: int | None = None,
        in_value: int | None = None,
    ):
        super().__init__()
        if hidden_size % num_heads:
            raise ValueError(f"hidden_size={hidden_size} is not a multiple of num_attention_heads={num_heads}.")
        self.num_attention_heads = num_heads
        self.attention_head_size = hidden_size // num_heads
        self.all_head_size = hidden_size
        self.query = nn.Linear(in_query or hidden_size, hidden_size)
        self.key = nn.Linear(in_key or hidden_size, hidden_size)
        self.value = nn.Linear(in_value or hidden_size, hidden_size)
        self.dropout_prob = dropout
        self.pruned_heads: set[int] = set()

    def position_bias(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor | None:
        """Extra additive scores (B, H, Tq, Tk) that depend on positions; none by default."""
        return None

    def project_kv(self, key_states: torch.Tensor, value_states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.num_attention_heads
        return split_heads(self.key(key_states), h), split_heads(self.value(value_states), h)

    def forward(
        self,
        query_states: torch.Tensor,
        key_states: torch.Tensor | None = None,
        value_states: torch.Tensor | None = None,
        *,
        bias: torch.Tensor | None = None,
        head_mask: torch.Tensor | None = None,
        impl: str = "sdpa",
        kv: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """query_states (B, Tq, in_query) → context (B, Tq, hidden) and probs (B, H, Tq, Tk) or None.

        `kv` passes already projected keys/values (B, H, Tk, D), e.g. from a cache.
        """
        h = self.num_attention_heads
        packing = _PACKING.get()
        if packing is not None and kv is None and key_states is None and value_states is None:
            return self._packed(query_states, packing, bias, impl)
        if kv is None and key_states is None and value_states is None:
            q, k, v = project_heads(query_states, (self.query, self.key, self.value), h)
        else:
            q = split_heads(self.query(query_states), h)
            if kv is None:
                key_states = query_states if key_states is None else key_states
                value_states = key_states if value_states is None else value_states
                kv = self.project_kv(key_states, value_states)
            k, v = kv
        extra = self.position_bias(q, k)
        if extra is not None:
            bias = extra if bias is None else bias + extra
        context, probs = attend(
            q, k, v, bias, dropout=self.dropout_prob if self.training else 0.0, head_mask=head_mask, impl=impl
        )
        return merge_heads(context), probs

    def _packed(self, x: torch.Tensor, packing: Packing, bias: torch.Tensor | None, impl: str):
        """x (1, T, in): packing's rows end to end → context (1, T, hidden). Projected as one sequence, attended in
        the padded (rows, heads, width, D) grid."""
        if bias is not None:
            raise ValueError("Packed rows take no attention mask: their padding is the packing's.")
        h = self.num_attention_heads
        q, k, v = (split_heads(packing.pad(t), h) for t in project(x, (self.query, self.key, self.value)))
        bias = packing.bias(q.dtype)
        extra = self.position_bias(q, k)
        if extra is not None:
            bias = bias + extra
        context, _ = attend(q, k, v, bias, dropout=self.dropout_prob if self.training else 0.0, impl=impl)
        return packing.unpad(merge_heads(context)), None

    def prune_heads(self, heads) -> torch.Tensor | None:
        """Remove heads (indices of the *original* model). Returns the kept feature indices, with which the caller
        prunes the input dimension of the output projection; None if nothing changed."""
        heads = set(heads) - self.pruned_heads
        if not heads:
            return None
        index = kept_head_features(self.num_attention_heads, self.attention_head_size, self.pruned_heads, heads)
        self.query = prune_linear_layer(self.query, index)
        self.key = prune_linear_layer(self.key, index)
        self.value = prune_linear_layer(self.value, index)
        self.num_attention_heads -= len(heads)
        self.all_head_size = self.attention_head_size * self.num_attention_heads
        self.pruned_heads |= heads
        return index
