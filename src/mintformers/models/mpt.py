"""MPT (MosaicML, 2023): a pre-LN decoder-only Transformer with ALiBi attention biases instead of positions.

Each block is `x + attn(norm_1(x))` then `x + ffn(norm_2(x))`; attention uses one fused `Wqkv` projection and adds
ALiBi (Press et al., 2021): head h scores key j from query i with `-slope_h · (i - j)`, slopes geometric in h.
Checkpoint keys: `wte`, `blocks.N.{norm_1, attn.Wqkv, attn.out_proj, norm_2, ffn.up_proj, ffn.down_proj}`, `norm_f`
(heads prefix them with `transformer.`); the LM head is tied to `wte`.

Differences from the reference (transformers 4.57.6), on purpose:

* Options the reference ignores are applied as MosaicML's MPT code defines them: `attn_config.alibi=False` (no
  bias), `alibi_bias_max`, `learned_pos_emb` (a `wpe` table added to the token embeddings, positions counted past
  left padding), `attn_config.qk_ln` (`q_ln`/`k_ln` LayerNorms over the full query/key width), `logit_scale` (a
  number or "inv_sqrt_d_model"), `no_bias=False` (biases on every linear layer and norm), `expansion_ratio` (MLP
  width), `norm_type` (`[low_precision_]layernorm` = LayerNorm, `[low_precision_]rmsnorm` = RMSNorm),
  `attn_type` multiquery/grouped_query_attention (`kv_n_heads` key/value heads), `embedding_fraction`, and the
  dropouts (`emb_pdrop` on the embeddings, `resid_pdrop` on both residual branches; the reference uses
  `attn_pdrop` there). `prefix_lm` and `attn_uses_sequence_id` are kept in the config but unused, as there.
* Options that carry weights follow the checkpoint: a checkpoint without `wpe`, without `q_ln`/`k_ln`, without
  biases, with a 4·d_model MLP or with a 3·d_model `Wqkv` (the reference always writes such files, whatever its
  config says) loads without those weights and runs as the reference runs it — no "missing keys" warning.
  Options without weights (alibi, alibi_bias_max, logit_scale, norm_type) cannot be told apart that way; loading a
  checkpoint whose config sets them to non-default values logs a warning that they are applied here.
* Attention runs through torch SDPA with ALiBi + causal + padding as one additive float mask (eager, with the
  softmax in fp32 as in the reference, when attention weights are requested). ALiBi is relative to each query,
  `slope·(j - i)`, where the reference uses `slope·(j - (T-1))` for every row: softmax is shift-invariant so the
  results agree (exactly for one-token decode steps), and low-precision biases stay small near the query.
* ALiBi needs no table, so sequences may run past `max_seq_len` (the reference fails with a shape error there); with
  learned positions (`wpe`) a longer input is an error that names `max_seq_len`.
* `MptForSequenceClassification` without `pad_token_id` (or with `inputs_embeds`) pools the last position where
  `attention_mask` is 1 when a mask is given, else the last position; the reference always takes the last position
  and raises for batches > 1 without `pad_token_id`.
* `return_dict=False` tuples are `output.to_tuple()`. The reference's token-classification and QA tuples drop
  `hidden_states` when no cache is returned (they skip two entries assuming one is the cache).
* `MptForCausalLM` takes `logits_to_keep` (the reference's 4.57.6 MPT ignores it) and a `StaticCache`.
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..generation.utils import GenerationMixin
from ..layers.attention import attend, choose_impl, merge_heads
from ..layers.cache import DynamicCache, StaticCache, as_cache
from ..layers.losses import (
    causal_lm_loss,
    question_answering_loss,
    sequence_classification_loss,
    token_classification_loss,
)
from ..modeling import PreTrainedModel, check_inputs, run_layer
from ..outputs import (
    BaseModelOutputWithPastAndCrossAttentions,
    CausalLMOutputWithCrossAttentions,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutputWithPast,
    TokenClassifierOutput,
)
from .configs import MptAttentionConfig, MptConfig, kv_heads

__all__ = [
    "MptAttentionConfig",
    "MptConfig",
    "MptModel",
    "MptPreTrainedModel",
    "MptForCausalLM",
    "MptForSequenceClassification",
    "MptForTokenClassification",
    "MptForQuestionAnswering",
    "alibi_slopes",
    "kv_heads",
]

logger = logging.getLogger(__name__)

# Keys the reference's forward accepts and ignores; callers (tokenizers, trainers) pass them routinely.
_IGNORED_INPUTS = ("token_type_ids",)


def logit_scale(config: MptConfig) -> float | None:
    return 1 / math.sqrt(config.d_model) if config.logit_scale == "inv_sqrt_d_model" else config.logit_scale


def alibi_slopes(n_heads: int, bias_max: float = 8) -> torch.Tensor:
    """Per-head ALiBi slopes (H,), MosaicML's rule: for n = H rounded up to a power of two, slope_h = 2^(-bias_max·h/n)
    for h = 1..n; when n > H the odd-indexed slopes come first, then the even ones, and the first H are kept."""
    n = 2 ** math.ceil(math.log2(n_heads))
    slopes = 1.0 / torch.pow(2, torch.arange(1, n + 1, dtype=torch.float32) * (bias_max / n))
    if n != n_heads:
        slopes = torch.cat([slopes[1::2], slopes[::2]])[:n_heads]
    return slopes


def make_norm(config: MptConfig, width: int | None = None) -> nn.Module:
    """LayerNorm (bias unless no_bias) or RMSNorm, by norm_type; low_precision_* compute the same in fp32."""
    width, eps = width or config.d_model, config.layer_norm_epsilon
    if "rmsnorm" in config.norm_type.lower():
        return nn.RMSNorm(width, eps=eps)
    return nn.LayerNorm(width, eps=eps, bias=not config.no_bias)


# ---- blocks -------------------------------------------------------------------------------------------------------


class MptAttention(nn.Module):
    """Fused `Wqkv` → (clip) → (q_ln/k_ln) → heads → cache → softmax(q·kᵀ·scale + bias)·v → `out_proj`."""

    def __init__(self, config: MptConfig, layer_idx: int):
        super().__init__()
        attn = config.attn_config
        self.layer_idx = layer_idx
        self.n_heads, self.kv_heads = config.n_heads, kv_heads(config)
        self.head_dim = config.d_model // config.n_heads
        self.softmax_scale = 1 / math.sqrt(self.head_dim) if attn.softmax_scale is None else attn.softmax_scale
        self.clip_qkv = attn.clip_qkv
        self.dropout = attn.attn_pdrop
        bias = not config.no_bias
        d, kv = config.d_model, self.kv_heads * self.head_dim
        self.Wqkv = nn.Linear(d, d + 2 * kv, bias=bias)
        self.split = (d, kv, kv)
        self.q_ln = make_norm(config) if attn.qk_ln else None  # over the full query width, not per head
        self.k_ln = make_norm(config, kv) if attn.qk_ln else None
        self.out_proj = nn.Linear(d, d, bias=bias)

    def forward(self, x, bias, impl, cache=None, cache_position=None):
        b, t, _ = x.shape
        qkv = self.Wqkv(x)  # (B, T, d + 2·kv)
        if self.clip_qkv:
            qkv = qkv.clamp(-self.clip_qkv, self.clip_qkv)
        q, k, v = qkv.split(self.split, dim=-1)  # views, no copies
        if self.q_ln is not None:
            q, k = self.q_ln(q), self.k_ln(k)
        q = q.view(b, t, self.n_heads, self.head_dim).transpose(1, 2)  # (B, H, T, D)
        k = k.view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)  # (B, KV, T, D)
        v = v.view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        if cache is not None:
            k, v = cache.update(k, v, self.layer_idx, {"cache_position": cache_position})  # (B, KV, Tk, D)
        if self.kv_heads != self.n_heads:  # multi-/grouped-query: each key/value head serves n_heads/kv_heads queries
            k = k.repeat_interleave(self.n_heads // self.kv_heads, dim=1)
            v = v.repeat_interleave(self.n_heads // self.kv_heads, dim=1)
        context, probs = attend(
            q, k, v, bias, scale=self.softmax_scale, dropout=self.dropout if self.training else 0.0, impl=impl,
            softmax_dtype=torch.float32,
        )
        return self.out_proj(merge_heads(context)), probs


class MptMLP(nn.Module):
    """up_proj (d → expansion_ratio·d) → exact GELU → down_proj."""

    def __init__(self, config: MptConfig, width: int | None = None):
        super().__init__()
        width = width or int(config.expansion_ratio * config.d_model)
        self.up_proj = nn.Linear(config.d_model, width, bias=not config.no_bias)
        self.down_proj = nn.Linear(width, config.d_model, bias=not config.no_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.gelu(self.up_proj(x)))


class MptBlock(nn.Module):
    """Pre-LN: x + dropout(attn(norm_1(x))), then x + dropout(ffn(norm_2(x)))."""

    def __init__(self, config: MptConfig, layer_idx: int):
        super().__init__()
        self.norm_1 = make_norm(config)
        self.attn = MptAttention(config, layer_idx)
        self.norm_2 = make_norm(config)
        self.ffn = MptMLP(config)
        self.resid_attn_dropout = nn.Dropout(config.resid_pdrop)
        self.resid_ffn_dropout = nn.Dropout(config.resid_pdrop)

    def forward(self, x, bias, impl, cache=None, cache_position=None):
        attn_out, probs = self.attn(self.norm_1(x), bias, impl, cache, cache_position)
        x = x + self.resid_attn_dropout(attn_out)
        x = x + self.resid_ffn_dropout(self.ffn(self.norm_2(x)))
        return x, probs


# ---- models -------------------------------------------------------------------------------------------------------


class MptPreTrainedModel(PreTrainedModel):
    config_class = MptConfig
    base_model_prefix = "transformer"
    input_embeddings_name = "wte"

    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)  # normal(0, initializer_range) linears/embeddings, unit LayerNorms
        if isinstance(module, nn.RMSNorm):
            with torch.no_grad():
                module.weight.fill_(1.0)

    def _load_checkpoint(self, state, ignore_mismatched_sizes, source):
        self.base_model._follow_checkpoint(state)
        return super()._load_checkpoint(state, ignore_mismatched_sizes, source)


def _find(state: dict[str, torch.Tensor], key: str) -> torch.Tensor | None:
    """The checkpoint tensor whose key is `key` with or without a model prefix."""
    pattern = re.compile(rf"(^|\.){re.escape(key)}$")
    return next((v for k, v in state.items() if pattern.search(k)), None)


class MptModel(MptPreTrainedModel):
    """wte (+ wpe) → blocks → norm_f."""

    def __init__(self, config: MptConfig):
        super().__init__(config)
        self.wte = nn.Embedding(config.vocab_size, config.d_model)
        self.wpe = nn.Embedding(config.max_seq_len, config.d_model) if config.learned_pos_emb else None
        self.emb_drop = nn.Dropout(config.emb_pdrop)
        self.blocks = nn.ModuleList(MptBlock(config, i) for i in range(config.n_layers))
        self.norm_f = make_norm(config)
        self.gradient_checkpointing = False
        # ALiBi, built lazily (construction runs on the meta device): slopes per device, and per (device, dtype) one
        # row (H, L) of slope·(m - (L-1)), m < L, whose last Tk entries are a decode step's bias over Tk keys.
        self._slopes: dict[torch.device, torch.Tensor] = {}
        self._alibi_rows: dict[tuple, torch.Tensor] = {}
        self.post_init()

    def _follow_checkpoint(self, state: dict[str, torch.Tensor]) -> None:
        """Drop or reshape weight-carrying options that the checkpoint was written without (module docstring)."""
        config, d = self.config, self.config.d_model
        if self.wpe is not None and _find(state, "wpe.weight") is None:
            self.wpe = None
        attns = [block.attn for block in self.blocks]
        if attns and attns[0].q_ln is not None and _find(state, "blocks.0.attn.q_ln.weight") is None:
            for attn in attns:
                attn.q_ln = attn.k_ln = None
        wqkv = _find(state, "blocks.0.attn.Wqkv.weight")
        if attns and wqkv is not None and wqkv.shape[0] == 3 * d and attns[0].kv_heads != config.n_heads:
            for attn in attns:  # the reference always builds multi-head attention
                old = attn.Wqkv
                attn.kv_heads, attn.split = config.n_heads, (d, d, d)
                attn.Wqkv = nn.Linear(d, 3 * d, bias=old.bias is not None, device=old.weight.device, dtype=old.weight.dtype)
        up = _find(state, "blocks.0.ffn.up_proj.weight")
        if up is not None and up.shape[0] == 4 * d and self.blocks[0].ffn.up_proj.out_features != 4 * d:
            for block in self.blocks:  # the reference always builds a 4·d_model MLP
                old = block.ffn.up_proj.weight
                block.ffn = MptMLP(config, width=4 * d).to(old.device, old.dtype)
        if not config.no_bias and wqkv is not None and _find(state, "blocks.0.attn.Wqkv.bias") is None:
            for module in self.modules():
                if isinstance(module, (nn.Linear, nn.LayerNorm)):
                    module.bias = None
        attn_cfg, honoured = config.attn_config, []
        for name, value, default in (
            ("attn_config.alibi", attn_cfg.alibi, True), ("attn_config.alibi_bias_max", attn_cfg.alibi_bias_max, 8),
            ("logit_scale", config.logit_scale, None), ("norm_type", config.norm_type, "low_precision_layernorm"),
        ):
            if value != default and not (name == "norm_type" and "layernorm" in str(value)):
                honoured.append(f"{name}={value!r}")
        if honoured:
            logger.warning(
                "%s sets %s, which transformers' MptModel ignores; mintformers applies them as MosaicML's MPT defines "
                "them. If the checkpoint was trained with transformers' MPT, reset them to the defaults.",
                config.name_or_path or "The config", ", ".join(honoured),
            )

    # ---- attention bias -----------------------------------------------------------------------------------------
    def _slopes_on(self, device: torch.device) -> torch.Tensor:
        if device not in self._slopes:
            self._slopes[device] = alibi_slopes(self.config.n_heads, self.config.attn_config.alibi_bias_max).to(device)
        return self._slopes[device]

    def _alibi_row(self, key_len: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        """(H, key_len): slope·(j - (key_len-1)) — the bias of the query at the last position. Cached, grown by
        doubling, so decode steps only slice it."""
        row = self._alibi_rows.get((device, dtype))
        if row is None or row.shape[-1] < key_len:
            n = max(key_len, self.config.max_seq_len, 2 * row.shape[-1] if row is not None else 0)
            offsets = torch.arange(1 - n, 1, device=device, dtype=torch.float32)
            row = (offsets * self._slopes_on(device)[:, None]).to(dtype)
            self._alibi_rows[(device, dtype)] = row
        return row[:, row.shape[-1] - key_len :]

    def _attention_bias(self, query_pos, seq_len, key_len, mask, dtype, device) -> torch.Tensor | None:
        """Additive scores broadcastable to (B, H, Tq, Tk): ALiBi slope·(j - i), and a large finite negative where
        key j is after query i (causal; also the unwritten slots of a StaticCache) or padding.

        query_pos None means the queries are the last `seq_len` of `key_len` positions (no cache or a DynamicCache).
        """
        alibi = self.config.attn_config.alibi
        masked = torch.finfo(dtype).min / 2  # finite, and room to add scores without overflow: no NaN rows
        if mask is not None:
            mask = mask[:, None, None, :] if mask.dim() == 2 else mask[:, None]  # (B, 1, 1|Tq, Tk)
        if query_pos is None and seq_len == 1:  # decode step: the query is the last position and sees every key
            bias = self._alibi_row(key_len, device, dtype)[None, :, None, :] if alibi else None  # (1, H, 1, Tk)
            if mask is None:
                return bias
            return torch.where(mask.bool(), 0.0 if bias is None else bias, masked).to(dtype)
        if query_pos is None:
            query_pos = torch.arange(key_len - seq_len, key_len, device=device)
        offset = torch.arange(key_len, device=device) - query_pos[:, None]  # (Tq, Tk): j - i
        keep = offset <= 0
        if mask is not None:
            keep = keep & mask.bool()
        bias = offset * self._slopes_on(device)[:, None, None] if alibi else torch.zeros((), device=device)
        return torch.where(keep, bias, masked).to(dtype)

    def _positions(self, position_ids, query_pos, seq_len, key_len, mask, device) -> torch.Tensor:
        """wpe indices (B|1, T): MosaicML counts positions past left padding (minus the pads before each token)."""
        if position_ids is not None:
            return position_ids
        if query_pos is None:
            query_pos = torch.arange(key_len - seq_len, key_len, device=device)
        if mask is None or mask.dim() != 2:
            return query_pos[None]
        pads_before = torch.cumsum(1 - mask.long(), dim=1).index_select(1, query_pos)
        return (query_pos[None] - pads_before).clamp(min=0)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        past_key_values: Any = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        cache_position: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        **kwargs: Any,
    ):
        """`past_key_values`: a Cache (DynamicCache is created when use_cache), a StaticCache, or legacy tuples.
        `attention_mask` (B, past + T) covers the cached tokens and the new ones (with a StaticCache it may also be
        the full (B, max_cache_len)). `cache_position` (T,): slots of the new tokens; needed only with a StaticCache
        (derived from the mask's width otherwise). `position_ids` index `wpe` (only with learned positions)."""
        _reject_unexpected(type(self).__name__, kwargs)
        config = self.config
        output_attentions = config.output_attentions if output_attentions is None else output_attentions
        output_hidden_states = config.output_hidden_states if output_hidden_states is None else output_hidden_states
        return_dict = config.use_return_dict if return_dict is None else return_dict
        use_cache = config.use_cache if use_cache is None else use_cache
        if self.gradient_checkpointing and self.training:
            use_cache = False

        cache = as_cache(past_key_values)
        if cache is None and use_cache:
            cache = DynamicCache()
        static = isinstance(cache, StaticCache)
        past = cache.get_seq_length() if cache is not None and not static else 0
        seq = input_ids if input_ids is not None else inputs_embeds
        one_step = (past > 0 or static) and isinstance(seq, torch.Tensor) and seq.dim() >= 2 and seq.shape[1] == 1
        # a decode step skips the id range check: it needs a device→host sync, and the id came from the model
        batch, seq_len = check_inputs(
            input_ids, inputs_embeds, None if static else attention_mask,
            vocab_size=None if one_step else config.vocab_size, past_length=past,
        )
        if not one_step:
            self.warn_if_padding_and_no_attention_mask(input_ids, attention_mask)
        device = seq.device

        query_pos = None
        if static:
            key_len = cache.max_cache_len
            if cache_position is None:  # from the mask's width, else count the written slots (a host sync)
                narrow = attention_mask is not None and attention_mask.shape[-1] < key_len
                start = attention_mask.shape[-1] - seq_len if narrow else cache.get_seq_length()
                cache_position = torch.arange(start, start + seq_len, device=device)
            query_pos = cache_position
            attention_mask = _pad_static_mask(attention_mask, batch, seq_len, key_len)
        else:
            key_len = past + seq_len
            if self.wpe is not None and key_len > config.max_seq_len:
                raise ValueError(
                    f"Sequence length {key_len} (cached {past} + new {seq_len}) exceeds max_seq_len="
                    f"{config.max_seq_len}: this model adds learned position embeddings (wpe), which exist for "
                    f"{config.max_seq_len} positions only. Truncate the input (tokenizer(..., truncation=True, "
                    f"max_length={config.max_seq_len}))."
                )

        hidden_states = self.wte(input_ids) if inputs_embeds is None else inputs_embeds  # (B, T, d)
        if self.wpe is not None:
            positions = self._positions(position_ids, query_pos, seq_len, key_len, attention_mask, device)
            hidden_states = hidden_states + self.wpe(positions)
        if config.embedding_fraction < 1:  # same values; only a fraction of the gradient reaches the embeddings
            frac = config.embedding_fraction
            hidden_states = hidden_states * frac + hidden_states.detach() * (1 - frac)
        hidden_states = self.emb_drop(hidden_states)

        bias = self._attention_bias(query_pos, seq_len, key_len, attention_mask, hidden_states.dtype, device)
        impl = choose_impl(config.attn_implementation, output_attentions)
        all_hidden = () if output_hidden_states else None
        all_attn = () if output_attentions else None
        checkpointing = self.gradient_checkpointing and self.training
        for block in self.blocks:
            if output_hidden_states:
                all_hidden += (hidden_states,)
            hidden_states, probs = run_layer(
                block, hidden_states, bias, impl, cache, cache_position, checkpointing=checkpointing
            )
            if output_attentions:
                all_attn += (probs,)
        hidden_states = self.norm_f(hidden_states)
        if output_hidden_states:  # as in the reference: the last entry is after norm_f
            all_hidden += (hidden_states,)
        out = BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden_states, past_key_values=cache, hidden_states=all_hidden, attentions=all_attn
        )
        return out if return_dict else out.to_tuple()


