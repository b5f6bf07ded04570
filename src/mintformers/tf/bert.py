"""BERT (Devlin et al., 2018) in TensorFlow: a post-LN Transformer encoder over word + position + segment embeddings.

The same model as `models/bert.py`, on Keras 3: encoder or decoder (`is_decoder`: causal self-attention,
`add_cross_attention`: attention over encoder states, `past_key_values` caches in the reference's TF format), and
relative position scores (`relative_key`, `relative_key_query`, which the reference's TF classes lack), with the
PyTorch model's choice for a cache: query i of a step sits at past_length + i. Layer names are the reference TF
classes' names, so `tf_model.h5` files load both ways (checkpoint.py maps them to the PyTorch keys).
"""

from __future__ import annotations

import logging

from ..models.configs import BertConfig
from ._backend import keras, tf
from .heads import (
    MLMHead,
    TFMaskedLMModel,
    TFMultipleChoiceModel,
    TFNextSentencePredictionModel,
    TFPreTrainingModel,
    TFQuestionAnsweringModel,
    TFSequenceClassificationModel,
    TFTokenClassificationModel,
)
from .layers import (
    Embedding,
    Intermediate,
    Pooler,
    PredictionHeadTransform,
    ResidualOutput,
    SelfAttention,
    causal_padding_mask,
    head_mask_per_layer,
    layer_norm,
    padding_mask,
)
from .losses import causal_lm_loss
from .modeling import TFPreTrainedModel, check_inputs, check_table_ids, unpack_inputs
from .outputs import (
    TFBaseModelOutputWithPoolingAndCrossAttentions,
    TFBertForPreTrainingOutput,
    TFCausalLMOutputWithCrossAttentions,
)

__all__ = [
    "TFBertMainLayer",
    "TFBertPreTrainedModel",
    "TFBertModel",
    "TFBertForPreTraining",
    "TFBertForPreTrainingOutput",
    "TFBertLMHeadModel",
    "TFBertForMaskedLM",
    "TFBertForNextSentencePrediction",
    "TFBertForSequenceClassification",
    "TFBertForMultipleChoice",
    "TFBertForTokenClassification",
    "TFBertForQuestionAnswering",
]

logger = logging.getLogger(__name__)


# ---- embeddings ---------------------------------------------------------------------------------------------------


class TFBertEmbeddings(keras.layers.Layer):
    """word + segment (+ absolute position) embeddings → LayerNorm → dropout."""

    def __init__(self, config: BertConfig, name: str = "embeddings"):
        super().__init__(name=name)
        h, std = config.hidden_size, config.initializer_range
        self.word_embeddings = Embedding(config.vocab_size, h, "word_embeddings", weight_name="weight", std=std)
        self.token_type_embeddings = Embedding(config.type_vocab_size, h, "token_type_embeddings", std=std)
        self.position_embeddings = Embedding(config.max_position_embeddings, h, "position_embeddings", std=std)
        self.LayerNorm = layer_norm(h, config.layer_norm_eps)
        self.dropout = keras.layers.Dropout(config.hidden_dropout_prob)
        self.absolute = config.position_embedding_type == "absolute"
        self.built = True

    def call(self, input_ids=None, token_type_ids=None, position_ids=None, inputs_embeds=None, past_length=0, training=False):
        embeds = self.word_embeddings(input_ids) if inputs_embeds is None else inputs_embeds  # (B, T, H)
        if token_type_ids is None:
            token_type_ids = tf.zeros(tf.shape(embeds)[:2], tf.int32)
        else:
            check_table_ids(token_type_ids, self.token_type_embeddings.weight.shape[0], "token_type_ids", "type_vocab_size", "segments")
        embeds = embeds + self.token_type_embeddings(token_type_ids)
        if self.absolute:
            if position_ids is None:
                position_ids = tf.expand_dims(tf.range(past_length, past_length + tf.shape(embeds)[1]), 0)
            embeds = embeds + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(embeds), training=training)


# ---- layers -------------------------------------------------------------------------------------------------------


