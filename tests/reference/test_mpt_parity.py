"""MPT parity with transformers 4.57.6 (the test-only oracle), on small configs with perturbed weights.

Every head, left and right padding, 6 heads (not a power of two), clip_qkv + softmax_scale, losses, tuples, hidden
states and attentions, cache steps (DynamicCache and StaticCache), greedy tokens, and checkpoints both ways.
"""

from __future__ import annotations

import json
import logging

import pytest
import torch

import mintformers
from mintformers.layers.cache import DynamicCache

from parity import assert_close, batch_inputs, load_like, perturb_

transformers = pytest.importorskip("transformers")

V = 99
CONFIGS = {
    "6-heads": dict(d_model=48, n_heads=6, n_layers=2, vocab_size=V, max_seq_len=64, pad_token_id=0),
    "clip-scale": dict(
        d_model=32, n_heads=4, n_layers=2, vocab_size=V, max_seq_len=64, pad_token_id=0,
        attn_config={"clip_qkv": 0.6, "softmax_scale": 0.3},
    ),
}
HEADS = ["MptModel", "MptForCausalLM", "MptForSequenceClassification", "MptForTokenClassification", "MptForQuestionAnswering"]
_PAIRS: dict[tuple[str, str], tuple] = {}


def pair(name: str, config: str = "6-heads"):
    """(reference model, our model with the same weights via save_pretrained → from_pretrained), built once."""
    if (name, config) not in _PAIRS:
        torch.manual_seed(0)
        ref = getattr(transformers, name)(transformers.MptConfig(num_labels=3, **CONFIGS[config]))
        ref = perturb_(ref).eval()
        _PAIRS[name, config] = ref, load_like(ref, getattr(mintformers, name))
    return _PAIRS[name, config]


def main_outputs(out) -> dict[str, torch.Tensor]:
    names = ("last_hidden_state", "logits", "start_logits", "end_logits")
    return {n: getattr(out, n) for n in names if getattr(out, n, None) is not None}


def per_query(attention: torch.Tensor) -> torch.Tensor:
    return attention.transpose(1, 2)  # (B, H, Tq, Tk) → (B, Tq, H, Tk): rows of padded queries can be masked out


@pytest.mark.parametrize("left", [False, True], ids=["right-pad", "left-pad"])
@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("name", HEADS)
def test_outputs_hidden_states_and_attentions_match(name, config, left):
    ref, ours = pair(name, config)
    ids, mask = batch_inputs(V, left=left)
    kwargs = dict(attention_mask=mask, output_hidden_states=True, output_attentions=True)
    with torch.no_grad():
        expected, got = ref(ids, **kwargs), ours(ids, **kwargs)
    pooled = name == "MptForSequenceClassification"
    for key, value in main_outputs(expected).items():
        assert_close(got[key], value, None if pooled else mask, what=key)
    assert len(got.hidden_states) == len(expected.hidden_states) == 3
    for i, (a, b) in enumerate(zip(got.hidden_states, expected.hidden_states)):
        assert_close(a, b, mask, what=f"hidden_states[{i}]")
    for i, (a, b) in enumerate(zip(got.attentions, expected.attentions)):
        assert_close(per_query(a), per_query(b), mask, what=f"attentions[{i}]")


@pytest.mark.parametrize("name", HEADS)
def test_tuples_match(name):
    """return_dict=False. With a cache in the output the reference's head tuples are well-formed (its token
    classification and QA tuples skip hidden_states otherwise), so compare with config.use_cache on."""
    ref, ours = pair(name)
    ids, mask = batch_inputs(V)
    kwargs = dict(attention_mask=mask, output_hidden_states=True, return_dict=False)
    ref.config.use_cache = ours.config.use_cache = True
    try:
        with torch.no_grad():
            expected, got = ref(ids, **kwargs), ours(ids, **kwargs)
    finally:
        ref.config.use_cache = ours.config.use_cache = False
    assert len(got) == len(expected)
    for i, (a, b) in enumerate(zip(got, expected)):
        if isinstance(b, torch.Tensor):
            assert_close(a, b, mask if a.dim() == 3 and a.shape[:2] == mask.shape else None, what=f"[{i}]")
        elif isinstance(b, tuple):
            for x, y in zip(a, b):
                assert_close(x, y, mask, what=f"[{i}]")
        else:  # the cache
            assert isinstance(a, DynamicCache) and a.get_seq_length() == b.get_seq_length()


def test_losses_match():
    ids, mask = batch_inputs(V)
    cases = [
        ("MptForCausalLM", dict(labels=ids.masked_fill(mask == 0, -100))),
        ("MptForSequenceClassification", dict(labels=torch.tensor([0, 2, 1]))),
        ("MptForTokenClassification", dict(labels=torch.randint(0, 3, ids.shape).masked_fill(mask == 0, -100))),
        ("MptForQuestionAnswering", dict(start_positions=torch.tensor([1, 4, 30]), end_positions=torch.tensor([3, 5, 2]))),
    ]
    for name, labels in cases:
        ref, ours = pair(name)
        with torch.no_grad():
            assert_close(ours(ids, attention_mask=mask, **labels).loss, ref(ids, attention_mask=mask, **labels).loss, what=name)
    ref, ours = pair("MptForSequenceClassification")
    for problem, labels in (("multi_label_classification", torch.rand(3, 3).round()), ("regression", torch.randn(3, 3))):
        ref.config.problem_type = ours.config.problem_type = problem
        with torch.no_grad():
            assert_close(ours(ids, attention_mask=mask, labels=labels).loss, ref(ids, attention_mask=mask, labels=labels).loss, what=problem)
    ref.config.problem_type = ours.config.problem_type = None


