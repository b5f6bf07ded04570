"""MPT without the reference: config, the options the reference ignores (checked against direct formulas), caches,
heads, low precision, and bad inputs. Parity with transformers lives in tests/reference/test_mpt_parity.py."""

from __future__ import annotations

import json
import logging
import math

import pytest
import torch
import torch.nn.functional as F

from mintformers import (
    AutoModel,
    AutoModelForCausalLM,
    MptConfig,
    MptForCausalLM,
    MptForQuestionAnswering,
    MptForSequenceClassification,
    MptForTokenClassification,
    MptModel,
)
from mintformers.config import ConfigError
from mintformers.layers.cache import DynamicCache, StaticCache
from mintformers.models.mpt import MptAttentionConfig, alibi_slopes

from parity import assert_close, batch_inputs, perturb_

V = 64


def tiny(**overrides) -> MptConfig:
    attn = overrides.pop("attn_config", {})
    kwargs = dict(d_model=32, n_heads=4, n_layers=2, vocab_size=V, max_seq_len=32, learned_pos_emb=False)
    kwargs.update(overrides)
    return MptConfig(attn_config=attn, **kwargs)


def build(cls=MptForCausalLM, seed: int = 0, **overrides):
    torch.manual_seed(seed)
    return perturb_(cls(tiny(**overrides)), seed).eval()


@pytest.fixture(scope="module")
def lm() -> MptForCausalLM:
    return build()


@pytest.fixture(scope="module")
def padded():
    return batch_inputs(V, batch=3, seq=10, left=True)


# ---- config -------------------------------------------------------------------------------------------------------


def test_config_defaults_and_aliases():
    config = MptConfig()
    assert (config.d_model, config.n_heads, config.n_layers, config.max_seq_len) == (2048, 16, 24, 2048)
    assert config.use_cache is False and config.no_bias is True and config.learned_pos_emb is True
    assert (config.hidden_size, config.num_attention_heads, config.num_hidden_layers) == (2048, 16, 24)
    config.hidden_size = 64
    assert config.d_model == 64
    assert MptConfig(num_attention_heads=8).n_heads == 8


def test_attn_config_accepts_dict_object_or_none_and_keeps_unknown_keys():
    assert MptConfig().attn_config == MptAttentionConfig()
    config = MptConfig(attn_config={"alibi": False, "kv_n_heads": 2, "rope": True})
    assert config.attn_config.alibi is False and config.attn_config["rope"] is True
    assert MptConfig(attn_config=MptAttentionConfig(clip_qkv=6.0)).attn_config.clip_qkv == 6.0
    config.attn_config = {"qk_ln": True}  # assignment converts as well
    assert isinstance(config.attn_config, MptAttentionConfig) and config.attn_config.qk_ln