class TFBertAttention(keras.layers.Layer):
    """self (attention) + output (dense, dropout, residual LayerNorm)."""

    def __init__(self, config: BertConfig, position_embedding_type: str, name: str):
        super().__init__(name=name)
        self.self = SelfAttention(
            config.hidden_size, config.num_attention_heads, config.attention_probs_dropout_prob,
            std=config.initializer_range, position_embedding_type=position_embedding_type,
            max_position_embeddings=config.max_position_embeddings,
        )
        self.output_ = ResidualOutput(  # `output` is taken by keras.Layer; the checkpoint name is "output"
            config.hidden_size, config.hidden_size, config.layer_norm_eps, config.hidden_dropout_prob,
            config.initializer_range,
        )
        self.built = True

    def call(self, hidden_states, key_states=None, keep=None, head_mask=None, kv=None, past_kv=None, training=False):
        """Returns the output, the attention probabilities and the keys/values (B, heads, Tk, D) attended to.
        `past_kv`: a self-attention cache to extend; `kv`: cross-attention keys/values to reuse."""
        if past_kv is not None:  # the step's keys/values join the cached ones
            k, v = self.self.project_kv(hidden_states, hidden_states)
            kv = (tf.concat([past_kv[0], k], axis=2), tf.concat([past_kv[1], v], axis=2))
        context, probs, kv = self.self(
            hidden_states, key_states, keep=keep, head_mask=head_mask, kv=kv, training=training
        )
        return self.output_(context, hidden_states, training=training), probs, kv


class TFBertLayer(keras.layers.Layer):
    """self-attention → (cross-attention) → feed-forward, each a post-LN residual sublayer."""

    def __init__(self, config: BertConfig, name: str):
        super().__init__(name=name)
        self.attention = TFBertAttention(config, config.position_embedding_type, "attention")
        if config.add_cross_attention:
            self.crossattention = TFBertAttention(config, "absolute", "crossattention")
        self.intermediate = Intermediate(
            config.hidden_size, config.intermediate_size, config.hidden_act, config.initializer_range
        )
        self.output_ = ResidualOutput(
            config.intermediate_size, config.hidden_size, config.layer_norm_eps, config.hidden_dropout_prob,
            config.initializer_range,
        )
        self.built = True

    def call(
        self, hidden_states, keep=None, head_mask=None, encoder_hidden_states=None, cross_keep=None,
        past_key_value=None, training=False,
    ):
        """Returns the new states, the self- and cross-attention probabilities, and this layer's cache entry
        (key, value[, cross key, cross value])."""
        past_self = past_key_value[:2] if past_key_value is not None else None
        hidden_states, self_probs, present = self.attention(
            hidden_states, keep=keep, head_mask=head_mask, past_kv=past_self, training=training
        )
        cross_probs = None
        if encoder_hidden_states is not None:
            if not hasattr(self, "crossattention"):
                raise ValueError(
                    "encoder_hidden_states were passed but the model has no cross-attention layers; "
                    "create it with is_decoder=True and add_cross_attention=True."
                )
            # cross keys/values depend only on the encoder states: reuse the cached ones
            cached = past_key_value[2:] if past_key_value is not None and len(past_key_value) == 4 else None
            hidden_states, cross_probs, cross_kv = self.crossattention(
                hidden_states, encoder_hidden_states, keep=cross_keep, head_mask=head_mask, kv=cached,
                training=training,
            )
            present = present + cross_kv
        hidden_states = self.output_(self.intermediate(hidden_states), hidden_states, training=training)
        return hidden_states, self_probs, cross_probs, present


class TFBertEncoder(keras.layers.Layer):
    def __init__(self, config: BertConfig, name: str = "encoder"):
        super().__init__(name=name)
        self.layer = [TFBertLayer(config, f"layer_._{i}") for i in range(config.num_hidden_layers)]
        self.built = True

    def call(
        self, hidden_states, keep, head_masks, encoder_hidden_states, cross_keep, past_key_values, use_cache,
        output_attentions, output_hidden_states, training=False,
    ):
        all_hidden = (hidden_states,) if output_hidden_states else None
        all_self, all_cross = ((), ()) if output_attentions else (None, None)
        cache = () if use_cache else None
        for i, layer in enumerate(self.layer):
            hidden_states, self_probs, cross_probs, present = layer(
                hidden_states, keep=keep, head_mask=head_masks[i], encoder_hidden_states=encoder_hidden_states,
                cross_keep=cross_keep, past_key_value=None if past_key_values is None else past_key_values[i],
                training=training,
            )
            if use_cache:
                cache += (present,)
            if output_hidden_states:
                all_hidden += (hidden_states,)
            if output_attentions:
                all_self += (self_probs,)
                if cross_probs is not None:
                    all_cross += (cross_probs,)
        return hidden_states, cache, all_hidden, all_self, (all_cross or None)


