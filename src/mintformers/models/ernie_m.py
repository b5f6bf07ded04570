"""ERNIE-M (Ouyang et al., 2020): a multilingual post-LN Transformer encoder over word + position embeddings.

What is its own, next to BERT: no segment embeddings (no token_type_ids); position ids start at 2 (PaddleNLP's
layout, hence max_position_embeddings = 512 + 2); without an attention_mask, padding is masked from
`input_ids == pad_token_id`; the encoder layer is a PaddlePaddle-style post-LN block (`self_attn`, `linear1`,
`linear2`, `norm1`, `norm2`) with its own dropout after the activation (`act_dropout`); and a Universal Information
Extraction head (UIE-M) that scores every token as a span start and end.

ErnieM is deprecated in the reference (removed in transformers 5); this is its maintained home. Where this file
behaves differently from the reference (4.57.6), on purpose:
- Caller-supplied `position_ids` are not modified (the reference adds 2 to them in place).
- SDPA attention by default (the reference has eager only); eager when attention weights or a head mask are asked
  for. Same outputs.
- Without an attention_mask, `inputs_embeds` attend to every position (the reference crashes deriving the mask
  from the missing input_ids), and a `past_key_values` prefix stays visible (the reference crashes there too).
- `past_key_values` is a read-only key/value prefix per layer (a Cache or legacy tuples; the reference takes a
  Cache only): keys/values are prepended, positions continue after it, it is never modified. `use_cache` is
  accepted and ignored, as in the reference: a bidirectional encoder has nothing to cache.
- The attention mask is an additive bias in the model's dtype (the reference always builds it in float32).
- `ErnieMForInformationExtraction` with return_dict=False returns the tuple (the reference raises
  AttributeError), and takes integer 0/1 targets too (the reference's BCE fails on them).
- An attention_mask may also be 3-D (batch, query, key); the reference only handles 2-D masks.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ..layers.activations import get_activation
from ..layers.attention import (
    attend,
    choose_impl,
    drop_full_mask,
    head_mask_per_layer,
    kept_head_features,
    merge_heads,
    padding_bias,
    project_heads,
    prune_linear_layer,
)
from ..layers.blocks import Pooler, apply_chunked
from ..layers.cache import DynamicCache, as_cache
from ..layers.heads import (
    MultipleChoiceModel,
    QuestionAnsweringModel,
    SequenceClassificationModel,
    TaskModel,
    TokenClassificationModel,
)
from ..modeling import PreTrainedModel, check_inputs, run_layer
from ..outputs import BaseModelOutputWithPoolingAndCrossAttentions, ModelOutput, QuestionAnsweringModelOutput
from .configs import ERNIE_M_POSITION_OFFSET as POSITION_OFFSET
from .configs import ErnieMConfig

__all__ = [
    "ErnieMConfig",
    "ErnieMModel",
    "ErnieMPreTrainedModel",
    "ErnieMForSequenceClassification",
    "ErnieMForMultipleChoice",
    "ErnieMForTokenClassification",
    "ErnieMForQuestionAnswering",
    "ErnieMForInformationExtraction",
    "InformationExtractionModel",
    "information_extraction_loss",
]

# ---- embeddings ---------------------------------------------------------------------------------------------------


class ErnieMEmbeddings(nn.Module):
    """word + position embeddings → LayerNorm → dropout (no segment embeddings)."""

    def __init__(self, config: ErnieMConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(
            config.max_position_embeddings, config.hidden_size, padding_idx=config.pad_token_id
        )
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        past_length: int = 0,
    ) -> torch.Tensor:
        embeds = self.word_embeddings(input_ids) if inputs_embeds is None else inputs_embeds  # (B, T, H)
        if position_ids is None:
            position_ids = torch.arange(past_length, past_length + embeds.shape[1], device=embeds.device)[None]
        # out of place: the caller's position_ids are left as they were
        embeds = embeds + self.position_embeddings(position_ids + POSITION_OFFSET)
        return self.dropout(self.layer_norm(embeds))


# ---- attention ----------------------------------------------------------------------------------------------------


class ErnieMSelfAttention(nn.Module):
    """`q_proj`/`k_proj`/`v_proj` (the checkpoint's names) around the shared `attend`."""

    def __init__(self, config: ErnieMConfig):
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = config.hidden_size // config.num_attention_heads
        self.all_head_size = config.hidden_size
        self.q_proj = nn.Linear(config.hidden_size, config.hidden_size)
        self.k_proj = nn.Linear(config.hidden_size, config.hidden_size)
        self.v_proj = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout_prob = config.attention_probs_dropout_prob

    def forward(self, hidden_states, bias, head_mask, impl, prefix=None):
        """(B, T, H) → context (B, T, H), probs (B, heads, T, P+T) or None; `prefix` = (k, v) (B, heads, P, D)."""
        h = self.num_attention_heads
        q, k, v = project_heads(hidden_states, (self.q_proj, self.k_proj, self.v_proj), h)
        if prefix is not None:
            k, v = torch.cat([prefix[0], k], dim=2), torch.cat([prefix[1], v], dim=2)
        dropout = self.dropout_prob if self.training else 0.0
        context, probs = attend(q, k, v, bias, dropout=dropout, head_mask=head_mask, impl=impl)
        return merge_heads(context), probs


class ErnieMAttention(nn.Module):
    """self_attn (projections + attention) → out_proj; the residual and norm live in the layer."""

    def __init__(self, config: ErnieMConfig):
        super().__init__()
        self.self_attn = ErnieMSelfAttention(config)
        self.out_proj = nn.Linear(config.hidden_size, config.hidden_size)
        self.pruned_heads: set[int] = set()

    def prune_heads(self, heads) -> None:
        """Remove heads (indices of the original model) from the projections and the output's input columns."""
        attn = self.self_attn
        heads = set(heads) - self.pruned_heads
        if not heads:
            return
        index = kept_head_features(attn.num_attention_heads, attn.attention_head_size, self.pruned_heads, heads)
        attn.q_proj = prune_linear_layer(attn.q_proj, index)
        attn.k_proj = prune_linear_layer(attn.k_proj, index)
        attn.v_proj = prune_linear_layer(attn.v_proj, index)
        self.out_proj = prune_linear_layer(self.out_proj, index, dim=1)
        attn.num_attention_heads -= len(heads)
        attn.all_head_size = attn.attention_head_size * attn.num_attention_heads
        self.pruned_heads |= heads

    def forward(self, hidden_states, bias, head_mask, impl, prefix=None):
        context, probs = self.self_attn(hidden_states, bias, head_mask, impl, prefix)
        return self.out_proj(context), probs


class ErnieMEncoderLayer(nn.Module):
    """Post-LN: x = norm1(x + dropout1(attn(x))); x = norm2(x + dropout2(linear2(dropout(act(linear1(x))))))."""

    def __init__(self, config: ErnieMConfig):
        super().__init__()
        act_dropout = config.hidden_dropout_prob if config.act_dropout is None else config.act_dropout
        self.chunk_size_feed_forward = config.chunk_size_feed_forward
        self.self_attn = ErnieMAttention(config)
        self.linear1 = nn.Linear(config.hidden_size, config.intermediate_size)
        self.activation = get_activation(config.hidden_act)
        self.dropout = nn.Dropout(act_dropout)
        self.linear2 = nn.Linear(config.intermediate_size, config.hidden_size)
        self.norm1 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.norm2 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout1 = nn.Dropout(config.hidden_dropout_prob)
        self.dropout2 = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states, bias, head_mask, impl, prefix=None):
        attn_output, probs = self.self_attn(hidden_states, bias, head_mask, impl, prefix)
        hidden_states = self.norm1(hidden_states + self.dropout1(attn_output))
        hidden_states = apply_chunked(self._feed_forward, self.chunk_size_feed_forward, hidden_states)
        return hidden_states, probs

    def _feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        ff = self.linear2(self.dropout(self.activation(self.linear1(x))))  # (B, T, I) inside
        return self.norm2(x + self.dropout2(ff))


