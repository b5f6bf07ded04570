"""ErnieM parity with transformers 4.57.6 (deprecated/ernie_m) on small random configs with perturbed weights."""

from __future__ import annotations

import tempfile

import pytest
import torch

import mintformers as mf
from mintformers.layers.cache import DynamicCache

from parity import assert_close, batch_inputs, load_like, perturb_

transformers = pytest.importorskip("transformers")

PAD = 1
SMALL = dict(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
    max_position_embeddings=24, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, pad_token_id=PAD,
)
HEADS = [
    "ErnieMModel", "ErnieMForSequenceClassification", "ErnieMForMultipleChoice", "ErnieMForTokenClassification",
    "ErnieMForQuestionAnswering", "ErnieMForInformationExtraction",
]


def ref_and_ours(name: str, seed: int = 0, via_disk: bool = True, **config):
    ref = getattr(transformers, name)(transformers.ErnieMConfig(**{**SMALL, **config})).eval()
    perturb_(ref, seed)
    return ref, load_like(ref, getattr(mf, name), via_disk=via_disk)


@pytest.fixture(scope="module")
def pair():
    """Read-only (reference, ours) per class, built once for the module."""
    cache = {}

    def get(name: str):
        if name not in cache:
            cache[name] = ref_and_ours(name)
        return cache[name]

    return get


def inputs(seed=0, batch=3, seq=17):
    """Right-padded ids whose real tokens never equal the pad id, so the mask derived from them equals `mask`."""
    ids, mask = batch_inputs(SMALL["vocab_size"], batch, seq, seed, pad_id=PAD)
    return ids.masked_fill((ids == PAD) & (mask == 1), PAD + 1), mask


def as_choices(t: torch.Tensor) -> torch.Tensor:
    """(3, T) → (2, 3, T): two questions with the same three choices."""
    return t[None].repeat(2, 1, 1)


def compare(expected, got, mask, what=""):
    """Every tensor of two outputs (dicts or tuples); per-token tensors on real positions only."""
    a = expected.to_tuple() if hasattr(expected, "to_tuple") else expected
    b = got.to_tuple() if hasattr(got, "to_tuple") else got
    assert len(a) == len(b), f"{what}: {len(a)} outputs != {len(b)}"
    for u, v in zip(a, b):
        if isinstance(u, tuple):
            compare(u, v, mask, what)
        elif u is None:
            assert v is None, what
        elif u.dim() == 4:  # attentions (B, H, Tq, Tk): the rows of real queries
            assert_close(u.transpose(1, 2), v.transpose(1, 2), mask, what=f"{what} attentions")
        else:
            per_token = u.dim() >= 2 and u.shape[:2] == mask.shape
            assert_close(u, v, mask if per_token else None, what=what)


def test_state_dict_keys_match_reference(pair):
    for name in HEADS:
        ref, ours = pair(name)
        expected = {k: tuple(v.shape) for k, v in ref.state_dict().items()}
        assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == expected, name


@pytest.mark.parametrize("mask_from", ["attention_mask", "pad_ids"])
@pytest.mark.parametrize("name", [h for h in HEADS if h != "ErnieMForMultipleChoice"])
def test_forward_matches_reference(pair, name, mask_from):
    ref, ours = pair(name)
    ids, mask = inputs()
    x = dict(input_ids=ids, attention_mask=mask) if mask_from == "attention_mask" else dict(input_ids=ids)
    with torch.no_grad():
        expected = ref(**x, output_hidden_states=True, output_attentions=True)
        for impl in ("eager", "sdpa"):
            ours.config.attn_implementation = impl
            got = ours(**x, output_hidden_states=True)
            compare(expected.to_tuple()[:1], got.to_tuple()[:1], mask, f"{name} {impl}")
            for a, b in zip(expected.hidden_states, got.hidden_states, strict=True):
                assert_close(a, b, mask, what=f"{name} hidden states {impl}")
        ours.config.attn_implementation = None
        compare(expected, ours(**x, output_hidden_states=True, output_attentions=True), mask, name)


