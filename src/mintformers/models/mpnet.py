"""MPNet (Song et al., 2020): a BERT-shaped post-LN encoder whose attention adds a learned per-head bias for the
*bucketed relative position* of query and key (as in T5), computed once per forward and shared by all layers, on
top of absolute position embeddings.

What is MPNet's own here: position ids that skip padding (fairseq/RoBERTa style, counted from padding_idx + 1),
the relative buckets, the `attention.attn.q/k/v/o` names, the LM head (dense → gelu → layer_norm → tied decoder) and
the RoBERTa-style sentence classification head. Everything else is the shared encoder blocks and task heads.

Quirks of the reference kept on purpose, because checkpoints were trained with them:
- padding_idx is 1 whatever config.pad_token_id says (position ids and the zeroed embedding rows);
- relative positions always use 32 buckets (max distance 128), whatever config.relative_attention_num_buckets
  says — the table has that many rows, so it must be at least 32 — and are raw indices, not the pad-aware ids;
- position ids for `inputs_embeds` are 2, 3, ... (padding cannot be seen in embeddings);
- the LM head uses exact gelu whatever config.hidden_act says.

Differences from the reference, on purpose:
- SDPA is the default (the reference runs MPNet in eager mode only): the relative bias is folded into the additive
  mask; eager runs when attention weights or a head mask are requested. Both agree within 1e-5 in fp32.
- token_type_ids: MPNet has no segment embeddings. Every forward accepts `token_type_ids=` as a keyword so that
  `model(**tokenizer(...))` works with tokenizers that return them; all-zero ids are ignored, any non-zero id raises
  ValueError (it would carry a segment split the model cannot see). The reference's heads raise TypeError for the
  keyword, and its MPNetModel silently swallows it (and any other unknown keyword, which raises TypeError here).
- Head pruning works (the reference adds the unpruned relative bias to pruned heads and fails with a shape error).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..layers.attention import (
    attend,
    choose_impl,
    drop_full_mask,
    head_mask_per_layer,
    merge_heads,
    padding_bias,
    project_heads,
    prune_linear_layer,
)
from ..layers.blocks import Intermediate, Pooler, ResidualOutput, apply_chunked
from ..layers.heads import MultipleChoiceModel, QuestionAnsweringModel, TaskModel, TokenClassificationModel
from ..layers.losses import masked_lm_loss, sequence_classification_loss
from ..modeling import PreTrainedModel, check_inputs, run_layer
from ..outputs import BaseModelOutputWithPooling, MaskedLMOutput, SequenceClassifierOutput
from .configs import MPNET_NUM_BUCKETS as NUM_BUCKETS
from .configs import MPNetConfig

__all__ = [
    "MPNetConfig",
    "MPNetModel",
    "MPNetPreTrainedModel",
    "MPNetForMaskedLM",
    "MPNetForSequenceClassification",
    "MPNetForMultipleChoice",
    "MPNetForTokenClassification",
    "MPNetForQuestionAnswering",
    "relative_position_bucket",
]

PADDING_IDX = 1  # fixed in the reference, not config.pad_token_id
MAX_DISTANCE = 128  # relative distances beyond this share the last bucket
# The heads' positional inputs, in the reference's order (labels and flags are keyword arguments here).
HEAD_INPUTS = ("input_ids", "attention_mask", "position_ids", "head_mask", "inputs_embeds")


# ---- positions ----------------------------------------------------------------------------------------------------


def relative_position_bucket(
    relative_position: torch.Tensor, num_buckets: int = NUM_BUCKETS, max_distance: int = MAX_DISTANCE
) -> torch.Tensor:
    """key_pos - query_pos → bucket id. Half the buckets for keys before the query, half for keys after; within a
    half, distances below a quarter of num_buckets get their own bucket, longer ones log-spaced up to max_distance."""
    half = num_buckets // 2
    n = -relative_position  # > 0: key before query
    offset = (n < 0).long() * half
    n = n.abs()
    exact = half // 2
    # same float32 formula as the reference, so bucket boundaries match exactly; clamp avoids log(0) (unused there)
    log_ratio = torch.log(n.clamp(min=1).float() / exact) / math.log(max_distance / exact)
    large = (exact + (log_ratio * (half - exact)).long()).clamp(max=half - 1)
    return offset + torch.where(n < exact, n, large)


def padding_aware_position_ids(input_ids: torch.Tensor) -> torch.Tensor:
    """(B, T) ids → positions padding_idx+1, padding_idx+2, ... over real tokens; padding keeps padding_idx."""
    real = input_ids.ne(PADDING_IDX)
    return real.cumsum(dim=1) * real + PADDING_IDX


class MPNetEmbeddings(nn.Module):
    """word + absolute position embeddings (no segments) → LayerNorm → dropout."""

    def __init__(self, config: MPNetConfig):
        super().__init__()
        hidden = config.hidden_size
        self.word_embeddings = nn.Embedding(config.vocab_size, hidden, padding_idx=PADDING_IDX)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, hidden, padding_idx=PADDING_IDX)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids=None, position_ids=None, inputs_embeds=None) -> torch.Tensor:
        embeds = self.word_embeddings(input_ids) if inputs_embeds is None else inputs_embeds  # (B, T, H)
        b, t = embeds.shape[:2]
        limit = self.position_embeddings.num_embeddings
        if position_ids is not None:
            self._check_positions(position_ids, limit, given=True)
        else:
            if input_ids is not None:
                position_ids = padding_aware_position_ids(input_ids)
            else:
                first = PADDING_IDX + 1
                position_ids = torch.arange(first, first + t, device=embeds.device)[None].expand(b, t)
            if t + PADDING_IDX >= limit:  # only then can the largest id reach the table's end
                self._check_positions(position_ids, limit, given=False)
        return self.dropout(self.LayerNorm(embeds + self.position_embeddings(position_ids)))

    @staticmethod
    def _check_positions(position_ids: torch.Tensor, limit: int, given: bool) -> None:
        if not position_ids.numel() or torch.compiler.is_compiling():
            return
        lo, hi = int(position_ids.min()), int(position_ids.max())
        if given and (lo < 0 or hi >= limit):
            raise ValueError(
                f"position_ids must lie in [0, {limit - 1}] (max_position_embeddings={limit}); got {lo}..{hi}."
            )
        if hi >= limit:
            raise ValueError(
                f"The input needs position id {hi} but the model has max_position_embeddings={limit}: MPNet counts "
                f"positions from {PADDING_IDX + 1}, so it takes at most {limit - PADDING_IDX - 1} tokens. Truncate the "
                f"input, e.g. tokenizer(..., truncation=True, max_length={limit - PADDING_IDX - 1})."
            )


# ---- attention and layers -----------------------------------------------------------------------------------------


class MPNetSelfAttention(nn.Module):
    """q/k/v projections → attention with an additive bias (padding + relative positions) → `o` projection."""

    def __init__(self, config: MPNetConfig):
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = config.hidden_size // config.num_attention_heads
        self.q = nn.Linear(config.hidden_size, config.hidden_size)
        self.k = nn.Linear(config.hidden_size, config.hidden_size)
        self.v = nn.Linear(config.hidden_size, config.hidden_size)
        self.o = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout_prob = config.attention_probs_dropout_prob
        self.heads: list[int] | None = None  # original indices of the heads left after pruning; None = all

    def forward(self, hidden_states: torch.Tensor, bias: torch.Tensor, head_mask: torch.Tensor | None, impl: str):
        """(B, T, H) → (B, T, H), and the probabilities (B, heads, T, T) when eager."""
        h = self.num_attention_heads
        q, k, v = project_heads(hidden_states, (self.q, self.k, self.v), h)  # (B, heads, T, D)
        if self.heads is not None:  # the shared bias has a row per original head
            bias = bias[:, self.heads]
        context, probs = attend(
            q, k, v, bias, dropout=self.dropout_prob if self.training else 0.0, head_mask=head_mask, impl=impl
        )
        return self.o(merge_heads(context)), probs

    def prune_heads(self, heads: set[int]) -> None:
        """Remove heads given by their original indices."""
        current = list(range(self.num_attention_heads)) if self.heads is None else self.heads
        kept = [i for i in current if i not in heads]
        if len(kept) == len(current):
            return
        slots = [current.index(i) for i in kept]  # where the kept heads sit now
        d = self.attention_head_size
        index = torch.tensor([s * d + j for s in slots for j in range(d)], dtype=torch.long)
        self.q, self.k, self.v = (prune_linear_layer(p, index) for p in (self.q, self.k, self.v))
        self.o = prune_linear_layer(self.o, index, dim=1)
        self.num_attention_heads = len(kept)
        self.heads = kept


class MPNetAttention(nn.Module):
    """attn → dropout → residual → LayerNorm (post-LN)."""

    def __init__(self, config: MPNetConfig):
        super().__init__()
        self.attn = MPNetSelfAttention(config)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states, bias, head_mask, impl):
        out, probs = self.attn(hidden_states, bias, head_mask, impl)
        return self.LayerNorm(self.dropout(out) + hidden_states), probs


class MPNetLayer(nn.Module):
    """attention sublayer → feed-forward sublayer, both post-LN residual."""

    def __init__(self, config: MPNetConfig):
        super().__init__()
        self.chunk_size_feed_forward = config.chunk_size_feed_forward
        self.attention = MPNetAttention(config)
        self.intermediate = Intermediate(config.hidden_size, config.intermediate_size, config.hidden_act)
        self.output = ResidualOutput(
            config.intermediate_size, config.hidden_size, config.layer_norm_eps, config.hidden_dropout_prob
        )

    def forward(self, hidden_states, bias, head_mask, impl):
        hidden_states, probs = self.attention(hidden_states, bias, head_mask, impl)
        return apply_chunked(self._feed_forward, self.chunk_size_feed_forward, hidden_states), probs

    def _feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.intermediate(x), x)


class MPNetEncoder(nn.Module):
    """The layers, and the relative position bias table (buckets × heads) they all share."""

    def __init__(self, config: MPNetConfig):
        super().__init__()
        self.layer = nn.ModuleList(MPNetLayer(config) for _ in range(config.num_hidden_layers))
        self.relative_attention_bias = nn.Embedding(config.relative_attention_num_buckets, config.num_attention_heads)
        self.gradient_checkpointing = False
        self._buckets: torch.Tensor | None = None  # (T, T) bucket ids of the last length seen; depend on T only

    def position_bias(self, length: int, device: torch.device) -> torch.Tensor:
        """(1, heads, T, T): the learned bias of each (query, key) pair's relative-position bucket."""
        buckets = self._buckets
        if buckets is None or buckets.shape[0] != length or buckets.device != device:
            # on the CPU, as the reference does: another device's log() could round a boundary distance differently
            pos = torch.arange(length)
            buckets = relative_position_bucket(pos[None, :] - pos[:, None]).to(device)  # key - query
            if not torch.compiler.is_compiling():  # traced code keeps no state
                self._buckets = buckets
        return self.relative_attention_bias(buckets).permute(2, 0, 1)[None]

    def forward(self, hidden_states, pad_bias, head_masks, impl, output_attentions, output_hidden_states):
        bias = self.position_bias(hidden_states.shape[1], hidden_states.device)  # once, for all layers
        if pad_bias is not None:
            bias = bias + pad_bias  # (B, heads, T, T)
        all_hidden = (hidden_states,) if output_hidden_states else None
        all_probs = () if output_attentions else None
        checkpointing = self.gradient_checkpointing and self.training
        for layer, head_mask in zip(self.layer, head_masks):
            hidden_states, probs = run_layer(layer, hidden_states, bias, head_mask, impl, checkpointing=checkpointing)
            if output_hidden_states:
                all_hidden += (hidden_states,)
            if output_attentions:
                all_probs += (probs,)
        return hidden_states, all_hidden, all_probs


