"""MobileBERT (Sun et al., 2020) in TensorFlow: a thin BERT_LARGE with bottlenecks, for phones.

The same model as `models/mobilebert.py`, on Keras 3: each layer works on a wide residual stream (`hidden_size`)
but computes in a narrow one (`true_hidden_size`): a bottleneck projects in, attention and a stack of
`num_feedforward_networks` small feed-forward blocks run narrow, an output bottleneck projects back out. NoNorm —
an element-wise affine map — replaces LayerNorm. The `embedding_size`-wide word embeddings go through a trigram
"convolution" to `hidden_size`; the masked-LM decoder multiplies by the tied embeddings plus the extra output rows
`cls.predictions.dense`. Every op converts to TFLite builtins (MobileBERT's reason to exist is on-device inference).
"""

from __future__ import annotations

from ..config import ConfigError
from ..models.configs import MobileBertConfig
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
    PredictionHeadTransform,
    SelfAttention,
    WeightLayer,
    dense,
    head_mask_per_layer,
    layer_norm,
    padding_mask,
)
from .modeling import TFPreTrainedModel, check_inputs, check_table_ids, unpack_inputs
from .outputs import TFBaseModelOutputWithPooling, TFMobileBertForPreTrainingOutput

__all__ = [
    "TFMobileBertMainLayer",
    "TFMobileBertPreTrainedModel",
    "TFMobileBertModel",
    "TFMobileBertForPreTraining",
    "TFMobileBertForPreTrainingOutput",
    "TFMobileBertForMaskedLM",
    "TFMobileBertForNextSentencePrediction",
    "TFMobileBertForSequenceClassification",
    "TFMobileBertForMultipleChoice",
    "TFMobileBertForTokenClassification",
    "TFMobileBertForQuestionAnswering",
]

# The reference builds the embedding norm and the layer output norm without config.layer_norm_eps (torch's 1e-5).
DEFAULT_EPS = 1e-5


# ---- normalisation and residual blocks ----------------------------------------------------------------------------


class NoNorm(keras.layers.Layer):
    """x·weight + bias, element-wise: LayerNorm's affine part without the statistics (MobileBERT's speed-up)."""

    def __init__(self, size: int, name: str = "LayerNorm"):
        super().__init__(name=name)
        self.bias = self.add_weight(shape=(size,), initializer="zeros", name="bias")
        self.weight = self.add_weight(shape=(size,), initializer="ones", name="weight")
        self.built = True

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return x * tf.cast(self.weight, x.dtype) + tf.cast(self.bias, x.dtype)


def make_norm(config: MobileBertConfig, size: int, eps: float) -> keras.layers.Layer:
    return NoNorm(size) if config.normalization_type == "no_norm" else layer_norm(size, eps)


class NormedResidual(keras.layers.Layer):
    """norm(dropout(dense(x)) + residual), with the configured norm (LayerNorm or NoNorm)."""

    def __init__(self, config: MobileBertConfig, in_size: int, out_size: int, dropout: float, eps: float | None = None, name: str = "output"):
        super().__init__(name=name)
        self.dense = dense(out_size, in_size, "dense", config.initializer_range)
        self.LayerNorm = make_norm(config, out_size, config.layer_norm_eps if eps is None else eps)
        self.dropout = keras.layers.Dropout(dropout)
        self.built = True

    def call(self, x: tf.Tensor, residual: tf.Tensor, training: bool = False) -> tf.Tensor:
        return self.LayerNorm(self.dropout(self.dense(x), training=training) + residual)


class BottleneckLayer(keras.layers.Layer):
    """norm(dense(x)): hidden_size → intra_bottleneck_size."""

    def __init__(self, config: MobileBertConfig, name: str):
        super().__init__(name=name)
        self.dense = dense(config.intra_bottleneck_size, config.hidden_size, "dense", config.initializer_range)
        self.LayerNorm = make_norm(config, config.intra_bottleneck_size, config.layer_norm_eps)
        self.built = True

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return self.LayerNorm(self.dense(x))