def _reject_unexpected(owner: str, kwargs: dict[str, Any]) -> None:
    unknown = sorted(k for k in kwargs if k not in _IGNORED_INPUTS)
    if unknown:
        raise TypeError(f"{owner}.forward got unexpected arguments {unknown}; MPT models take no such inputs.")


def _pad_static_mask(mask: torch.Tensor | None, batch: int, seq_len: int, max_len: int) -> torch.Tensor | None:
    """A (B, past + T) mask → (B, max_len): slots after the written ones are padded with 0 (masked anyway)."""
    if mask is None:
        return None
    if mask.dim() not in (2, 3) or mask.shape[0] != batch or not seq_len <= mask.shape[-1] <= max_len:
        raise ValueError(
            f"attention_mask has shape {tuple(mask.shape)}; with a StaticCache of {max_len} slots it must be "
            f"({batch}, past + {seq_len}) or ({batch}, {max_len}), covering the cached tokens and the new ones."
        )
    return F.pad(mask, (0, max_len - mask.shape[-1])) if mask.shape[-1] != max_len else mask


# ---- heads --------------------------------------------------------------------------------------------------------


class MptForCausalLM(MptPreTrainedModel, GenerationMixin):
    """Next-token logits from `lm_head`, tied to `wte` (the checkpoint stores only `transformer.wte.weight`)."""

    _tied_weights_keys = ("lm_head.weight",)

    def __init__(self, config: MptConfig):
        super().__init__(config)
        self.transformer = MptModel(config)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.post_init()

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head

    def _set_output_embeddings(self, value: nn.Linear) -> None:
        self.lm_head = value

    def new_static_cache(
        self, batch_size: int, max_cache_len: int, dtype: torch.dtype | None = None, device: Any = None
    ) -> StaticCache:
        """A StaticCache sized for this model. In a compiled decode loop pass `cache_position` and a full-width
        (batch_size, max_cache_len) attention_mask, so every step has the same shapes."""
        if self.transformer.wpe is not None and max_cache_len > self.config.max_seq_len:
            raise ValueError(
                f"max_cache_len={max_cache_len} exceeds max_seq_len={self.config.max_seq_len}, the size of this "
                "model's learned position table (wpe)."
            )
        attn = self.transformer.blocks[0].attn
        return StaticCache(
            batch_size, max_cache_len, self.config.n_layers, attn.kv_heads, attn.head_dim,
            dtype=dtype or self.dtype, device=device or self.device,
        )

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        past_key_values: Any = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        cache_position: torch.Tensor | None = None,
        logits_to_keep: int | torch.Tensor = 0,
        **kwargs: Any,
    ):
        """`labels` (B, T) are shifted inside (labels = input_ids works; -100 ignored). `logits_to_keep`: an int N
        keeps the last N positions (0 = all; generation wants 1), a 1-D tensor the listed positions."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        if labels is not None and not (isinstance(logits_to_keep, int) and logits_to_keep == 0):
            raise ValueError("labels need logits at every position; pass logits_to_keep=0 when computing the loss.")
        out = self.transformer(
            input_ids, past_key_values, attention_mask, inputs_embeds, use_cache, output_attentions,
            output_hidden_states, return_dict=True, cache_position=cache_position, **kwargs,
        )
        hidden = out.last_hidden_state
        if isinstance(logits_to_keep, int):
            hidden = hidden[:, -logits_to_keep:] if logits_to_keep else hidden
        else:
            hidden = hidden.index_select(1, logits_to_keep.to(hidden.device))
        logits = self.lm_head(hidden)  # (B, T_kept, V)
        scale = logit_scale(self.config)
        if scale is not None:
            logits = logits * scale
        loss = causal_lm_loss(logits, labels) if labels is not None else None
        result = CausalLMOutputWithCrossAttentions(loss, logits, out.past_key_values, out.hidden_states, out.attentions)
        return result if return_dict else result.to_tuple()


class MptForSequenceClassification(MptPreTrainedModel):
    """`score` (no bias) on the last real token of each row."""

    def __init__(self, config: MptConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.transformer = MptModel(config)
        self.score = nn.Linear(config.d_model, config.num_labels, bias=False)
        self.post_init()

    def _last_token(self, input_ids, attention_mask, batch: int, seq_len: int, device) -> torch.Tensor:
        """(B,) index of the last token: rightmost non-pad id (works for left and right padding), else the rightmost
        position the attention mask keeps, else the last position."""
        pad = self.config.pad_token_id
        if pad is not None and input_ids is not None:
            keep = input_ids != pad
        elif attention_mask is not None and attention_mask.dim() == 2:
            keep = attention_mask[:, -seq_len:].bool()
        else:
            return torch.full((batch,), seq_len - 1, device=device)
        return (torch.arange(seq_len, device=device) * keep.to(device, torch.int32)).argmax(-1)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        past_key_values: Any = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs: Any,
    ):
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        out = self.transformer(
            input_ids, past_key_values, attention_mask, inputs_embeds, use_cache, output_attentions,
            output_hidden_states, return_dict=True, **kwargs,
        )
        hidden = out.last_hidden_state  # (B, T, d)
        b, t = hidden.shape[:2]
        last = self._last_token(input_ids, attention_mask, b, t, hidden.device)
        logits = self.score(hidden[torch.arange(b, device=hidden.device), last])  # (B, num_labels)
        loss = None if labels is None else sequence_classification_loss(logits, labels, self.config)
        result = SequenceClassifierOutputWithPast(loss, logits, out.past_key_values, out.hidden_states, out.attentions)
        return result if return_dict else result.to_tuple()


class MptForTokenClassification(MptPreTrainedModel):
    """dropout → `classifier` on every token. Dropout: config.classifier_dropout, else hidden_dropout, else 0.1."""

    def __init__(self, config: MptConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.transformer = MptModel(config)
        p = getattr(config, "classifier_dropout", None)
        p = getattr(config, "hidden_dropout", None) if p is None else p
        self.dropout = nn.Dropout(0.1 if p is None else p)
        self.classifier = nn.Linear(config.d_model, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        past_key_values: Any = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs: Any,
    ):
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        out = self.transformer(
            input_ids, past_key_values, attention_mask, inputs_embeds, use_cache, output_attentions,
            output_hidden_states, return_dict=True, **kwargs,
        )
        logits = self.classifier(self.dropout(out.last_hidden_state))  # (B, T, num_labels)
        loss = None if labels is None else token_classification_loss(logits, labels)
        result = TokenClassifierOutput(loss, logits, out.hidden_states, out.attentions)
        return result if return_dict else result.to_tuple()


class MptForQuestionAnswering(MptPreTrainedModel):
    """`qa_outputs` (2) → start/end logits; loss = mean of the two cross-entropies."""

    def __init__(self, config: MptConfig):
        super().__init__(config)
        self.transformer = MptModel(config)
        self.qa_outputs = nn.Linear(config.d_model, 2)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        start_positions: torch.Tensor | None = None,
        end_positions: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs: Any,
    ):
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        out = self.transformer(
            input_ids, None, attention_mask, inputs_embeds, False, output_attentions, output_hidden_states,
            return_dict=True, **kwargs,
        )
        logits = self.qa_outputs(out.last_hidden_state)  # (B, T, 2)
        start_logits, end_logits = (t.squeeze(-1).contiguous() for t in logits.split(1, dim=-1))
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = question_answering_loss(start_logits, end_logits, start_positions, end_positions)
        result = QuestionAnsweringModelOutput(loss, start_logits, end_logits, out.hidden_states, out.attentions)
        return result if return_dict else result.to_tuple()
