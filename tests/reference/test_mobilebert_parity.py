"""MobileBERT against the reference (transformers 4.57.6): every class, every architecture switch, both attention
implementations, losses, tuples, checkpoints both ways, resizing, pruning, half precision.

Weights are re-drawn (`perturb_`) so every parameter matters. Tolerance: 1e-4, the one REFERENCE.md allows for
MobileBERT (NoNorm activations are large: hidden states reach ~20 here, and fp32 reordering costs ~1e-5).
"""

from __future__ import annotations

import functools
import json

import pytest
import torch
from safetensors.torch import load_file

import mintformers

from parity import batch_inputs, load_like, max_diff, perturb_

ATOL = 1e-4
TINY = dict(
    vocab_size=99, hidden_size=64, embedding_size=32, intra_bottleneck_size=32, intermediate_size=48,
    num_hidden_layers=2, num_attention_heads=4, num_feedforward_networks=2, attention_probs_dropout_prob=0.0,
)
# every architecture switch, each on its own
VARIANTS = {
    "default": {},
    "layer_norm": dict(normalization_type="layer_norm"),
    "bottleneck_attention": dict(use_bottleneck_attention=True),
    "bottleneck_attention_unshared": dict(use_bottleneck_attention=True, key_query_shared_bottleneck=False),
    "unshared_wide_query": dict(key_query_shared_bottleneck=False, intra_bottleneck_size=64),
    "no_bottleneck": dict(use_bottleneck=False),
    "no_trigram": dict(trigram_input=False),
    "no_trigram_no_projection": dict(trigram_input=False, embedding_size=64),
    "no_classifier_activation": dict(classifier_activation=False),
    "one_ffn": dict(num_feedforward_networks=1),
    "three_ffns_gelu": dict(num_feedforward_networks=3, hidden_act="gelu"),
}
CLASSES = [
    "MobileBertModel", "MobileBertForPreTraining", "MobileBertForMaskedLM", "MobileBertForNextSentencePrediction",
    "MobileBertForSequenceClassification", "MobileBertForMultipleChoice", "MobileBertForTokenClassification",
    "MobileBertForQuestionAnswering",
]


@pytest.fixture(scope="module")
def hf():
    import transformers

    transformers.logging.set_verbosity_error()
    return transformers


def make_pair(hf, cls: str, seed: int = 0, **overrides):
    """A perturbed reference model and ours loaded from its save_pretrained output."""
    torch.manual_seed(seed)
    ref = perturb_(getattr(hf, cls)(hf.MobileBertConfig(**{**TINY, **overrides})).eval(), seed)
    return ref, load_like(ref, getattr(mintformers, cls))


@functools.cache
def _cached_pair(cls: str, variant: str):
    import transformers

    transformers.logging.set_verbosity_error()
    return make_pair(transformers, cls, **VARIANTS[variant])


def compare(ours, ref, mask: torch.Tensor | None, what: str = "output") -> None:
    """Outputs (tensors, tuples, None) close on real positions: (B, T, …) tensors on mask==1 rows, attention
    probabilities (B, H, T, T) on real query rows."""
    if isinstance(ref, (tuple, list)):
        assert isinstance(ours, (tuple, list)) and len(ours) == len(ref), f"{what}: {len(ours)} items vs {len(ref)}"
        for i, (o, r) in enumerate(zip(ours, ref)):
            compare(o, r, mask, f"{what}[{i}]")
        return
    if ref is None:
        assert ours is None, f"{what}: expected None"
        return
    assert ours.dtype == ref.dtype and ours.shape == ref.shape, f"{what}: {ours.dtype}{tuple(ours.shape)} vs {ref.dtype}{tuple(ref.shape)}"
    if mask is not None and ref.dim() == 4 and ref.shape[2] == mask.shape[1]:  # attention probabilities
        d = max_diff(ours.transpose(1, 2), ref.transpose(1, 2), mask)
    elif mask is not None and ref.dim() >= 2 and tuple(ref.shape[:2]) == tuple(mask.shape):
        d = max_diff(ours, ref, mask)
    else:
        d = max_diff(ours, ref)
    assert d <= ATOL, f"{what}: max abs diff {d:.3g} > {ATOL}"


