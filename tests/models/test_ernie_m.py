"""ErnieM models on tiny random configs: behaviour, the position offset, masks, heads and bad inputs.

Parity with the reference lives in tests/reference/test_ernie_m_parity.py; these tests need no oracle.
"""

from __future__ import annotations

import pytest
import torch

import mintformers as mf
from mintformers.config import ConfigError
from mintformers.layers.cache import DynamicCache
from mintformers.outputs import ModelOutput

from parity import assert_close, batch_inputs, perturb_

PAD = 1
SMALL = dict(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
    max_position_embeddings=24, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
)
MAX_TOKENS = SMALL["max_position_embeddings"] - 2  # positions start at 2


def build(cls=mf.ErnieMModel, seed=0, **config):
    model = cls(mf.ErnieMConfig(**{**SMALL, **config})).eval()
    return perturb_(model, seed)


@pytest.fixture(scope="module")
def model():
    return build()


def inputs(seed=0, batch=3, seq=17):
    """Right-padded ids whose real tokens never equal the pad id."""
    ids, mask = batch_inputs(SMALL["vocab_size"], batch, seq, seed, pad_id=PAD)
    return ids.masked_fill((ids == PAD) & (mask == 1), PAD + 1), mask


# ---- configuration ------------------------------------------------------------------------------------------------


def test_config_aliases_and_round_trip():
    config = mf.ErnieMConfig(dropout=0.2, num_classes=4)
    assert (config.classifier_dropout, config.num_labels) == (0.2, 4)
    again = mf.ErnieMConfig.from_dict(config.to_dict())
    assert again == config and again.dropout == 0.2 and again.num_classes == 4


@pytest.mark.parametrize(
    "bad,message",
    [
        (dict(hidden_size=30), "multiple of num_attention_heads"),
        (dict(max_position_embeddings=2), "positions start at 2"),
        (dict(pad_token_id=99), "pad_token_id=99"),
        (dict(pad_token_id=30), "position table"),
    ],
)
def test_config_validation(bad, message):
    with pytest.raises(ConfigError, match=message):
        mf.ErnieMConfig(**{**SMALL, **bad})


def test_act_dropout_sits_after_the_activation_and_falls_back_to_hidden_dropout():
    layer = build(hidden_dropout_prob=0.3, act_dropout=None).encoder.layers[0]
    assert (layer.dropout.p, layer.dropout1.p, layer.dropout2.p) == (0.3, 0.3, 0.3)
    # act_dropout=1 zeroes linear2's input: the feed-forward then adds only linear2's bias before norm2
    layer = build(act_dropout=1.0).encoder.layers[0].train()
    x = torch.randn(2, 5, 32)
    expected = layer.norm2(x + layer.linear2.bias)
    assert_close(layer._feed_forward(x), expected, what="act_dropout")


# ---- forward behaviour --------------------------------------------------------------------------------------------


def test_output_shapes_and_pooler(model):
    ids, mask = inputs()
    out = model(ids, attention_mask=mask, output_hidden_states=True, output_attentions=True)
    assert out.last_hidden_state.shape == (3, 17, 32) and out.pooler_output.shape == (3, 32)
    assert len(out.hidden_states) == 3 and out.attentions[0].shape == (3, 4, 17, 17)
    assert mf.ErnieMModel(model.config, add_pooling_layer=False).eval()(ids).pooler_output is None


def test_positions_start_at_two(model):
    """Default positions are arange(T) + 2: passing arange(T) explicitly changes nothing, and rows 0-1 are unused."""
    ids, mask = inputs()
    position_ids = torch.arange(17)[None]
    assert_close(model(ids).last_hidden_state, model(ids, position_ids=position_ids).last_hidden_state)
    embeds = model.embeddings
    expected = embeds.layer_norm(embeds.word_embeddings(ids) + embeds.position_embeddings.weight[2:19])
    assert_close(embeds(ids), expected, what="embeddings")


def test_position_ids_are_not_modified(model):
    ids, _ = inputs()
    position_ids = torch.arange(17).flip(0)[None].repeat(3, 1)
    before = position_ids.clone()
    model(ids, position_ids=position_ids)
    assert torch.equal(position_ids, before)


