"""MobileBERT unit tests: configuration, structure (checkpoint keys), heads, resizing, pruning, precision, bad input.

Agreement with the reference implementation lives in tests/reference/test_mobilebert_parity.py.
"""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from mintformers import (
    AutoModel,
    AutoModelForMaskedLM,
    ConfigError,
    MobileBertConfig,
    MobileBertForMaskedLM,
    MobileBertForMultipleChoice,
    MobileBertForNextSentencePrediction,
    MobileBertForPreTraining,
    MobileBertForQuestionAnswering,
    MobileBertForSequenceClassification,
    MobileBertForTokenClassification,
    MobileBertModel,
)
from mintformers.models.mobilebert import NoNorm

from parity import assert_close, batch_inputs, perturb_

TINY = dict(
    vocab_size=99, hidden_size=64, embedding_size=32, intra_bottleneck_size=32, intermediate_size=48,
    num_hidden_layers=2, num_attention_heads=4, num_feedforward_networks=2, attention_probs_dropout_prob=0.0,
)


def tiny(**overrides) -> MobileBertConfig:
    return MobileBertConfig(**{**TINY, **overrides})


def model(cls=MobileBertModel, seed: int = 0, **overrides):
    torch.manual_seed(seed)
    return perturb_(cls(tiny(**overrides)).eval(), seed)


# ---- configuration ------------------------------------------------------------------------------------------------


def test_config_defaults_are_the_documented_ones():
    # the signature in the spec (spec/mobilebert.txt, MobileBertConfig)
    c = MobileBertConfig()
    expected = dict(
        vocab_size=30522, hidden_size=512, num_hidden_layers=24, num_attention_heads=4, intermediate_size=512,
        hidden_act="relu", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.1, max_position_embeddings=512,
        type_vocab_size=2, initializer_range=0.02, layer_norm_eps=1e-12, pad_token_id=0, embedding_size=128,
        trigram_input=True, use_bottleneck=True, intra_bottleneck_size=128, use_bottleneck_attention=False,
        key_query_shared_bottleneck=True, num_feedforward_networks=4, normalization_type="no_norm",
        classifier_activation=True, classifier_dropout=None,
    )
    assert {k: getattr(c, k) for k in expected} == expected
    assert c.true_hidden_size == 128 and c.model_type == "mobilebert"


def test_true_hidden_size_is_derived_and_written_like_the_reference():
    assert tiny(use_bottleneck=False).true_hidden_size == 64
    # a stale value in config.json is ignored (the reference recomputes it too)
    c = MobileBertConfig.from_dict({**TINY, "true_hidden_size": 999})
    assert c.true_hidden_size == 32
    d = c.to_dict()
    assert d["true_hidden_size"] == 32 and d["model_type"] == "mobilebert"
    assert MobileBertConfig.from_dict(d) == c


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(normalization_type="batch_norm"), "normalization_type"),
        (dict(num_attention_heads=5), "true_hidden_size=32 is not a multiple of num_attention_heads=5"),
        (dict(use_bottleneck=False, num_attention_heads=5), "true_hidden_size=64"),
        (dict(num_feedforward_networks=0), "num_feedforward_networks=0 must be at least 1"),
        (dict(key_query_shared_bottleneck=False), "key_query_shared_bottleneck=True or use_bottleneck_attention=True"),
        (dict(hidden_size="64"), "hidden_size must be int"),
        (dict(trigram_input="yes"), "trigram_input must be bool"),
    ],
)
def test_config_rejects_bad_values(overrides, message):
    with pytest.raises(ConfigError, match=message):
        tiny(**overrides)


def test_wide_query_without_shared_bottleneck_is_fine_when_widths_match():
    tiny(key_query_shared_bottleneck=False, intra_bottleneck_size=64)


def test_lm_head_needs_hidden_at_least_embedding_size():
    config = tiny(trigram_input=True, embedding_size=96, use_bottleneck=False)
    MobileBertModel(config)  # the base model is fine: the input projection widens the embeddings
    with pytest.raises(ConfigError, match="hidden_size \\(64\\) >= embedding_size \\(96\\)"):
        MobileBertForMaskedLM(config)


