"""MPNet unit tests on tiny random models (no reference needed): config, positions, relative buckets, attention
paths, token_type_ids policy, bad inputs, tying, pruning, saving."""

from __future__ import annotations

import math
import tempfile

import pytest
import torch
from safetensors import safe_open

import mintformers as mf
from mintformers.config import ConfigError
from mintformers.models.mpnet import padding_aware_position_ids, relative_position_bucket

from parity import assert_close, batch_inputs

TINY = dict(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
    max_position_embeddings=64, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
)


def tiny(cls=mf.MPNetModel, seed: int = 0, **config):
    torch.manual_seed(seed)
    return cls(mf.MPNetConfig(**{**TINY, **config})).eval()


def padded(batch: int = 3, seq: int = 20, seed: int = 0):
    ids, mask = batch_inputs(TINY["vocab_size"], batch, seq, seed, pad_id=1)
    return ids.masked_fill((ids == 1) & (mask == 1), 5), mask


# ---- config ---------------------------------------------------------------------------------------------------------


def test_config_defaults_are_the_references():
    # defaults as documented for transformers.MPNetConfig (spec: MPNetConfig signature)
    c = mf.MPNetConfig()
    assert (c.vocab_size, c.hidden_size, c.num_hidden_layers, c.num_attention_heads, c.intermediate_size) == (
        30527, 768, 12, 12, 3072,
    )
    assert (c.hidden_act, c.hidden_dropout_prob, c.attention_probs_dropout_prob) == ("gelu", 0.1, 0.1)
    assert (c.max_position_embeddings, c.initializer_range, c.layer_norm_eps) == (512, 0.02, 1e-12)
    assert (c.relative_attention_num_buckets, c.pad_token_id, c.bos_token_id, c.eos_token_id) == (32, 1, 0, 2)
    assert c.attn_implementation == "sdpa"
    assert "type_vocab_size" not in c.to_dict()  # no segments


def test_config_round_trips_and_keeps_unknown_keys():
    c = mf.MPNetConfig(**TINY, some_future_key=[1, 2])
    again = mf.MPNetConfig.from_dict(c.to_dict())
    assert again == c and again.some_future_key == [1, 2]


@pytest.mark.parametrize(
    "bad,message",
    [
        (dict(hidden_size=30, num_attention_heads=4), "multiple of num_attention_heads"),
        (dict(relative_attention_num_buckets=16), "relative_attention_num_buckets"),
        (dict(num_hidden_layers="2"), "num_hidden_layers"),
    ],
)
def test_config_rejects_bad_values(bad, message):
    with pytest.raises(ConfigError, match=message):
        mf.MPNetConfig(**{**TINY, **bad})


# ---- positions ----------------------------------------------------------------------------------------------------


def test_position_ids_skip_padding():
    ids = torch.tensor([[0, 7, 8, 2, 1, 1], [1, 1, 0, 7, 8, 2]])  # right- and left-padded (pad id 1)
    expected = torch.tensor([[2, 3, 4, 5, 1, 1], [1, 1, 2, 3, 4, 5]])  # count real tokens from padding_idx + 1
    assert torch.equal(padding_aware_position_ids(ids), expected)


def test_relative_buckets_follow_the_t5_scheme():
    # 32 buckets, max distance 128: keys *after* the query use buckets 16..31, keys before 0..15; within a half the
    # distances 0..7 are exact and longer ones get 8 + floor(log(n/8) / log(128/8) * 8), capped at 15.
    n = torch.arange(0, 400)
    before, after = relative_position_bucket(-n), relative_position_bucket(n)
    for d in (0, 1, 7, 8, 15, 16, 31, 32, 63, 64, 127, 128, 129, 399):
        want = d if d < 8 else min(15, 8 + int(math.log(d / 8) / math.log(16) * 8))
        assert before[d] == want, d
        assert after[d] == (16 + want if d > 0 else 0), d
    assert bool((before.diff() >= 0).all())  # monotone in distance
    assert before[128:].eq(15).all() and after[128:].eq(31).all()  # far distances share the last bucket


