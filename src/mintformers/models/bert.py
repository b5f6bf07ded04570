"""BERT (Devlin et al., 2018): a post-LN Transformer encoder over word + position + segment embeddings.

Beyond the encoder it can run as a decoder (`is_decoder`: causal self-attention, `add_cross_attention`: attention
over encoder states, key/value caches), and use relative position scores (`relative_key`, `relative_key_query`,
Shaw et al. / Huang et al.) instead of absolute position embeddings.

Difference from the reference, on purpose: with relative positions and a cache, the reference scores every query
row of a multi-token step as if it sat at the last position; here query i sits at past_length + i, so a prompt
processed with a cache equals the same prompt without one. Single-token decoding steps agree with the reference.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import nn

from ..generation.utils import GenerationMixin
from ..layers.attention import (
    SelfAttention,
    causal_padding_bias,
    choose_impl,
    drop_full_mask,
    head_mask_per_layer,
    padding_bias,
    prune_linear_layer,
)
from ..layers.blocks import Intermediate, Pooler, PredictionHeadTransform, ResidualOutput, apply_chunked
from ..layers.cache import EncoderDecoderCache, as_cache
from ..layers.heads import (
    MLMHead,
    MultipleChoiceModel,
    NSPHead,
    PreTrainingHeads,
    QuestionAnsweringModel,
    SequenceClassificationModel,
    TokenClassificationModel,
)
from ..layers.losses import causal_lm_loss, masked_lm_loss
from ..modeling import PreTrainedModel, check_inputs, check_table_ids, run_layer
from ..outputs import (
    BaseModelOutputWithPoolingAndCrossAttentions,
    CausalLMOutputWithCrossAttentions,
    MaskedLMOutput,
    NextSentencePredictorOutput,
    PreTrainingOutput,
)
from .configs import BertConfig

__all__ = [
    "BertConfig",
    "BertModel",
    "BertPreTrainedModel",
    "BertForPreTraining",
    "BertForPreTrainingOutput",
    "BertLMHeadModel",
    "BertForMaskedLM",
    "BertForNextSentencePrediction",
    "BertForSequenceClassification",
    "BertForMultipleChoice",
    "BertForTokenClassification",
    "BertForQuestionAnswering",
]

BertForPreTrainingOutput = PreTrainingOutput


# ---- embeddings ---------------------------------------------------------------------------------------------------


class BertEmbeddings(nn.Module):
    """word + segment (+ absolute position) embeddings → LayerNorm → dropout."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.absolute = config.position_embedding_type == "absolute"

    def forward(self, input_ids=None, token_type_ids=None, position_ids=None, inputs_embeds=None, past_length=0):
        embeds = self.word_embeddings(input_ids) if inputs_embeds is None else inputs_embeds  # (B, T, H)
        b, t = embeds.shape[:2]
        if token_type_ids is None:
            token_type_ids = torch.zeros((b, t), dtype=torch.long, device=embeds.device)
        else:
            check_table_ids(token_type_ids, self.token_type_embeddings, "token_type_ids", "type_vocab_size", "segments")
        embeds = embeds + self.token_type_embeddings(token_type_ids)
        if self.absolute:
            if position_ids is None:
                position_ids = torch.arange(past_length, past_length + t, device=embeds.device)[None]
            embeds = embeds + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(embeds))


# ---- attention ----------------------------------------------------------------------------------------------------


