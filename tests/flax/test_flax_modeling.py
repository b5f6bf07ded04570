"""The Flax model base: checkpoints in and out (safetensors, shards, pytorch_model.bin, the reference's
flax_model.msgpack both ways), loading reports, clear errors for bad input, outputs, and what importing costs.
"""

from __future__ import annotations

import logging
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from flax.traverse_util import flatten_dict
from flax_parity import ATOL, TINY, batch, max_diff

import mintformers
from mintformers import (
    BertConfig,
    FlaxBertForCausalLM,
    FlaxBertForMaskedLM,
    FlaxBertForMultipleChoice,
    FlaxBertForPreTraining,
    FlaxBertForSequenceClassification,
    FlaxBertModel,
)
from mintformers.flax.modeling import FLAX_WEIGHTS_NAME, pytorch_key
from mintformers.flax.outputs import FlaxBaseModelOutputWithPooling
from mintformers.hub import CheckpointError


@pytest.fixture(scope="module")
def mlm_dir(reference_dirs):
    return reference_dirs["BertForMaskedLM"]


@pytest.fixture(scope="module")
def mlm(mlm_dir):
    return FlaxBertForMaskedLM.from_pretrained(mlm_dir)


def logits(model, **kwargs):
    inputs = batch()
    return np.asarray(model(inputs["input_ids"], inputs["attention_mask"], **kwargs).logits)


# ---- the layout mapping -------------------------------------------------------------------------------------------


def test_pytorch_key_names():
    assert pytorch_key(("bert", "encoder", "layer", "0", "attention", "self", "query", "kernel")) == (
        "bert.encoder.layer.0.attention.self.query.weight", True,
    )
    assert pytorch_key(("embeddings", "word_embeddings", "embedding")) == ("embeddings.word_embeddings.weight", False)
    assert pytorch_key(("embeddings", "LayerNorm", "scale")) == ("embeddings.LayerNorm.weight", False)
    assert pytorch_key(("cls", "predictions", "bias")) == ("cls.predictions.bias", False)


# ---- saving and loading -------------------------------------------------------------------------------------------


def test_saved_safetensors_load_in_pytorch_and_transformers(mlm, tmp_path):
    import transformers

    mlm.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file() and not (tmp_path / FLAX_WEIGHTS_NAME).exists()
    inputs = {k: torch.from_numpy(v) for k, v in batch().items() if k != "token_type_ids"}
    expected = logits(mlm)
    ours_pt, info = mintformers.BertForMaskedLM.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    ref_pt = transformers.BertForMaskedLM.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        for model in (ours_pt, ref_pt):
            assert max_diff(model(**inputs).logits.numpy(), expected, batch()["attention_mask"]) <= ATOL
    # and back into Flax
    assert max_diff(logits(FlaxBertForMaskedLM.from_pretrained(tmp_path)), expected) == 0.0


def test_sharded_and_bin_checkpoints(mlm, tmp_path):
    expected = logits(mlm)
    mlm.save_pretrained(tmp_path / "sharded", max_shard_size="20KB")
    assert (tmp_path / "sharded" / "model.safetensors.index.json").is_file()
    assert max_diff(logits(FlaxBertForMaskedLM.from_pretrained(tmp_path / "sharded")), expected) == 0.0
    mlm.save_pretrained(tmp_path / "bin", safe_serialization=False)  # pytorch_model.bin, read weights-only
    assert (tmp_path / "bin" / "pytorch_model.bin").is_file()
    assert max_diff(logits(FlaxBertForMaskedLM.from_pretrained(tmp_path / "bin")), expected) == 0.0


def test_msgpack_from_the_reference(mlm_dir, mlm, tmp_path):
    import transformers

    ref = transformers.FlaxBertForMaskedLM.from_pretrained(mlm_dir, from_pt=True)
    ref.save_pretrained(tmp_path / "single")  # flax_model.msgpack only
    ref.save_pretrained(tmp_path / "sharded", max_shard_size="20KB")  # flax_model-0000x-of-0000y.msgpack + index
    assert sorted(p.name for p in (tmp_path / "single").iterdir()) == ["config.json", FLAX_WEIGHTS_NAME]
    expected = logits(mlm)
    for folder in ("single", "sharded"):
        loaded, info = FlaxBertForMaskedLM.from_pretrained(tmp_path / folder, output_loading_info=True)
        assert info["missing_keys"] == [] and info["unexpected_keys"] == []
        assert max_diff(logits(loaded), expected) == 0.0


