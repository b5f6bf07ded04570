"""MobileBERT (Sun et al., 2020): a thin BERT_LARGE with bottlenecks, for phones.

Each layer works on a wide residual stream (`hidden_size`, 512) but computes in a narrow one
(`true_hidden_size` = `intra_bottleneck_size`, 128): a bottleneck projects in, attention and a stack of
`num_feedforward_networks` small feed-forward blocks run at 128, an output bottleneck projects back out. NoNorm —
an element-wise affine map without statistics — replaces LayerNorm for speed. The word embeddings are only
`embedding_size` (128) wide: a trigram "convolution" (each token concatenated with its neighbours) projects them to
`hidden_size`, and the masked-LM decoder multiplies by the tied embeddings plus `hidden_size - embedding_size`
extra output rows (`cls.predictions.dense`).

Differences from the reference, on purpose:
- SDPA attention by default (the reference only has eager); eager still runs when weights or a head mask are asked.
- fp16/bf16: eager attention scores are computed in fp32. Without LayerNorm (NoNorm) activations grow large, q·kᵀ
  overflows fp16 and the reference's softmax returns NaN; SDPA already accumulates in fp32. fp32 is unchanged.
- The MLM decoder multiplies by its two weight blocks separately instead of concatenating a
  (hidden_size, vocab_size) matrix on every call (same sum, no copy of the output embeddings per forward).
- Configurations the reference accepts but cannot run (query/key fed the wide stream into a narrow projection) are
  rejected when the config is built, with the fix in the message.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..config import ConfigError
from ..layers.attention import (
    SelfAttention,
    attend,
    choose_impl,
    drop_full_mask,
    head_mask_per_layer,
    merge_heads,
    padding_bias,
    prune_linear_layer,
    split_heads,
)
from ..layers.blocks import Intermediate, PredictionHeadTransform
from ..layers.heads import (
    MLMHead,
    MultipleChoiceModel,
    NSPHead,
    PreTrainingHeads,
    QuestionAnsweringModel,
    SequenceClassificationModel,
    TaskModel,
    TokenClassificationModel,
)
from ..layers.losses import masked_lm_loss
from ..modeling import PreTrainedModel, check_inputs, check_table_ids, run_layer
from ..outputs import BaseModelOutputWithPooling, MaskedLMOutput, NextSentencePredictorOutput, PreTrainingOutput
from .configs import MobileBertConfig

__all__ = [
    "MobileBertConfig",
    "MobileBertModel",
    "MobileBertPreTrainedModel",
    "MobileBertForPreTraining",
    "MobileBertForPreTrainingOutput",
    "MobileBertForMaskedLM",
    "MobileBertForNextSentencePrediction",
    "MobileBertForSequenceClassification",
    "MobileBertForMultipleChoice",
    "MobileBertForTokenClassification",
    "MobileBertForQuestionAnswering",
    "NoNorm",
]

# The reference builds the embedding norm and the layer output norm without config.layer_norm_eps (torch's 1e-5).
DEFAULT_EPS = 1e-5
MobileBertForPreTrainingOutput = PreTrainingOutput


# ---- normalisation and residual blocks ----------------------------------------------------------------------------


class NoNorm(nn.Module):
    """x·weight + bias, element-wise: LayerNorm's affine part without the statistics (MobileBERT's speed-up)."""

    def __init__(self, size: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(size))
        self.weight = nn.Parameter(torch.ones(size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.addcmul(self.bias, x, self.weight)


def make_norm(config: MobileBertConfig, size: int, eps: float) -> nn.Module:
    if config.normalization_type == "no_norm":
        return NoNorm(size)
    return nn.LayerNorm(size, eps=eps)


class NormedResidual(nn.Module):
    """norm(dropout(dense(x)) + residual), with the configured norm (LayerNorm or NoNorm)."""

    def __init__(self, config: MobileBertConfig, in_size: int, out_size: int, dropout: float, eps: float | None = None):
        super().__init__()
        self.dense = nn.Linear(in_size, out_size)
        self.LayerNorm = make_norm(config, out_size, config.layer_norm_eps if eps is None else eps)
        self.dropout_prob = dropout

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        x = self.dense(x)
        if self.dropout_prob and self.training:
            x = F.dropout(x, self.dropout_prob, training=True)
        return self.LayerNorm(x + residual)


class BottleneckLayer(nn.Module):
    """norm(dense(x)): hidden_size → intra_bottleneck_size."""

    def __init__(self, config: MobileBertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intra_bottleneck_size)
        self.LayerNorm = make_norm(config, config.intra_bottleneck_size, config.layer_norm_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dense(x))


class Bottleneck(nn.Module):
    """Narrows the (B, T, hidden) stream for a layer. Returns the query, key and value inputs and the residual of
    the attention block (`layer_input`, (B, T, intra)):

    - use_bottleneck_attention: all four are the `input` bottleneck;
    - key_query_shared_bottleneck: query = key = the `attention` bottleneck, value = the wide stream;
    - otherwise query = key = value = the wide stream (intra_bottleneck_size == hidden_size then).
    """

    def __init__(self, config: MobileBertConfig):
        super().__init__()
        self.use_bottleneck_attention = config.use_bottleneck_attention
        self.key_query_shared_bottleneck = config.key_query_shared_bottleneck
        self.input = BottleneckLayer(config)
        if config.key_query_shared_bottleneck:  # built (and checkpointed) even when bottleneck attention wins
            self.attention = BottleneckLayer(config)

    def forward(self, hidden_states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        layer_input = self.input(hidden_states)
        if self.use_bottleneck_attention:
            return layer_input, layer_input, layer_input, layer_input
        if self.key_query_shared_bottleneck:
            shared = self.attention(hidden_states)
            return shared, shared, hidden_states, layer_input
        return hidden_states, hidden_states, hidden_states, layer_input


# ---- attention ----------------------------------------------------------------------------------------------------


class MobileBertSelfAttention(SelfAttention):
    """query/key from the narrow stream, value from the narrow or the wide one; output width true_hidden_size."""

    def __init__(self, config: MobileBertConfig):
        narrow = config.true_hidden_size
        super().__init__(
            narrow,
            config.num_attention_heads,
            config.attention_probs_dropout_prob,
            in_query=narrow,
            in_key=narrow,
            in_value=narrow if config.use_bottleneck_attention else config.hidden_size,
        )

    def forward(self, query_states, key_states, value_states, *, bias, head_mask, impl):
        q = split_heads(self.query(query_states), self.num_attention_heads)  # (B, heads, T, D)
        k, v = self.project_kv(key_states, value_states)
        if (impl != "sdpa" or head_mask is not None) and q.dtype in (torch.float16, torch.bfloat16):
            # without LayerNorm activations grow large: q·kᵀ overflows fp16 (the reference's NaNs) and loses most
            # digits in bf16. Score in fp32, as SDPA does internally.
            q, k = q.float(), k.float()
        dropout = self.dropout_prob if self.training else 0.0
        context, probs = attend(q, k, v, bias, dropout=dropout, head_mask=head_mask, impl=impl)
        return merge_heads(context), probs


class MobileBertAttention(nn.Module):
    """self (attention) + output (dense, residual with the bottlenecked input, norm)."""

    def __init__(self, config: MobileBertConfig):
        super().__init__()
        narrow = config.true_hidden_size
        self.self = MobileBertSelfAttention(config)
        # with bottlenecks the reference has no dropout here
        dropout = 0.0 if config.use_bottleneck else config.hidden_dropout_prob
        self.output = NormedResidual(config, narrow, narrow, dropout)

    def prune_heads(self, heads) -> None:
        index = self.self.prune_heads(heads)
        if index is not None:
            self.output.dense = prune_linear_layer(self.output.dense, index, dim=1)

    def forward(self, query, key, value, layer_input, *, bias, head_mask, impl):
        context, probs = self.self(query, key, value, bias=bias, head_mask=head_mask, impl=impl)
        return self.output(context, layer_input), probs


# ---- feed-forward and layer ---------------------------------------------------------------------------------------


class FFNLayer(nn.Module):
    """One of the extra feed-forward blocks: norm(dense(act(dense(x))) + x) at true_hidden_size."""

    def __init__(self, config: MobileBertConfig):
        super().__init__()
        self.intermediate = Intermediate(config.true_hidden_size, config.intermediate_size, config.hidden_act)
        self.output = NormedResidual(config, config.intermediate_size, config.true_hidden_size, 0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.intermediate(x), x)


class MobileBertOutput(NormedResidual):
    """The last feed-forward block's output, then (with bottlenecks) the output bottleneck back to hidden_size:
    bottleneck.norm(dropout(bottleneck.dense(x)) + layer's input)."""

    def __init__(self, config: MobileBertConfig):
        dropout = 0.0 if config.use_bottleneck else config.hidden_dropout_prob
        super().__init__(config, config.intermediate_size, config.true_hidden_size, dropout, eps=DEFAULT_EPS)
        self.use_bottleneck = config.use_bottleneck
        if config.use_bottleneck:
            self.bottleneck = NormedResidual(
                config, config.true_hidden_size, config.hidden_size, config.hidden_dropout_prob
            )

    def forward(self, intermediate: torch.Tensor, residual: torch.Tensor, layer_input: torch.Tensor) -> torch.Tensor:
        x = super().forward(intermediate, residual)  # (B, T, true_hidden)
        return self.bottleneck(x, layer_input) if self.use_bottleneck else x  # (B, T, hidden)


class MobileBertLayer(nn.Module):
    """bottleneck in → attention → (num_feedforward_networks - 1) × FFN → last FFN + bottleneck out."""

    def __init__(self, config: MobileBertConfig):
        super().__init__()
        self.use_bottleneck = config.use_bottleneck
        self.attention = MobileBertAttention(config)
        self.intermediate = Intermediate(config.true_hidden_size, config.intermediate_size, config.hidden_act)
        self.output = MobileBertOutput(config)
        if config.use_bottleneck:
            self.bottleneck = Bottleneck(config)
        self.num_extra_ffns = config.num_feedforward_networks - 1
        if self.num_extra_ffns:
            self.ffn = nn.ModuleList(FFNLayer(config) for _ in range(self.num_extra_ffns))

    def forward(self, hidden_states, bias, head_mask, impl):
        if self.use_bottleneck:
            query, key, value, layer_input = self.bottleneck(hidden_states)
        else:
            query = key = value = layer_input = hidden_states
        x, probs = self.attention(query, key, value, layer_input, bias=bias, head_mask=head_mask, impl=impl)
        if self.num_extra_ffns:
            for ffn in self.ffn:
                x = ffn(x)
        return self.output(self.intermediate(x), x, hidden_states), probs


class MobileBertEncoder(nn.Module):
    def __init__(self, config: MobileBertConfig):
        super().__init__()
        self.layer = nn.ModuleList(MobileBertLayer(config) for _ in range(config.num_hidden_layers))
        self.gradient_checkpointing = False

    def forward(self, hidden_states, bias, head_masks, impl, output_attentions, output_hidden_states):
        all_hidden = (hidden_states,) if output_hidden_states else None
        all_attentions = () if output_attentions else None
        checkpointing = self.gradient_checkpointing and self.training
        for layer, head_mask in zip(self.layer, head_masks):
            hidden_states, probs = run_layer(layer, hidden_states, bias, head_mask, impl, checkpointing=checkpointing)
            if output_hidden_states:
                all_hidden += (hidden_states,)
            if output_attentions:
                all_attentions += (probs,)
        return hidden_states, all_hidden, all_attentions


# ---- embeddings and pooler ----------------------------------------------------------------------------------------


class MobileBertEmbeddings(nn.Module):
    """word (embedding_size) → trigram concat → `embedding_transformation` to hidden_size, + position + segment
    embeddings → norm → dropout."""

    def __init__(self, config: MobileBertConfig):
        super().__init__()
        self.trigram_input = config.trigram_input
        self.project = config.trigram_input or config.embedding_size != config.hidden_size
        self.word_embeddings = nn.Embedding(config.vocab_size, config.embedding_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        # always built (and checkpointed), used only when it changes the width
        in_size = config.embedding_size * (3 if config.trigram_input else 1)
        self.embedding_transformation = nn.Linear(in_size, config.hidden_size)
        self.LayerNorm = make_norm(config, config.hidden_size, DEFAULT_EPS)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids=None, token_type_ids=None, position_ids=None, inputs_embeds=None) -> torch.Tensor:
        embeds = self.word_embeddings(input_ids) if inputs_embeds is None else inputs_embeds  # (B, T, E)
        seq_len = embeds.shape[1]
        if self.trigram_input:
            # a width-3 convolution over tokens: [next, this, previous], zeros past either end → (B, T, 3E)
            embeds = torch.cat([F.pad(embeds[:, 1:], (0, 0, 0, 1)), embeds, F.pad(embeds[:, :-1], (0, 0, 1, 0))], dim=2)
        if self.project:
            embeds = self.embedding_transformation(embeds)  # (B, T, H)
        # the defaults (positions 0.., segment 0) are rows of the tables: add them without a lookup
        if position_ids is None:
            embeds = embeds + self.position_embeddings.weight[:seq_len]
        else:
            check_table_ids(position_ids, self.position_embeddings, "position_ids", "max_position_embeddings", "positions")
            embeds = embeds + self.position_embeddings(position_ids)
        if token_type_ids is None:
            embeds = embeds + self.token_type_embeddings.weight[0]
        else:
            check_table_ids(token_type_ids, self.token_type_embeddings, "token_type_ids", "type_vocab_size", "segments")
            embeds = embeds + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.LayerNorm(embeds))