class ErnieMEncoder(nn.Module):
    def __init__(self, config: ErnieMConfig):
        super().__init__()
        self.layers = nn.ModuleList(ErnieMEncoderLayer(config) for _ in range(config.num_hidden_layers))
        self.gradient_checkpointing = False

    def forward(self, hidden_states, bias, head_masks, impl, prefixes, output_attentions, output_hidden_states):
        all_hidden = (hidden_states,) if output_hidden_states else None
        all_attentions = () if output_attentions else None
        checkpointing = self.gradient_checkpointing and self.training
        for layer, head_mask, prefix in zip(self.layers, head_masks, prefixes):
            hidden_states, probs = run_layer(
                layer, hidden_states, bias, head_mask, impl, prefix, checkpointing=checkpointing
            )
            if output_hidden_states:
                all_hidden += (hidden_states,)
            if output_attentions:
                all_attentions += (probs,)
        return hidden_states, all_hidden, all_attentions


# ---- models -------------------------------------------------------------------------------------------------------


def _reject_unsupported(owner: str, kwargs: dict[str, Any]) -> None:
    if "token_type_ids" in kwargs:
        raise TypeError(
            f"{owner} takes no token_type_ids: ErnieM has no segment embeddings. Drop them, e.g. "
            "inputs.pop('token_type_ids') or tokenizer(..., return_token_type_ids=False)."
        )
    if kwargs:
        raise TypeError(f"{owner}.forward() got unexpected keyword argument(s) {sorted(kwargs)}.")


