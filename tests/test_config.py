"""The config base: defaults, HF config.json round trip, overrides and validation."""

from __future__ import annotations

import json

import pytest

from mintformers import AutoConfig, BertConfig, ConfigError


def test_defaults_are_the_references():
    c = BertConfig()
    assert (c.vocab_size, c.hidden_size, c.num_hidden_layers, c.num_attention_heads) == (30522, 768, 12, 12)
    assert c.id2label == {0: "LABEL_0", 1: "LABEL_1"} and c.num_labels == 2
    assert c.return_dict and not c.output_attentions and c.attn_implementation == "sdpa"


def test_round_trip_keeps_unknown_keys(tmp_path):
    raw = {
        "model_type": "bert", "hidden_size": 64, "num_attention_heads": 4, "id2label": {"0": "neg", "1": "pos"},
        "label2id": {"neg": 0, "pos": 1}, "torch_dtype": "float16", "gradient_checkpointing": False,
        "some_future_key": {"nested": [1, 2]}, "transformers_version": "4.57.6",
    }
    (tmp_path / "config.json").write_text(json.dumps(raw))
    c = BertConfig.from_pretrained(tmp_path)
    assert c.id2label == {0: "neg", 1: "pos"}  # JSON string keys become ints
    assert c.dtype == "float16" and c.torch_dtype == "float16"
    assert c.some_future_key == {"nested": [1, 2]}
    out = c.to_dict()
    assert out["some_future_key"] == {"nested": [1, 2]} and out["gradient_checkpointing"] is False
    assert out["id2label"] == {"0": "neg", "1": "pos"} and out["model_type"] == "bert"
    c.save_pretrained(tmp_path / "again")
    assert BertConfig.from_pretrained(tmp_path / "again") == c


def test_reference_reads_our_config(tmp_path):
    transformers = pytest.importorskip("transformers")
    BertConfig(hidden_size=64, num_attention_heads=4, num_labels=3, problem_type="regression").save_pretrained(tmp_path)
    ref = transformers.AutoConfig.from_pretrained(tmp_path)
    assert type(ref).__name__ == "BertConfig"
    assert (ref.hidden_size, ref.num_labels, ref.problem_type) == (64, 3, "regression")


def test_kwargs_override_and_num_labels(tmp_path):
    BertConfig(hidden_size=64, num_attention_heads=4).save_pretrained(tmp_path)
    c = BertConfig.from_pretrained(tmp_path, num_labels=5, hidden_dropout_prob=0.0)
    assert c.num_labels == 5 and c.id2label[4] == "LABEL_4" and c.hidden_dropout_prob == 0.0


def test_typo_in_override_is_an_error(tmp_path):
    BertConfig().save_pretrained(tmp_path)
    with pytest.raises(ConfigError, match="did you mean 'num_labels'"):
        BertConfig.from_pretrained(tmp_path, num_lables=3)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(hidden_size=100, num_attention_heads=12), "not a multiple of num_attention_heads"),
        (dict(position_embedding_type="rotary"), "position_embedding_type"),
        (dict(num_hidden_layers="12"), "must be int"),
        (dict(num_hidden_layers=True), "must be an int"),
        (dict(problem_type="ranking"), "problem_type"),
        (dict(attn_implementation="flash"), "attn_implementation"),
        (dict(add_cross_attention=True), "is_decoder=True"),
    ],
)
def test_validation_errors_name_the_problem(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        BertConfig(**kwargs)


def test_auto_config_dispatches_on_model_type(tmp_path):
    BertConfig(hidden_size=64, num_attention_heads=4).save_pretrained(tmp_path)
    assert isinstance(AutoConfig.from_pretrained(tmp_path), BertConfig)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt_j"}))
    with pytest.raises(ValueError, match="Unknown model_type 'gpt_j'"):
        AutoConfig.from_pretrained(tmp_path)


def test_corrupt_config_json(tmp_path):
    (tmp_path / "config.json").write_text('{"hidden_size": 64,')
    with pytest.raises(OSError, match="not valid JSON"):
        BertConfig.from_pretrained(tmp_path)


def test_configs_import_no_framework(tmp_path):
    """Every family's config lives in models/configs.py: reading one (directly or through AutoConfig) imports
    neither torch nor TensorFlow nor JAX, and the family modules re-export the same classes."""
    import subprocess
    import sys

    (tmp_path / "config.json").write_text(json.dumps({"model_type": "ernie_m"}))
    code = (
        "import sys\n"
        "from mintformers import AutoConfig, BertConfig, ErnieMConfig, MobileBertConfig, MPNetConfig, MptConfig\n"
        "for t in ('bert', 'mobilebert', 'mpnet', 'mpt'):\n"
        "    AutoConfig.for_model(t)\n"
        f"assert type(AutoConfig.from_pretrained({str(tmp_path)!r})) is ErnieMConfig\n"
        "print(sorted(m for m in ('torch', 'tensorflow', 'jax') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr
    from mintformers.models import configs, ernie_m, mpnet, mpt

    assert (mpnet.MPNetConfig, mpt.MptConfig, ernie_m.ErnieMConfig) == (configs.MPNetConfig, configs.MptConfig,
                                                                       configs.ErnieMConfig)