# ---- the main layer (PyTorch's BertModel) -------------------------------------------------------------------------


class TFBertMainLayer(keras.layers.Layer):
    """Embeddings → encoder → pooler (first token, dense + tanh). Every TF BERT model holds one, named `bert`."""

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True, name: str = "bert"):
        super().__init__(name=name)
        self.config = config
        self.embeddings = TFBertEmbeddings(config)
        self.encoder = TFBertEncoder(config)
        self.pooler = Pooler(config.hidden_size, config.initializer_range) if add_pooling_layer else None
        self.built = True

    def call(
        self,
        input_ids=None,
        attention_mask=None,
        token_type_ids=None,
        position_ids=None,
        head_mask=None,
        inputs_embeds=None,
        encoder_hidden_states=None,
        encoder_attention_mask=None,
        past_key_values=None,
        use_cache=None,
        output_attentions=None,
        output_hidden_states=None,
        return_dict=None,
        training=False,
    ):
        config = self.config
        output_attentions = config.output_attentions if output_attentions is None else output_attentions
        output_hidden_states = config.output_hidden_states if output_hidden_states is None else output_hidden_states
        return_dict = config.use_return_dict if return_dict is None else return_dict
        use_cache = bool(config.use_cache if use_cache is None else use_cache) and config.is_decoder

        past_length = 0
        if past_key_values is not None:
            past_length = past_key_values[0][0].shape[2]
            if past_length is None:  # unknown while tracing
                past_length = tf.shape(past_key_values[0][0])[2]
        check_inputs(
            input_ids, inputs_embeds, attention_mask, vocab_size=config.vocab_size,
            max_positions=config.max_position_embeddings if position_ids is None else None, past_length=past_length,
        )
        if position_ids is not None:
            check_table_ids(position_ids, config.max_position_embeddings, "position_ids", "max_position_embeddings", "positions")
        hidden_states = self.embeddings(
            input_ids=input_ids, token_type_ids=token_type_ids, position_ids=position_ids,
            inputs_embeds=inputs_embeds, past_length=past_length, training=training,
        )
        if config.is_decoder:
            seq_len = tf.shape(hidden_states)[1]
            if attention_mask is None:
                attention_mask = tf.ones((tf.shape(hidden_states)[0], past_length + seq_len), tf.int32)
            if attention_mask.shape.rank == 2:
                keep = causal_padding_mask(attention_mask, seq_len)
            else:
                keep = padding_mask(attention_mask)
        else:
            keep = padding_mask(attention_mask)
        cross_keep = None
        if config.is_decoder and encoder_hidden_states is not None:
            cross_keep = padding_mask(encoder_attention_mask)
        else:
            encoder_hidden_states = None

        sequence_output, cache, all_hidden, all_self, all_cross = self.encoder(
            hidden_states, keep=keep, head_masks=head_mask_per_layer(head_mask, config.num_hidden_layers),
            encoder_hidden_states=encoder_hidden_states, cross_keep=cross_keep, past_key_values=past_key_values,
            use_cache=use_cache, output_attentions=output_attentions, output_hidden_states=output_hidden_states,
            training=training,
        )
        pooled_output = self.pooler(sequence_output) if self.pooler is not None else None
        if not return_dict:  # as the PyTorch tuple: pooled kept even when None, the cache before hidden states
            return (sequence_output, pooled_output) + tuple(v for v in (cache, all_hidden, all_self, all_cross) if v is not None)
        return TFBaseModelOutputWithPoolingAndCrossAttentions(
            sequence_output, pooled_output, cache, all_hidden, all_self, all_cross
        )


# ---- models -------------------------------------------------------------------------------------------------------


class TFBertPreTrainedModel(TFPreTrainedModel):
    config_class = BertConfig
    base_model_prefix = "bert"
    nsp_head_name = "nsp___cls"  # tf_model.h5's name for the next-sentence `cls`
    # old checkpoints also store the (tied) decoder bias
    _keys_to_ignore_on_load_unexpected = (r"(^|\.)position_ids$", r"cls\.predictions\.decoder\.bias$")

    def lm_head(self, config: BertConfig) -> MLMHead:
        """`cls` (tf_model.h5's `mlm___cls`): the LM prediction head over the tied word embeddings."""
        return MLMHead(TFBertLMPredictionHead(config, self.get_input_embeddings()), "mlm___cls")