# ---- structure: module names are the reference's checkpoint keys --------------------------------------------------


def _keys(m) -> set[str]:
    return set(m.state_dict())


def test_layer_keys_follow_the_configuration():
    keys = _keys(MobileBertModel(tiny(num_feedforward_networks=3)))
    layer = {k[len("encoder.layer.0.") :] for k in keys if k.startswith("encoder.layer.0.")}
    assert {"bottleneck.input.dense.weight", "bottleneck.attention.dense.weight", "ffn.1.output.LayerNorm.weight",
            "output.bottleneck.dense.weight", "attention.self.value.weight"} <= layer
    assert not any(k.startswith("ffn.2.") for k in layer)

    keys = _keys(MobileBertModel(tiny(key_query_shared_bottleneck=False, use_bottleneck_attention=True)))
    assert not any(".bottleneck.attention." in k for k in keys)
    keys = _keys(MobileBertModel(tiny(use_bottleneck=False, num_feedforward_networks=1)))
    assert not any("bottleneck" in k or ".ffn." in k for k in keys)
    assert "pooler.dense.weight" not in _keys(MobileBertModel(tiny(classifier_activation=False)))


def test_shapes_of_the_narrow_and_wide_projections():
    m = MobileBertModel(tiny())
    layer = m.encoder.layer[0]
    assert tuple(m.embeddings.word_embeddings.weight.shape) == (99, 32)
    assert tuple(m.embeddings.embedding_transformation.weight.shape) == (64, 96)  # trigram: 3 × 32 → 64
    assert tuple(layer.attention.self.query.weight.shape) == (32, 32)
    assert tuple(layer.attention.self.value.weight.shape) == (32, 64)  # value reads the wide stream
    assert tuple(layer.output.bottleneck.dense.weight.shape) == (64, 32)
    assert isinstance(layer.attention.output.LayerNorm, NoNorm)
    m = MobileBertModel(tiny(use_bottleneck_attention=True, normalization_type="layer_norm"))
    assert tuple(m.encoder.layer[0].attention.self.value.weight.shape) == (32, 32)
    assert isinstance(m.encoder.layer[0].attention.output.LayerNorm, torch.nn.LayerNorm)
    # the reference builds these two without layer_norm_eps (torch's default 1e-5), the others with it
    assert m.embeddings.LayerNorm.eps == m.encoder.layer[0].output.LayerNorm.eps == 1e-5
    assert m.encoder.layer[0].output.bottleneck.LayerNorm.eps == m.encoder.layer[0].ffn[0].output.LayerNorm.eps == 1e-12


def test_no_norm_is_an_elementwise_affine_map():
    norm = perturb_(NoNorm(5))
    x = torch.randn(2, 3, 5)
    assert_close(norm(x), x * norm.weight + norm.bias, atol=1e-6, what="NoNorm")


def test_fresh_init_like_the_reference():
    m = MobileBertForMaskedLM(tiny())
    norm = m.mobilebert.encoder.layer[0].output.LayerNorm
    assert torch.equal(norm.weight, torch.ones(32)) and torch.equal(norm.bias, torch.zeros(32))
    assert torch.equal(m.cls.predictions.bias, torch.zeros(99))
    assert torch.equal(m.mobilebert.embeddings.word_embeddings.weight[0], torch.zeros(32))  # padding row
    assert m.cls.predictions.decoder.weight is m.mobilebert.embeddings.word_embeddings.weight


# ---- forward ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("overrides", [{}, dict(normalization_type="layer_norm", use_bottleneck=False)])
def test_sdpa_and_eager_agree(overrides):
    m = model(MobileBertForPreTraining, **overrides)
    ids, mask = batch_inputs(99)
    with torch.no_grad():
        m.config.attn_implementation = "sdpa"
        a = m(ids, attention_mask=mask)
        m.config.attn_implementation = "eager"
        b = m(ids, attention_mask=mask)
    assert_close(a.prediction_logits, b.prediction_logits, mask, atol=1e-4, what="MLM logits")
    assert_close(a.seq_relationship_logits, b.seq_relationship_logits, atol=1e-4, what="NSP logits")