def test_mask_from_pad_ids_equals_explicit_mask_and_padding_is_invisible(model):
    ids, mask = inputs()
    for impl in ("eager", "sdpa"):
        model.config.attn_implementation = impl
        derived = model(ids).last_hidden_state
        assert_close(derived, model(ids, attention_mask=mask).last_hidden_state, mask, what=impl)
        # each row alone, without its padding, gives the same real-token states
        for row in range(3):
            n = int(mask[row].sum())
            assert_close(derived[row, :n], model(ids[row : row + 1, :n]).last_hidden_state[0], what=f"row {row}")
    model.config.attn_implementation = None


def test_sdpa_matches_eager(model):
    ids, mask = inputs()
    out = {}
    for impl in ("eager", "sdpa"):
        model.config.attn_implementation = impl
        out[impl] = model(ids, attention_mask=mask).last_hidden_state
    model.config.attn_implementation = None
    assert_close(out["eager"], out["sdpa"], mask)


def test_inputs_embeds_without_mask_attend_everywhere(model):
    ids = inputs()[0][:1]  # row 0 has no padding
    embeds = model.embeddings.word_embeddings(ids)
    assert_close(model(inputs_embeds=embeds).last_hidden_state, model(ids).last_hidden_state)


def test_past_key_values_is_a_read_only_prefix(model):
    ids, mask = inputs()
    g = torch.Generator().manual_seed(0)
    layers = tuple((torch.randn(3, 4, 2, 8, generator=g), torch.randn(3, 4, 2, 8, generator=g)) for _ in range(2))
    cache = DynamicCache.from_legacy_cache(layers)
    out = model(ids, past_key_values=cache, use_cache=True, output_attentions=True)
    assert cache.get_seq_length() == 2 and out.past_key_values is None
    assert out.attentions[0].shape == (3, 4, 17, 19)
    assert_close(out.last_hidden_state, model(ids, past_key_values=layers).last_hidden_state)
    # positions continue after the prefix
    shifted = model(ids, position_ids=torch.arange(2, 19)[None], past_key_values=layers).last_hidden_state
    assert_close(out.last_hidden_state, shifted)
    with pytest.raises(ValueError, match="holds 1 layers but the model has 2"):
        model(ids, past_key_values=layers[:1])
    with pytest.raises(ValueError, match="exceeds the model's maximum of 22"):
        model(torch.full((1, MAX_TOKENS - 1), 5), past_key_values=tuple((k[:1], v[:1]) for k, v in layers))


def test_pruned_heads_survive_save_and_load(tmp_path):
    model = build()
    ids, mask = inputs()
    model.prune_heads({0: [1, 3], 1: [0]})
    assert model.encoder.layers[0].self_attn.self_attn.q_proj.out_features == 16
    out = model(ids, output_attentions=True)
    assert [a.shape[1] for a in out.attentions] == [2, 3]
    model.save_pretrained(tmp_path)
    again = mf.ErnieMModel.from_pretrained(tmp_path)
    assert_close(out.last_hidden_state, again(ids).last_hidden_state, mask)


def test_gradient_checkpointing_gives_the_same_gradients():
    model = build(mf.ErnieMForSequenceClassification).train()
    ids, mask = inputs()
    grads = []
    for checkpointing in (False, True):
        model.zero_grad()
        model.gradient_checkpointing_enable() if checkpointing else model.gradient_checkpointing_disable()
        model(ids, mask, labels=torch.tensor([0, 1, 1])).loss.backward()
        grads.append(model.ernie_m.encoder.layers[0].linear1.weight.grad.clone())
    assert_close(grads[0], grads[1])


def test_resize_token_embeddings(model):
    model = build()
    model.resize_token_embeddings(120)
    assert model.config.vocab_size == 120 and model(torch.tensor([[119, 3]])).last_hidden_state.shape == (1, 2, 32)


def test_bfloat16_runs_close_to_float32(model):
    ids, mask = inputs()
    low = build().to(torch.bfloat16)
    assert_close(model(ids).last_hidden_state, low(ids).last_hidden_state.float(), mask, atol=0.15, what="bf16")


def test_auto_classes_pick_ernie_m():
    config = mf.ErnieMConfig(**SMALL)
    assert type(mf.AutoModel.from_config(config)) is mf.ErnieMModel
    assert type(mf.AutoModelForInformationExtraction.from_config(config)) is mf.ErnieMForInformationExtraction


# ---- heads --------------------------------------------------------------------------------------------------------


def test_heads_return_model_outputs_unless_told_otherwise():
    """As in the reference, heads default to return_dict=True whatever config.return_dict says; the base model
    follows the config; an explicit return_dict=None defers to it."""
    ids, _ = inputs()
    head = build(mf.ErnieMForTokenClassification, return_dict=False)
    assert isinstance(head(ids), ModelOutput) and type(head(ids, return_dict=None)) is tuple
    assert type(head.ernie_m(ids)) is tuple