class Bottleneck(keras.layers.Layer):
    """Narrows the (B, T, hidden) stream for a layer. Returns the query, key and value inputs and the residual of
    the attention block (`layer_input`, (B, T, intra)) — see models/mobilebert.py."""

    def __init__(self, config: MobileBertConfig, name: str = "bottleneck"):
        super().__init__(name=name)
        self.use_bottleneck_attention = config.use_bottleneck_attention
        self.key_query_shared_bottleneck = config.key_query_shared_bottleneck
        self.input_ = BottleneckLayer(config, "input")  # `input` is taken by keras.Layer
        if config.key_query_shared_bottleneck:  # built (and checkpointed) even when bottleneck attention wins
            self.attention = BottleneckLayer(config, "attention")
        self.built = True

    def call(self, hidden_states: tf.Tensor):
        layer_input = self.input_(hidden_states)
        if self.use_bottleneck_attention:
            return layer_input, layer_input, layer_input, layer_input
        if self.key_query_shared_bottleneck:
            shared = self.attention(hidden_states)
            return shared, shared, hidden_states, layer_input
        return hidden_states, hidden_states, hidden_states, layer_input


# ---- attention, feed-forward, layer -------------------------------------------------------------------------------


class TFMobileBertAttention(keras.layers.Layer):
    """self (query/key narrow, value narrow or wide) + output (dense, residual with the bottlenecked input, norm)."""

    def __init__(self, config: MobileBertConfig, name: str = "attention"):
        super().__init__(name=name)
        narrow = config.true_hidden_size
        self.self = SelfAttention(
            narrow, config.num_attention_heads, config.attention_probs_dropout_prob, std=config.initializer_range,
            in_query=narrow, in_key=narrow, in_value=narrow if config.use_bottleneck_attention else config.hidden_size,
        )
        # with bottlenecks the reference has no dropout here
        dropout = 0.0 if config.use_bottleneck else config.hidden_dropout_prob
        self.output_ = NormedResidual(config, narrow, narrow, dropout)
        self.built = True

    def call(self, query, key, value, layer_input, keep=None, head_mask=None, training=False):
        context, probs, _ = self.self(query, key, value, keep=keep, head_mask=head_mask, training=training)
        return self.output_(context, layer_input, training=training), probs


class FFNLayer(keras.layers.Layer):
    """One of the extra feed-forward blocks: norm(dense(act(dense(x))) + x) at true_hidden_size."""

    def __init__(self, config: MobileBertConfig, name: str):
        super().__init__(name=name)
        self.intermediate = Intermediate(
            config.true_hidden_size, config.intermediate_size, config.hidden_act, config.initializer_range
        )
        self.output_ = NormedResidual(config, config.intermediate_size, config.true_hidden_size, 0.0)
        self.built = True

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return self.output_(self.intermediate(x), x)


class TFMobileBertOutput(NormedResidual):
    """The last feed-forward block's output, then (with bottlenecks) the output bottleneck back to hidden_size."""

    def __init__(self, config: MobileBertConfig, name: str = "output"):
        dropout = 0.0 if config.use_bottleneck else config.hidden_dropout_prob
        super().__init__(config, config.intermediate_size, config.true_hidden_size, dropout, eps=DEFAULT_EPS, name=name)
        self.use_bottleneck = config.use_bottleneck
        if config.use_bottleneck:
            self.bottleneck = NormedResidual(
                config, config.true_hidden_size, config.hidden_size, config.hidden_dropout_prob, name="bottleneck"
            )

    def call(self, intermediate, residual, layer_input, training=False):
        x = super().call(intermediate, residual, training=training)  # (B, T, true_hidden)
        return self.bottleneck(x, layer_input, training=training) if self.use_bottleneck else x  # (B, T, hidden)