def _check_position_ids(position_ids: torch.Tensor, batch: int, seq_len: int, num_positions: int) -> None:
    if position_ids.is_floating_point() or position_ids.dim() > 2 or position_ids.shape[-1] != seq_len or (
        position_ids.dim() == 2 and position_ids.shape[0] not in (1, batch)
    ):
        raise ValueError(
            f"position_ids must be integers of shape ({batch}, {seq_len}), (1, {seq_len}) or ({seq_len},), got "
            f"{position_ids.dtype} {tuple(position_ids.shape)}."
        )
    if position_ids.numel() and not torch.compiler.is_compiling():
        lo, hi = int(position_ids.min()), int(position_ids.max())
        if lo + POSITION_OFFSET < 0 or hi + POSITION_OFFSET >= num_positions:
            raise ValueError(
                f"position_ids range over [{lo}, {hi}] but ErnieM adds {POSITION_OFFSET} to each and its position "
                f"table has max_position_embeddings={num_positions} rows: use ids in "
                f"[0, {num_positions - POSITION_OFFSET - 1}]."
            )


class ErnieMPreTrainedModel(PreTrainedModel):
    config_class = ErnieMConfig
    base_model_prefix = "ernie_m"


class ErnieMModel(ErnieMPreTrainedModel):
    """Embeddings → encoder → pooler (first token, dense + tanh)."""

    def __init__(self, config: ErnieMConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = ErnieMEmbeddings(config)
        self.encoder = ErnieMEncoder(config)
        self.pooler = Pooler(config.hidden_size) if add_pooling_layer else None
        self.post_init()

    def _prune_heads(self, heads_to_prune: dict[int, list[int]]) -> None:
        for layer, heads in heads_to_prune.items():
            self.encoder.layers[layer].self_attn.prune_heads(heads)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        head_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        past_key_values: Any = None,
        use_cache: bool | None = None,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
        return_dict: bool | None = None,
        **unsupported: Any,
    ) -> BaseModelOutputWithPoolingAndCrossAttentions | tuple:
        """The reference's positional order: position_ids before attention_mask, hidden states before attentions.

        attention_mask: (B, P+T) 1 = attend, 0 = masked (or (B, T, P+T)); None masks `input_ids == pad_token_id`.
        past_key_values: a read-only (key, value) prefix per layer, each (B, heads, P, head_dim); see the module
        docstring. use_cache: accepted and ignored (nothing is cached or returned).
        """
        _reject_unsupported(type(self).__name__, unsupported)
        config = self.config
        output_attentions = config.output_attentions if output_attentions is None else output_attentions
        output_hidden_states = config.output_hidden_states if output_hidden_states is None else output_hidden_states
        return_dict = config.use_return_dict if return_dict is None else return_dict

        cache = as_cache(past_key_values, DynamicCache)
        past_length = cache.get_seq_length() if cache is not None else 0
        batch, seq_len = check_inputs(
            input_ids, inputs_embeds, attention_mask, vocab_size=config.vocab_size,
            max_positions=config.max_tokens if position_ids is None else None, past_length=past_length,
        )
        if position_ids is not None:
            _check_position_ids(position_ids, batch, seq_len, config.max_position_embeddings)
        prefixes = [None] * config.num_hidden_layers
        if past_length:
            if len(cache) != config.num_hidden_layers:
                raise ValueError(
                    f"past_key_values holds {len(cache)} layers but the model has {config.num_hidden_layers}."
                )
            prefixes = [cache[i] for i in range(config.num_hidden_layers)]
            if prefixes[0][0].shape[0] != batch:
                raise ValueError(
                    f"past_key_values were made for a batch of {prefixes[0][0].shape[0]}, the inputs have {batch} rows."
                )

        hidden_states = self.embeddings(input_ids, position_ids, inputs_embeds, past_length)
        dtype, device = hidden_states.dtype, hidden_states.device
        impl = choose_impl(config.attn_implementation, output_attentions, head_mask)

        if attention_mask is None and input_ids is not None and config.pad_token_id is not None:
            attention_mask = input_ids != config.pad_token_id  # (B, T); the prefix stays visible
            if past_length:
                attention_mask = torch.cat([attention_mask.new_ones(batch, past_length), attention_mask], dim=1)
        bias = padding_bias(drop_full_mask(attention_mask, impl), dtype)  # finfo.min where masked, as the reference
        if bias is not None:
            bias = bias.to(device)

        sequence_output, all_hidden, all_attentions = self.encoder(
            hidden_states, bias, head_mask_per_layer(head_mask, config.num_hidden_layers, dtype), impl, prefixes,
            output_attentions, output_hidden_states,
        )
        pooled_output = self.pooler(sequence_output) if self.pooler is not None else None
        if not return_dict:
            # the reference's tuple keeps the pooled slot even when it is None
            return (sequence_output, pooled_output) + tuple(v for v in (all_hidden, all_attentions) if v is not None)
        return BaseModelOutputWithPoolingAndCrossAttentions(
            last_hidden_state=sequence_output,
            pooler_output=pooled_output,
            hidden_states=all_hidden,
            attentions=all_attentions,
        )