# ---- the architecture switches, through the pretraining model (base + pooler + MLM + NSP) -------------------------


@pytest.mark.parametrize("impl", ["sdpa", "eager"])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_pretraining_model_variants(hf, variant, impl):
    ref, ours = _cached_pair("MobileBertForPreTraining", variant)
    ours.config.attn_implementation = impl
    ids, mask = batch_inputs(99)
    kwargs = dict(attention_mask=mask, output_hidden_states=True, output_attentions=impl == "eager")
    with torch.no_grad():
        r, o = ref(ids, **kwargs), ours(ids, **kwargs)
    assert list(o.keys()) == list(r.keys())
    compare(o.to_tuple(), r.to_tuple(), mask, variant)


# ---- every class: losses and return_dict=False tuples -------------------------------------------------------------


def _inputs_and_labels(cls: str, num_labels: int):
    ids, mask = batch_inputs(99)
    labels: dict = {}
    if cls == "MobileBertForPreTraining":
        labels = dict(labels=ids.masked_fill(mask == 0, -100), next_sentence_label=torch.tensor([0, 1, 1]))
    elif cls == "MobileBertForMaskedLM":
        labels = dict(labels=ids.masked_fill(mask == 0, -100))
    elif cls == "MobileBertForNextSentencePrediction":
        labels = dict(labels=torch.tensor([1, 0, 1]))
    elif cls == "MobileBertForTokenClassification":
        labels = dict(labels=(ids % num_labels).masked_fill(mask == 0, -100))
    elif cls == "MobileBertForQuestionAnswering":
        labels = dict(start_positions=torch.tensor([0, 3, 40]), end_positions=torch.tensor([[2], [5], [9]]))
    elif cls == "MobileBertForSequenceClassification":
        labels = dict(labels=torch.tensor([0, 2, 1]))
    elif cls == "MobileBertForMultipleChoice":
        # (B=1, choices=3, T): the three padded rows are the choices
        labels = dict(labels=torch.tensor([2]))
        return dict(input_ids=ids[None], attention_mask=mask[None], token_type_ids=(ids[None] > 50).long()), labels, mask
    return dict(input_ids=ids, attention_mask=mask), labels, mask


@pytest.mark.parametrize("variant", ["default", "no_classifier_activation"])
@pytest.mark.parametrize("cls", CLASSES)
def test_every_class_with_labels_and_tuples(hf, cls, variant):
    num_labels = 2 if cls == "MobileBertForQuestionAnswering" else 3  # QA: start and end
    ref, ours = make_pair(hf, cls, num_labels=num_labels, **VARIANTS[variant])
    inputs, labels, mask = _inputs_and_labels(cls, num_labels)
    with torch.no_grad():
        r, o = ref(**inputs, **labels), ours(**inputs, **labels)
        assert list(o.keys()) == list(r.keys())
        compare(o.to_tuple(), r.to_tuple(), mask, cls)
        flags = dict(output_hidden_states=True, output_attentions=True, return_dict=False)
        r, o = ref(**inputs, **labels, **flags), ours(**inputs, **labels, **flags)
    assert isinstance(o, tuple)
    compare(o, r, mask, f"{cls} tuple")


@pytest.mark.parametrize(
    "num_labels, labels",
    [
        (1, torch.tensor([0.5, -1.0, 2.0])),  # regression
        (3, torch.tensor([0, 2, 1])),  # single label
        (3, torch.tensor([[1.0, 0, 1], [0, 0, 0], [0, 1, 0]])),  # multi label
    ],
    ids=["regression", "single_label", "multi_label"],
)
def test_sequence_classification_losses(hf, num_labels, labels):
    ref, ours = make_pair(hf, "MobileBertForSequenceClassification", num_labels=num_labels)
    ids, mask = batch_inputs(99)
    with torch.no_grad():
        r, o = ref(ids, attention_mask=mask, labels=labels), ours(ids, attention_mask=mask, labels=labels)
    compare((o.loss, o.logits), (r.loss, r.logits), None, "seq cls")
    assert ours.config.problem_type == ref.config.problem_type


