"""OneDNNLinears: the decode-step matmul swap gives nn.Linear's results and leaves the model as it was."""

from __future__ import annotations

import pytest
import torch
from gen_helpers import left_padded, tiny_mpt

from mintformers.generation.onednn import OneDNNLinears, onednn_available

pytestmark = pytest.mark.skipif(not onednn_available(), reason="this torch build has no oneDNN")


def linear_outputs(model, x):
    return [layer(x[..., : layer.in_features]) for layer in model.modules() if type(layer) is torch.nn.Linear]


@pytest.mark.parametrize("pack", [False, True])
def test_same_results_and_restored_after_the_block(pack):
    model = tiny_mpt()
    x = torch.randn(3, 1, 256)  # wide enough for every layer's input
    with torch.no_grad():
        want = linear_outputs(model, x)
        with OneDNNLinears(model, pack=pack, rows=3) as swap:
            assert swap.layers and all("forward" in layer.__dict__ for layer in swap.layers)
            got = linear_outputs(model, x)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, atol=1e-5, rtol=1e-5)
    assert not any("forward" in m.__dict__ for m in model.modules())


def test_packed_copies_are_reused_until_the_weights_change():
    model = tiny_mpt()
    layer = next(m for m in model.modules() if type(m) is torch.nn.Linear)
    first = OneDNNLinears(model, pack=True).forwards[0].args[0]
    assert OneDNNLinears(model, pack=True).forwards[0].args[0] is first
    with torch.no_grad():
        layer.weight.mul_(2.0)  # bumps the version counter: the packed copy is stale
        x = torch.randn(1, layer.in_features)
        with OneDNNLinears(model, pack=True):
            got = layer(x)
    torch.testing.assert_close(got, torch.nn.functional.linear(x, layer.weight, layer.bias), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("cpu_linear", ["auto", "packed"])
def test_generate_gives_the_tokens_of_the_default_matmuls(cpu_linear):
    model = tiny_mpt()
    ids, mask = left_padded(model.config.vocab_size)
    kwargs = dict(attention_mask=mask, max_new_tokens=10, pad_token_id=0)
    want = model.generate(ids, cpu_linear="default", **kwargs)
    assert torch.equal(model.generate(ids, cpu_linear=cpu_linear, **kwargs), want)


def test_unknown_setting_is_refused():
    model = tiny_mpt()
    with pytest.raises(ValueError, match="cpu_linear"):
        model.generate(torch.tensor([[1, 2]]), cpu_linear="fastest")