def test_padding_does_not_change_real_positions_without_trigram_input():
    # (with trigram_input the last real token also sees the first pad token's embedding, so padding matters there,
    # in the reference too)
    m = model(trigram_input=False)
    ids, mask = batch_inputs(99, batch=2, seq=12)
    n = int(mask[1].sum())
    with torch.no_grad():
        padded = m(ids, attention_mask=mask).last_hidden_state[1, :n]
        alone = m(ids[1:, :n]).last_hidden_state[0]
    assert_close(padded, alone, atol=1e-4, what="padded vs unpadded")


def test_outputs_and_tuples():
    m = model()
    ids, mask = batch_inputs(99)
    with torch.no_grad():
        out = m(ids, attention_mask=mask, output_hidden_states=True, output_attentions=True)
        tup = m(ids, attention_mask=mask, output_hidden_states=True, output_attentions=True, return_dict=False)
    assert len(out.hidden_states) == 3 and len(out.attentions) == 2
    assert tuple(out.attentions[0].shape) == (3, 4, 17, 17)
    assert tuple(out.pooler_output.shape) == (3, 64)
    assert len(tup) == 4 and torch.equal(tup[0], out.last_hidden_state)
    # a model without a pooler keeps the None in its tuple, as the reference does
    no_pool = MobileBertModel(tiny(), add_pooling_layer=False).eval()
    with torch.no_grad():
        tup = no_pool(ids, return_dict=False)
    assert len(tup) == 2 and tup[1] is None


def test_pooler_without_classifier_activation_is_the_first_token():
    m = model(classifier_activation=False)
    ids, _ = batch_inputs(99)
    with torch.no_grad():
        out = m(ids)
    assert torch.equal(out.pooler_output, out.last_hidden_state[:, 0])


def test_head_mask_equals_pruning():
    m = model()
    ids, mask = batch_inputs(99)
    head_mask = torch.ones(2, 4)
    head_mask[1, 2] = 0.0
    with torch.no_grad():
        masked = m(ids, attention_mask=mask, head_mask=head_mask).last_hidden_state
        m.prune_heads({1: [2]})
        pruned = m(ids, attention_mask=mask).last_hidden_state
    assert m.encoder.layer[1].attention.self.num_attention_heads == 3
    assert m.config.pruned_heads == {1: [2]}
    assert_close(masked, pruned, mask, atol=1e-4, what="head mask vs pruned head")


def test_gradient_checkpointing_gives_the_same_gradients():
    ids, mask = batch_inputs(99)
    labels = ids.masked_fill(mask == 0, -100)
    grads = []
    for checkpointing in (False, True):
        m = model(MobileBertForMaskedLM).train()
        if checkpointing:
            m.gradient_checkpointing_enable()
        m(ids, attention_mask=mask, labels=labels).loss.backward()
        grads.append(m.mobilebert.encoder.layer[0].bottleneck.input.dense.weight.grad)
    assert grads[0].abs().sum() > 0
    assert_close(grads[0], grads[1], atol=1e-5, what="gradients")


def test_training_mode_runs_dropout():
    m = model(MobileBertForSequenceClassification, hidden_dropout_prob=0.5, attention_probs_dropout_prob=0.5).train()
    ids, mask = batch_inputs(99)
    a = m(ids, attention_mask=mask).logits
    b = m(ids, attention_mask=mask).logits
    assert not torch.allclose(a, b)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("impl", ["sdpa", "eager"])