# ---- other inputs and outputs -------------------------------------------------------------------------------------


@pytest.mark.parametrize("head_mask_shape", [(4,), (2, 4)])
def test_head_mask_and_attentions(hf, head_mask_shape):
    ref, ours = _cached_pair("MobileBertModel", "default")
    ids, mask = batch_inputs(99)
    head_mask = torch.ones(head_mask_shape)
    head_mask[..., 1] = 0.0
    head_mask[..., 3] = 0.5
    kwargs = dict(attention_mask=mask, head_mask=head_mask, output_attentions=True, output_hidden_states=True)
    with torch.no_grad():
        compare(ours(ids, **kwargs).to_tuple(), ref(ids, **kwargs).to_tuple(), mask, "head mask")


def test_embeds_segments_positions_and_3d_mask(hf):
    ref, ours = _cached_pair("MobileBertModel", "default")
    ids, mask = batch_inputs(99)
    g = torch.Generator().manual_seed(1)
    kwargs = dict(
        token_type_ids=torch.randint(0, 2, ids.shape, generator=g),
        position_ids=torch.randint(0, 512, ids.shape, generator=g),
        attention_mask=mask[:, None, :] * torch.ones(3, 17, 1, dtype=torch.long),  # (B, T, T)
    )
    embeds = ref.embeddings.word_embeddings(ids).detach() + 0.1
    for impl in ("sdpa", "eager"):
        ours.config.attn_implementation = impl
        with torch.no_grad():
            compare(ours(ids, **kwargs).to_tuple(), ref(ids, **kwargs).to_tuple(), mask, f"ids {impl}")
            compare(ours(inputs_embeds=embeds, **kwargs).to_tuple(), ref(inputs_embeds=embeds, **kwargs).to_tuple(), mask, "embeds")
    ours.config.attn_implementation = "sdpa"


def test_without_attention_mask(hf):
    ref, ours = _cached_pair("MobileBertForPreTraining", "default")
    ids, _ = batch_inputs(99)
    with torch.no_grad():
        compare(ours(ids).to_tuple(), ref(ids).to_tuple(), None, "no mask")