class TFBertModel(TFBertPreTrainedModel):
    """The bare encoder (or decoder): last_hidden_state, pooler_output and, for a decoder, the cache."""

    is_base_model = True

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True, *inputs, **kwargs):
        super().__init__(config, *inputs, **kwargs)
        self.bert = TFBertMainLayer(config, add_pooling_layer)

    @unpack_inputs
    def call(
        self,
        input_ids=None,
        attention_mask=None,
        token_type_ids=None,
        position_ids=None,
        head_mask=None,
        inputs_embeds=None,
        encoder_hidden_states=None,
        encoder_attention_mask=None,
        past_key_values=None,
        use_cache=None,
        output_attentions=None,
        output_hidden_states=None,
        return_dict=None,
        training=False,
    ):
        return self.bert(**{k: v for k, v in locals().items() if k != "self"})


class TFBertLMPredictionHead(keras.layers.Layer):
    """transform → the word embeddings (tied, transposed) + an output-only `bias` per token."""

    def __init__(self, config: BertConfig, input_embeddings: Embedding, name: str = "predictions"):
        super().__init__(name=name)
        self.transform = PredictionHeadTransform(
            config.hidden_size, config.hidden_act, config.layer_norm_eps, config.initializer_range
        )
        self.input_embeddings = input_embeddings  # the decoder: the model's word embeddings
        self.bias = self.add_weight(shape=(config.vocab_size,), initializer="zeros", name="bias")
        self.built = True

    def call(self, hidden_states: tf.Tensor) -> tf.Tensor:
        h = self.transform(hidden_states)  # (B, T, H)
        decoder = tf.cast(self.input_embeddings.weight, h.dtype)  # (V, H)
        return tf.matmul(h, decoder, transpose_b=True) + tf.cast(self.bias, h.dtype)  # (B, T, V)


class TFBertLMHeadModel(TFBertPreTrainedModel):
    """Causal language model (config.is_decoder=True); labels are shifted inside, loss shape (1,)."""

    def __init__(self, config: BertConfig, *inputs, **kwargs):
        super().__init__(config, *inputs, **kwargs)
        if not config.is_decoder:
            logger.warning("TFBertLMHeadModel is meant to be used with is_decoder=True (causal attention).")
        self.bert = TFBertMainLayer(config, add_pooling_layer=False)
        self.mlm = self.lm_head(config)

    @unpack_inputs
    def call(
        self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
        inputs_embeds=None, encoder_hidden_states=None, encoder_attention_mask=None, past_key_values=None,
        use_cache=None, output_attentions=None, output_hidden_states=None, return_dict=None, labels=None,
        training=False,
    ):
        out = self._run_base(locals(), training)
        logits = self.mlm(out.last_hidden_state)  # (B, T, V)
        loss = None if labels is None else causal_lm_loss(labels, logits)
        output = TFCausalLMOutputWithCrossAttentions(
            loss, logits, out.past_key_values, out.hidden_states, out.attentions, out.cross_attentions
        )
        return self._finish(output, return_dict)


# ---- the other heads (shared implementations) ---------------------------------------------------------------------


class TFBertForPreTraining(TFPreTrainingModel, TFBertPreTrainedModel):
    base_model_class = TFBertMainLayer
    output_class = TFBertForPreTrainingOutput


class TFBertForMaskedLM(TFMaskedLMModel, TFBertPreTrainedModel):
    base_model_class = TFBertMainLayer

    def __init__(self, config: BertConfig, *inputs, **kwargs):
        super().__init__(config, *inputs, **kwargs)
        if config.is_decoder:
            logger.warning("TFBertForMaskedLM wants is_decoder=False (bidirectional attention).")


class TFBertForNextSentencePrediction(TFNextSentencePredictionModel, TFBertPreTrainedModel):
    base_model_class = TFBertMainLayer


class TFBertForSequenceClassification(TFSequenceClassificationModel, TFBertPreTrainedModel):
    base_model_class = TFBertMainLayer


class TFBertForMultipleChoice(TFMultipleChoiceModel, TFBertPreTrainedModel):
    base_model_class = TFBertMainLayer


class TFBertForTokenClassification(TFTokenClassificationModel, TFBertPreTrainedModel):
    base_model_class = TFBertMainLayer


class TFBertForQuestionAnswering(TFQuestionAnsweringModel, TFBertPreTrainedModel):
    base_model_class = TFBertMainLayer