def test_multiple_choice_matches_reference(pair):
    ref, ours = pair("ErnieMForMultipleChoice")
    ids, mask = inputs()
    labels = torch.tensor([2, 0])
    for x in (dict(input_ids=as_choices(ids), attention_mask=as_choices(mask)), dict(input_ids=as_choices(ids))):
        with torch.no_grad():
            a = ref(**x, labels=labels, output_hidden_states=True, output_attentions=True)
            b = ours(**x, labels=labels, output_hidden_states=True, output_attentions=True)
        compare(a, b, as_choices(mask).flatten(0, 1))


def test_position_ids_match_reference_and_are_not_modified(pair):
    ids, mask = inputs()
    position_ids = torch.arange(17).flip(0)[None].repeat(3, 1)  # highest allowed id: 16 + 2 < 24 rows
    before = position_ids.clone()
    for name, x in (
        ("ErnieMModel", dict(input_ids=ids, attention_mask=mask, position_ids=position_ids)),
        ("ErnieMForMultipleChoice", dict(input_ids=as_choices(ids), position_ids=as_choices(position_ids))),
    ):
        ref, ours = pair(name)
        with torch.no_grad():
            got = ours(**x)
            assert torch.equal(x["position_ids"], as_choices(before) if name.endswith("Choice") else before)
            expected = ref(**{**x, "position_ids": x["position_ids"].clone()})  # the reference adds 2 in place
        compare(expected.to_tuple()[:1], got.to_tuple()[:1], mask, name)


def test_inputs_embeds_and_head_mask_match_reference(pair):
    ref, ours = pair("ErnieMModel")
    ids, mask = inputs()
    embeds = ref.embeddings.word_embeddings(ids).detach()
    with torch.no_grad():
        a = ref(inputs_embeds=embeds, attention_mask=mask)  # the reference needs a mask with inputs_embeds
        assert_close(a.last_hidden_state, ours(inputs_embeds=embeds, attention_mask=mask).last_hidden_state, mask)
        for head_mask in (torch.tensor([1.0, 0.0, 1.0, 0.5]), torch.tensor([[1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.5, 1.0]])):
            a = ref(ids, head_mask=head_mask, output_attentions=True)
            b = ours(ids, head_mask=head_mask, output_attentions=True)
            compare(a, b, mask, "head_mask")


@pytest.mark.parametrize(
    "num_labels,labels",
    [
        (1, torch.tensor([0.5, -1.0, 2.0])),  # regression
        (3, torch.tensor([0, 2, 1])),  # single-label
        (3, torch.tensor([[1.0, 0, 1], [0, 0, 1], [0, 1, 0]])),  # multi-label
    ],
)
def test_sequence_classification_problem_types(num_labels, labels):
    ref, ours = ref_and_ours("ErnieMForSequenceClassification", via_disk=False, num_labels=num_labels)
    ids, mask = inputs()
    with torch.no_grad():
        a, b = ref(ids, mask, labels=labels), ours(ids, mask, labels=labels)
    compare(a, b, mask)
    assert ours.config.problem_type == ref.config.problem_type  # inferred type is written into the config


def test_losses_match_reference(pair):
    ids, mask = inputs()
    g = torch.Generator().manual_seed(1)
    multi_hot = (torch.rand(ids.shape, generator=g) < 0.2).float()  # 1s on padded positions too: they count
    cases = {
        "ErnieMForTokenClassification": dict(labels=torch.randint(0, 2, ids.shape, generator=g).masked_fill(mask == 0, -100)),
        "ErnieMForQuestionAnswering": dict(start_positions=torch.tensor([1, 40, 3]), end_positions=torch.tensor([4, 2, -5])),
        "ErnieMForInformationExtraction": dict(start_positions=multi_hot, end_positions=multi_hot.roll(1, dims=1)),
    }
    for name, labels in cases.items():
        ref, ours = pair(name)
        with torch.no_grad():
            compare(ref(ids, mask, **labels), ours(ids, mask, **labels), mask, name)