def test_msgpack_for_the_reference(mlm, tmp_path):
    import transformers

    mlm.save_pretrained(tmp_path, msgpack=True)
    assert (tmp_path / FLAX_WEIGHTS_NAME).is_file()
    ref = transformers.FlaxBertForMaskedLM.from_pretrained(tmp_path)  # reads flax_model.msgpack
    assert {k: v.shape for k, v in flatten_dict(ref.params).items()} == {
        k: v.shape for k, v in flatten_dict(mlm.params).items()
    }
    inputs = batch()
    assert max_diff(ref(**inputs).logits, mlm(**inputs).logits, inputs["attention_mask"]) <= ATOL
    # a later save without msgpack removes the file, which no longer matches the weights
    mlm.save_pretrained(tmp_path)
    assert not (tmp_path / FLAX_WEIGHTS_NAME).exists()


def test_base_checkpoint_into_a_head_and_back(reference_dirs, caplog):
    with caplog.at_level(logging.WARNING):
        head, info = FlaxBertForSequenceClassification.from_pretrained(
            reference_dirs["BertModel"], output_loading_info=True
        )
    assert info["missing_keys"] == ["classifier.bias", "classifier.weight"] and info["unexpected_keys"] == []
    assert "newly initialised" in caplog.text and "classifier.weight" in caplog.text
    base = FlaxBertModel.from_pretrained(reference_dirs["BertModel"])
    assert max_diff(head.params["bert"], base.params) == 0.0
    # a head checkpoint into the base model: the heads are reported as unused
    base, info = FlaxBertModel.from_pretrained(reference_dirs["BertForPreTraining"], output_loading_info=True)
    assert info["missing_keys"] == []
    assert "cls.seq_relationship.weight" in info["unexpected_keys"]


def test_mismatched_sizes(reference_dirs):
    folder = reference_dirs["BertForSequenceClassification"]
    with pytest.raises(CheckpointError, match=r"Shape mismatch for 'classifier\.(weight|bias)'.*ignore_mismatched_sizes"):
        FlaxBertForSequenceClassification.from_pretrained(folder, num_labels=5)
    model, info = FlaxBertForSequenceClassification.from_pretrained(
        folder, num_labels=5, ignore_mismatched_sizes=True, output_loading_info=True
    )
    assert ("classifier.weight", (3, 32), (5, 32)) in info["mismatched_keys"]
    assert model.params["classifier"]["kernel"].shape == (32, 5)


def test_do_init_false_returns_params(mlm_dir, mlm):
    model, params = FlaxBertForMaskedLM.from_pretrained(mlm_dir, _do_init=False)
    with pytest.raises(ValueError, match="_do_init=False"):
        model.params  # noqa: B018
    assert max_diff(logits(model, params=params), logits(mlm)) == 0.0


def test_bad_files_are_refused(tmp_path, mlm):
    mlm.save_pretrained(tmp_path, msgpack=True)
    (tmp_path / "model.safetensors").unlink()
    (tmp_path / FLAX_WEIGHTS_NAME).write_bytes(b"\x93not msgpack")
    with pytest.raises(CheckpointError, match="not a readable Flax msgpack"):
        FlaxBertForMaskedLM.from_pretrained(tmp_path)
    (tmp_path / FLAX_WEIGHTS_NAME).unlink()
    with pytest.raises(CheckpointError, match="No weights in .*flax_model.msgpack"):
        FlaxBertForMaskedLM.from_pretrained(tmp_path)


def test_failed_save_keeps_the_previous_checkpoint(mlm, tmp_path, monkeypatch):
    mlm.save_pretrained(tmp_path, msgpack=True)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    real = mintformers.flax.modeling.save_state_dict

    def crash_after_the_weights(*args, **kwargs):
        real(*args, **kwargs)
        raise OSError("disk full")

    monkeypatch.setattr("mintformers.flax.modeling.save_state_dict", crash_after_the_weights)
    with pytest.raises(OSError, match="disk full"):
        mlm.save_pretrained(tmp_path, params=jax.tree_util.tree_map(lambda x: x + 1, mlm.params))
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


# ---- bad input: the PyTorch models' messages ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def base(reference_dirs):
    return FlaxBertModel.from_pretrained(reference_dirs["BertModel"])