def test_position_bias_is_computed_once_per_forward():
    model = tiny()
    calls = []
    model.encoder.relative_attention_bias.register_forward_hook(lambda *a: calls.append(1))
    ids, mask = padded()
    model(ids, attention_mask=mask)
    assert len(calls) == 1  # shared by both layers


def test_bucket_cache_follows_the_length():
    model = tiny()
    with torch.no_grad():
        outs = {t: model(padded(seq=t)[0]).last_hidden_state for t in (30, 12)}
        for t in (30, 12):  # same length again after another length: same result
            assert torch.equal(model(padded(seq=t)[0]).last_hidden_state, outs[t])


# ---- attention paths ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("left", [False, True])
def test_sdpa_matches_eager(left):
    model = tiny()
    ids, mask = batch_inputs(TINY["vocab_size"], 3, 40, pad_id=1, left=left)
    with torch.no_grad():
        model.config.attn_implementation = "eager"
        eager = model(ids, attention_mask=mask)
        model.config.attn_implementation = "sdpa"
        sdpa = model(ids, attention_mask=mask)
    assert_close(eager.last_hidden_state, sdpa.last_hidden_state, mask)
    assert_close(eager.pooler_output, sdpa.pooler_output)


def test_attention_weights_are_probabilities():
    model = tiny()
    ids, mask = padded()
    with torch.no_grad():
        out = model(ids, attention_mask=mask, output_attentions=True)
    assert len(out.attentions) == TINY["num_hidden_layers"]
    probs = out.attentions[0]  # (B, H, T, T)
    assert probs.shape == (3, 4, 20, 20)
    assert_close(probs.sum(-1), torch.ones(3, 4, 20))
    assert float(probs.masked_select(mask[:, None, None, :] == 0).abs().max()) == 0.0  # padding gets no weight


def test_all_ones_mask_equals_no_mask():
    model = tiny()
    ids, _ = padded()
    with torch.no_grad():
        assert_close(model(ids).last_hidden_state, model(ids, attention_mask=torch.ones_like(ids)).last_hidden_state)


def test_chunked_feed_forward_and_gradient_checkpointing_change_nothing():
    ids, mask = padded()
    model = tiny()
    with torch.no_grad():
        base = model(ids, attention_mask=mask).last_hidden_state
    chunked = tiny(chunk_size_feed_forward=7)
    with torch.no_grad():
        assert_close(base, chunked(ids, attention_mask=mask).last_hidden_state)

    def loss():
        out = model(ids, attention_mask=mask)
        return out.last_hidden_state.pow(2).sum() + out.pooler_output.sum()

    model.train()
    loss().backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    model.gradient_checkpointing_enable()
    loss().backward()
    for n, p in model.named_parameters():
        assert_close(grads[n], p.grad, what=n)


# ---- token_type_ids policy and bad inputs -------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [mf.MPNetModel, mf.MPNetForMaskedLM, mf.MPNetForSequenceClassification])
def test_zero_token_type_ids_are_ignored_nonzero_raise(cls):
    model = tiny(cls)
    ids, mask = padded()
    with torch.no_grad():
        plain = model(ids, attention_mask=mask)[0]
        with_zeros = model(ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids))[0]
        assert torch.equal(plain, with_zeros)
        with pytest.raises(ValueError, match="token_type_ids"):
            model(ids, attention_mask=mask, token_type_ids=torch.ones_like(ids))


def test_multiple_choice_accepts_zero_token_type_ids():
    model = tiny(mf.MPNetForMultipleChoice)
    ids, mask = padded()
    x = dict(input_ids=ids.repeat(2, 1, 1), attention_mask=mask.repeat(2, 1, 1))
    with torch.no_grad():
        out = model(**x, token_type_ids=torch.zeros_like(x["input_ids"]))
    assert out.logits.shape == (2, 3)


def test_unknown_keyword_raises_type_error():
    with pytest.raises(TypeError):
        tiny()(torch.tensor([[0, 5, 2]]), encoder_hidden_states=torch.zeros(1, 3, 32))