# ---- checkpoints both ways ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ["MobileBertModel", "MobileBertForPreTraining", "MobileBertForMaskedLM", "MobileBertForQuestionAnswering"])
def test_checkpoints_we_write_are_the_references(hf, cls, tmp_path):
    ref, ours = make_pair(hf, cls, **VARIANTS["bottleneck_attention"])
    ref.save_pretrained(tmp_path / "ref")
    ours.save_pretrained(tmp_path / "ours")
    ref_state, our_state = load_file(tmp_path / "ref" / "model.safetensors"), load_file(tmp_path / "ours" / "model.safetensors")
    assert sorted(our_state) == sorted(ref_state)
    assert all(torch.equal(our_state[k], ref_state[k]) for k in ref_state)
    ref_config = json.loads((tmp_path / "ref" / "config.json").read_text())
    our_config = json.loads((tmp_path / "ours" / "config.json").read_text())
    for key in set(ref_config) - {"transformers_version"}:
        assert our_config[key] == ref_config[key], key

    again, info = getattr(hf, cls).from_pretrained(tmp_path / "ours", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    ids, mask = batch_inputs(99)
    with torch.no_grad():
        for r, a in zip(ref(ids, attention_mask=mask).to_tuple(), again.eval()(ids, attention_mask=mask).to_tuple()):
            assert torch.equal(r, a)  # the same weights in the same code


def test_config_round_trip_with_the_reference(hf):
    ref_config = hf.MobileBertConfig(**{**TINY, **VARIANTS["no_bottleneck"]}, num_labels=4, classifier_dropout=0.2)
    ours = mintformers.MobileBertConfig.from_dict(ref_config.to_diff_dict())
    back = hf.MobileBertConfig.from_dict(ours.to_dict())
    fields = [f for f in mintformers.MobileBertConfig.field_names() if hasattr(ref_config, f)] + ["true_hidden_size"]
    assert len(fields) > 30
    for key in fields:
        assert getattr(ours, key) == getattr(ref_config, key) == getattr(back, key), key
    assert ours.num_labels == back.num_labels == 4


# ---- resizing, pruning --------------------------------------------------------------------------------------------


def test_resize_token_embeddings_like_the_reference(hf, tmp_path):
    ref, ours = make_pair(hf, "MobileBertForPreTraining")
    ref.resize_token_embeddings(120)
    ours.resize_token_embeddings(120)
    ids, mask = batch_inputs(99)
    with torch.no_grad():
        r, o = ref(ids, attention_mask=mask), ours(ids, attention_mask=mask)
    assert o.prediction_logits.shape == r.prediction_logits.shape == (3, 17, 120)
    # the first 99 tokens keep their logits; the new ones are initialised differently (the reference samples them)
    compare(o.prediction_logits[..., :99], r.prediction_logits[..., :99], mask, "kept tokens")
    ours.save_pretrained(tmp_path)
    again = hf.MobileBertForPreTraining.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        compare(o.to_tuple(), again(ids, attention_mask=mask).to_tuple(), mask, "resized, reloaded")


def test_pruned_heads_like_the_reference(hf, tmp_path):
    ref, ours = make_pair(hf, "MobileBertForMaskedLM")
    heads = {0: [1, 3], 1: [0]}
    ref.prune_heads(heads)
    ours.prune_heads(heads)
    ids, mask = batch_inputs(99)
    with torch.no_grad():
        compare(ours(ids, attention_mask=mask).to_tuple(), ref(ids, attention_mask=mask).to_tuple(), mask, "pruned")
    ours.save_pretrained(tmp_path)  # config.pruned_heads makes the reference prune at construction
    again = hf.MobileBertForMaskedLM.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        compare(ours(ids, attention_mask=mask).logits, again(ids, attention_mask=mask).logits, mask, "pruned, reloaded")


# ---- half precision -----------------------------------------------------------------------------------------------


def test_fp16_where_the_reference_overflows(hf):
    # 7 NoNorm layers with perturbed weights: activations reach ~1e3 (fp16 holds up to 65504), but the reference's
    # fp16 q·kᵀ overflows to inf and its softmax returns NaN. Ours scores in fp32 (eager) or via SDPA (fp32 sums).
    ref, ours = make_pair(hf, "MobileBertForMaskedLM", num_hidden_layers=7)
    ids, mask = batch_inputs(99)
    with torch.no_grad():
        expected = ours(ids, attention_mask=mask).logits
        assert not torch.isfinite(ref.half()(ids, attention_mask=mask).logits).all()
        for dtype in (torch.float16, torch.bfloat16):
            ours.to(dtype)
            for impl in ("sdpa", "eager"):
                ours.config.attn_implementation = impl
                logits = ours(ids, attention_mask=mask).logits
                assert logits.dtype == dtype and torch.isfinite(logits).all(), (dtype, impl)
                # this perturbed network amplifies rounding; still clearly the same function
                cos = torch.nn.functional.cosine_similarity(logits.float()[mask.bool()], expected[mask.bool()], dim=-1)
                assert cos.mean() > 0.9, (dtype, impl, cos.mean())


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_close_to_fp32(hf, dtype):
    ref, ours = make_pair(hf, "MobileBertForPreTraining")
    ids, mask = batch_inputs(99)
    with torch.no_grad():
        expected = ref(ids, attention_mask=mask).prediction_logits
        logits = ours.to(dtype)(ids, attention_mask=mask).prediction_logits.float()
    cos = torch.nn.functional.cosine_similarity(logits[mask.bool()], expected[mask.bool()], dim=-1)
    assert cos.min() > 0.99, cos.min()