class TFMobileBertLayer(keras.layers.Layer):
    """bottleneck in → attention → (num_feedforward_networks - 1) × FFN → last FFN + bottleneck out."""

    def __init__(self, config: MobileBertConfig, name: str):
        super().__init__(name=name)
        self.use_bottleneck = config.use_bottleneck
        self.attention = TFMobileBertAttention(config)
        self.intermediate = Intermediate(
            config.true_hidden_size, config.intermediate_size, config.hidden_act, config.initializer_range
        )
        self.output_ = TFMobileBertOutput(config)
        if config.use_bottleneck:
            self.bottleneck = Bottleneck(config)
        self.ffn = [FFNLayer(config, f"ffn.{i}") for i in range(config.num_feedforward_networks - 1)]
        self.built = True

    def call(self, hidden_states, keep=None, head_mask=None, training=False):
        if self.use_bottleneck:
            query, key, value, layer_input = self.bottleneck(hidden_states)
        else:
            query = key = value = layer_input = hidden_states
        x, probs = self.attention(query, key, value, layer_input, keep=keep, head_mask=head_mask, training=training)
        for ffn in self.ffn:
            x = ffn(x)
        return self.output_(self.intermediate(x), x, hidden_states, training=training), probs


class TFMobileBertEncoder(keras.layers.Layer):
    def __init__(self, config: MobileBertConfig, name: str = "encoder"):
        super().__init__(name=name)
        self.layer = [TFMobileBertLayer(config, f"layer_._{i}") for i in range(config.num_hidden_layers)]
        self.built = True

    def call(self, hidden_states, keep, head_masks, output_attentions, output_hidden_states, training=False):
        all_hidden = (hidden_states,) if output_hidden_states else None
        all_attentions = () if output_attentions else None
        for layer, head_mask in zip(self.layer, head_masks):
            hidden_states, probs = layer(hidden_states, keep=keep, head_mask=head_mask, training=training)
            if output_hidden_states:
                all_hidden += (hidden_states,)
            if output_attentions:
                all_attentions += (probs,)
        return hidden_states, all_hidden, all_attentions


# ---- embeddings, pooler, main layer -------------------------------------------------------------------------------


class TFMobileBertEmbeddings(keras.layers.Layer):
    """word (embedding_size) → trigram concat → `embedding_transformation` to hidden_size, + position + segment
    embeddings → norm → dropout."""

    def __init__(self, config: MobileBertConfig, name: str = "embeddings"):
        super().__init__(name=name)
        std, h = config.initializer_range, config.hidden_size
        self.trigram_input = config.trigram_input
        self.project = config.trigram_input or config.embedding_size != config.hidden_size
        self.word_embeddings = Embedding(config.vocab_size, config.embedding_size, "word_embeddings", weight_name="weight", std=std)
        self.token_type_embeddings = Embedding(config.type_vocab_size, h, "token_type_embeddings", std=std)
        self.position_embeddings = Embedding(config.max_position_embeddings, h, "position_embeddings", std=std)
        # always built (and checkpointed), used only when it changes the width
        in_size = config.embedding_size * (3 if config.trigram_input else 1)
        self.embedding_transformation = dense(h, in_size, "embedding_transformation", std)
        self.LayerNorm = make_norm(config, h, DEFAULT_EPS)
        self.dropout = keras.layers.Dropout(config.hidden_dropout_prob)
        self.built = True

    def call(self, input_ids=None, token_type_ids=None, position_ids=None, inputs_embeds=None, training=False):
        embeds = self.word_embeddings(input_ids) if inputs_embeds is None else inputs_embeds  # (B, T, E)
        if self.trigram_input:
            # a width-3 convolution over tokens: [next, this, previous], zeros past either end → (B, T, 3E)
            after = tf.pad(embeds[:, 1:], [[0, 0], [0, 1], [0, 0]])
            before = tf.pad(embeds[:, :-1], [[0, 0], [1, 0], [0, 0]])
            embeds = tf.concat([after, embeds, before], axis=2)
        if self.project:
            embeds = self.embedding_transformation(embeds)  # (B, T, H)
        if position_ids is None:
            position_ids = tf.expand_dims(tf.range(tf.shape(embeds)[1]), 0)
        else:
            check_table_ids(position_ids, self.position_embeddings.weight.shape[0], "position_ids", "max_position_embeddings", "positions")
        if token_type_ids is None:
            token_type_ids = tf.zeros(tf.shape(embeds)[:2], tf.int32)
        else:
            check_table_ids(token_type_ids, self.token_type_embeddings.weight.shape[0], "token_type_ids", "type_vocab_size", "segments")
        embeds = embeds + self.position_embeddings(position_ids) + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.LayerNorm(embeds), training=training)