class MobileBertPooler(nn.Module):
    """First token → dense + tanh (classifier_activation), or the first token's state as it is (no parameters)."""

    def __init__(self, config: MobileBertConfig):
        super().__init__()
        self.activate = config.classifier_activation
        if self.activate:
            self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        first = hidden_states[:, 0]  # (B, H)
        return torch.tanh(self.dense(first)) if self.activate else first


# ---- models -------------------------------------------------------------------------------------------------------


class MobileBertPreTrainedModel(PreTrainedModel):
    config_class = MobileBertConfig
    base_model_prefix = "mobilebert"
    # older checkpoints also store the decoder bias, an alias of cls.predictions.bias
    _keys_to_ignore_on_load_unexpected = (r"(^|\.)position_ids$", r"cls\.predictions\.decoder\.bias$")

    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        with torch.no_grad():
            if isinstance(module, NoNorm):
                module.weight.fill_(1.0)
                module.bias.zero_()
            elif isinstance(module, MobileBertLMPredictionHead):
                module.bias.zero_()


class MobileBertModel(MobileBertPreTrainedModel):
    """Embeddings → encoder → pooler."""

    def __init__(self, config: MobileBertConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = MobileBertEmbeddings(config)
        self.encoder = MobileBertEncoder(config)
        self.pooler = MobileBertPooler(config) if add_pooling_layer else None
        self.post_init()

    def _prune_heads(self, heads_to_prune: dict[int, list[int]]) -> None:
        for layer, heads in heads_to_prune.items():
            self.encoder.layer[layer].attention.prune_heads(heads)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        head_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,  # (sic) before output_attentions, as in the reference
        output_attentions: bool | None = None,
        return_dict: bool | None = None,
    ):
        config = self.config
        output_attentions = config.output_attentions if output_attentions is None else output_attentions
        output_hidden_states = config.output_hidden_states if output_hidden_states is None else output_hidden_states
        return_dict = config.use_return_dict if return_dict is None else return_dict
        check_inputs(
            input_ids, inputs_embeds, attention_mask, vocab_size=config.vocab_size,
            max_positions=config.max_position_embeddings if position_ids is None else None,
        )
        if inputs_embeds is not None and inputs_embeds.shape[-1] != config.embedding_size:
            raise ValueError(
                f"inputs_embeds must have shape (batch, sequence_length, embedding_size={config.embedding_size}) — "
                f"MobileBERT's word embeddings are narrower than hidden_size — got {tuple(inputs_embeds.shape)}."
            )
        self.warn_if_padding_and_no_attention_mask(input_ids, attention_mask)

        hidden_states = self.embeddings(input_ids, token_type_ids, position_ids, inputs_embeds)  # (B, T, H)
        impl = choose_impl(config.attn_implementation, output_attentions, head_mask)
        bias = padding_bias(drop_full_mask(attention_mask, impl), hidden_states.dtype)  # (B, 1, 1|T, T) or None

        sequence_output, all_hidden, all_attentions = self.encoder(
            hidden_states, bias, head_mask_per_layer(head_mask, config.num_hidden_layers, hidden_states.dtype), impl,
            output_attentions, output_hidden_states,
        )
        pooled_output = self.pooler(sequence_output) if self.pooler is not None else None
        if not return_dict:  # the reference's tuple keeps a missing pooled output as None
            return (sequence_output, pooled_output) + tuple(v for v in (all_hidden, all_attentions) if v is not None)
        return BaseModelOutputWithPooling(sequence_output, pooled_output, all_hidden, all_attentions)