# ---- models -------------------------------------------------------------------------------------------------------


class MPNetPreTrainedModel(PreTrainedModel):
    config_class = MPNetConfig
    base_model_prefix = "mpnet"

    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        if isinstance(module, MPNetLMHead):
            with torch.no_grad():
                module.bias.zero_()


def _check_token_type_ids(token_type_ids: torch.Tensor | None) -> None:
    if token_type_ids is None or torch.compiler.is_compiling():  # (the check reads the data)
        return
    if token_type_ids.numel() and bool(token_type_ids.any()):
        raise ValueError(
            "MPNet has no token type (segment) embeddings, but token_type_ids with non-zero values were passed; they "
            "would be ignored. Mark segments with separator tokens instead (MPNetTokenizer builds pairs as "
            "<s> A </s></s> B </s>) and drop token_type_ids."
        )


class MPNetModel(MPNetPreTrainedModel):
    """Embeddings → encoder (relative position bias shared by all layers) → pooler (first token, dense + tanh)."""

    def __init__(self, config: MPNetConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = MPNetEmbeddings(config)
        self.encoder = MPNetEncoder(config)
        self.pooler = Pooler(config.hidden_size) if add_pooling_layer else None
        self.post_init()

    def _prune_heads(self, heads_to_prune: dict[int, list[int]]) -> None:
        for layer, heads in heads_to_prune.items():
            self.encoder.layer[layer].attention.attn.prune_heads(set(heads))

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        head_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        *,
        token_type_ids: torch.Tensor | None = None,
    ):
        """input_ids (B, T) or inputs_embeds (B, T, H), attention_mask (B, T) or (B, T, T) of 1 = keep."""
        config = self.config
        output_attentions = config.output_attentions if output_attentions is None else output_attentions
        output_hidden_states = config.output_hidden_states if output_hidden_states is None else output_hidden_states
        return_dict = config.use_return_dict if return_dict is None else return_dict
        check_inputs(input_ids, inputs_embeds, attention_mask, vocab_size=config.vocab_size)
        _check_token_type_ids(token_type_ids)
        self.warn_if_padding_and_no_attention_mask(input_ids, attention_mask)

        hidden_states = self.embeddings(input_ids, position_ids, inputs_embeds)
        dtype = hidden_states.dtype
        impl = choose_impl(config.attn_implementation, output_attentions, head_mask)
        pad_bias = padding_bias(drop_full_mask(attention_mask, impl), dtype)  # (B, 1, 1|T, T) or None
        head_masks = head_mask_per_layer(head_mask, config.num_hidden_layers, dtype)
        sequence_output, all_hidden, all_probs = self.encoder(
            hidden_states, pad_bias, head_masks, impl, output_attentions, output_hidden_states
        )
        pooled_output = self.pooler(sequence_output) if self.pooler is not None else None
        if not return_dict:  # the reference's tuple keeps pooled_output even when None
            return (sequence_output, pooled_output) + tuple(v for v in (all_hidden, all_probs) if v is not None)
        return BaseModelOutputWithPooling(sequence_output, pooled_output, all_hidden, all_probs)