def test_heads_take_at_most_five_positional_inputs():
    model = tiny(mf.MPNetForTokenClassification)
    ids = torch.tensor([[0, 5, 2]])
    with torch.no_grad():
        assert model(ids, None, None, None, None).logits.shape == (1, 3, 2)
        with pytest.raises(TypeError, match="positional"):
            model(ids, None, None, None, None, torch.tensor([[0, 1, 0]]))  # labels are keyword-only


def test_too_long_input_names_the_limit():
    model = tiny()  # max_position_embeddings=64 → 62 tokens (positions start at 2)
    with torch.no_grad():
        model(torch.full((1, 62), 5))
        model(torch.cat([torch.full((1, 62), 5), torch.ones(1, 10, dtype=torch.long)], 1))  # padding needs no position
        with pytest.raises(ValueError, match="max_length=62"):
            model(torch.full((1, 63), 5))
        with pytest.raises(ValueError, match="max_length=62"):
            model(inputs_embeds=torch.randn(1, 63, 32))
        with pytest.raises(ValueError, match="position_ids"):
            model(torch.full((1, 3), 5), position_ids=torch.tensor([[0, 1, 64]]))


@pytest.mark.parametrize(
    "kwargs,error,message",
    [
        (dict(), ValueError, "either input_ids or inputs_embeds"),
        (dict(input_ids=torch.tensor([[0, 5]]), inputs_embeds=torch.zeros(1, 2, 32)), ValueError, "both"),
        (dict(input_ids=torch.tensor([0, 5, 2])), ValueError, "batch dimension"),
        (dict(input_ids=torch.tensor([[0, 99]])), ValueError, "out of range"),
        (dict(input_ids=torch.tensor([[0, 5]]), attention_mask=torch.ones(1, 3)), ValueError, "attention_mask"),
        (dict(input_ids=torch.tensor([[0, 5]]), head_mask=torch.ones(3, 4)), ValueError, "head_mask"),
    ],
)
def test_bad_inputs_raise_clear_errors(kwargs, error, message):
    with pytest.raises(error, match=message), torch.no_grad():
        tiny()(**kwargs)


# ---- heads, tying, saving -----------------------------------------------------------------------------------------


def test_heads_output_shapes():
    ids, mask = padded()
    with torch.no_grad():
        assert tiny(mf.MPNetForMaskedLM)(ids, mask).logits.shape == (3, 20, 99)
        assert tiny(mf.MPNetForSequenceClassification, num_labels=5)(ids, mask).logits.shape == (3, 5)
        assert tiny(mf.MPNetForTokenClassification, num_labels=4)(ids, mask).logits.shape == (3, 20, 4)
        qa = tiny(mf.MPNetForQuestionAnswering)(ids, mask)
        assert qa.start_logits.shape == qa.end_logits.shape == (3, 20)
    # the sequence classifier pools itself from <s> (no pooler); multiple choice uses the pooler
    assert tiny(mf.MPNetForSequenceClassification).mpnet.pooler is None
    assert tiny(mf.MPNetForMultipleChoice).mpnet.pooler is not None


def test_masked_lm_ties_decoder_to_embeddings_and_bias():
    model = tiny(mf.MPNetForMaskedLM)
    head = model.lm_head
    assert head.decoder.weight is model.mpnet.embeddings.word_embeddings.weight
    assert head.decoder.bias is head.bias
    model.resize_token_embeddings(105)
    assert head.decoder.weight is model.mpnet.embeddings.word_embeddings.weight
    assert head.decoder.bias is head.bias and head.bias.shape == (105,)
    with torch.no_grad():
        assert model(torch.tensor([[0, 104, 2]])).logits.shape == (1, 3, 105)
    with tempfile.TemporaryDirectory() as d:
        model.save_pretrained(d)
        with safe_open(f"{d}/model.safetensors", "pt") as f:
            keys = set(f.keys())
        back = mf.MPNetForMaskedLM.from_pretrained(d)
    # the reference's layout: lm_head.bias stored once, the decoder's aliases not at all
    assert "lm_head.bias" in keys and not any(k.startswith("lm_head.decoder") for k in keys)
    assert back.lm_head.decoder.bias is back.lm_head.bias
    assert back.lm_head.decoder.weight is back.mpnet.embeddings.word_embeddings.weight
    assert torch.equal(back.lm_head.bias, model.lm_head.bias)