def test_clear_errors_for_bad_input(base):
    ids = batch()["input_ids"]
    with pytest.raises(ValueError, match="Token id 99 is out of range .*vocab_size=99"):
        base(np.where(ids == ids[0, 0], 99, ids))
    with pytest.raises(ValueError, match="Token id -1 is out of range"):
        base(-np.ones((1, 3), dtype=np.int32))
    with pytest.raises(ValueError, match="Sequence length 65 exceeds the model's maximum of 64"):
        base(np.ones((1, 65), dtype=np.int32))
    with pytest.raises(ValueError, match=r"add a batch dimension with input_ids\[None\]"):
        base(ids[0])
    with pytest.raises(ValueError, match=r"attention_mask has shape \(3, 8\)"):
        base(ids, np.ones((3, 8), dtype=np.int32))
    with pytest.raises(ValueError, match="token_type_ids contain 2 but the model has only type_vocab_size=2"):
        base(ids, token_type_ids=np.full_like(ids, 2))
    with pytest.raises(ValueError, match="position_ids contain 64 but the model has only max_position_embeddings=64"):
        base(ids, position_ids=np.full_like(ids, 64))
    with pytest.raises(TypeError, match="integer token ids"):
        base(ids.astype(np.float32))
    with pytest.raises(ValueError, match="dropout_rng"):
        base(ids, train=True)
    with pytest.raises(ValueError, match="head_mask must have shape"):
        base(ids, head_mask=np.ones((3, 4)))


def test_shapes_are_checked_under_jit(base):
    ids = batch()["input_ids"]
    with pytest.raises(ValueError, match=r"attention_mask has shape \(3, 8\)"):
        jax.jit(lambda i, m: base(i, m).last_hidden_state)(ids, np.ones((3, 8), dtype=np.int32))


def test_multiple_choice_and_cache_errors(reference_dirs, base):
    mc = FlaxBertForMultipleChoice.from_pretrained(reference_dirs["BertForMultipleChoice"])
    with pytest.raises(ValueError, match=r"\(batch, num_choices, sequence_length\)"):
        mc(batch()["input_ids"])
    with pytest.raises(ValueError, match="init_cache needs a decoder"):
        base.init_cache(1, 8)
    decoder = FlaxBertForCausalLM.from_pretrained(reference_dirs["BertLMHeadModel"])
    with pytest.raises(ValueError, match="exceeds the model's maximum of 64"):
        decoder.init_cache(1, 65)
    cache = decoder.init_cache(2, 4)
    with pytest.raises(ValueError, match="The cache holds 4 positions, 0 are used and 5 more"):
        decoder(np.ones((2, 5), dtype=np.int32), past_key_values=cache)
    with pytest.raises(ValueError, match=r"expected \(2, 4\)"):
        decoder(np.ones((2, 2), dtype=np.int32), np.ones((2, 2)), past_key_values=cache)
    with pytest.raises(ValueError, match="made for batch_size=2"):
        decoder(np.ones((1, 2), dtype=np.int32), past_key_values=cache)
    with pytest.raises(ValueError, match="not a decoder"):
        base(np.ones((2, 2), dtype=np.int32), past_key_values=cache)


# ---- construction, outputs, imports -------------------------------------------------------------------------------


def test_init_weights_and_config_type():
    config = BertConfig(**TINY)
    model = FlaxBertForPreTraining(config, seed=1)
    shapes = {k: v.shape for k, v in flatten_dict(model.params).items()}
    assert shapes[("bert", "embeddings", "word_embeddings", "embedding")] == (99, 32)
    assert ("cls", "predictions", "decoder", "kernel") not in shapes  # tied to the word embeddings
    assert ("cls", "seq_relationship", "kernel") in shapes
    refilled = model.init_weights(jax.random.PRNGKey(2), (1, 1), params={"bert": model.params["bert"]})
    assert max_diff(refilled["bert"], model.params["bert"]) == 0.0 and "cls" in refilled
    with pytest.raises(TypeError, match="needs a BertConfig"):
        FlaxBertModel(mintformers.MPNetConfig())


def test_outputs_are_pytrees_with_replace_and_dict_access():
    out = FlaxBaseModelOutputWithPooling(last_hidden_state=jnp.ones((1, 2, 3)), pooler_output=jnp.zeros((1, 3)))
    assert out.keys() == ["last_hidden_state", "pooler_output"] and out[1] is out.pooler_output
    assert out["last_hidden_state"] is out[0] and len(out) == 2 and "attentions" not in out
    assert len(jax.tree_util.tree_leaves(out)) == 2
    doubled = jax.jit(lambda o: o.replace(pooler_output=o.pooler_output + 2))(out)
    assert isinstance(doubled, FlaxBaseModelOutputWithPooling) and float(doubled.pooler_output[0, 0]) == 2.0
    with pytest.raises(TypeError, match="immutable"):
        out["pooler_output"] = 1


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_imports_stay_lazy():
    result = run_python(
        "import sys, mintformers\n"
        "from mintformers import BertConfig\n"
        "BertConfig()\n"
        "print(sorted(m for m in ('jax', 'flax', 'torch') if m in sys.modules))"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_without_jax_the_error_says_what_to_install():
    result = run_python("import sys; sys.modules['jax'] = None\nfrom mintformers import FlaxBertModel")
    assert result.returncode != 0
    assert "pip install mintformers[flax]" in result.stderr
