"""The bad-input catalogue, Python API: each case is an input a careful user or an unlucky operator could give, the
exception it must raise, and the words its message must contain (the problem and the fix). The command line's
catalogue is tests/test_cli_errors.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from mintformers import (
    BertConfig,
    BertForMaskedLM,
    BertModel,
    CheckpointError,
    ConfigError,
    ErnieMConfig,
    ErnieMModel,
    MobileBertConfig,
    MobileBertModel,
    MPNetConfig,
    MPNetModel,
    MptConfig,
    MptForCausalLM,
)

# ---- configs that cannot work ---------------------------------------------------------------------------------

CONFIG_CASES = [
    (BertConfig, {"vocab_size": 0}, ["vocab_size=0", "must be positive"]),
    (BertConfig, {"vocab_size": -5}, ["vocab_size=-5", "must be positive"]),
    (BertConfig, {"hidden_size": 0, "num_attention_heads": 1}, ["hidden_size=0", "must be positive"]),
    (BertConfig, {"num_hidden_layers": -1}, ["num_hidden_layers=-1", "0 or more"]),
    (BertConfig, {"num_hidden_layers": 2.5}, ["num_hidden_layers must be int", "2.5"]),
    (BertConfig, {"num_attention_heads": 0}, ["num_attention_heads=0", "must be positive"]),
    (BertConfig, {"num_attention_heads": -4, "hidden_size": -32}, ["must be positive"]),
    (BertConfig, {"num_attention_heads": 5}, ["hidden_size=768 is not a multiple of num_attention_heads=5"]),
    (BertConfig, {"intermediate_size": 0}, ["intermediate_size=0", "must be positive"]),
    (BertConfig, {"max_position_embeddings": 0}, ["max_position_embeddings=0", "must be positive"]),
    (BertConfig, {"type_vocab_size": 0}, ["type_vocab_size=0", "must be positive"]),
    (BertConfig, {"layer_norm_eps": 0.0}, ["layer_norm_eps=0.0", "must be positive"]),
    (BertConfig, {"hidden_dropout_prob": 1.5}, ["hidden_dropout_prob=1.5", "[0, 1]"]),
    (BertConfig, {"vocab_size": "30522"}, ["vocab_size must be int", "str"]),
    (MptConfig, {"d_model": 0}, ["d_model=0", "must be positive"]),
    (MptConfig, {"n_layers": -2}, ["n_layers=-2", "0 or more"]),
    (MptConfig, {"n_heads": 3}, ["d_model=2048 is not a multiple of n_heads=3"]),
    (MPNetConfig, {"vocab_size": 0}, ["vocab_size=0", "must be positive"]),
    (MobileBertConfig, {"embedding_size": -1}, ["embedding_size=-1", "must be positive"]),
    (MobileBertConfig, {"num_attention_heads": 1.5}, ["num_attention_heads must be int", "1.5"]),
    (MPNetConfig, {"relative_attention_num_buckets": 0}, ["relative_attention_num_buckets=0", "must be positive"]),
    (ErnieMConfig, {"hidden_size": -8}, ["hidden_size=-8", "must be positive"]),
    (MptConfig, {"expansion_ratio": 0}, ["expansion_ratio=0", "must be positive"]),
]


@pytest.mark.parametrize("config_class, values, words", CONFIG_CASES, ids=lambda v: str(v) if isinstance(v, dict) else None)
def test_configs_that_cannot_work(config_class, values, words):
    with pytest.raises(ConfigError) as info:
        config_class(**values)
    for word in words:
        assert word in str(info.value)


# ---- inputs ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_models():
    torch.manual_seed(0)
    bert = BertModel(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                intermediate_size=20, max_position_embeddings=20)).eval()
    mpt = MptForCausalLM(MptConfig(d_model=16, n_heads=2, n_layers=1, vocab_size=50, max_seq_len=20)).eval()
    small = dict(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=20,
                 max_position_embeddings=20)
    mpnet = MPNetModel(MPNetConfig(**small)).eval()
    ernie_m = ErnieMModel(ErnieMConfig(**small)).eval()
    mobilebert = MobileBertModel(MobileBertConfig(**small, embedding_size=8, intra_bottleneck_size=16, true_hidden_size=16,
                                                  num_feedforward_networks=1)).eval()
    return {"bert": bert, "mpt": mpt, "mpnet": mpnet, "ernie_m": ernie_m, "mobilebert": mobilebert}


def ids(*shape: int) -> torch.Tensor:
    return torch.ones(*shape, dtype=torch.long)


INPUT_CASES = [
    ({"input_ids": ids(0, 5)}, ValueError, ["no sequences", "at least one"]),
    ({"input_ids": ids(2, 0)}, ValueError, ["length 0", "at least one token"]),
    ({"input_ids": ids(5)}, ValueError, ["(batch, sequence_length)", "input_ids[None]"]),
    ({"input_ids": torch.ones(1, 4)}, TypeError, ["integer token ids"]),
    ({"input_ids": ids(1, 4) * 50}, ValueError, ["Token id 50 is out of range", "resize_token_embeddings"]),
    ({"input_ids": ids(1, 4), "attention_mask": torch.tensor([[1, 2, 1, 0]])}, ValueError, ["only 0 (padding) and 1", "(mask > 0)"]),
    ({"input_ids": ids(1, 4), "attention_mask": torch.tensor([[0.0, -1e9, 0.0, 0.0]])}, ValueError, ["only 0 (padding) and 1"]),
    ({"input_ids": ids(1, 4), "attention_mask": ids(1, 5)}, ValueError, ["attention_mask has shape (1, 5)", "tokenizer returned"]),
    ({"input_ids": ids(1, 30) * 3}, ValueError, ["position", "Truncate the input", "truncation=True, max_length="]),  # (1 is MPNet's pad id)
]


@pytest.mark.parametrize("family", ["bert", "mpt", "mpnet", "ernie_m", "mobilebert"])
@pytest.mark.parametrize("inputs, error, words", INPUT_CASES, ids=[f"case{i}" for i in range(len(INPUT_CASES))])
def test_bad_inputs(tiny_models, family, inputs, error, words):
    with pytest.raises(error) as info:
        tiny_models[family](**inputs)
    for word in words:
        assert word in str(info.value)


def test_masks_of_0_and_1_in_any_dtype_are_accepted(tiny_models):
    for mask in (torch.tensor([[1, 1, 0]]), torch.tensor([[True, True, False]]), torch.tensor([[1.0, 1.0, 0.0]])):
        out = tiny_models["bert"](ids(1, 3), attention_mask=mask).last_hidden_state
        assert out.shape == (1, 3, 16)


# ---- checkpoint folders ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def broken(tmp_path_factory) -> Path:
    """One folder per way a checkpoint can be broken."""
    root = tmp_path_factory.mktemp("broken")
    torch.manual_seed(0)
    model = BertForMaskedLM(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                       intermediate_size=20, max_position_embeddings=20))
    model.save_pretrained(root / "good")
    model.save_pretrained(root / "missing-shard", max_shard_size="10KB")
    shards = sorted((root / "missing-shard").glob("model-*.safetensors"))
    shards[1].unlink()
    shutil.copytree(root / "good", root / "truncated")
    weights = root / "truncated" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    shutil.copytree(root / "good", root / "empty-weights")
    (root / "empty-weights" / "model.safetensors").write_bytes(b"")
    shutil.copytree(root / "good", root / "bad-json")
    (root / "bad-json" / "config.json").write_text('{"model_type": "bert", ')
    shutil.copytree(root / "good", root / "list-json")
    (root / "list-json" / "config.json").write_text("[1, 2]")
    shutil.copytree(root / "good", root / "no-config")
    (root / "no-config" / "config.json").unlink()
    shutil.copytree(root / "missing-shard", root / "bad-index")
    (root / "bad-index" / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}}))
    (root / "no-weights").mkdir()
    shutil.copy(root / "good" / "config.json", root / "no-weights" / "config.json")
    (root / "a-file").write_text("not a folder")
    return root


CHECKPOINT_CASES = [
    ("missing-shard", ["lists", "weight shards", "is missing", "Download the checkpoint again"]),
    ("truncated", ["not a readable safetensors file", "corrupt or truncated", "Re-download"]),
    ("empty-weights", ["0 bytes", "truncated or empty", "Re-download"]),
    ("bad-json", ["config.json", "not valid JSON", "corrupt or truncated", "Re-download"]),
    ("list-json", ["must hold a JSON object", "list"]),
    ("no-config", ["has no config.json", "not a checkpoint folder", "Pass the folder that holds config.json"]),
    ("bad-index", ["has no 'weight_map'", "Download the checkpoint again"]),
    ("no-weights", ["No weights", "save_pretrained()"]),
    ("a-file", ["is a file, not a checkpoint directory", "pass the folder"]),
    ("no/such/folder", ["neither an existing local directory nor a valid Hugging Face Hub repo id"]),
]


@pytest.mark.parametrize("folder, words", CHECKPOINT_CASES, ids=[c[0] for c in CHECKPOINT_CASES])
def test_broken_checkpoints(broken, folder, words):
    with pytest.raises(CheckpointError) as info:
        BertForMaskedLM.from_pretrained(broken / folder if not folder.startswith("no/") else folder)
    for word in words:
        assert word in str(info.value)


def test_saving_where_a_file_stands(broken):
    model = BertForMaskedLM.from_pretrained(broken / "good")
    with pytest.raises(CheckpointError, match=r"'.*a-file' is a file, not a folder\. Choose another path"):
        model.save_pretrained(broken / "a-file" / "model")
    with pytest.raises(CheckpointError, match="is a file; save_pretrained needs a directory"):
        model.save_pretrained(broken / "a-file")
