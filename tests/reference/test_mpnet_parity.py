"""MPNet parity with transformers 4.57.6 on small random configs with perturbed weights.

Sequences are longer than 128 tokens so the far (log-spaced and capped) relative-position buckets are exercised;
batches are ragged (right and left padding). The reference runs MPNet in eager mode only; both our eager and our
SDPA paths are compared with it.
"""

from __future__ import annotations

import tempfile

import pytest
import torch
from safetensors import safe_open

import mintformers as mf

from parity import assert_close, batch_inputs, load_like, perturb_

transformers = pytest.importorskip("transformers")

SMALL = dict(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
    max_position_embeddings=200, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, layer_norm_eps=1e-5,
)
SEQ = 150  # > 128 = the buckets' max distance; positions reach 151 < max_position_embeddings
PAD = 1  # MPNet's padding id
CLASSES = [
    "MPNetModel", "MPNetForMaskedLM", "MPNetForSequenceClassification", "MPNetForMultipleChoice",
    "MPNetForTokenClassification", "MPNetForQuestionAnswering",
]


def make_pair(name: str, seed: int = 0, **config):
    """A perturbed reference model and ours with its weights (through save_pretrained → from_pretrained)."""
    ref = getattr(transformers, name)(transformers.MPNetConfig(**{**SMALL, **config})).eval()
    perturb_(ref, seed)
    return ref, load_like(ref, getattr(mf, name))


@pytest.fixture(scope="module")
def pairs():
    return {name: make_pair(name, seed=i) for i, name in enumerate(CLASSES)}


def inputs(name: str, seed: int = 0, left: bool = False, batch: int = 3, seq: int = SEQ):
    """Ragged padded ids; multiple choice gets (batch=2, choices=3, seq)."""
    ids, mask = batch_inputs(SMALL["vocab_size"], batch, seq, seed, pad_id=PAD, left=left)
    ids = ids.masked_fill((ids == PAD) & (mask == 1), 5)  # a real token never carries the pad id
    if name == "MPNetForMultipleChoice":
        return dict(input_ids=ids.repeat(2, 1, 1), attention_mask=mask.repeat(2, 1, 1))
    return dict(input_ids=ids, attention_mask=mask)


def token_mask(x: dict) -> torch.Tensor:
    """(rows, T) mask of the real tokens, with multiple-choice inputs flattened as the model does."""
    return x["attention_mask"].flatten(0, -2)


def main_output(name: str, out) -> str:
    return next(k for k in out.keys() if k not in ("loss", "hidden_states", "attentions"))


def compare(name: str, expected, got, x: dict, what: str) -> None:
    mask = token_mask(x)
    for key in [k for k in expected.keys() if k not in ("hidden_states", "attentions")]:
        a, b = expected[key], got[key]
        per_token = a.dim() >= 2 and a.shape[:2] == x["input_ids"].shape
        assert_close(a, b, x["attention_mask"] if per_token else None, what=f"{what} {key}")
    if expected.hidden_states is not None:
        assert len(got.hidden_states) == SMALL["num_hidden_layers"] + 1
        for a, b in zip(expected.hidden_states, got.hidden_states):
            assert_close(a, b, mask, what=f"{what} hidden states")
    if expected.attentions is not None:
        assert len(got.attentions) == SMALL["num_hidden_layers"]
        for a, b in zip(expected.attentions, got.attentions):
            # (B, H, Tq, Tk): compare the rows of real queries
            assert_close(a.transpose(1, 2), b.transpose(1, 2), mask, what=f"{what} attentions")


@pytest.mark.parametrize("left", [False, True], ids=["right-pad", "left-pad"])
@pytest.mark.parametrize("name", CLASSES)
def test_forward_matches_reference(pairs, name, left):
    ref, ours = pairs[name]
    x = inputs(name, left=left)
    with torch.no_grad():
        expected = ref(**x, output_hidden_states=True)
        for impl in ("eager", "sdpa"):
            ours.config.attn_implementation = impl
            compare(name, expected, ours(**x, output_hidden_states=True), x, impl)
        ours.config.attn_implementation = None
        # attention weights force eager
        compare(name, ref(**x, output_attentions=True), ours(**x, output_attentions=True), x, "output_attentions")


@pytest.mark.parametrize("name", ["MPNetModel", "MPNetForMaskedLM"])
def test_head_mask_matches_reference(pairs, name):
    ref, ours = pairs[name]
    x = inputs(name)
    for head_mask in (torch.tensor([1.0, 0.0, 1.0, 0.5]), torch.tensor([[1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.3, 1.0]])):
        with torch.no_grad():
            compare(name, ref(**x, head_mask=head_mask), ours(**x, head_mask=head_mask), x, "head_mask")


def test_no_attention_mask_matches_reference(pairs):
    """Without a mask the reference attends to padding; position ids still skip pad tokens."""
    ref, ours = pairs["MPNetModel"]
    ids = inputs("MPNetModel")["input_ids"]
    with torch.no_grad():
        assert_close(ref(ids).last_hidden_state, ours(ids).last_hidden_state)


def test_3d_attention_mask_matches_reference(pairs):
    ref, ours = pairs["MPNetModel"]
    x = inputs("MPNetModel", seq=40)
    mask3 = x["attention_mask"][:, None, :] * torch.tril(torch.ones(40, 40, dtype=torch.long))  # (B, Tq, Tk)
    with torch.no_grad():
        a = ref(x["input_ids"], attention_mask=mask3).last_hidden_state
        for impl in ("eager", "sdpa"):
            ours.config.attn_implementation = impl
            got = ours(x["input_ids"], attention_mask=mask3).last_hidden_state
            assert_close(a, got, x["attention_mask"], what=impl)
    ours.config.attn_implementation = None