def test_return_dict_false_tuples_match_reference(pair):
    ids, mask = inputs()
    flags = dict(output_hidden_states=True, output_attentions=True, return_dict=False)
    with torch.no_grad():
        for name in ("ErnieMModel", "ErnieMForSequenceClassification", "ErnieMForTokenClassification", "ErnieMForQuestionAnswering"):
            ref, ours = pair(name)
            a, b = ref(input_ids=ids, **flags), ours(input_ids=ids, **flags)
            assert type(b) is tuple
            compare(a, b, mask, name)
        ref, ours = pair("ErnieMForMultipleChoice")
        a = ref(as_choices(ids), labels=torch.tensor([1, 2]), **flags)
        compare(a, ours(as_choices(ids), labels=torch.tensor([1, 2]), **flags), as_choices(mask).flatten(0, 1))
        # the reference raises on return_dict=False here (it reads .hidden_states off a tuple): compare with the
        # tuple its ModelOutput stands for
        ref, ours = pair("ErnieMForInformationExtraction")
        targets = dict(start_positions=mask.float(), end_positions=1.0 - mask.float())
        a = ref(ids, **targets, output_hidden_states=True).to_tuple()
        compare(a, ours(ids, **targets, output_hidden_states=True, return_dict=False), mask, "IE")
        # without a pooler the reference still returns a (sequence, None, ...) tuple
        ref = transformers.ErnieMModel(transformers.ErnieMConfig(**SMALL), add_pooling_layer=False).eval()
        ours = load_like(ref, mf.ErnieMModel, via_disk=False, add_pooling_layer=False)
        a, b = ref(ids, return_dict=False), ours(ids, return_dict=False)
        assert len(b) == 2 and b[1] is None
        compare(a, b, mask)


def test_positional_argument_order_matches_reference(pair):
    """Positional inputs follow the reference's order, which differs between the base model and the heads."""
    ids, mask = inputs()
    pos = torch.arange(17)[None].repeat(3, 1)
    cases = {
        # forward(input_ids, position_ids, attention_mask, ...)
        "ErnieMModel": (ids, pos, mask),
        # (input_ids, attention_mask, position_ids, head_mask, inputs_embeds, past_key_values, use_cache,
        #  output_hidden_states, output_attentions, return_dict, labels)
        "ErnieMForSequenceClassification": (ids, mask, pos, None, None, None, None, True, None, True, torch.tensor([0, 1, 1])),
        "ErnieMForTokenClassification": (ids, mask, pos, None, None, None, True, None, True, torch.zeros_like(ids)),
        # (input_ids, attention_mask, position_ids, head_mask, inputs_embeds, labels, ...)
        "ErnieMForMultipleChoice": (as_choices(ids), as_choices(mask), as_choices(pos), None, None, torch.tensor([1, 0])),
        # (..., inputs_embeds, start_positions, end_positions, output_attentions, output_hidden_states)
        "ErnieMForQuestionAnswering": (ids, mask, pos, None, None, torch.tensor([1, 2, 3]), torch.tensor([4, 5, 6]), True),
        "ErnieMForInformationExtraction": (ids, mask, pos, None, None, mask.float(), mask.float(), None, True),
    }
    for name, args in cases.items():
        ref, ours = pair(name)
        with torch.no_grad():
            a = ref(*[a.clone() if isinstance(a, torch.Tensor) else a for a in args])
            b = ours(*args)
        assert list(a.keys()) == list(b.keys()), name
        compare(a, b, as_choices(mask).flatten(0, 1) if name.endswith("Choice") else mask, name)