# ---- pretraining and language-model heads -------------------------------------------------------------------------


class MobileBertLMPredictionHead(nn.Module):
    """transform (always a real LayerNorm) → logits over the vocabulary.

    The output embedding matrix is hidden_size wide but the word embeddings only embedding_size: the first
    embedding_size input features use the (tied) `decoder` (V, E), the rest the extra rows `dense.weight` (H-E, V).
    """

    def __init__(self, config: MobileBertConfig):
        super().__init__()
        if config.hidden_size < config.embedding_size:
            raise ConfigError(
                f"MobileBERT's LM head needs hidden_size ({config.hidden_size}) >= embedding_size "
                f"({config.embedding_size}): its output rows are the embeddings plus hidden_size - embedding_size more."
            )
        self.embedding_size = config.embedding_size
        self.transform = PredictionHeadTransform(config.hidden_size, config.hidden_act, config.layer_norm_eps)
        self.dense = nn.Linear(config.vocab_size, config.hidden_size - config.embedding_size, bias=False)
        self.decoder = nn.Linear(config.embedding_size, config.vocab_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        h = self.transform(hidden_states)  # (B, T, H)
        e = self.embedding_size
        # h · [decoderᵀ ; dense] + bias, as two products: (B, T, E)·(E, V) + (B, T, H-E)·(H-E, V)
        logits = F.linear(h[..., :e], self.decoder.weight, self.bias)
        return logits.add_(torch.matmul(h[..., e:], self.dense.weight))  # (B, T, V)








class _MobileBertWithLMHead(MobileBertPreTrainedModel):
    """Heads whose `cls.predictions.decoder` is tied to the word embeddings. The checkpoint stores
    `cls.predictions.dense.weight` and `cls.predictions.bias`, never the decoder."""

    _tied_weights_keys = ("cls.predictions.decoder.weight",)
    _vocab_sized_keys = ("cls.predictions.bias",)

    def get_output_embeddings(self) -> nn.Linear:
        return self.cls.predictions.decoder

    def _set_output_embeddings(self, value: nn.Linear) -> None:
        self.cls.predictions.decoder = value

    def _resize_vocab_params(self, n: int) -> None:
        super()._resize_vocab_params(n)
        # the extra output rows (H-E, V) are vocabulary-sized along their columns; new columns start at the mean,
        # like the new embedding rows, so a new token's logit is built consistently from both blocks
        dense = self.cls.predictions.dense
        old = dense.weight
        new = nn.Linear(n, old.shape[0], bias=False, device=old.device, dtype=old.dtype)
        self._copy_rows(old.t(), new.weight.t(), mean_resizing=True)
        self.cls.predictions.dense = new


# The reference's heads take these positionally, then their labels (the base model orders its flags differently).
_INPUTS = ("input_ids", "attention_mask", "token_type_ids", "position_ids", "head_mask", "inputs_embeds")


class MobileBertForPreTraining(TaskModel, _MobileBertWithLMHead):
    """Masked LM + next sentence prediction; loss = MLM loss + NSP loss when both labels are given."""

    base_model_class = MobileBertModel
    forward_order = _INPUTS
    uses_pooler = True

    def __init__(self, config: MobileBertConfig):
        super().__init__(config)
        self._build_base(config)
        self.cls = PreTrainingHeads(MobileBertLMPredictionHead(config), config.hidden_size)
        self.post_init()

    def forward(self, *args: Any, labels: torch.Tensor | None = None, next_sentence_label=None, **kwargs: Any):
        inputs, return_dict = self._bind(args, kwargs)
        out = self._run_base(inputs)
        prediction_logits, nsp_logits = self.cls(out.last_hidden_state, out.pooler_output)  # (B, T, V), (B, 2)
        loss = None
        if labels is not None and next_sentence_label is not None:
            loss = masked_lm_loss(prediction_logits, labels) + masked_lm_loss(nsp_logits, next_sentence_label)
        result = PreTrainingOutput(loss, prediction_logits, nsp_logits, out.hidden_states, out.attentions)
        return self._finish(result, return_dict)


class MobileBertForMaskedLM(TaskModel, _MobileBertWithLMHead):
    base_model_class = MobileBertModel
    forward_order = _INPUTS

    def __init__(self, config: MobileBertConfig):
        super().__init__(config)
        self._build_base(config)
        self.cls = MLMHead(MobileBertLMPredictionHead(config))
        self.post_init()

    def forward(self, *args: Any, labels: torch.Tensor | None = None, **kwargs: Any):
        inputs, return_dict = self._bind(args, kwargs)
        out = self._run_base(inputs)
        logits = self.cls(out.last_hidden_state)  # (B, T, V)
        loss = masked_lm_loss(logits, labels) if labels is not None else None
        return self._finish(MaskedLMOutput(loss, logits, out.hidden_states, out.attentions), return_dict)


class MobileBertForNextSentencePrediction(TaskModel, MobileBertPreTrainedModel):
    """NSP on the pooled output; label 0 = sentence B continues A, 1 = B is random."""

    base_model_class = MobileBertModel
    forward_order = _INPUTS
    uses_pooler = True

    def __init__(self, config: MobileBertConfig):
        super().__init__(config)
        self._build_base(config)
        self.cls = NSPHead(config.hidden_size)
        self.post_init()

    def forward(self, *args: Any, labels: torch.Tensor | None = None, **kwargs: Any):
        if "next_sentence_label" in kwargs:
            warnings.warn("next_sentence_label is deprecated; use labels.", FutureWarning, stacklevel=2)
            labels = kwargs.pop("next_sentence_label")
        inputs, return_dict = self._bind(args, kwargs)
        out = self._run_base(inputs)
        logits = self.cls(out.pooler_output)  # (B, 2)
        loss = masked_lm_loss(logits, labels) if labels is not None else None
        return self._finish(NextSentencePredictorOutput(loss, logits, out.hidden_states, out.attentions), return_dict)


# ---- task heads (shared implementations) --------------------------------------------------------------------------


class MobileBertForSequenceClassification(SequenceClassificationModel, MobileBertPreTrainedModel):
    base_model_class = MobileBertModel
    forward_order = _INPUTS


class MobileBertForMultipleChoice(MultipleChoiceModel, MobileBertPreTrainedModel):
    base_model_class = MobileBertModel
    forward_order = _INPUTS


class MobileBertForTokenClassification(TokenClassificationModel, MobileBertPreTrainedModel):
    base_model_class = MobileBertModel
    forward_order = _INPUTS


class MobileBertForQuestionAnswering(QuestionAnsweringModel, MobileBertPreTrainedModel):
    base_model_class = MobileBertModel
    forward_order = _INPUTS