def test_inputs_embeds_and_position_ids_match_reference(pairs):
    ref, ours = pairs["MPNetForMaskedLM"]
    x = inputs("MPNetForMaskedLM")
    embeds = ref.get_input_embeddings()(x["input_ids"])
    positions = torch.arange(3, SEQ + 3).expand(3, -1)
    with torch.no_grad():
        # inputs_embeds: sequential positions 2, 3, ... (padding cannot be seen)
        a = ref(inputs_embeds=embeds, attention_mask=x["attention_mask"]).logits
        assert_close(a, ours(inputs_embeds=embeds, attention_mask=x["attention_mask"]).logits, x["attention_mask"])
        a = ref(**x, position_ids=positions).logits
        assert_close(a, ours(**x, position_ids=positions).logits, x["attention_mask"])


def test_losses_match_reference(pairs):
    labels = {
        "MPNetForMaskedLM": lambda x: dict(labels=x["input_ids"].masked_fill(x["attention_mask"] == 0, -100)),
        "MPNetForTokenClassification": lambda x: dict(
            labels=torch.randint(0, 2, x["input_ids"].shape).masked_fill(x["attention_mask"] == 0, -100)
        ),
        "MPNetForQuestionAnswering": lambda x: dict(
            start_positions=torch.tensor([1, 400, 3]), end_positions=torch.tensor([4, 2, -5])  # out of range: ignored
        ),
        "MPNetForMultipleChoice": lambda x: dict(labels=torch.tensor([2, 0])),
    }
    for name, make in labels.items():
        ref, ours = pairs[name]
        x = inputs(name)
        y = make(x)
        with torch.no_grad():
            expected, got = ref(**x, **y), ours(**x, **y)
        compare(name, expected, got, x, name)
        assert got.loss is not None


@pytest.mark.parametrize(
    "num_labels,labels,problem_type",
    [
        (1, torch.tensor([0.5, -1.0, 2.0]), "regression"),
        (3, torch.tensor([0, 2, 1]), "single_label_classification"),
        (3, torch.tensor([[1.0, 0, 1], [0, 0, 1], [0, 1, 0]]), "multi_label_classification"),
    ],
)
def test_sequence_classification_problem_types(num_labels, labels, problem_type):
    ref, ours = make_pair("MPNetForSequenceClassification", num_labels=num_labels)
    x = inputs("MPNetForSequenceClassification", seq=40)
    with torch.no_grad():
        a, b = ref(**x, labels=labels), ours(**x, labels=labels)
    assert_close(a.logits, b.logits)
    assert_close(a.loss, b.loss)
    assert ours.config.problem_type == ref.config.problem_type == problem_type  # inferred, written into the config


@pytest.mark.parametrize("name", CLASSES)
def test_return_dict_false_tuples_match_reference(pairs, name):
    ref, ours = pairs[name]
    x = inputs(name, seq=40)
    extra = {"MPNetForSequenceClassification": dict(labels=torch.tensor([0, 1, 1]))}.get(name, {})
    with torch.no_grad():
        a = ref(**x, **extra, return_dict=False, output_hidden_states=True, output_attentions=True)
        b = ours(**x, **extra, return_dict=False, output_hidden_states=True, output_attentions=True)
    assert type(b) is tuple and len(a) == len(b)
    mask = token_mask(x)
    for u, v in zip(a, b):
        if u is None:  # MPNetModel keeps pooler_output=None in its tuple
            assert v is None
        elif isinstance(u, tuple):  # hidden states (B, T, H) or attentions (B, H, T, T)
            assert len(u) == len(v)
            for s, t in zip(u, v):
                assert_close(s if s.dim() == 3 else s.transpose(1, 2), t if t.dim() == 3 else t.transpose(1, 2), mask)
        else:
            per_token = u.dim() >= 2 and u.shape[:2] == mask.shape
            assert_close(u, v, mask if per_token else None)


def saved_keys(directory: str) -> set[str]:
    with safe_open(f"{directory}/model.safetensors", "pt") as f:
        return set(f.keys())


@pytest.mark.parametrize("name", CLASSES)
def test_save_pretrained_round_trips_through_reference(pairs, name):
    ref, ours = pairs[name]
    x = inputs(name, seq=40)
    with tempfile.TemporaryDirectory() as ours_dir, tempfile.TemporaryDirectory() as ref_dir:
        ours.save_pretrained(ours_dir)
        ref.save_pretrained(ref_dir)
        # the same tensors under the same names (MaskedLM: lm_head.bias kept, lm_head.decoder.* dropped)
        assert saved_keys(ours_dir) == saved_keys(ref_dir)
        back = getattr(transformers, name).from_pretrained(ours_dir).eval()
    with torch.no_grad():
        compare(name, ref(**x), back(**x), x, "reference loading ours")
    if name == "MPNetForMaskedLM":
        assert back.lm_head.decoder.weight.data_ptr() == back.mpnet.embeddings.word_embeddings.weight.data_ptr()


def test_base_checkpoint_loads_into_heads_both_ways():
    """A base-model checkpoint (no `mpnet.` prefix) feeds every head, ours and the reference's alike."""
    ref, ours = make_pair("MPNetModel")
    x = inputs("MPNetModel", seq=40)
    with tempfile.TemporaryDirectory() as d:
        ours.save_pretrained(d)
        ref_head = transformers.MPNetForTokenClassification.from_pretrained(d).eval()
        our_head = mf.MPNetForTokenClassification.from_pretrained(d)
    with torch.no_grad():
        our_head.classifier.load_state_dict(ref_head.classifier.state_dict())
        assert_close(ref_head(**x).logits, our_head(**x).logits, x["attention_mask"])