def test_past_key_values_prefix_matches_reference(pair):
    """The reference prepends a Cache's keys/values (positions continue after them) and never updates it."""
    ref, ours = pair("ErnieMModel")
    ids, mask = inputs()
    g = torch.Generator().manual_seed(2)
    layers = [(torch.randn(3, 4, 5, 8, generator=g), torch.randn(3, 4, 5, 8, generator=g)) for _ in range(2)]
    ref_cache, our_cache = transformers.DynamicCache(), DynamicCache()
    for i, (k, v) in enumerate(layers):
        ref_cache.update(k, v, i)
        our_cache.update(k, v, i)
    full_mask = torch.cat([torch.ones(3, 5, dtype=mask.dtype), mask], dim=1)  # (B, P+T)
    with torch.no_grad():
        expected = ref(ids, attention_mask=full_mask, past_key_values=ref_cache, use_cache=True)
        for impl in ("eager", "sdpa"):
            ours.config.attn_implementation = impl
            for past in (our_cache, tuple(layers)):
                got = ours(ids, attention_mask=full_mask, past_key_values=past, use_cache=True)
                compare(expected, got, mask, f"prefix {impl}")
                # without a mask (the reference crashes there) the prefix stays visible and pads are masked
                compare(expected, ours(ids, past_key_values=past), mask, f"prefix, mask from pad ids {impl}")
        ours.config.attn_implementation = None
    assert our_cache.get_seq_length() == 5 and "past_key_values" not in got.keys()


@pytest.mark.parametrize("name", HEADS)
def test_saved_by_us_loads_in_reference(tmp_path, name):
    ours = getattr(mf, name)(mf.ErnieMConfig(**SMALL)).eval()
    perturb_(ours, seed=3)
    ours.save_pretrained(tmp_path)
    ref, info = getattr(transformers, name).from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    ids, mask = inputs()
    if name.endswith("Choice"):
        ids, mask = as_choices(ids), as_choices(mask)
    with torch.no_grad():
        compare(ref.eval()(ids, attention_mask=mask), ours(ids, attention_mask=mask), mask.flatten(0, -2))


def test_pruned_heads_match_reference():
    ref, ours = ref_and_ours("ErnieMModel", via_disk=False)
    heads = {0: [1], 1: [0, 2]}
    ref.prune_heads(heads)
    ours.prune_heads(heads)
    ids, mask = inputs()
    with torch.no_grad():
        compare(ref(ids, output_attentions=True), ours(ids, output_attentions=True), mask)
        with tempfile.TemporaryDirectory() as d:  # pruned_heads travel in config.json, both ways
            ours.save_pretrained(d)
            again = transformers.ErnieMModel.from_pretrained(d).eval()
        compare(again(ids), ours(ids), mask)


def test_config_matches_reference(tmp_path):
    ref, ours = transformers.ErnieMConfig(), mf.ErnieMConfig()
    fields = [
        "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "hidden_act",
        "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings", "initializer_range",
        "pad_token_id", "layer_norm_eps", "classifier_dropout", "act_dropout", "num_labels", "model_type",
    ]
    assert {f: getattr(ours, f) for f in fields} == {f: getattr(ref, f) for f in fields}
    # a reference config.json read back field for field, and the aliases dropout / num_classes
    ref = transformers.ErnieMConfig(classifier_dropout=0.3, num_classes=5, act_dropout=None, **SMALL)
    ref.save_pretrained(tmp_path)
    ours = mf.ErnieMConfig.from_pretrained(tmp_path)
    assert {f: getattr(ours, f) for f in fields} == {f: getattr(ref, f) for f in fields}
    assert (ours.dropout, ours.num_classes) == (ref.dropout, ref.num_classes) == (0.3, 5)
    # the reference's constructor drops an aliased `dropout=` (its own classifier_dropout=None overwrites it)
    assert transformers.ErnieMConfig(dropout=0.3).classifier_dropout is None
    assert mf.ErnieMConfig(dropout=0.3).classifier_dropout == 0.3