class BertSelfAttention(SelfAttention):
    """query/key/value attention, plus the relative position scores of relative_key(_query)."""

    def __init__(self, config: BertConfig, position_embedding_type: str = "absolute"):
        super().__init__(config.hidden_size, config.num_attention_heads, config.attention_probs_dropout_prob)
        self.position_embedding_type = position_embedding_type
        if position_embedding_type != "absolute":
            self.max_position_embeddings = config.max_position_embeddings
            self.distance_embedding = nn.Embedding(2 * config.max_position_embeddings - 1, self.attention_head_size)

    def position_bias(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor | None:
        if self.position_embedding_type == "absolute":
            return None
        tq, tk = q.shape[2], k.shape[2]
        q_pos = torch.arange(tk - tq, tk, device=q.device)[:, None]  # queries are the last tq of tk positions
        k_pos = torch.arange(tk, device=q.device)[None, :]
        rel = self.distance_embedding(q_pos - k_pos + self.max_position_embeddings - 1).to(q.dtype)  # (Tq, Tk, D)
        scores = torch.einsum("bhld,lrd->bhlr", q, rel)
        if self.position_embedding_type == "relative_key_query":
            scores = scores + torch.einsum("bhrd,lrd->bhlr", k, rel)
        return scores / (self.attention_head_size**0.5)  # the reference scales these with q·k


class BertAttention(nn.Module):
    """self (attention) + output (dense, dropout, residual LayerNorm)."""

    def __init__(self, config: BertConfig, position_embedding_type: str | None = None):
        super().__init__()
        self.self = BertSelfAttention(config, position_embedding_type or config.position_embedding_type)
        self.output = ResidualOutput(config.hidden_size, config.hidden_size, config.layer_norm_eps, config.hidden_dropout_prob)

    def prune_heads(self, heads) -> None:
        index = self.self.prune_heads(heads)
        if index is not None:
            self.output.dense = prune_linear_layer(self.output.dense, index, dim=1)

    def forward(self, hidden_states, *, bias, head_mask, impl, kv=None, key_states=None):
        context, probs = self.self(hidden_states, key_states, bias=bias, head_mask=head_mask, impl=impl, kv=kv)
        return self.output(context, hidden_states), probs


class BertLayer(nn.Module):
    """self-attention → (cross-attention) → feed-forward, each a post-LN residual sublayer."""

    def __init__(self, config: BertConfig, layer_idx: int):
        super().__init__()
        self.layer_idx = layer_idx
        self.chunk_size_feed_forward = config.chunk_size_feed_forward
        self.attention = BertAttention(config)
        if config.add_cross_attention:
            self.crossattention = BertAttention(config, position_embedding_type="absolute")
        self.intermediate = Intermediate(config.hidden_size, config.intermediate_size, config.hidden_act)
        self.output = ResidualOutput(config.intermediate_size, config.hidden_size, config.layer_norm_eps, config.hidden_dropout_prob)

    def forward(self, hidden_states, bias, head_mask, impl, cache=None, encoder_hidden_states=None, cross_bias=None):
        i = self.layer_idx
        kv = None
        if cache is not None:
            kv = cache.self_attention_cache.update(*self.attention.self.project_kv(hidden_states, hidden_states), i)
        hidden_states, self_probs = self.attention(hidden_states, bias=bias, head_mask=head_mask, impl=impl, kv=kv)

        cross_probs = None
        if encoder_hidden_states is not None:
            if not hasattr(self, "crossattention"):
                raise ValueError(
                    "encoder_hidden_states were passed but the model has no cross-attention layers; "
                    "create it with is_decoder=True and add_cross_attention=True."
                )
            kv = None
            if cache is not None:
                if cache.is_updated.get(i):  # cross keys/values depend only on the encoder states: reuse
                    kv = cache.cross_attention_cache[i]
                else:
                    kv = cache.cross_attention_cache.update(
                        *self.crossattention.self.project_kv(encoder_hidden_states, encoder_hidden_states), i
                    )
                    cache.is_updated[i] = True
            hidden_states, cross_probs = self.crossattention(
                hidden_states, bias=cross_bias, head_mask=head_mask, impl=impl, kv=kv, key_states=encoder_hidden_states
            )
        hidden_states = apply_chunked(self._feed_forward, self.chunk_size_feed_forward, hidden_states)
        return hidden_states, self_probs, cross_probs

    def _feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.intermediate(x), x)


class BertEncoder(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(config, i) for i in range(config.num_hidden_layers))
        self.gradient_checkpointing = False

    def forward(self, hidden_states, bias, head_masks, impl, cache, encoder_hidden_states, cross_bias, output_attentions, output_hidden_states):
        all_hidden = (hidden_states,) if output_hidden_states else None
        all_self, all_cross = ((), ()) if output_attentions else (None, None)
        checkpointing = self.gradient_checkpointing and self.training
        for layer, head_mask in zip(self.layer, head_masks):
            hidden_states, self_probs, cross_probs = run_layer(
                layer, hidden_states, bias, head_mask, impl, cache, encoder_hidden_states, cross_bias,
                checkpointing=checkpointing,
            )
            if output_hidden_states:
                all_hidden += (hidden_states,)
            if output_attentions:
                all_self += (self_probs,)
                if cross_probs is not None:
                    all_cross += (cross_probs,)
        return hidden_states, all_hidden, all_self, (all_cross or None)


# ---- models -------------------------------------------------------------------------------------------------------


class BertPreTrainedModel(PreTrainedModel):
    config_class = BertConfig
    base_model_prefix = "bert"
    supports_packing = True
    # old checkpoints also store the (tied) decoder bias
    _keys_to_ignore_on_load_unexpected = (r"(^|\.)position_ids$", r"cls\.predictions\.decoder\.bias$")


