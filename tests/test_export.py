"""Deployment paths for the encoder families (MobileBERT's users run where compute is scarce): torch.export with
dynamic batch and sequence sizes gives the eager outputs, output classes included; int8 dynamic quantization runs."""

from __future__ import annotations

import pytest
import torch

import mintformers as mf

from parity import perturb_

SMALL = dict(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48)
MODELS = {
    "bert": (mf.BertForSequenceClassification, mf.BertConfig(**SMALL, num_labels=3)),
    "mobilebert": (
        mf.MobileBertForSequenceClassification,
        mf.MobileBertConfig(**{**SMALL, "hidden_size": 64}, embedding_size=16, intra_bottleneck_size=16,
                            true_hidden_size=16, num_labels=3),
    ),
    "mpnet": (mf.MPNetForSequenceClassification, mf.MPNetConfig(**SMALL, num_labels=3)),
    "ernie_m": (mf.ErnieMForSequenceClassification, mf.ErnieMConfig(**SMALL, num_labels=3)),
}


def inputs(batch: int, seq: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, SMALL["vocab_size"], (batch, seq), generator=g)
    mask = torch.ones_like(ids)
    mask[0, seq // 2 :] = 0  # one padded row
    return ids, mask


@pytest.mark.parametrize("family", sorted(MODELS))
def test_export_with_dynamic_shapes_equals_eager(family):
    cls, config = MODELS[family]
    model = perturb_(cls(config)).eval()
    batch, seq = torch.export.Dim("batch", max=64), torch.export.Dim("seq", min=3, max=100)
    ids, mask = inputs(2, 9, seed=0)
    program = torch.export.export(model, (ids, mask), dynamic_shapes=(({0: batch, 1: seq}, {0: batch, 1: seq}),))
    exported = program.module()
    for shape_ids, shape_mask in (inputs(2, 9, 0), inputs(3, 17, 1), inputs(1, 4, 2)):
        got = exported(shape_ids, shape_mask)
        with torch.no_grad():
            want = model(shape_ids, shape_mask)
        assert type(got) is type(want)
        torch.testing.assert_close(got.logits, want.logits, atol=1e-5, rtol=0)


def test_output_classes_are_pytrees():
    out = mf.outputs.SequenceClassifierOutput(logits=torch.ones(2, 3), attentions=(torch.zeros(1),))
    leaves, spec = torch.utils._pytree.tree_flatten(out)
    assert len(leaves) == 2
    again = torch.utils._pytree.tree_unflatten([leaf + 1 for leaf in leaves], spec)
    assert type(again) is type(out) and again.loss is None and torch.equal(again.logits, out.logits + 1)


def test_mobilebert_int8_dynamic_quantization():
    """MobileBERT, the family made for small devices, runs with mintformers' int8 layers (quantization.py)."""
    from mintformers.layers.quantized import Int8Linear
    from mintformers.quantization import quantize_model

    cls, config = MODELS["mobilebert"]
    model = perturb_(cls(config)).eval()
    ids, mask = inputs(3, 12, seed=3)
    with torch.no_grad():
        want = model(ids, mask).logits
        quantized = quantize_model(model, "int8")
        got = quantized(ids, mask).logits
    assert any(type(m) is Int8Linear for m in quantized.modules())
    assert torch.isfinite(got).all()
    # int8 weights and activations: close, not equal; the scale is the size of the logits
    assert (got - want).abs().max() < 0.1 * want.abs().max()