def test_config_json_round_trip_keeps_the_nested_dict(tmp_path):
    # The nested dict as transformers 4.57.6 writes it (MptConfig().save_pretrained), plus an unknown key.
    nested = {
        "alibi": True, "alibi_bias_max": 8, "attn_impl": "torch", "attn_pdrop": 0, "attn_type": "multihead_attention",
        "attn_uses_sequence_id": False, "clip_qkv": None, "model_type": "", "prefix_lm": False, "qk_ln": False,
        "softmax_scale": None, "future_key": [1, 2],
    }
    assert MptConfig().to_dict()["attn_config"] == {k: v for k, v in nested.items() if k != "future_key"}
    config = MptConfig(d_model=64, n_heads=4, attn_config=nested, some_new_field=3)
    config.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["attn_config"] == nested and saved["some_new_field"] == 3 and saved["model_type"] == "mpt"
    assert MptConfig.from_pretrained(tmp_path) == config


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(d_model=30, n_heads=4), "d_model=30 is not a multiple of n_heads=4"),
        (dict(attn_config={"attn_type": "flash_attention"}), "attn_type"),
        (dict(attn_config={"attn_type": "grouped_query_attention", "kv_n_heads": 3}), "kv_n_heads=3"),
        (dict(norm_type="batchnorm"), "norm_type"),
        (dict(logit_scale="sqrt"), "inv_sqrt_d_model"),
        (dict(attn_config={"clip_qkv": -1.0}), "clip_qkv"),
        (dict(n_layers="2"), "n_layers must be int"),
    ],
)
def test_config_errors_name_the_field(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        tiny(**kwargs)


# ---- ALiBi and attention against the direct formula ---------------------------------------------------------------


def test_alibi_slopes_follow_the_geometric_rule():
    # power of two: slope_h = 2^(-bias_max·h/H), h = 1..H
    assert torch.equal(alibi_slopes(8), 2.0 ** -torch.arange(1.0, 9.0))
    assert torch.allclose(alibi_slopes(4, bias_max=4), 2.0 ** -torch.arange(1.0, 5.0))
    # 6 heads: the 8 slopes 2^-1..2^-8, odd entries (2^-2, 2^-4, 2^-6, 2^-8) then even ones, first 6 kept
    assert torch.equal(alibi_slopes(6), 2.0 ** -torch.tensor([2.0, 4.0, 6.0, 8.0, 1.0, 3.0]))


def expected_probs(model: MptForCausalLM, ids: torch.Tensor) -> torch.Tensor:
    """Layer 0's attention probabilities from its weights: softmax(q·kᵀ·scale + slope·(j - i)), causal."""
    config, attn = model.config, model.transformer.blocks[0].attn
    h = model.transformer.blocks[0].norm_1(model.transformer.wte(ids))
    qkv = h @ attn.Wqkv.weight.T
    if config.attn_config.clip_qkv:
        qkv = qkv.clamp(-config.attn_config.clip_qkv, config.attn_config.clip_qkv)
    q, k, _ = qkv.chunk(3, dim=-1)
    if config.attn_config.qk_ln:
        q, k = F.layer_norm(q, (32,), attn.q_ln.weight, eps=1e-5), F.layer_norm(k, (32,), attn.k_ln.weight, eps=1e-5)
    b, t, _ = q.shape
    q, k = (x.view(b, t, 4, 8).transpose(1, 2) for x in (q, k))
    scores = q @ k.transpose(-1, -2) * (config.attn_config.softmax_scale or 1 / math.sqrt(8))
    distance = torch.arange(t)[None, :] - torch.arange(t)[:, None]  # j - i
    if config.attn_config.alibi:
        scores = scores + alibi_slopes(4, config.attn_config.alibi_bias_max)[:, None, None] * distance
    return scores.masked_fill(distance > 0, float("-inf")).softmax(-1)


@pytest.mark.parametrize(
    "attn_config",
    [{}, {"alibi": False}, {"alibi_bias_max": 3}, {"clip_qkv": 0.3, "softmax_scale": 0.7}, {"qk_ln": True}],
    ids=["alibi", "no-alibi", "bias-max", "clip-scale", "qk-ln"],
)
def test_attention_probabilities_match_the_formula(attn_config):
    model = build(attn_config=attn_config)
    ids = torch.randint(0, V, (2, 9), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        probs = model(ids, output_attentions=True).attentions[0]
        assert_close(probs, expected_probs(model, ids), what=str(attn_config))


def test_sdpa_and_eager_agree(lm, padded):
    ids, mask = padded
    with torch.no_grad():
        sdpa = lm(ids, attention_mask=mask).logits
        eager = lm(ids, attention_mask=mask, output_attentions=True).logits
    assert_close(sdpa, eager, mask)


def test_without_alibi_nothing_marks_positions_but_causality():
    model = build(MptModel, attn_config={"alibi": False})
    ids = torch.randint(0, V, (1, 6))
    with torch.no_grad():
        out = model(ids, output_attentions=True)
    # the first token attends to itself only; with no position signal, a repeated token sees equal scores
    assert torch.equal(out.attentions[0][0, :, 0, 0], torch.ones(4))
    same = model(torch.full((1, 4), 7), output_attentions=True).attentions[0][0, :, 3]
    assert_close(same, torch.full_like(same, 0.25))


# ---- the other options the reference ignores ---------------------------------------------------------------------


def test_logit_scale_multiplies_the_logits(lm):
    ids = torch.randint(0, V, (2, 5))
    for value, factor in ((0.25, 0.25), ("inv_sqrt_d_model", 1 / math.sqrt(32))):
        scaled = MptForCausalLM(tiny(logit_scale=value)).eval()
        scaled.load_state_dict(lm.state_dict())
        with torch.no_grad():
            assert_close(scaled(ids).logits, lm(ids).logits * factor)


def test_expansion_ratio_sets_the_mlp_width():
    ffn = MptModel(tiny(expansion_ratio=2)).blocks[0].ffn
    assert ffn.up_proj.weight.shape == (64, 32) and ffn.down_proj.weight.shape == (32, 64)
    x = torch.randn(2, 3, 32)
    assert_close(ffn(x), ffn.down_proj(F.gelu(ffn.up_proj(x))))


def test_no_bias_false_adds_biases_to_every_linear_and_norm():
    biased = build(MptModel, no_bias=False, attn_config={"qk_ln": True})
    names = [n for n, _ in biased.named_parameters() if n.endswith(".bias")]
    for part in ("attn.Wqkv", "attn.out_proj", "attn.q_ln", "attn.k_ln", "ffn.up_proj", "ffn.down_proj", "norm_1", "norm_2"):
        assert f"blocks.1.{part}.bias" in names
    assert "norm_f.bias" in names
    plain = MptModel(tiny(attn_config={"qk_ln": True})).eval()
    plain.load_state_dict({k: v for k, v in biased.state_dict().items() if not k.endswith(".bias")})
    ids = torch.randint(0, V, (2, 5))
    with torch.no_grad():
        assert not torch.allclose(biased(ids).last_hidden_state, plain(ids).last_hidden_state, atol=1e-3)
        for name, p in biased.named_parameters():
            if name.endswith(".bias"):
                p.zero_()
        assert_close(biased(ids).last_hidden_state, plain(ids).last_hidden_state)


def test_learned_positions_add_a_wpe_table_counted_past_left_padding():
    model = build(MptModel, learned_pos_emb=True)
    assert model.wpe.weight.shape == (32, 32)
    ids = torch.randint(1, V, (1, 6))
    with torch.no_grad():
        out = model(ids).last_hidden_state
        embeds = model.wte(ids) + model.wpe(torch.arange(6))
        model.wpe, wpe = None, model.wpe  # same weights, positions given by hand
        assert_close(model(inputs_embeds=embeds).last_hidden_state, out)
        model.wpe = wpe
        padded = torch.cat([torch.zeros(1, 3, dtype=torch.long), ids], 1)
        mask = torch.cat([torch.zeros(1, 3, dtype=torch.long), torch.ones(1, 6, dtype=torch.long)], 1)
        assert_close(model(padded, attention_mask=mask).last_hidden_state[:, 3:], out)


def test_rmsnorm_norm_type_uses_the_rms_formula():
    model = build(MptModel, norm_type="low_precision_rmsnorm")
    norm = model.blocks[0].norm_1
    x = torch.randn(2, 3, 32)
    assert_close(norm(x), x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * norm.weight)


def test_grouped_query_attention_equals_multihead_with_repeated_kv_heads():
    gqa = build(MptModel, attn_config={"attn_type": "grouped_query_attention", "kv_n_heads": 2})
    assert gqa.blocks[0].attn.Wqkv.weight.shape == (32 + 2 * 2 * 8, 32)
    mha = MptModel(tiny()).eval()
    state = gqa.state_dict()
    for i in range(2):
        w = state[f"blocks.{i}.attn.Wqkv.weight"]
        q, k, v = w.split([32, 16, 16])
        repeat = lambda x: x.view(2, 8, 32).repeat_interleave(2, dim=0).reshape(32, 32)  # noqa: E731
        state[f"blocks.{i}.attn.Wqkv.weight"] = torch.cat([q, repeat(k), repeat(v)])
    mha.load_state_dict(state)
    ids = torch.randint(0, V, (2, 7))
    with torch.no_grad():
        assert_close(gqa(ids).last_hidden_state, mha(ids).last_hidden_state)
    mqa = MptForCausalLM(tiny(attn_config={"attn_type": "multiquery_attention"}))
    assert mqa.new_static_cache(1, 8).layers[0].keys.shape == (1, 1, 8, 8)


def test_embedding_fraction_scales_only_the_gradient():
    ids = torch.randint(0, V, (2, 5))
    grads, outs = [], []
    for fraction in (1.0, 0.25):
        model = build(MptModel, embedding_fraction=fraction)
        out = model(ids).last_hidden_state
        out.sum().backward()
        outs.append(out.detach())
        grads.append(model.wte.weight.grad)
    assert_close(outs[0], outs[1])
    assert_close(grads[1], grads[0] * 0.25)


def test_dropouts_follow_the_config():
    model = MptModel(tiny(resid_pdrop=0.1, emb_pdrop=0.2, attn_config={"attn_pdrop": 0.3}))
    assert model.emb_drop.p == 0.2 and model.blocks[0].resid_attn_dropout.p == 0.1
    assert model.blocks[0].resid_ffn_dropout.p == 0.1 and model.blocks[0].attn.dropout == 0.3


# ---- loading follows the checkpoint for options that carry weights -----------------------------------------------


def test_checkpoint_without_option_weights_runs_without_them(tmp_path, caplog):
    writer = build(attn_config={})  # what the reference writes: no wpe, q_ln, biases; 4·d MLP; 3·d Wqkv
    writer.save_pretrained(tmp_path)
    config = tiny(learned_pos_emb=True, no_bias=False, expansion_ratio=2, attn_config={"qk_ln": True, "attn_type": "multiquery_attention"})
    with caplog.at_level(logging.WARNING, logger="mintformers"):
        loaded = MptForCausalLM.from_pretrained(tmp_path, config=config)
    assert "newly initialised" not in caplog.text
    base = loaded.transformer
    assert base.wpe is None and base.blocks[0].attn.q_ln is None and base.blocks[0].attn.Wqkv.bias is None
    assert base.blocks[0].ffn.up_proj.out_features == 128 and base.blocks[0].attn.kv_heads == 4
    ids = torch.randint(0, V, (2, 6))
    with torch.no_grad():
        assert_close(loaded(ids).logits, writer(ids).logits)


def test_checkpoints_with_every_option_round_trip(tmp_path):
    options = dict(
        learned_pos_emb=True, no_bias=False, expansion_ratio=3, norm_type="rmsnorm", logit_scale="inv_sqrt_d_model",
        attn_config={"qk_ln": True, "attn_type": "grouped_query_attention", "kv_n_heads": 2, "alibi_bias_max": 4},
    )
    model = build(**options)
    model.save_pretrained(tmp_path)
    loaded, info = MptForCausalLM.from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    for key in options:
        assert loaded.config.to_dict().get(key) == model.config.to_dict().get(key), key
    ids, mask = batch_inputs(V, seq=8, left=True)
    with torch.no_grad():
        assert_close(loaded(ids, attention_mask=mask).logits, model(ids, attention_mask=mask).logits, mask)


def test_loading_warns_about_applied_weightless_options(tmp_path, caplog):
    build().save_pretrained(tmp_path)
    with caplog.at_level(logging.WARNING, logger="mintformers"):
        MptForCausalLM.from_pretrained(tmp_path, config=tiny(logit_scale=0.5, attn_config={"alibi": False}))
    assert "attn_config.alibi=False" in caplog.text and "logit_scale=0.5" in caplog.text


def test_construction_builds_nothing_on_the_meta_device():
    with torch.device("meta"):
        model = MptForCausalLM(tiny())
    assert all(p.is_meta for p in model.parameters()) and not list(model.buffers())


# ---- caches ---------------------------------------------------------------------------------------------------------


def continue_with(ids, mask, steps: int = 3, seed: int = 1):
    new = torch.randint(1, V, (ids.shape[0], steps), generator=torch.Generator().manual_seed(seed))
    return torch.cat([ids, new], 1), torch.cat([mask, torch.ones_like(new)], 1)


def test_dynamic_cache_steps_equal_the_full_pass(lm, padded):
    ids, mask = padded
    full_ids, full_mask = continue_with(ids, mask)
    t = ids.shape[1]
    with torch.no_grad():
        full = lm(full_ids, attention_mask=full_mask).logits
        out = lm(ids, attention_mask=mask, use_cache=True)
        assert isinstance(out.past_key_values, DynamicCache) and out.past_key_values.get_seq_length() == t
        assert_close(out.logits, full[:, :t], mask)
        for i in range(3):
            out = lm(full_ids[:, t + i : t + i + 1], out.past_key_values, full_mask[:, : t + i + 1])
            assert_close(out.logits[:, 0], full[:, t + i], what=f"step {i}")


@pytest.mark.parametrize("full_width_mask", [False, True])
def test_static_cache_steps_equal_the_full_pass(lm, padded, full_width_mask):
    ids, mask = padded
    full_ids, full_mask = continue_with(ids, mask)
    t, slots = ids.shape[1], 16
    cache = lm.new_static_cache(4, slots)  # one spare batch row
    assert isinstance(cache, StaticCache) and cache.get_max_cache_shape() == slots
    wide = F.pad(full_mask, (0, slots - full_mask.shape[1]))
    with torch.no_grad():
        full = lm(full_ids, attention_mask=full_mask).logits
        step_mask = wide if full_width_mask else mask
        out = lm(ids, cache, step_mask, cache_position=torch.arange(t))
        assert out.past_key_values is cache and cache.get_seq_length() == t
        assert_close(out.logits, full[:, :t], mask)
        for i in range(3):
            step_mask = wide if full_width_mask else full_mask[:, : t + i + 1]
            out = lm(full_ids[:, t + i : t + i + 1], cache, step_mask, logits_to_keep=1)  # positions derived
            assert_close(out.logits[:, 0], full[:, t + i], what=f"step {i}")


def test_static_cache_decode_step_compiles_in_one_graph(lm):
    cache = lm.new_static_cache(2, 12)
    ids = torch.randint(0, V, (2, 5))
    mask = torch.ones(2, 12, dtype=torch.long)
    with torch.no_grad():
        lm(ids, cache, mask[:, :5], cache_position=torch.arange(5))
        step = torch.compile(
            lambda tok, pos: lm(tok, cache, mask, cache_position=pos, logits_to_keep=1).logits, backend="eager", fullgraph=True
        )
        reference = DynamicCache()
        lm(ids, reference, mask[:, :5])
        for i in range(5, 8):
            tok = torch.full((2, 1), i)
            assert_close(step(tok, torch.tensor([i])), lm(tok, reference, mask[:, : i + 1]).logits)


def test_alibi_runs_past_max_seq_len(lm):
    ids = torch.randint(0, V, (1, 40))  # max_seq_len is 32; ALiBi needs no table
    with torch.no_grad():
        full = lm(ids).logits
        out = lm(ids[:, :38], use_cache=True)
        for i in (38, 39):
            out = lm(ids[:, i : i + 1], out.past_key_values)
            assert_close(out.logits[:, 0], full[:, i])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_left_padding_never_gives_nan(dtype, lm, padded):
    ids, mask = padded
    model = MptForCausalLM(tiny()).eval().to(dtype)
    model.load_state_dict(lm.state_dict())
    with torch.no_grad():
        for kwargs in ({}, {"output_attentions": True}):
            out = model(ids, attention_mask=mask, **kwargs)
            assert torch.isfinite(out.logits).all()
        reference = lm(ids, attention_mask=mask).logits
        assert_close(out.logits, reference, mask, atol=0.15 * reference.abs().max().item())
        cache = model.new_static_cache(3, 12)
        out = model(ids, cache, mask, cache_position=torch.arange(10))
        out = model(ids[:, :1], cache, F.pad(mask, (0, 1), value=1), cache_position=torch.tensor([10]))
        assert torch.isfinite(out.logits).all()


# ---- heads ----------------------------------------------------------------------------------------------------------


def test_lm_head_is_tied_and_saved_once(lm, tmp_path):
    assert lm.lm_head.weight is lm.transformer.wte.weight
    lm.save_pretrained(tmp_path)
    from safetensors.torch import load_file

    keys = set(load_file(tmp_path / "model.safetensors"))
    assert "transformer.wte.weight" in keys and "lm_head.weight" not in keys
    model = build()
    model.resize_token_embeddings(V + 8)
    assert model.lm_head.weight is model.transformer.wte.weight and model(torch.tensor([[V + 3]])).logits.shape[-1] == V + 8


def test_causal_lm_loss_is_the_shifted_cross_entropy(lm, padded):
    ids, mask = padded
    labels = ids.masked_fill(mask == 0, -100)
    with torch.no_grad():
        out = lm(ids, attention_mask=mask, labels=labels)
    expected = F.cross_entropy(out.logits[:, :-1].reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=-100)
    assert_close(out.loss, expected)
    with pytest.raises(ValueError, match="logits_to_keep=0"):
        lm(ids, labels=labels, logits_to_keep=1)


def test_logits_to_keep(lm, padded):
    ids, mask = padded
    with torch.no_grad():
        full = lm(ids, attention_mask=mask).logits
        assert_close(lm(ids, attention_mask=mask, logits_to_keep=2).logits, full[:, -2:])
        assert_close(lm(ids, attention_mask=mask, logits_to_keep=torch.tensor([0, 4])).logits, full[:, [0, 4]])


def test_sequence_classification_pools_the_last_real_token():
    model = build(MptForSequenceClassification, pad_token_id=0, num_labels=3)
    ids = torch.randint(1, V, (1, 6))
    with torch.no_grad():
        alone = model(ids).logits
        right = model(F.pad(ids, (0, 3)), attention_mask=F.pad(torch.ones_like(ids), (0, 3))).logits
        left = model(F.pad(ids, (3, 0)), attention_mask=F.pad(torch.ones_like(ids), (3, 0))).logits
        assert_close(right, alone, what="right padding")
        assert_close(left, alone, what="left padding")
        model.config.pad_token_id = None  # no pad id: the mask tells, else the last position
        assert_close(model(F.pad(ids, (0, 3)), attention_mask=F.pad(torch.ones_like(ids), (0, 3))).logits, alone)
        embeds = model.transformer.wte(ids)
        assert_close(model(inputs_embeds=embeds).logits, alone)
    out = model(ids, labels=torch.tensor([2]), return_dict=False)
    assert_close(out[0], F.cross_entropy(out[1], torch.tensor([2])))
    assert model.config.problem_type == "single_label_classification"


@pytest.mark.parametrize("num_labels, labels, problem", [(1, torch.tensor([0.5, -1.0]), "regression"), (3, torch.tensor([[1.0, 0, 1], [0, 0, 1]]), "multi_label_classification")])
def test_sequence_classification_problem_types(num_labels, labels, problem):
    model = build(MptForSequenceClassification, pad_token_id=0, num_labels=num_labels)
    out = model(torch.randint(1, V, (2, 5)), labels=labels)
    expected = F.mse_loss(out.logits.squeeze(), labels) if num_labels == 1 else F.binary_cross_entropy_with_logits(out.logits, labels)
    assert_close(out.loss, expected)
    assert model.config.problem_type == problem


def test_token_classification_and_question_answering():
    config_dropout = MptForTokenClassification(tiny(num_labels=5)).dropout.p
    assert config_dropout == 0.1  # the reference's default when neither classifier_dropout nor hidden_dropout is set
    assert MptForTokenClassification(tiny(classifier_dropout=0.3)).dropout.p == 0.3
    tagger = build(MptForTokenClassification, num_labels=5)
    ids = torch.randint(0, V, (2, 6))
    labels = torch.randint(0, 5, (2, 6))
    out = tagger(ids, labels=labels)
    assert out.logits.shape == (2, 6, 5)
    assert_close(out.loss, F.cross_entropy(out.logits.reshape(-1, 5), labels.reshape(-1)))
    qa = build(MptForQuestionAnswering)
    out = qa(ids, start_positions=torch.tensor([1, 9]), end_positions=torch.tensor([2, 3]), output_hidden_states=True)
    assert out.start_logits.shape == (2, 6) and len(out.hidden_states) == 3
    expected = (F.cross_entropy(out.start_logits, torch.tensor([1, 6]), ignore_index=6) + F.cross_entropy(out.end_logits, torch.tensor([2, 3]))) / 2
    assert_close(out.loss, expected)


def test_tuple_outputs_and_hidden_states(lm, padded):
    ids, mask = padded
    with torch.no_grad():
        out = lm.transformer(ids, attention_mask=mask, use_cache=True, output_hidden_states=True, output_attentions=True)
        tup = lm.transformer(ids, attention_mask=mask, use_cache=True, output_hidden_states=True, output_attentions=True, return_dict=False)
    assert len(tup) == 4 and torch.equal(tup[0], out.last_hidden_state) and isinstance(tup[1], DynamicCache)
    assert len(out.hidden_states) == 3 and torch.equal(out.hidden_states[-1], out.last_hidden_state)  # after norm_f
    assert out.attentions[0].shape == (3, 4, 10, 10)


def test_auto_classes_pick_mpt(tmp_path):
    model = AutoModelForCausalLM.from_config(tiny())
    assert isinstance(model, MptForCausalLM)
    model.save_pretrained(tmp_path)
    assert isinstance(AutoModel.from_pretrained(tmp_path), MptModel)


def test_gradient_checkpointing_gives_the_same_gradients():
    ids = torch.randint(0, V, (2, 6))
    grads = []
    for checkpointing in (False, True):
        model = build()
        model.train()
        if checkpointing:
            model.gradient_checkpointing_enable()
        model(ids, labels=ids).loss.backward()
        grads.append(model.transformer.blocks[0].attn.Wqkv.weight.grad)
    assert_close(grads[0], grads[1])


# ---- bad input --------------------------------------------------------------------------------------------------------


def test_bad_inputs_get_clear_errors(lm):
    ids = torch.randint(0, V, (2, 5))
    with pytest.raises(ValueError, match="out of range"):
        lm(torch.tensor([[1, V]]))
    with pytest.raises(ValueError, match="attention_mask has shape"):
        lm(ids, attention_mask=torch.ones(2, 4))
    with pytest.raises(ValueError, match="both input_ids and inputs_embeds"):
        lm(ids, inputs_embeds=torch.zeros(2, 5, 32))
    with pytest.raises(ValueError, match="either input_ids or inputs_embeds"):
        lm()
    with pytest.raises(TypeError, match="head_mask"):
        lm(ids, head_mask=torch.ones(4))
    cache = lm.new_static_cache(2, 8)
    with pytest.raises(ValueError, match="StaticCache of 8 slots"):
        lm(ids, cache, torch.ones(2, 9), cache_position=torch.arange(5))
    lm(ids, token_type_ids=torch.zeros_like(ids))  # tokenizers may return it; ignored as in the reference


def test_learned_positions_past_max_seq_len_is_an_error():
    model = build(learned_pos_emb=True)
    with pytest.raises(ValueError, match="exceeds max_seq_len=32"):
        model(torch.randint(0, V, (1, 33)))
    out = model(torch.randint(0, V, (1, 30)), use_cache=True)
    with pytest.raises(ValueError, match=r"cached 30 \+ new 3"):
        model(torch.randint(0, V, (1, 3)), out.past_key_values)
    with pytest.raises(ValueError, match="max_cache_len=40"):
        model.new_static_cache(1, 40)