# ---- heads --------------------------------------------------------------------------------------------------------


class MPNetLMHead(nn.Module):
    """dense → gelu → layer_norm → `decoder` (tied to the word embeddings) whose bias is `bias`."""

    def __init__(self, config: MPNetConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.decoder.bias = self.bias  # one tensor under two names, as in the reference's state dict

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.layer_norm(F.gelu(self.dense(hidden_states))))  # (B, T, V)


class MPNetForMaskedLM(MPNetPreTrainedModel):
    # saved once, as the reference does: lm_head.bias stays, the decoder's aliases go
    _tied_weights_keys = ("lm_head.decoder.weight", "lm_head.decoder.bias")
    _vocab_sized_keys = ("lm_head.bias",)

    def __init__(self, config: MPNetConfig):
        super().__init__(config)
        self.mpnet = MPNetModel(config, add_pooling_layer=False)
        self.lm_head = MPNetLMHead(config)
        self.post_init()

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head.decoder

    def _set_output_embeddings(self, value: nn.Linear) -> None:
        self.lm_head.decoder = value
        if value.bias is not None:
            self.lm_head.bias = value.bias

    def tie_weights(self) -> None:
        super().tie_weights()
        self.lm_head.decoder.bias = self.lm_head.bias  # re-link after loading or resizing replaced either

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        head_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        *,
        token_type_ids: torch.Tensor | None = None,
    ):
        """labels (B, T): token ids to predict, -100 where no loss is taken."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        out = self.mpnet(
            input_ids, attention_mask, position_ids, head_mask, inputs_embeds, output_attentions, output_hidden_states,
            return_dict=True, token_type_ids=token_type_ids,
        )
        logits = self.lm_head(out.last_hidden_state)
        loss = masked_lm_loss(logits, labels) if labels is not None else None
        result = MaskedLMOutput(loss, logits, out.hidden_states, out.attentions)
        return result if return_dict else result.to_tuple()


class MPNetClassificationHead(nn.Module):
    """RoBERTa-style: the <s> state → dropout → dense → tanh → dropout → out_proj."""

    def __init__(self, config: MPNetConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.out_proj = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        x = torch.tanh(self.dense(self.dropout(hidden_states[:, 0])))  # (B, H)
        return self.out_proj(self.dropout(x))  # (B, num_labels)


class MPNetForSequenceClassification(TaskModel, MPNetPreTrainedModel):
    """Classification (or regression) from the <s> token; loss by problem_type (see layers.losses)."""

    base_model_class = MPNetModel
    forward_order = HEAD_INPUTS

    def __init__(self, config: MPNetConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self._build_base(config)  # no pooler: the head pools itself
        self.classifier = MPNetClassificationHead(config)
        self.post_init()

    def forward(self, *args: Any, labels: torch.Tensor | None = None, **kwargs: Any):
        inputs, return_dict = self._bind(args, kwargs)
        outputs = self._run_base(inputs)
        logits = self.classifier(outputs.last_hidden_state)
        loss = None if labels is None else sequence_classification_loss(logits, labels, self.config)
        out = SequenceClassifierOutput(loss, logits, outputs.hidden_states, outputs.attentions)
        return self._finish(out, return_dict)


class MPNetForMultipleChoice(MultipleChoiceModel, MPNetPreTrainedModel):
    base_model_class = MPNetModel
    forward_order = HEAD_INPUTS


class MPNetForTokenClassification(TokenClassificationModel, MPNetPreTrainedModel):
    base_model_class = MPNetModel
    forward_order = HEAD_INPUTS


class MPNetForQuestionAnswering(QuestionAnsweringModel, MPNetPreTrainedModel):
    base_model_class = MPNetModel
    forward_order = HEAD_INPUTS
