"""Helpers for the TensorFlow parity tests: tiny configs, perturbed reference checkpoints, masked comparisons."""

from __future__ import annotations

import numpy as np
import torch

from parity import batch_inputs, perturb_

VOCAB = 99


def bert_config(ref, **overrides):
    kwargs = dict(
        vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
        max_position_embeddings=64, type_vocab_size=2, num_labels=3, hidden_act="gelu",
    )
    return ref.BertConfig(**{**kwargs, **overrides})


def mobilebert_config(ref, **overrides):
    kwargs = dict(
        vocab_size=VOCAB, hidden_size=32, embedding_size=16, intra_bottleneck_size=16, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=24, num_feedforward_networks=2, max_position_embeddings=64,
        num_labels=3,
    )
    return ref.MobileBertConfig(**{**kwargs, **overrides})


def reference_checkpoint(ref, class_name: str, config, directory, seed: int = 0):
    """A reference PyTorch model with every weight re-drawn, saved to `directory`; returns it (eval mode)."""
    model = perturb_(getattr(ref, class_name)(config), seed=seed).eval()
    model.save_pretrained(directory)
    return model


def inputs(batch: int = 3, seq: int = 9, seed: int = 0, choices: int | None = None) -> dict[str, np.ndarray]:
    """A padded batch (row 0 full, the others padded on the right), int32; (B, choices, T) for multiple choice."""
    if choices:
        rows = [inputs(batch, seq, seed + c) for c in range(choices)]
        return {k: np.stack([r[k] for r in rows], axis=1) for k in rows[0]}
    ids, mask = batch_inputs(VOCAB, batch=batch, seq=seq, seed=seed)
    g = torch.Generator().manual_seed(seed + 1)
    types = (torch.rand(batch, seq, generator=g) > 0.5).long() * mask
    return {"input_ids": ids.numpy().astype(np.int32), "attention_mask": mask.numpy().astype(np.int32),
            "token_type_ids": types.numpy().astype(np.int32)}


def as_numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().float().numpy()
    return np.asarray(x, dtype=np.float32)


def max_diff(a, b, mask: np.ndarray | None = None) -> float:
    """Max |a - b| over the real (mask = 1) positions when a and b are (B, T, ...)."""
    a, b = as_numpy(a), as_numpy(b)
    assert a.shape == b.shape, f"shape {a.shape} != {b.shape}"
    if mask is not None and a.ndim >= 2 and a.shape[:2] == mask.shape:
        a, b = a[mask.astype(bool)], b[mask.astype(bool)]
    return float(np.abs(a - b).max()) if a.size else 0.0


def assert_close(a, b, mask=None, atol: float = 1e-5, what: str = "") -> float:
    d = max_diff(a, b, mask)
    assert d <= atol, f"{what}: max abs diff {d:.3g} > {atol}"
    return d


def to_torch(batch: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.asarray(v)).long() if np.asarray(v).dtype.kind in "iu" else torch.from_numpy(np.asarray(v))
            for k, v in batch.items()}


def labels_for(class_name: str, batch: dict[str, np.ndarray], config, seed: int = 0) -> dict[str, np.ndarray]:
    """The labels each head takes (reference TF argument names), -100 on padding where tokens are labelled."""
    rng = np.random.default_rng(seed)
    mask = batch["attention_mask"]
    b = mask.shape[0]
    tokens = lambda high: np.where(mask == 1, rng.integers(0, high, mask.shape), -100).astype(np.int32)  # noqa: E731
    if class_name.endswith("ForPreTraining"):
        return {"labels": tokens(config.vocab_size), "next_sentence_label": rng.integers(0, 2, b).astype(np.int32)}
    if class_name.endswith(("ForMaskedLM", "LMHeadModel")):
        return {"labels": tokens(config.vocab_size)}
    if class_name.endswith("ForNextSentencePrediction"):
        return {"next_sentence_label": rng.integers(0, 2, b).astype(np.int32)}
    if class_name.endswith("ForSequenceClassification"):
        return {"labels": rng.integers(0, config.num_labels, b).astype(np.int32)}
    if class_name.endswith("ForMultipleChoice"):
        return {"labels": rng.integers(0, mask.shape[1], b).astype(np.int32)}
    if class_name.endswith("ForTokenClassification"):
        return {"labels": tokens(config.num_labels)}
    if class_name.endswith("ForQuestionAnswering"):
        length = mask.sum(-1)
        return {"start_positions": (length // 3).astype(np.int32), "end_positions": (length // 2).astype(np.int32)}
    return {}


def torch_labels(labels: dict[str, np.ndarray], class_name: str) -> dict:
    out = {k: torch.from_numpy(v.astype(np.int64)) for k, v in labels.items()}
    if class_name.endswith("ForNextSentencePrediction"):  # the PyTorch classes call it `labels`
        out["labels"] = out.pop("next_sentence_label")
    return out


def check_parity(ref, ours, class_name: str, config, directory, atol: float, choices: int | None = None, extra=None):
    """The reference PyTorch class (weights perturbed) → checkpoint; the reference TF class (from_pt), our TF
    class and our PyTorch class load it; every output — logits, loss (value and shape), hidden states,
    attentions — must agree on real positions. Returns {output name: max diff against the reference TF}."""
    if class_name.endswith("QuestionAnswering"):
        config.num_labels = 2  # start and end
    reference_checkpoint(ref, class_name, config, directory)
    batch = inputs(choices=choices)
    labels = labels_for(class_name, batch, config)
    extra = extra or {}
    flags = dict(output_hidden_states=True, output_attentions=True)
    ref_tf = getattr(ref, "TF" + class_name).from_pretrained(directory, from_pt=True)
    expected = ref_tf({**batch, **labels, **extra}, **flags, training=False)
    mine = getattr(ours, "TF" + class_name).from_pretrained(directory)
    got = mine({**batch, **labels, **extra}, **flags, training=False)
    ours_pt = getattr(ours, class_name).from_pretrained(directory).eval()
    with torch.no_grad():
        pt_extra = {k: torch.from_numpy(np.asarray(v)) for k, v in extra.items()}
        torch_out = ours_pt(**to_torch(batch), **torch_labels(labels, class_name), **pt_extra, **flags)
    mask = batch["attention_mask"].reshape(-1, batch["attention_mask"].shape[-1])
    diffs = {}
    for key in expected.keys():
        if key == "past_key_values":
            continue
        want, have = expected[key], got[key]
        if isinstance(want, tuple):
            assert len(want) == len(have), key
            diffs[key] = max(assert_close(w, h, mask, atol, f"{class_name}.{key}") for w, h in zip(want, have))
            continue
        if key == "loss":
            assert tuple(have.shape) == tuple(want.shape), f"{class_name} loss shape {have.shape} != {want.shape}"
        diffs[key] = assert_close(want, have, mask if choices is None else batch["attention_mask"], atol, f"{class_name}.{key}")
        # the same checkpoint through our PyTorch class (its losses are means: compare the TF mean)
        theirs = torch_out[key]
        if key == "loss":
            have, theirs = np.mean(as_numpy(have)), theirs
        assert_close(theirs, have, mask if choices is None else batch["attention_mask"], atol, f"{class_name}.{key} vs PyTorch")
    return diffs