def test_half_precision_is_finite_with_a_fully_masked_query_row(dtype, impl):
    m = model(MobileBertForMaskedLM).to(dtype)
    m.config.attn_implementation = impl
    ids, _ = batch_inputs(99, batch=2, seq=8)
    mask = torch.ones(2, 8, 8, dtype=torch.long)
    mask[1, 5:, :] = 0  # query rows that may attend to nothing
    with torch.no_grad():
        logits = m(ids, attention_mask=mask).logits
    assert logits.dtype == dtype and torch.isfinite(logits).all()


# ---- heads --------------------------------------------------------------------------------------------------------


def test_heads_shapes_and_losses():
    ids, mask = batch_inputs(99)
    with torch.no_grad():
        out = model(MobileBertForPreTraining)(ids, attention_mask=mask, labels=ids, next_sentence_label=torch.tensor([0, 1, 0]))
        assert tuple(out.prediction_logits.shape) == (3, 17, 99) and out.loss.ndim == 0
        out = model(MobileBertForNextSentencePrediction)(ids, attention_mask=mask, labels=torch.tensor([0, 1, 1]))
        assert tuple(out.logits.shape) == (3, 2) and out.loss > 0
        out = model(MobileBertForTokenClassification, num_labels=5)(ids, labels=torch.zeros(3, 17, dtype=torch.long))
        assert tuple(out.logits.shape) == (3, 17, 5)
        out = model(MobileBertForQuestionAnswering)(ids, start_positions=torch.tensor([1, 2, 99]), end_positions=torch.tensor([3, 4, 5]))
        assert tuple(out.start_logits.shape) == (3, 17) and torch.isfinite(out.loss)
        mc = model(MobileBertForMultipleChoice)
        out = mc(ids[None].expand(2, 3, 17), attention_mask=mask[None].expand(2, 3, 17), labels=torch.tensor([0, 2]))
        assert tuple(out.logits.shape) == (2, 3)


def test_next_sentence_label_is_a_deprecated_alias():
    m = model(MobileBertForNextSentencePrediction)
    ids, _ = batch_inputs(99)
    labels = torch.tensor([0, 1, 1])
    with torch.no_grad(), pytest.warns(FutureWarning, match="use labels"):
        old = m(ids, next_sentence_label=labels).loss
        assert torch.equal(old, m(ids, labels=labels).loss)
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        m(ids, colour=1)


def test_sequence_classification_problem_types():
    ids, _ = batch_inputs(99)
    m = model(MobileBertForSequenceClassification, num_labels=1)
    m(ids, labels=torch.randn(3))
    assert m.config.problem_type == "regression"
    m = model(MobileBertForSequenceClassification, num_labels=3)
    m(ids, labels=torch.tensor([0, 2, 1]))
    assert m.config.problem_type == "single_label_classification"
    m = model(MobileBertForSequenceClassification, num_labels=3)
    m(ids, labels=torch.tensor([[0.0, 1, 1], [1, 0, 0], [0, 0, 1]]))
    assert m.config.problem_type == "multi_label_classification"


@pytest.mark.parametrize("cls", [MobileBertForTokenClassification, MobileBertForMaskedLM])
def test_heads_take_inputs_positionally_in_the_reference_order(cls):
    m = model(cls)
    ids, mask = batch_inputs(99)
    with torch.no_grad():
        assert torch.equal(m(ids, mask).logits, m(input_ids=ids, attention_mask=mask).logits)
    with pytest.raises(TypeError, match="at most 6 positional inputs"):
        m(ids, mask, None, None, None, None, torch.zeros(3, 17, dtype=torch.long))


# ---- saving, loading, resizing ------------------------------------------------------------------------------------


def test_save_stores_the_extra_rows_but_not_the_tied_decoder(tmp_path):
    m = model(MobileBertForPreTraining)
    m.save_pretrained(tmp_path)
    keys = set(load_file(tmp_path / "model.safetensors"))
    assert {"cls.predictions.dense.weight", "cls.predictions.bias"} <= keys
    assert not any(k.startswith("cls.predictions.decoder") for k in keys)
    assert json.loads((tmp_path / "config.json").read_text())["true_hidden_size"] == 32
    again = MobileBertForPreTraining.from_pretrained(tmp_path)
    ids, mask = batch_inputs(99)
    with torch.no_grad():
        assert torch.equal(m(ids, attention_mask=mask).prediction_logits, again(ids, attention_mask=mask).prediction_logits)
    assert again.cls.predictions.decoder.weight is again.mobilebert.embeddings.word_embeddings.weight