class TFMobileBertPooler(keras.layers.Layer):
    """First token → dense + tanh (classifier_activation), or the first token's state as it is (no parameters)."""

    def __init__(self, config: MobileBertConfig, name: str = "pooler"):
        super().__init__(name=name)
        self.activate = config.classifier_activation
        if self.activate:
            self.dense = dense(config.hidden_size, config.hidden_size, "dense", config.initializer_range, activation="tanh")
        self.built = True

    def call(self, hidden_states: tf.Tensor) -> tf.Tensor:
        first = hidden_states[:, 0]  # (B, H)
        return self.dense(first) if self.activate else first


class TFMobileBertMainLayer(keras.layers.Layer):
    """Embeddings → encoder → pooler. Every TF MobileBERT model holds one, named `mobilebert`."""

    def __init__(self, config: MobileBertConfig, add_pooling_layer: bool = True, name: str = "mobilebert"):
        super().__init__(name=name)
        self.config = config
        self.embeddings = TFMobileBertEmbeddings(config)
        self.encoder = TFMobileBertEncoder(config)
        self.pooler = TFMobileBertPooler(config) if add_pooling_layer else None
        self.built = True

    def call(
        self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
        inputs_embeds=None, output_attentions=None, output_hidden_states=None, return_dict=None, training=False,
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
        hidden_states = self.embeddings(
            input_ids=input_ids, token_type_ids=token_type_ids, position_ids=position_ids,
            inputs_embeds=inputs_embeds, training=training,
        )
        sequence_output, all_hidden, all_attentions = self.encoder(
            hidden_states, keep=padding_mask(attention_mask),
            head_masks=head_mask_per_layer(head_mask, config.num_hidden_layers), output_attentions=output_attentions,
            output_hidden_states=output_hidden_states, training=training,
        )
        pooled_output = self.pooler(sequence_output) if self.pooler is not None else None
        if not return_dict:  # the reference's tuple keeps a missing pooled output as None
            return (sequence_output, pooled_output) + tuple(v for v in (all_hidden, all_attentions) if v is not None)
        return TFBaseModelOutputWithPooling(sequence_output, pooled_output, all_hidden, all_attentions)


# ---- models -------------------------------------------------------------------------------------------------------


class TFMobileBertPreTrainedModel(TFPreTrainedModel):
    config_class = MobileBertConfig
    base_model_prefix = "mobilebert"
    nsp_head_name = "seq_relationship___cls"  # tf_model.h5's name for the next-sentence `cls`
    # older checkpoints also store the decoder bias (an alias of cls.predictions.bias), tf_model.h5 the decoder
    _keys_to_ignore_on_load_unexpected = (r"(^|\.)position_ids$", r"cls\.predictions\.decoder\.(bias|weight)$")

    def lm_head(self, config: MobileBertConfig) -> MLMHead:
        """`cls` (tf_model.h5's `predictions___cls`): the LM prediction head over the tied word embeddings."""
        return MLMHead(TFMobileBertLMPredictionHead(config, self.get_input_embeddings()), "predictions___cls")


class TFMobileBertModel(TFMobileBertPreTrainedModel):
    """The bare encoder: last_hidden_state and pooler_output."""

    is_base_model = True

    def __init__(self, config: MobileBertConfig, add_pooling_layer: bool = True, *inputs, **kwargs):
        super().__init__(config, *inputs, **kwargs)
        self.mobilebert = TFMobileBertMainLayer(config, add_pooling_layer)

    @unpack_inputs
    def call(
        self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
        inputs_embeds=None, output_attentions=None, output_hidden_states=None, return_dict=None, training=False,
    ):
        return self.mobilebert(**{k: v for k, v in locals().items() if k != "self"})


class TFMobileBertLMPredictionHead(keras.layers.Layer):
    """transform (always a real LayerNorm) → logits over the vocabulary.

    The output matrix is hidden_size wide, the word embeddings only embedding_size: the first embedding_size
    features use the tied embeddings (V, E), the rest the extra rows `dense` (H-E, V)."""

    def __init__(self, config: MobileBertConfig, input_embeddings: Embedding, name: str = "predictions"):
        super().__init__(name=name)
        if config.hidden_size < config.embedding_size:
            raise ConfigError(
                f"MobileBERT's LM head needs hidden_size ({config.hidden_size}) >= embedding_size "
                f"({config.embedding_size}): its output rows are the embeddings plus hidden_size - embedding_size more."
            )
        self.embedding_size = config.embedding_size
        self.transform = PredictionHeadTransform(
            config.hidden_size, config.hidden_act, config.layer_norm_eps, config.initializer_range
        )
        self.dense = WeightLayer((config.hidden_size - config.embedding_size, config.vocab_size), "dense")
        self.input_embeddings = input_embeddings  # the decoder: the model's word embeddings
        self.bias = self.add_weight(shape=(config.vocab_size,), initializer="zeros", name="bias")
        self.built = True

    def call(self, hidden_states: tf.Tensor) -> tf.Tensor:
        h = self.transform(hidden_states)  # (B, T, H)
        e = self.embedding_size
        decoder = tf.cast(self.input_embeddings.weight, h.dtype)  # (V, E)
        # h · [decoderᵀ ; dense] + bias, as two products: (B, T, E)·(E, V) + (B, T, H-E)·(H-E, V)
        logits = tf.matmul(h[..., :e], decoder, transpose_b=True) + tf.matmul(h[..., e:], tf.cast(self.dense.weight, h.dtype))
        return logits + tf.cast(self.bias, h.dtype)  # (B, T, V)


# ---- heads (shared implementations) -------------------------------------------------------------------------------

# the reference's tf_model.h5 keeps its own copy of the tied decoder
_LM_H5_ALIASES = {"predictions___cls/predictions/decoder/weight": "mobilebert/embeddings/word_embeddings/weight"}


class TFMobileBertForPreTraining(TFPreTrainingModel, TFMobileBertPreTrainedModel):
    base_model_class = TFMobileBertMainLayer
    output_class = TFMobileBertForPreTrainingOutput
    _h5_aliases = _LM_H5_ALIASES


class TFMobileBertForMaskedLM(TFMaskedLMModel, TFMobileBertPreTrainedModel):
    base_model_class = TFMobileBertMainLayer
    _h5_aliases = _LM_H5_ALIASES


class TFMobileBertForNextSentencePrediction(TFNextSentencePredictionModel, TFMobileBertPreTrainedModel):
    base_model_class = TFMobileBertMainLayer


class TFMobileBertForSequenceClassification(TFSequenceClassificationModel, TFMobileBertPreTrainedModel):
    base_model_class = TFMobileBertMainLayer


class TFMobileBertForMultipleChoice(TFMultipleChoiceModel, TFMobileBertPreTrainedModel):
    base_model_class = TFMobileBertMainLayer


class TFMobileBertForTokenClassification(TFTokenClassificationModel, TFMobileBertPreTrainedModel):
    base_model_class = TFMobileBertMainLayer


class TFMobileBertForQuestionAnswering(TFQuestionAnsweringModel, TFMobileBertPreTrainedModel):
    base_model_class = TFMobileBertMainLayer