class BertModel(BertPreTrainedModel):
    """Embeddings → encoder → pooler (first token, dense + tanh)."""

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = Pooler(config.hidden_size) if add_pooling_layer else None
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
        encoder_hidden_states: torch.Tensor | None = None,
        encoder_attention_mask: torch.Tensor | None = None,
        past_key_values: Any = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        cache_position: torch.Tensor | None = None,
    ):
        config = self.config
        output_attentions = config.output_attentions if output_attentions is None else output_attentions
        output_hidden_states = config.output_hidden_states if output_hidden_states is None else output_hidden_states
        return_dict = config.use_return_dict if return_dict is None else return_dict
        use_cache = (config.use_cache if use_cache is None else use_cache) and config.is_decoder
        if self.encoder.gradient_checkpointing and self.training:
            use_cache = False

        cache = as_cache(past_key_values, EncoderDecoderCache)
        if cache is None and use_cache:
            cache = EncoderDecoderCache()
        past_length = cache.get_seq_length() if cache is not None else 0
        batch, seq_len = check_inputs(
            input_ids, inputs_embeds, attention_mask, vocab_size=config.vocab_size,
            max_positions=config.max_position_embeddings if position_ids is None else None, past_length=past_length,
        )
        self.warn_if_padding_and_no_attention_mask(input_ids, attention_mask)

        hidden_states = self.embeddings(input_ids, token_type_ids, position_ids, inputs_embeds, past_length)
        dtype, device = hidden_states.dtype, hidden_states.device
        impl = choose_impl(config.attn_implementation, output_attentions, head_mask)

        if config.is_decoder:
            if attention_mask is None:
                attention_mask = torch.ones((batch, past_length + seq_len), device=device)
            bias = causal_padding_bias(attention_mask, seq_len, dtype) if attention_mask.dim() == 2 else padding_bias(attention_mask, dtype)
        else:
            bias = padding_bias(drop_full_mask(attention_mask, impl), dtype)
        cross_bias = None
        if config.is_decoder and encoder_hidden_states is not None and encoder_attention_mask is not None:
            cross_bias = padding_bias(encoder_attention_mask, dtype)

        sequence_output, all_hidden, all_self, all_cross = self.encoder(
            hidden_states, bias, head_mask_per_layer(head_mask, config.num_hidden_layers, dtype), impl, cache,
            encoder_hidden_states if config.is_decoder else None, cross_bias, output_attentions, output_hidden_states,
        )
        pooled_output = self.pooler(sequence_output) if self.pooler is not None else None
        if not return_dict:
            # the reference's tuple: past before hidden states, pooled kept even when None
            rest = tuple(v for v in (cache, all_hidden, all_self, all_cross) if v is not None)
            return (sequence_output, pooled_output) + rest
        return BaseModelOutputWithPoolingAndCrossAttentions(
            last_hidden_state=sequence_output,
            pooler_output=pooled_output,
            hidden_states=all_hidden,
            past_key_values=cache,
            attentions=all_self,
            cross_attentions=all_cross,
        )


# ---- pretraining and language-model heads -------------------------------------------------------------------------


class BertLMPredictionHead(nn.Module):
    """transform → `decoder` (tied to the word embeddings) + an output-only `bias` per token."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.transform = PredictionHeadTransform(config.hidden_size, config.hidden_act, config.layer_norm_eps)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.transform(hidden_states)) + self.bias  # (B, T, V)








class _BertWithLMHead(BertPreTrainedModel):
    """Shared by the heads whose `cls.predictions` decoder is tied to the input embeddings."""

    _tied_weights_keys = ("cls.predictions.decoder.weight",)
    _vocab_sized_keys = ("cls.predictions.bias",)

    def get_output_embeddings(self) -> nn.Linear:
        return self.cls.predictions.decoder

    def _set_output_embeddings(self, value: nn.Linear) -> None:
        self.cls.predictions.decoder = value


class BertForPreTraining(_BertWithLMHead):
    """Masked LM + next sentence prediction; loss = MLM loss + NSP loss when both labels are given."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config)
        self.cls = PreTrainingHeads(BertLMPredictionHead(config), config.hidden_size)
        self.post_init()

    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        token_type_ids=None,
        position_ids=None,
        head_mask=None,
        inputs_embeds=None,
        labels: torch.Tensor | None = None,
        next_sentence_label: torch.Tensor | None = None,
        output_attentions=None,
        output_hidden_states=None,
        return_dict=None,
    ):
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        out = self.bert(
            input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
            output_attentions=output_attentions, output_hidden_states=output_hidden_states, return_dict=True,
        )
        prediction_logits, nsp_logits = self.cls(out.last_hidden_state, out.pooler_output)
        loss = None
        if labels is not None and next_sentence_label is not None:
            loss = masked_lm_loss(prediction_logits, labels) + masked_lm_loss(nsp_logits, next_sentence_label)
        result = PreTrainingOutput(loss, prediction_logits, nsp_logits, out.hidden_states, out.attentions)
        return result if return_dict else result.to_tuple()