# ---- task heads ---------------------------------------------------------------------------------------------------


class _ErnieMHead:
    """The reference's heads name their positional inputs in their own order, labels included (last for sequence
    and token classification); the mixins' `_bind` only routes base-model inputs, so positional inputs are named
    here and everything reaches the mixin as keywords. Heads return a ModelOutput unless return_dict=False is
    passed: the reference's default is True, not config.return_dict (an explicit None defers to the config)."""

    forward_order: ClassVar[tuple[str, ...]]

    def forward(self, *args: Any, **kwargs: Any) -> ModelOutput | tuple:
        if len(args) > len(self.forward_order):
            raise TypeError(f"{type(self).__name__}.forward takes at most {len(self.forward_order)} positional inputs.")
        for name, value in zip(self.forward_order, args):
            if name in kwargs:
                raise TypeError(f"{type(self).__name__}.forward got multiple values for {name!r}.")
            kwargs[name] = value
        kwargs.setdefault("return_dict", True)
        return super().forward(**kwargs)


_INPUTS = ("input_ids", "attention_mask", "position_ids", "head_mask", "inputs_embeds")


class ErnieMForSequenceClassification(_ErnieMHead, SequenceClassificationModel, ErnieMPreTrainedModel):
    base_model_class = ErnieMModel
    forward_order = _INPUTS + (
        "past_key_values", "use_cache", "output_hidden_states", "output_attentions", "return_dict", "labels",
    )


