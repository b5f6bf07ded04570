"""BERT in JAX/Flax: the model of models/bert.py as `flax.linen` modules, with the reference's Flax parameter tree
(`bert/encoder/layer/3/attention/self/query/kernel`, ...), so the same checkpoints load here and in PyTorch.

Differences from the reference's Flax BERT, on purpose:
- the key/value cache works for every decoder: the reference uses `past_key_values` only when the model also has
  cross-attention and silently runs without the cache otherwise; default positions continue after the cache;
- `relative_key` / `relative_key_query` position types, as in our PyTorch BertModel (the reference's Flax BERT has
  none and quietly uses absolute positions);
- multiple-choice heads use `classifier_dropout` like every PyTorch head (the reference's Flax one the hidden dropout).

Shapes: B batch, T tokens, K keys (T, or the cache length while decoding), H heads, D head size.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from ..models.configs import BertConfig  # framework-free: shared with models/ and tf/
from ..validation import check_head_mask_shape
from .heads import (
    FlaxMultipleChoiceModule,
    FlaxQuestionAnsweringModule,
    FlaxSequenceClassificationModule,
    FlaxTokenClassificationModule,
)
from .layers import (
    Intermediate,
    Pooler,
    PredictionHeadTransform,
    ResidualOutput,
    attend,
    attention_bias,
    cached_key_value,
    normal_init,
)
from .modeling import FlaxPreTrainedModel
from .outputs import (
    FlaxBaseModelOutputWithPoolingAndCrossAttentions,
    FlaxBertForPreTrainingOutput,
    FlaxCausalLMOutputWithCrossAttentions,
    FlaxMaskedLMOutput,
    FlaxNextSentencePredictorOutput,
)

__all__ = [
    "FlaxBertModel",
    "FlaxBertPreTrainedModel",
    "FlaxBertForPreTraining",
    "FlaxBertForPreTrainingOutput",
    "FlaxBertForCausalLM",
    "FlaxBertForMaskedLM",
    "FlaxBertForNextSentencePrediction",
    "FlaxBertForSequenceClassification",
    "FlaxBertForMultipleChoice",
    "FlaxBertForTokenClassification",
    "FlaxBertForQuestionAnswering",
    "FlaxBertModule",
]


# ---- embeddings ---------------------------------------------------------------------------------------------------


class FlaxBertEmbeddings(nn.Module):
    """word + segment (+ absolute position) embeddings → LayerNorm → dropout."""

    config: BertConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, input_ids, token_type_ids, position_ids, deterministic: bool = True):
        c = self.config

        def table(rows: int, name: str) -> nn.Embed:
            return nn.Embed(rows, c.hidden_size, embedding_init=normal_init(c), dtype=self.dtype, name=name)

        embeds = table(c.vocab_size, "word_embeddings")(input_ids)  # (B, T, hidden)
        embeds = embeds + table(c.type_vocab_size, "token_type_embeddings")(token_type_ids)
        # created for every position type, as checkpoints hold it; relative types score positions in attention
        positions = table(c.max_position_embeddings, "position_embeddings")(position_ids)
        if c.position_embedding_type == "absolute":
            embeds = embeds + positions
        embeds = nn.LayerNorm(epsilon=c.layer_norm_eps, dtype=self.dtype, name="LayerNorm")(embeds)
        return nn.Dropout(rate=c.hidden_dropout_prob)(embeds, deterministic=deterministic)


# ---- attention ----------------------------------------------------------------------------------------------------


class FlaxBertSelfAttention(nn.Module):
    """query/key/value attention; a key/value cache when decoding; relative_key(_query) position scores."""

    config: BertConfig
    position_embedding_type: str = "absolute"
    causal: bool = False  # decoder self-attention
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, hidden_states, attention_mask, head_mask, past, key_value_states=None, init_cache=False, deterministic=True):
        c = self.config
        heads = c.num_attention_heads

        def project(name: str, x: jax.Array) -> jax.Array:  # (B, T, hidden) → (B, T, H, D)
            y = nn.Dense(c.hidden_size, kernel_init=normal_init(c), dtype=self.dtype, name=name)(x)
            return y.reshape(y.shape[:2] + (heads, c.hidden_size // heads))

        source = hidden_states if key_value_states is None else key_value_states
        q, k, v = project("query", hidden_states), project("key", source), project("value", source)
        if self.causal and (init_cache or self.has_variable("cache", "cached_key")):
            k, v = cached_key_value(self, k, v, past)  # the whole cache: (B, max_length, H, D)
        q_pos = past + jnp.arange(q.shape[1])  # queries come after the `past` cached positions
        bias = attention_bias(attention_mask, q_pos, k.shape[1], self.causal, self.dtype)
        if self.position_embedding_type != "absolute":
            relative = self.relative_scores(q, k, q_pos)
            bias = relative if bias is None else bias + relative
        return attend(
            self, q, k, v, bias, dropout=c.attention_probs_dropout_prob, deterministic=deterministic,
            head_mask=head_mask, dtype=self.dtype,
        )

    def relative_scores(self, q: jax.Array, k: jax.Array, q_pos: jax.Array) -> jax.Array:
        """Shaw et al. (relative_key: q·r) and Huang et al. (+ k·r) scores (B, H, T, K), r = `distance_embedding`
        of the query-key distance; scaled by 1/√D like q·k, as the reference."""
        c = self.config
        head_size = q.shape[-1]
        distance = q_pos[:, None] - jnp.arange(k.shape[1])[None, :] + c.max_position_embeddings - 1  # (T, K) ≥ 0
        embed = nn.Embed(
            2 * c.max_position_embeddings - 1, head_size, embedding_init=normal_init(c), dtype=self.dtype,
            name="distance_embedding",
        )
        r = embed(distance)  # (T, K, D)
        scores = jnp.einsum("bqhd,qkd->bhqk", q, r)
        if self.position_embedding_type == "relative_key_query":
            scores = scores + jnp.einsum("bkhd,qkd->bhqk", k, r)
        return scores / head_size**0.5


class FlaxBertAttention(nn.Module):
    """self (attention) + output (dense, dropout, residual LayerNorm)."""

    config: BertConfig
    position_embedding_type: str = "absolute"
    causal: bool = False
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, hidden_states, attention_mask, head_mask, past, key_value_states=None, init_cache=False, deterministic=True):
        context, weights = FlaxBertSelfAttention(
            self.config, self.position_embedding_type, self.causal, self.dtype, name="self"
        )(hidden_states, attention_mask, head_mask, past, key_value_states, init_cache, deterministic)
        return ResidualOutput(self.config, self.dtype, name="output")(context, hidden_states, deterministic), weights


class FlaxBertLayer(nn.Module):
    """self-attention → (cross-attention) → feed-forward, each a post-LN residual sublayer."""

    config: BertConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(
        self, hidden_states, attention_mask, head_mask, past, encoder_hidden_states, encoder_attention_mask,
        init_cache, deterministic,
    ):
        c = self.config
        hidden_states, self_weights = FlaxBertAttention(
            c, c.position_embedding_type, causal=c.is_decoder, dtype=self.dtype, name="attention"
        )(hidden_states, attention_mask, head_mask, past, init_cache=init_cache, deterministic=deterministic)
        cross_weights = None
        if encoder_hidden_states is not None:
            hidden_states, cross_weights = FlaxBertAttention(c, dtype=self.dtype, name="crossattention")(
                hidden_states, encoder_attention_mask, head_mask, past, encoder_hidden_states, deterministic=deterministic
            )
        intermediate = Intermediate(c, self.dtype, name="intermediate")(hidden_states)
        hidden_states = ResidualOutput(c, self.dtype, name="output")(intermediate, hidden_states, deterministic)
        return hidden_states, self_weights, cross_weights


class FlaxBertLayerCollection(nn.Module):
    """PyTorch's ModuleList `encoder.layer`: layers named "0", "1", …; each recomputed in the backward pass under
    gradient checkpointing."""

    config: BertConfig
    dtype: jnp.dtype = jnp.float32
    gradient_checkpointing: bool = False

    @nn.compact
    def __call__(
        self, hidden_states, attention_mask, head_mask, past, encoder_hidden_states, encoder_attention_mask,
        init_cache, deterministic, output_attentions, output_hidden_states,
    ):
        # init_cache and deterministic (arguments 7 and 8, self being 0) change the program: static under remat
        layer_class = nn.remat(FlaxBertLayer, static_argnums=(7, 8)) if self.gradient_checkpointing else FlaxBertLayer
        all_hidden = (hidden_states,) if output_hidden_states else None
        all_self = () if output_attentions else None
        all_cross = () if output_attentions and encoder_hidden_states is not None else None
        for i in range(self.config.num_hidden_layers):
            hidden_states, self_weights, cross_weights = layer_class(self.config, self.dtype, name=str(i))(
                hidden_states, attention_mask, None if head_mask is None else head_mask[i], past,
                encoder_hidden_states, encoder_attention_mask, init_cache, deterministic,
            )
            if output_hidden_states:
                all_hidden += (hidden_states,)
            if output_attentions:
                all_self += (self_weights,)
                if all_cross is not None:
                    all_cross += (cross_weights,)
        return hidden_states, all_hidden, all_self, all_cross


class FlaxBertEncoder(nn.Module):
    config: BertConfig
    dtype: jnp.dtype = jnp.float32
    gradient_checkpointing: bool = False

    @nn.compact
    def __call__(self, *args: Any):
        return FlaxBertLayerCollection(self.config, self.dtype, self.gradient_checkpointing, name="layer")(*args)


# ---- models -------------------------------------------------------------------------------------------------------


class FlaxBertModule(nn.Module):
    """Embeddings → encoder → pooler (first token, dense + tanh)."""

    config: BertConfig
    dtype: jnp.dtype = jnp.float32
    add_pooling_layer: bool = True
    gradient_checkpointing: bool = False

    @nn.compact
    def __call__(
        self,
        input_ids,
        attention_mask=None,
        token_type_ids=None,
        position_ids=None,
        head_mask=None,
        encoder_hidden_states=None,
        encoder_attention_mask=None,
        init_cache: bool = False,
        deterministic: bool = True,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ):
        c = self.config
        seq_len = input_ids.shape[-1]
        past = 0  # positions already in the cache
        if init_cache or self.has_variable("cache", "cache_index"):
            if not c.is_decoder:
                raise ValueError("A key/value cache needs a decoder: create the model with is_decoder=True.")
            index = self.variable("cache", "cache_index", lambda: jnp.array(0, dtype=jnp.int32))
            past = index.value
            if not self.is_initializing():
                index.value = past + seq_len
        if token_type_ids is None:
            token_type_ids = jnp.zeros_like(input_ids)
        if position_ids is None:
            position_ids = jnp.broadcast_to(past + jnp.arange(seq_len), input_ids.shape)
        if head_mask is not None:
            check_head_mask_shape(head_mask.shape, c.num_hidden_layers)
            head_mask = jnp.broadcast_to(head_mask, (c.num_hidden_layers, head_mask.shape[-1]))
        if not c.is_decoder:  # as in PyTorch: an encoder ignores encoder states
            encoder_hidden_states = encoder_attention_mask = None

        hidden_states = FlaxBertEmbeddings(c, self.dtype, name="embeddings")(
            input_ids, token_type_ids, position_ids, deterministic
        )
        sequence_output, all_hidden, all_self, all_cross = FlaxBertEncoder(
            c, self.dtype, self.gradient_checkpointing, name="encoder"
        )(
            hidden_states, attention_mask, head_mask, past, encoder_hidden_states, encoder_attention_mask,
            init_cache, deterministic, output_attentions, output_hidden_states,
        )
        pooled_output = Pooler(c, self.dtype, name="pooler")(sequence_output) if self.add_pooling_layer else None
        return FlaxBaseModelOutputWithPoolingAndCrossAttentions(
            last_hidden_state=sequence_output,
            pooler_output=pooled_output,
            hidden_states=all_hidden,
            attentions=all_self,
            cross_attentions=all_cross,
        )


# ---- pretraining and language-model heads -------------------------------------------------------------------------


class FlaxBertLMPredictionHead(nn.Module):
    """transform → vocabulary projection (the word embeddings when tied, else `decoder`) + an output-only `bias`."""

    config: BertConfig
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, hidden_states, word_embeddings=None):
        c = self.config
        hidden_states = PredictionHeadTransform(c, self.dtype, name="transform")(hidden_states)
        if word_embeddings is not None:
            logits = hidden_states @ jnp.asarray(word_embeddings, self.dtype).T  # (B, T, V)
        else:
            decoder = nn.Dense(c.vocab_size, use_bias=False, kernel_init=normal_init(c), dtype=self.dtype, name="decoder")
            logits = decoder(hidden_states)
        bias = self.param("bias", nn.initializers.zeros, (c.vocab_size,))
        return logits + jnp.asarray(bias, self.dtype)


class FlaxBertHeads(nn.Module):
    """`cls`: the masked-LM `predictions` and / or the next-sentence `seq_relationship` (2 logits, pooled output)."""

    config: BertConfig
    dtype: jnp.dtype = jnp.float32
    mlm: bool = True
    nsp: bool = False

    @nn.compact
    def __call__(self, sequence_output, pooled_output, word_embeddings):
        c = self.config
        predictions = seq_relationship = None
        if self.mlm:
            predictions = FlaxBertLMPredictionHead(c, self.dtype, name="predictions")(sequence_output, word_embeddings)
        if self.nsp:
            dense = nn.Dense(2, kernel_init=normal_init(c), dtype=self.dtype, name="seq_relationship")
            seq_relationship = dense(pooled_output)  # (B, 2): 0 = B continues A, 1 = B is random
        return predictions, seq_relationship


class _FlaxBertWithHeads(nn.Module):
    """The base model under `bert` and the `cls` heads; subclasses say which heads and what they return."""

    config: BertConfig
    dtype: jnp.dtype = jnp.float32
    gradient_checkpointing: bool = False

    def run(self, args: tuple, kwargs: dict, *, mlm: bool, nsp: bool):
        bert = FlaxBertModule(
            self.config, self.dtype, add_pooling_layer=nsp, gradient_checkpointing=self.gradient_checkpointing, name="bert"
        )
        out = bert(*args, **kwargs)
        # tied: the vocabulary projection is the word-embedding table
        tied = bert.variables["params"]["embeddings"]["word_embeddings"]["embedding"] if self.config.tie_word_embeddings else None
        heads = FlaxBertHeads(self.config, self.dtype, mlm, nsp, name="cls")
        return out, heads(out.last_hidden_state, out.pooler_output, tied)


class FlaxBertForPreTrainingModule(_FlaxBertWithHeads):
    @nn.compact
    def __call__(self, *args: Any, **kwargs: Any):
        out, (prediction_logits, nsp_logits) = self.run(args, kwargs, mlm=True, nsp=True)
        return FlaxBertForPreTrainingOutput(prediction_logits, nsp_logits, out.hidden_states, out.attentions)


class FlaxBertForMaskedLMModule(_FlaxBertWithHeads):
    @nn.compact
    def __call__(self, *args: Any, **kwargs: Any):
        out, (logits, _) = self.run(args, kwargs, mlm=True, nsp=False)
        return FlaxMaskedLMOutput(logits, out.hidden_states, out.attentions)


class FlaxBertForCausalLMModule(_FlaxBertWithHeads):
    @nn.compact
    def __call__(self, *args: Any, **kwargs: Any):
        out, (logits, _) = self.run(args, kwargs, mlm=True, nsp=False)
        return FlaxCausalLMOutputWithCrossAttentions(
            logits=logits, hidden_states=out.hidden_states, attentions=out.attentions,
            cross_attentions=out.cross_attentions,
        )


class FlaxBertForNextSentencePredictionModule(_FlaxBertWithHeads):
    @nn.compact
    def __call__(self, *args: Any, **kwargs: Any):
        out, (_, logits) = self.run(args, kwargs, mlm=False, nsp=True)
        return FlaxNextSentencePredictorOutput(logits, out.hidden_states, out.attentions)


class FlaxBertForSequenceClassificationModule(FlaxSequenceClassificationModule):
    base_module_class = FlaxBertModule
    base_model_prefix = "bert"


class FlaxBertForMultipleChoiceModule(FlaxMultipleChoiceModule):
    base_module_class = FlaxBertModule
    base_model_prefix = "bert"


class FlaxBertForTokenClassificationModule(FlaxTokenClassificationModule):
    base_module_class = FlaxBertModule
    base_model_prefix = "bert"


class FlaxBertForQuestionAnsweringModule(FlaxQuestionAnsweringModule):
    base_module_class = FlaxBertModule
    base_model_prefix = "bert"


# ---- the models users call ----------------------------------------------------------------------------------------


class FlaxBertPreTrainedModel(FlaxPreTrainedModel):
    config_class = BertConfig
    base_model_prefix = "bert"
    # tied decoders are not parameters here; old checkpoints also store them (and the decoder bias)
    _keys_to_ignore_on_load_unexpected = (r"(^|\.)position_ids$", r"cls\.predictions\.decoder\.(weight|bias)$")


class FlaxBertModel(FlaxBertPreTrainedModel):
    """The bare encoder (or decoder): last_hidden_state and pooler_output (`add_pooling_layer=False` drops it)."""

    module_class = FlaxBertModule


class FlaxBertForPreTraining(FlaxBertPreTrainedModel):
    """Masked-LM and next-sentence logits."""

    module_class = FlaxBertForPreTrainingModule


class FlaxBertForCausalLM(FlaxBertPreTrainedModel):
    """Next-token logits (config.is_decoder=True); decode step by step with init_cache + past_key_values."""

    module_class = FlaxBertForCausalLMModule


class FlaxBertForMaskedLM(FlaxBertPreTrainedModel):
    module_class = FlaxBertForMaskedLMModule


class FlaxBertForNextSentencePrediction(FlaxBertPreTrainedModel):
    module_class = FlaxBertForNextSentencePredictionModule


class FlaxBertForSequenceClassification(FlaxBertPreTrainedModel):
    module_class = FlaxBertForSequenceClassificationModule


class FlaxBertForMultipleChoice(FlaxBertPreTrainedModel):
    """Inputs are (batch, num_choices, sequence_length); logits (batch, num_choices)."""

    module_class = FlaxBertForMultipleChoiceModule
    input_rank = 3


class FlaxBertForTokenClassification(FlaxBertPreTrainedModel):
    module_class = FlaxBertForTokenClassificationModule


class FlaxBertForQuestionAnswering(FlaxBertPreTrainedModel):
    module_class = FlaxBertForQuestionAnsweringModule
