"""The model base: loading (and its failures), saving, tying, resizing, pruning, checkpointing, bad input."""

from __future__ import annotations

import json
import os
import pickle

import pytest
import torch

import mintformers as mf
from mintformers import BertConfig, BertForMaskedLM, BertForSequenceClassification, BertModel, CheckpointError
from mintformers.loading import save_state_dict

from parity import assert_close, batch_inputs, perturb_

SMALL = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
             max_position_embeddings=40, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = perturb_(BertForMaskedLM(BertConfig(**SMALL))).eval()
    model.save_pretrained(tmp_path)
    return model, tmp_path


def test_load_equals_saved_and_ties(saved):
    model, path = saved
    loaded, info = BertForMaskedLM.from_pretrained(path, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    ids, mask = batch_inputs(99)
    with torch.no_grad():
        assert torch.equal(model(ids, mask).logits, loaded(ids, mask).logits)
    assert loaded.cls.predictions.decoder.weight is loaded.bert.embeddings.word_embeddings.weight
    assert not loaded.training


def test_base_checkpoint_into_head_and_back(saved, tmp_path_factory, caplog):
    model, path = saved
    base = BertModel.from_pretrained(path)  # strips the "bert." prefix, ignores the LM head (reported)
    assert torch.equal(base.embeddings.word_embeddings.weight, model.bert.embeddings.word_embeddings.weight)
    base_dir = tmp_path_factory.mktemp("base")
    base.save_pretrained(base_dir)
    head, info = BertForSequenceClassification.from_pretrained(base_dir, num_labels=3, output_loading_info=True)
    assert sorted(info["missing_keys"]) == ["classifier.bias", "classifier.weight"]
    assert "newly initialised" in caplog.text
    assert torch.equal(head.bert.encoder.layer[1].output.dense.weight, model.bert.encoder.layer[1].output.dense.weight)


def test_stray_position_ids_buffer_is_ignored(saved, caplog):
    model, path = saved
    from safetensors.torch import load_file, save_file

    state = load_file(path / "model.safetensors")
    state["bert.embeddings.position_ids"] = torch.arange(40)[None]
    save_file(state, path / "model.safetensors")
    _, info = BertForMaskedLM.from_pretrained(path, output_loading_info=True)
    assert info["unexpected_keys"] == []


def test_pytorch_bin_and_sharded_checkpoints(saved, tmp_path_factory):
    model, _ = saved
    ids, mask = batch_inputs(99)
    expected = model(ids, mask).logits
    bin_dir = tmp_path_factory.mktemp("bin")
    model.save_pretrained(bin_dir, safe_serialization=False)
    assert (bin_dir / "pytorch_model.bin").is_file()
    shard_dir = tmp_path_factory.mktemp("shards")
    model.save_pretrained(shard_dir, max_shard_size="20KB")
    index = json.loads((shard_dir / "model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) > 2
    for d in (bin_dir, shard_dir):
        with torch.no_grad():
            assert torch.equal(BertForMaskedLM.from_pretrained(d)(ids, mask).logits, expected)
    # re-saving unsharded removes the old shards, so the directory never mixes two checkpoints
    model.save_pretrained(shard_dir)
    assert sorted(p.name for p in shard_dir.iterdir()) == ["config.json", "model.safetensors"]


def test_tied_weights_are_stored_once(saved):
    _, path = saved
    from safetensors import safe_open

    with safe_open(path / "model.safetensors", "pt") as f:
        keys = set(f.keys())
    assert "cls.predictions.bias" in keys and "cls.predictions.decoder.weight" not in keys


def test_dtype_and_auto(saved):
    _, path = saved
    assert BertForMaskedLM.from_pretrained(path, dtype=torch.bfloat16).dtype == torch.bfloat16
    BertForMaskedLM.from_pretrained(path, torch_dtype="float16").save_pretrained(path)
    assert json.loads((path / "config.json").read_text())["dtype"] == "float16"
    assert BertForMaskedLM.from_pretrained(path, torch_dtype="auto").dtype == torch.float16
    assert BertForMaskedLM.from_pretrained(path).dtype == torch.float32


def test_attn_implementation_argument(saved):
    _, path = saved
    assert BertForMaskedLM.from_pretrained(path, attn_implementation="eager").config.attn_implementation == "eager"
    with pytest.raises(ValueError, match="attn_implementation"):
        BertForMaskedLM.from_pretrained(path, attn_implementation="flash_attention_3")


# ---- failures ---------------------------------------------------------------------------------------------------


def test_missing_directory(tmp_path):
    with pytest.raises(CheckpointError, match="neither an existing local directory nor a valid"):
        BertModel.from_pretrained(str(tmp_path / "nope" / "deeper" / "path"))


def test_missing_weights(saved):
    _, path = saved
    os.remove(path / "model.safetensors")
    with pytest.raises(CheckpointError, match="No weights in .*model.safetensors"):
        BertModel.from_pretrained(path)


def test_missing_config(saved):
    _, path = saved
    os.remove(path / "config.json")
    with pytest.raises(CheckpointError, match="has no config.json, so it is not a checkpoint folder"):
        BertModel.from_pretrained(path)


def test_corrupt_and_truncated_safetensors(saved):
    _, path = saved
    data = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        BertModel.from_pretrained(path)
    (path / "model.safetensors").write_bytes(b"garbage!" * 10)
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        BertModel.from_pretrained(path)
    (path / "model.safetensors").write_bytes(b"")
    with pytest.raises(CheckpointError, match="truncated or empty"):
        BertModel.from_pretrained(path)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_pickle_with_code_is_refused(saved):
    _, path = saved
    os.remove(path / "model.safetensors")
    with open(path / "pytorch_model.bin", "wb") as f:
        pickle.dump({"x": _Evil()}, f)
    with pytest.raises(CheckpointError, match="never unpickled"):
        BertModel.from_pretrained(path)


def test_shape_mismatch(saved):
    _, path = saved
    with pytest.raises(CheckpointError, match="Shape mismatch for 'bert.embeddings.word_embeddings.weight'"):
        BertForMaskedLM.from_pretrained(path, vocab_size=120)
    model, info = BertForSequenceClassification.from_pretrained(path, output_loading_info=True)
    model.save_pretrained(path)
    with pytest.raises(CheckpointError, match="ignore_mismatched_sizes=True"):
        BertForSequenceClassification.from_pretrained(path, num_labels=5)
    _, info = BertForSequenceClassification.from_pretrained(path, num_labels=5, ignore_mismatched_sizes=True, output_loading_info=True)
    assert sorted(k for k, *_ in info["mismatched_keys"]) == ["classifier.bias", "classifier.weight"]


def test_atomic_save_keeps_previous_checkpoint(saved, monkeypatch):
    model, path = saved
    before = (path / "model.safetensors").read_bytes()
    import safetensors.torch

    def crash(*args, **kwargs):
        with open(args[1], "wb") as f:
            f.write(b"half written")
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(safetensors.torch, "save_file", crash)
    with pytest.raises(KeyboardInterrupt):
        perturb_(model, seed=9).save_pretrained(path)
    assert (path / "model.safetensors").read_bytes() == before
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "model.safetensors"]  # no temp files left


def test_bad_inputs_get_clear_errors():
    model = BertModel(BertConfig(**SMALL)).eval()
    ids, mask = batch_inputs(99, seq=10)
    with pytest.raises(ValueError, match="Token id 99 is out of range .*vocab_size=99"):
        model(ids.masked_fill(ids == ids[0, 0], 99))
    with pytest.raises(ValueError, match="Sequence length 41 exceeds .* 40 positions"):
        model(torch.zeros(1, 41, dtype=torch.long))
    with pytest.raises(ValueError, match=r"attention_mask has shape \(3, 9\) but the inputs are \(3, 10\)"):
        model(ids, mask[:, :9])
    with pytest.raises(ValueError, match="both input_ids and inputs_embeds"):
        model(ids, inputs_embeds=torch.zeros(3, 10, 32))
    with pytest.raises(ValueError, match="either input_ids or inputs_embeds"):
        model()
    with pytest.raises(ValueError, match=r"add a batch dimension"):
        model(ids[0])
    with pytest.raises(TypeError, match="integer token ids"):
        model(ids.float())
    with pytest.raises(ValueError, match="type_vocab_size=2"):
        model(ids, token_type_ids=torch.full_like(ids, 2))
    with pytest.raises(TypeError, match="needs a BertConfig"):
        BertModel(mf.PretrainedConfig())


# ---- resizing, pruning, checkpointing -------------------------------------------------------------------------


def test_resize_token_embeddings_keeps_rows_and_ties():
    model = perturb_(BertForMaskedLM(BertConfig(**SMALL))).eval()
    old = model.get_input_embeddings().weight.detach().clone()
    model.resize_token_embeddings(104, pad_to_multiple_of=8)
    emb = model.get_input_embeddings()
    assert emb.num_embeddings == 104 and model.config.vocab_size == 104
    assert torch.equal(emb.weight[:99], old)
    assert model.cls.predictions.bias.shape == (104,) and model.get_output_embeddings().weight is emb.weight
    assert model(torch.tensor([[1, 103]])).logits.shape == (1, 2, 104)


def test_prune_heads_matches_reference():
    transformers = pytest.importorskip("transformers")
    from parity import load_like

    ref = perturb_(transformers.BertModel(transformers.BertConfig(**SMALL))).eval()
    ours = load_like(ref, BertModel)
    heads = {0: [1, 3], 1: [0]}
    ref.prune_heads(heads)
    ours.prune_heads(heads)
    ours.prune_heads({0: [1]})  # already pruned: no-op
    ids, mask = batch_inputs(99)
    with torch.no_grad():
        assert_close(ref(ids, mask).last_hidden_state, ours(ids, mask).last_hidden_state, mask)
    assert ours.config.pruned_heads == {0: [1, 3], 1: [0]}
    assert ours.num_parameters() == ref.num_parameters()


def test_pruned_checkpoint_reloads(tmp_path):
    model = perturb_(BertModel(BertConfig(**SMALL))).eval()
    model.prune_heads({1: [2]})
    model.save_pretrained(tmp_path)
    again = BertModel.from_pretrained(tmp_path)
    ids, mask = batch_inputs(99)
    with torch.no_grad():
        assert torch.equal(model(ids, mask).last_hidden_state, again(ids, mask).last_hidden_state)


def test_gradient_checkpointing_gives_the_same_gradients():
    torch.manual_seed(0)
    model = perturb_(BertForSequenceClassification(BertConfig(**SMALL)))
    ids, mask = batch_inputs(99)
    labels = torch.tensor([0, 1, 0])
    model(ids, mask, labels=labels).loss.backward()
    plain = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    model.gradient_checkpointing_enable()
    assert model.is_gradient_checkpointing
    model(ids, mask, labels=labels).loss.backward()
    for a, p in zip(plain, model.parameters()):
        assert_close(a, p.grad, atol=1e-6)


def test_num_parameters():
    model = BertForMaskedLM(BertConfig(**SMALL))
    unique = sum(p.numel() for p in set(model.parameters()))
    assert model.num_parameters() == unique  # the tied decoder counts once
    assert model.num_parameters(exclude_embeddings=True) < unique


def test_save_state_dict_rejects_bad_size(tmp_path):
    with pytest.raises(ValueError, match="Cannot parse size"):
        save_state_dict({"a": torch.zeros(2)}, tmp_path, max_shard_size="lots")