class ErnieMForMultipleChoice(_ErnieMHead, MultipleChoiceModel, ErnieMPreTrainedModel):
    base_model_class = ErnieMModel
    forward_order = _INPUTS + ("labels", "output_attentions", "output_hidden_states", "return_dict")


class ErnieMForTokenClassification(_ErnieMHead, TokenClassificationModel, ErnieMPreTrainedModel):
    base_model_class = ErnieMModel
    forward_order = _INPUTS + ("past_key_values", "output_hidden_states", "output_attentions", "return_dict", "labels")


_SPAN_ORDER = _INPUTS + ("start_positions", "end_positions", "output_attentions", "output_hidden_states", "return_dict")


class ErnieMForQuestionAnswering(_ErnieMHead, QuestionAnsweringModel, ErnieMPreTrainedModel):
    base_model_class = ErnieMModel
    forward_order = _SPAN_ORDER


def information_extraction_loss(
    start_logits: torch.Tensor, end_logits: torch.Tensor, start_targets: torch.Tensor, end_targets: torch.Tensor
) -> torch.Tensor:
    """Mean of the start and end BCE-with-logits over every position (padding included, as the reference).

    logits (B, T); targets (B, T) multi-hot 0/1 (several spans may start in one sequence), float or integer.
    """
    seq_len = start_logits.shape[1]
    losses = []
    for name, logits, targets in (("start_positions", start_logits, start_targets), ("end_positions", end_logits, end_targets)):
        if targets.dim() > 1:
            targets = targets.squeeze(-1)  # (B, T, 1) → (B, T), as the reference
        if targets.shape != logits.shape:
            raise ValueError(
                f"{name} must be 0/1 targets of shape {tuple(logits.shape)} (batch, sequence_length), one per token, "
                f"got {tuple(targets.shape)}; this head scores every token, it does not take span indices."
            )
        targets = targets.to(logits.device, logits.dtype).clamp(0, seq_len)  # the reference's clamp (no-op on 0/1)
        losses.append(F.binary_cross_entropy_with_logits(logits, targets))
    return (losses[0] + losses[1]) / 2


class InformationExtractionModel(TaskModel):
    """UIE-M: `linear_start` / `linear_end` (H → 1) give per-token span start/end logits (B, T).

    Returns raw logits in a QuestionAnsweringModelOutput; `sigmoid` is kept (as in the reference) for callers who
    want probabilities, but forward never applies it.
    """

    uses_pooler = True  # the reference builds and saves the pooler, though this head never reads it

    def __init__(self, config, *args: Any, **kwargs: Any):
        super().__init__(config, *args, **kwargs)
        self._build_base(config)
        self.linear_start = nn.Linear(config.hidden_size, 1)
        self.linear_end = nn.Linear(config.hidden_size, 1)
        self.sigmoid = nn.Sigmoid()
        self.post_init()

    def forward(
        self,
        *args: Any,
        start_positions: torch.Tensor | None = None,
        end_positions: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> QuestionAnsweringModelOutput | tuple:
        inputs, return_dict = self._bind(args, kwargs)
        outputs = self._run_base(inputs)
        sequence_output = outputs.last_hidden_state  # (B, T, H)
        start_logits = self.linear_start(sequence_output).squeeze(-1)  # (B, T)
        end_logits = self.linear_end(sequence_output).squeeze(-1)
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = information_extraction_loss(start_logits, end_logits, start_positions, end_positions)
        out = QuestionAnsweringModelOutput(loss, start_logits, end_logits, outputs.hidden_states, outputs.attentions)
        return self._finish(out, return_dict)


class ErnieMForInformationExtraction(_ErnieMHead, InformationExtractionModel, ErnieMPreTrainedModel):
    base_model_class = ErnieMModel
    forward_order = _SPAN_ORDER