@pytest.mark.parametrize("cache_kind", ["dynamic", "static"])
def test_cache_steps_match_the_reference_steps(cache_kind):
    ref, ours = pair("MptForCausalLM")
    ids, mask = batch_inputs(V, seq=12, left=True)
    new = torch.randint(1, V, (3, 4), generator=torch.Generator().manual_seed(3))
    t = ids.shape[1]
    cache = ours.new_static_cache(3, t + 4) if cache_kind == "static" else None
    with torch.no_grad():
        expected = ref(ids, attention_mask=mask, use_cache=True)
        got = ours(ids, cache, mask, use_cache=True, cache_position=torch.arange(t) if cache else None)
        assert_close(got.logits, expected.logits, mask, what="prefill")
        for i in range(4):
            mask = torch.cat([mask, torch.ones(3, 1, dtype=torch.long)], 1)
            expected = ref(new[:, i : i + 1], expected.past_key_values, mask, use_cache=True)
            position = torch.tensor([t + i]) if cache else None
            got = ours(new[:, i : i + 1], got.past_key_values, mask, cache_position=position, logits_to_keep=1)
            assert_close(got.logits, expected.logits, what=f"step {i}")


def greedy(model, ids, mask, steps: int, static: bool) -> torch.Tensor:
    t = ids.shape[1]
    cache = model.new_static_cache(ids.shape[0], t + steps) if static else DynamicCache()
    out = model(ids, cache, mask, cache_position=torch.arange(t), logits_to_keep=1)
    tokens = []
    for i in range(steps):
        tokens.append(out.logits[:, -1].argmax(-1, keepdim=True))
        mask = torch.cat([mask, torch.ones_like(tokens[-1])], 1)
        out = model(tokens[-1], cache, mask, cache_position=torch.tensor([t + i]), logits_to_keep=1)
    return torch.cat(tokens, 1)


@pytest.mark.parametrize("static", [False, True], ids=["dynamic", "static"])
def test_greedy_tokens_match_reference_generate(static):
    ref, ours = pair("MptForCausalLM")
    ids, mask = batch_inputs(V, seq=9, left=True)
    with torch.no_grad():
        expected = ref.generate(ids, attention_mask=mask, max_new_tokens=10, do_sample=False, pad_token_id=0)[:, 9:]
        assert torch.equal(greedy(ours, ids, mask, 10, static), expected)


@pytest.mark.parametrize(
    "options",
    [
        {},  # learned_pos_emb=True (the default) with no wpe in the file
        {"no_bias": False, "expansion_ratio": 2, "logit_scale": None},
        {"attn_config": {"qk_ln": True, "attn_type": "multiquery_attention"}},
    ],
    ids=["default", "bias-mlp", "qk_ln-mqa"],
)
def test_reference_checkpoints_load_and_run_as_the_reference(options, tmp_path, caplog):
    """Options the reference ignores but that name weights are detected from the checkpoint: it has none of them."""
    torch.manual_seed(0)
    config = dict(CONFIGS["6-heads"])
    config.update(options)
    ref = perturb_(transformers.MptForCausalLM(transformers.MptConfig(**config))).eval()
    ref.save_pretrained(tmp_path)
    with caplog.at_level(logging.WARNING, logger="mintformers"):
        ours, info = mintformers.MptForCausalLM.from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not caplog.text
    written = json.loads((tmp_path / "config.json").read_text())
    assert ours.config.to_dict()["attn_config"] == written["attn_config"]
    ids, mask = batch_inputs(V, left=True)
    with torch.no_grad():
        assert_close(ours(ids, attention_mask=mask).logits, ref(ids, attention_mask=mask).logits, mask)


@pytest.mark.parametrize("fresh", [True, False], ids=["fresh", "loaded"])
def test_our_checkpoints_load_in_the_reference(fresh, tmp_path):
    if fresh:  # a model built here from a config (no learned positions: the reference has no wpe to load)
        torch.manual_seed(1)
        config = mintformers.MptConfig(learned_pos_emb=False, **CONFIGS["clip-scale"])
        ours = perturb_(mintformers.MptForCausalLM(config), seed=1).eval()
    else:  # loaded from a reference checkpoint, saved again: still the reference's format
        ours = pair("MptForCausalLM")[1]
    ours.save_pretrained(tmp_path)
    ref, info = transformers.MptForCausalLM.from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    ids, mask = batch_inputs(V, left=True)
    with torch.no_grad():
        assert_close(ours(ids, attention_mask=mask).logits, ref.eval()(ids, attention_mask=mask).logits, mask)