def test_masked_lm_untied_saves_its_decoder():
    model = tiny(mf.MPNetForMaskedLM, tie_word_embeddings=False)
    assert model.lm_head.decoder.weight is not model.mpnet.embeddings.word_embeddings.weight
    with tempfile.TemporaryDirectory() as d:
        model.save_pretrained(d)
        back = mf.MPNetForMaskedLM.from_pretrained(d)
    assert torch.equal(back.lm_head.decoder.weight, model.lm_head.decoder.weight)


def test_missing_head_is_initialised_and_reported():
    base = tiny()
    with tempfile.TemporaryDirectory() as d:
        base.save_pretrained(d)
        model, info = mf.MPNetForMaskedLM.from_pretrained(d, output_loading_info=True)
    assert sorted(info["missing_keys"]) == [
        "lm_head.bias", "lm_head.decoder.bias", "lm_head.dense.bias", "lm_head.dense.weight",
        "lm_head.layer_norm.bias", "lm_head.layer_norm.weight",
    ]
    assert info["unexpected_keys"] == ["pooler.dense.bias", "pooler.dense.weight"]
    assert torch.equal(model.lm_head.bias, torch.zeros(99))  # the reference zeroes the LM bias
    assert torch.equal(model.mpnet.embeddings.word_embeddings.weight, base.embeddings.word_embeddings.weight)


def test_pruned_heads_equal_masked_heads_and_survive_saving():
    model = tiny()
    ids, mask = padded()
    head_mask = torch.ones(2, 4)
    head_mask[0, [1, 3]] = 0
    head_mask[1, 2] = 0
    with torch.no_grad():
        expected = model(ids, attention_mask=mask, head_mask=head_mask).last_hidden_state
        model.prune_heads({0: [1, 3], 1: [2]})
        model.prune_heads({0: [1]})  # already gone: no-op
        for impl in ("eager", "sdpa"):
            model.config.attn_implementation = impl
            assert_close(expected, model(ids, attention_mask=mask).last_hidden_state, mask, what=impl)
    assert model.encoder.layer[0].attention.attn.heads == [0, 2]
    with tempfile.TemporaryDirectory() as d:
        model.save_pretrained(d)
        back = mf.MPNetModel.from_pretrained(d)
    with torch.no_grad():
        assert_close(expected, back(ids, attention_mask=mask).last_hidden_state, mask)


def test_auto_classes_pick_mpnet():
    config = mf.MPNetConfig(**TINY)
    assert type(mf.AutoModel.from_config(config)) is mf.MPNetModel
    assert type(mf.AutoModelForMaskedLM.from_config(config)) is mf.MPNetForMaskedLM
    assert type(mf.AutoModelForMultipleChoice.from_config(config)) is mf.MPNetForMultipleChoice


def test_half_precision_runs_close_to_float32():
    model = tiny()
    ids, mask = padded()
    with torch.no_grad():
        full = model(ids, attention_mask=mask).last_hidden_state
        half = model.to(torch.bfloat16)(ids, attention_mask=mask).last_hidden_state
    assert half.dtype == torch.bfloat16
    assert_close(full, half, mask, atol=0.1)


def test_checkpoint_with_decoder_aliases_loads_cleanly():
    # older checkpoints store lm_head.decoder.weight/bias as well; they load into the tied tensors without a warning
    model = tiny(mf.MPNetForMaskedLM)
    state = model.state_dict()
    assert {"lm_head.decoder.weight", "lm_head.decoder.bias", "lm_head.bias"} <= set(state)
    back, info = mf.MPNetForMaskedLM.from_pretrained(
        "unused", config=model.config, state_dict=state, output_loading_info=True
    )
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    assert back.lm_head.decoder.bias is back.lm_head.bias
    ids = torch.tensor([[0, 5, 6, 2]])
    with torch.no_grad():
        assert torch.equal(model(ids).logits, back(ids).logits)