def test_untied_decoder_is_saved(tmp_path):
    m = model(MobileBertForMaskedLM, tie_word_embeddings=False)
    assert m.cls.predictions.decoder.weight is not m.mobilebert.embeddings.word_embeddings.weight
    m.save_pretrained(tmp_path)
    assert "cls.predictions.decoder.weight" in load_file(tmp_path / "model.safetensors")
    again = MobileBertForMaskedLM.from_pretrained(tmp_path)
    assert torch.equal(again.cls.predictions.decoder.weight, m.cls.predictions.decoder.weight)


def test_auto_classes_and_base_checkpoint_into_head(tmp_path):
    base = model()
    base.save_pretrained(tmp_path)
    assert type(AutoModel.from_pretrained(tmp_path)) is MobileBertModel
    mlm, info = AutoModelForMaskedLM.from_pretrained(tmp_path, output_loading_info=True)
    assert type(mlm) is MobileBertForMaskedLM
    assert "cls.predictions.dense.weight" in info["missing_keys"]
    assert info["unexpected_keys"] == ["pooler.dense.bias", "pooler.dense.weight"]  # the MLM model has no pooler
    assert torch.equal(mlm.mobilebert.encoder.layer[1].output.dense.weight, base.encoder.layer[1].output.dense.weight)


@pytest.mark.parametrize("new_size", [120, 80])
def test_resize_token_embeddings_resizes_the_extra_rows(new_size):
    m = model(MobileBertForMaskedLM)
    ids, mask = batch_inputs(79)
    with torch.no_grad():
        before = m(ids, attention_mask=mask).logits
        m.resize_token_embeddings(new_size)
        after = m(ids, attention_mask=mask).logits
    p = m.cls.predictions
    assert tuple(p.dense.weight.shape) == (32, new_size) and tuple(p.bias.shape) == (new_size,)
    assert p.decoder.weight is m.mobilebert.embeddings.word_embeddings.weight and m.config.vocab_size == new_size
    keep = min(99, new_size)
    assert_close(before[..., :keep], after[..., :keep], mask, atol=1e-5, what="logits of kept tokens")
    if new_size > 99:  # new columns start at the mean of the old ones
        assert_close(p.dense.weight[:, 99:], p.dense.weight[:, :99].mean(1, keepdim=True).expand(-1, 21), atol=1e-6)


# ---- bad input ----------------------------------------------------------------------------------------------------


def test_bad_inputs_have_clear_errors():
    m = model()
    ids, mask = batch_inputs(99)
    with pytest.raises(ValueError, match="embedding_size=32"):
        m(inputs_embeds=torch.randn(3, 17, 64))
    with pytest.raises(ValueError, match="type_vocab_size=2"):
        m(ids, token_type_ids=torch.full_like(ids, 2))
    with pytest.raises(ValueError, match="max_position_embeddings=512 positions"):
        m(ids, position_ids=torch.full_like(ids, 512))
    with pytest.raises(ValueError, match="out of range for this model's vocabulary"):
        m(ids + 99)
    with pytest.raises(ValueError, match="exceeds the model's maximum of 512 positions"):
        m(torch.zeros(1, 513, dtype=torch.long))
    with pytest.raises(ValueError, match="attention_mask has shape"):
        m(ids, attention_mask=mask[:, :5])
    with pytest.raises(ValueError, match="head_mask must have shape"):
        m(ids, head_mask=torch.ones(3, 4))
    with pytest.raises(ValueError, match="Multiple-choice input_ids must have shape"):
        model(MobileBertForMultipleChoice)(ids)
    with pytest.raises(TypeError, match="needs a MobileBertConfig"):
        MobileBertModel(object())