class BertLMHeadModel(_BertWithLMHead, GenerationMixin):
    """Causal language model (config.is_decoder=True); labels are shifted inside."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        if not config.is_decoder:
            warnings.warn("BertLMHeadModel is meant to be used with is_decoder=True (causal attention).", stacklevel=2)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.cls = MLMHead(BertLMPredictionHead(config))
        self.post_init()

    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        token_type_ids=None,
        position_ids=None,
        head_mask=None,
        inputs_embeds=None,
        encoder_hidden_states=None,
        encoder_attention_mask=None,
        labels: torch.Tensor | None = None,
        past_key_values=None,
        use_cache=None,
        output_attentions=None,
        output_hidden_states=None,
        return_dict=None,
        cache_position=None,
        logits_to_keep: int = 0,
    ):
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        if labels is not None:
            use_cache = False
        out = self.bert(
            input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
            encoder_hidden_states, encoder_attention_mask, past_key_values, use_cache,
            output_attentions=output_attentions, output_hidden_states=output_hidden_states, return_dict=True,
        )
        hidden = out.last_hidden_state
        if logits_to_keep:
            hidden = hidden[:, -logits_to_keep:]
        logits = self.cls(hidden)
        loss = causal_lm_loss(logits, labels) if labels is not None else None
        result = CausalLMOutputWithCrossAttentions(
            loss, logits, out.past_key_values, out.hidden_states, out.attentions, out.cross_attentions
        )
        return result if return_dict else result.to_tuple()


class BertForMaskedLM(_BertWithLMHead):
    def __init__(self, config: BertConfig):
        super().__init__(config)
        if config.is_decoder:
            warnings.warn("BertForMaskedLM wants is_decoder=False (bidirectional attention).", stacklevel=2)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.cls = MLMHead(BertLMPredictionHead(config))
        self.post_init()

    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        token_type_ids=None,
        position_ids=None,
        head_mask=None,
        inputs_embeds=None,
        encoder_hidden_states=None,
        encoder_attention_mask=None,
        labels: torch.Tensor | None = None,
        output_attentions=None,
        output_hidden_states=None,
        return_dict=None,
    ):
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        out = self.bert(
            input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
            encoder_hidden_states, encoder_attention_mask,
            output_attentions=output_attentions, output_hidden_states=output_hidden_states, return_dict=True,
        )
        logits = self.cls(out.last_hidden_state)
        loss = masked_lm_loss(logits, labels) if labels is not None else None
        result = MaskedLMOutput(loss, logits, out.hidden_states, out.attentions)
        return result if return_dict else result.to_tuple()


class BertForNextSentencePrediction(BertPreTrainedModel):
    """NSP on the pooled output; label 0 = sentence B continues A, 1 = B is random."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config)
        self.cls = NSPHead(config.hidden_size)
        self.post_init()

    def forward(
        self,
        input_ids=None,
        attention_mask=None,
        token_type_ids=None,
        position_ids=None,
        head_mask=None,
        inputs_embeds=None,
        labels: torch.Tensor | None = None,
        output_attentions=None,
        output_hidden_states=None,
        return_dict=None,
        **kwargs,
    ):
        if "next_sentence_label" in kwargs:
            warnings.warn("next_sentence_label is deprecated; use labels.", FutureWarning, stacklevel=2)
            labels = kwargs.pop("next_sentence_label")
        if kwargs:
            raise TypeError(f"Unexpected arguments: {sorted(kwargs)}")
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        out = self.bert(
            input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
            output_attentions=output_attentions, output_hidden_states=output_hidden_states, return_dict=True,
        )
        logits = self.cls(out.pooler_output)  # (B, 2)
        loss = masked_lm_loss(logits, labels) if labels is not None else None
        result = NextSentencePredictorOutput(loss, logits, out.hidden_states, out.attentions)
        return result if return_dict else result.to_tuple()


# ---- task heads (shared implementations) --------------------------------------------------------------------------


class BertForSequenceClassification(SequenceClassificationModel, BertPreTrainedModel):
    base_model_class = BertModel


class BertForMultipleChoice(MultipleChoiceModel, BertPreTrainedModel):
    base_model_class = BertModel


class BertForTokenClassification(TokenClassificationModel, BertPreTrainedModel):
    base_model_class = BertModel


class BertForQuestionAnswering(QuestionAnsweringModel, BertPreTrainedModel):
    base_model_class = BertModel