def test_information_extraction_returns_raw_logits_and_bce_loss():
    model = build(mf.ErnieMForInformationExtraction)
    ids, mask = inputs()
    targets = torch.zeros(3, 17)
    targets[0, 2] = targets[1, 5] = targets[2, 0] = 1
    out = model(ids, mask, start_positions=targets, end_positions=targets.roll(1, 1))
    assert out.start_logits.shape == (3, 17) and (out.start_logits < 0).any() and (out.start_logits > 1).any()
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    expected = (bce(out.start_logits, targets) + bce(out.end_logits, targets.roll(1, 1))) / 2  # every position
    assert_close(out.loss, expected)
    as_int = model(ids, mask, start_positions=targets.long(), end_positions=targets.roll(1, 1).long())
    assert_close(out.loss, as_int.loss)
    as_tuple = model(ids, mask, start_positions=targets, end_positions=targets.roll(1, 1), return_dict=False)
    assert len(as_tuple) == 3
    for a, b in zip(as_tuple, out.to_tuple(), strict=True):
        assert_close(a, b)


def test_information_extraction_rejects_span_indices():
    model = build(mf.ErnieMForInformationExtraction)
    ids, _ = inputs()
    with pytest.raises(ValueError, match=r"start_positions must be 0/1 targets of shape \(3, 17\)"):
        model(ids, start_positions=torch.tensor([1, 2, 3]), end_positions=torch.tensor([4, 5, 6]))


# ---- bad input ----------------------------------------------------------------------------------------------------


def test_token_type_ids_are_refused_with_the_fix(model):
    ids, _ = inputs()
    with pytest.raises(TypeError, match="no token_type_ids: ErnieM has no segment embeddings. Drop them"):
        model(ids, token_type_ids=torch.zeros_like(ids))
    head = build(mf.ErnieMForSequenceClassification)
    with pytest.raises(TypeError, match="no token_type_ids"):
        head(input_ids=ids, token_type_ids=torch.zeros_like(ids))
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) \['segment_ids'\]"):
        model(ids, segment_ids=ids)


def test_ids_outside_the_vocabulary(model):
    with pytest.raises(ValueError, match="Token id 99 is out of range .*vocab_size=99"):
        model(torch.tensor([[5, 99]]))


@pytest.mark.parametrize("as_embeds", [False, True])
def test_length_limit_is_the_position_table_minus_the_offset(model, as_embeds):
    def run(n):
        ids = torch.full((1, n), 5)
        return model(inputs_embeds=model.embeddings.word_embeddings(ids)) if as_embeds else model(ids)

    assert run(MAX_TOKENS).last_hidden_state.shape == (1, MAX_TOKENS, 32)  # the last row of the table is used
    with pytest.raises(ValueError, match=f"Sequence length {MAX_TOKENS + 1} exceeds the model's maximum of {MAX_TOKENS}"):
        run(MAX_TOKENS + 1)


def test_position_ids_outside_the_table(model):
    ids = torch.full((1, 3), 5)
    model(ids, position_ids=torch.tensor([[0, 1, MAX_TOKENS - 1]]))
    with pytest.raises(ValueError, match=r"ErnieM adds 2 to each .* use ids in \[0, 21\]"):
        model(ids, position_ids=torch.tensor([[0, 1, MAX_TOKENS]]))
    with pytest.raises(ValueError, match=r"position_ids must be integers of shape \(1, 3\)"):
        model(ids, position_ids=torch.arange(4)[None])


def test_mask_shape_mismatch(model):
    ids, mask = inputs()
    with pytest.raises(ValueError, match=r"attention_mask has shape \(3, 16\) .* expected \(3, 17\)"):
        model(ids, attention_mask=mask[:, :-1])


def test_positional_arguments_are_checked():
    head = build(mf.ErnieMForQuestionAnswering)
    ids, _ = inputs()
    with pytest.raises(TypeError, match="at most 10 positional inputs"):
        head(*([ids] + [None] * 10))
    with pytest.raises(TypeError, match="multiple values for 'input_ids'"):
        head(ids, input_ids=ids)


def test_multiple_choice_needs_choices():
    head = build(mf.ErnieMForMultipleChoice)
    with pytest.raises(ValueError, match=r"input_ids must have shape \(batch, num_choices, sequence_length\)"):
        head(inputs()[0])
