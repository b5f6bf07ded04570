"""SentenceEncoder on tiny random checkpoints: loading sentence-transformers folders (both pooling schemas, Dense,
Normalize, prompts), encode()'s outputs and invariances, similarity, search, quantization, saved embeddings.

The tiny-checkpoint builders here are also used by tests/test_cli.py. Parity with sentence-transformers and the
reference on real checkpoints lives in tests/reference/test_embeddings_parity.py.
"""

from __future__ import annotations

import io
import json
import shutil
import string
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mintformers import BertConfig, BertModel, BertTokenizerFast, SentenceEncoder
from mintformers.auto import AutoModel
from mintformers.embeddings import (
    Dense,
    Normalize,
    Pooling,
    SentenceTransformer,
    cos_sim,
    dot_score,
    euclidean_sim,
    load_embeddings,
    manhattan_sim,
    pairwise_cos_sim,
    pairwise_dot_score,
    pairwise_euclidean_sim,
    pairwise_manhattan_sim,
    plan_batches,
    pooling_modes_from_config,
    quantize_embeddings,
    save_embeddings,
    semantic_search,
)
from mintformers.hub import CheckpointError
from mintformers.progress import Progress, progress_enabled

from parity import perturb_

ATOL = 1e-5
WORDS = (
    "a man is eating food bread piece of the girl plays violin music cat dog sleeps runs quickly slowly red blue "
    "house tree river city car train fast slow good bad new old big small hello world query passage search "
    "represent this sentence for searching relevant passages"
).split()
SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl plays the violin.",
    "hello",
    "The big red dog runs quickly to the old house by the river, and the small cat sleeps in the tree.",
    "",
    "Zebra xylophone!",  # letters only: word pieces
]


# ---- tiny checkpoints ---------------------------------------------------------------------------------------------


def write_vocab(path: Path) -> list[str]:
    letters = string.ascii_lowercase + string.digits
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *".,!?'-:;", *letters, *("##" + c for c in letters), *WORDS]
    tokens = list(dict.fromkeys(tokens))
    path.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return tokens


def make_tiny_checkpoint(directory: Path, model_class=BertModel, seed: int = 0, **config_kwargs) -> Path:
    """A random (re-drawn, so every weight matters) 2-layer BERT-family checkpoint with a WordPiece tokenizer."""
    directory.mkdir(parents=True, exist_ok=True)
    vocab = write_vocab(directory / "vocab.txt")
    BertTokenizerFast(vocab_file=str(directory / "vocab.txt"), do_lower_case=True).save_pretrained(directory)
    config = BertConfig(**{
        "vocab_size": len(vocab), "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
        "intermediate_size": 48, "max_position_embeddings": 64, **config_kwargs,
    })
    torch.manual_seed(seed)
    model = model_class(config)
    perturb_(model, seed)
    model.save_pretrained(directory)
    return directory


def make_st_folder(
    directory: Path,
    base: Path,
    pooling: dict | None = None,
    dense: list[dict] | None = None,
    normalize: bool = True,
    st_config: dict | None = None,
    extra_config: dict | None = None,
) -> Path:
    """A sentence-transformers folder around `base`: Transformer → Pooling → Dense* → Normalize.

    dense: [{"out": 16, "activation": "torch.nn.modules.activation.Tanh", "format": "safetensors" | "bin"}].
    """
    shutil.copytree(base, directory)
    hidden = json.loads((base / "config.json").read_text())["hidden_size"]
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}]
    pooling = {"word_embedding_dimension": hidden, "pooling_mode_mean_tokens": True} if pooling is None else pooling
    (directory / "1_Pooling").mkdir()
    (directory / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    modules.append({"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"})
    width = hidden * len(pooling_modes_from_config(pooling))
    for i, spec in enumerate(dense or [], start=2):
        sub = directory / f"{i}_Dense"
        sub.mkdir()
        config = {"in_features": width, "out_features": spec["out"], "bias": spec.get("bias", True)}
        if "activation" in spec:
            config["activation_function"] = spec["activation"]
        (sub / "config.json").write_text(json.dumps(config))
        g = torch.Generator().manual_seed(100 + i)
        state = {"linear.weight": torch.randn(spec["out"], width, generator=g) / width**0.5}
        if config["bias"]:
            state["linear.bias"] = 0.1 * torch.randn(spec["out"], generator=g)
        if spec.get("format") == "bin":
            torch.save(state, sub / "pytorch_model.bin")
        else:
            from safetensors.torch import save_file

            save_file(state, str(sub / "model.safetensors"))
        modules.append({"idx": i, "name": str(i), "path": sub.name, "type": "sentence_transformers.models.Dense"})
        width = spec["out"]
    if normalize:
        modules.append({"idx": len(modules), "name": str(len(modules)), "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"})
    (directory / "modules.json").write_text(json.dumps(modules))
    (directory / "sentence_bert_config.json").write_text(json.dumps(st_config or {"max_seq_length": 48, "do_lower_case": False}))
    if extra_config is not None:
        (directory / "config_sentence_transformers.json").write_text(json.dumps(extra_config))
    return directory


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> Path:
    return make_tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "bert")


@pytest.fixture(scope="session")
def tiny_st_dir(tmp_path_factory, tiny_dir) -> Path:
    return make_st_folder(tmp_path_factory.mktemp("tiny-st") / "st", tiny_dir)


def token_states(directory: Path, texts: list[str], max_length: int = 48):
    """The straightforward computation: tokenize with padding, run the base model, return (hidden, mask)."""
    from mintformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(directory)
    model = AutoModel.from_pretrained(directory)
    enc = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    with torch.no_grad():
        hidden = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
    return hidden, enc["attention_mask"]


def manual_pool(hidden: torch.Tensor, mask: torch.Tensor, mode: str) -> torch.Tensor:
    m = mask.float()[..., None]
    if mode == "cls":
        return hidden[:, 0]
    if mode == "max":
        return hidden.masked_fill(m == 0, -1e9).max(1).values
    if mode == "mean":
        return (hidden * m).sum(1) / m.sum(1)
    if mode == "mean_sqrt_len_tokens":
        return (hidden * m).sum(1) / m.sum(1).sqrt()
    if mode == "weightedmean":
        w = m * torch.arange(1, hidden.shape[1] + 1)[None, :, None]
        return (hidden * w).sum(1) / w.sum(1)
    last = mask.sum(1) - 1
    return hidden[torch.arange(len(hidden)), last]


# ---- loading ------------------------------------------------------------------------------------------------------


def test_plain_checkpoint_mean_pools_without_normalising(tiny_dir):
    encoder = SentenceEncoder.from_pretrained(tiny_dir)
    assert [type(m) for m in encoder.layers] == [Pooling]
    assert encoder.layers[0].modes == ("mean",)
    hidden, mask = token_states(tiny_dir, SENTENCES, max_length=encoder.max_seq_length)
    expected = manual_pool(hidden, mask, "mean")
    got = encoder.encode(SENTENCES)
    assert isinstance(got, np.ndarray) and got.shape == (len(SENTENCES), 32) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected.numpy(), atol=ATOL)
    assert not np.allclose(np.linalg.norm(got, axis=1), 1.0)  # no Normalize for plain checkpoints
    normalised = SentenceEncoder.from_pretrained(tiny_dir, normalize=True).encode(SENTENCES)
    np.testing.assert_allclose(normalised, F.normalize(expected, dim=-1).numpy(), atol=ATOL)


@pytest.mark.parametrize(
    "config, modes",
    [
        ({"pooling_mode_mean_tokens": True}, ("mean",)),
        ({"pooling_mode_cls_token": True}, ("cls",)),
        ({"pooling_mode_max_tokens": True, "pooling_mode_cls_token": True}, ("cls", "max")),  # the legacy order
        ({"pooling_mode_mean_sqrt_len_tokens": True}, ("mean_sqrt_len_tokens",)),
        ({"pooling_mode_weightedmean_tokens": True}, ("weightedmean",)),
        ({"pooling_mode_lasttoken": True}, ("lasttoken",)),
        ({"pooling_mode_mean_tokens": False}, ("mean",)),  # nothing set → mean
        ({"pooling_mode": "max"}, ("max",)),
        ({"pooling_mode": ["mean", "cls"]}, ("mean", "cls")),
        ({"pooling_mode": "cls", "pooling_mode_mean_tokens": True}, ("cls",)),  # the compact key wins
    ],
)
def test_pooling_config_schemas(config, modes):
    assert pooling_modes_from_config(config) == modes


def test_unknown_pooling_mode_is_refused():
    with pytest.raises(CheckpointError, match="Unknown pooling mode 'median'"):
        pooling_modes_from_config({"pooling_mode": "median"})


@pytest.mark.parametrize("mode", ["cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken"])
@pytest.mark.parametrize("schema", ["legacy", "compact"])
def test_every_pooling_mode_matches_the_direct_computation(tmp_path, tiny_dir, mode, schema):
    legacy_key = {"cls": "pooling_mode_cls_token", "max": "pooling_mode_max_tokens", "mean": "pooling_mode_mean_tokens",
                  "mean_sqrt_len_tokens": "pooling_mode_mean_sqrt_len_tokens",
                  "weightedmean": "pooling_mode_weightedmean_tokens", "lasttoken": "pooling_mode_lasttoken"}[mode]
    config = {"word_embedding_dimension": 32} | ({legacy_key: True} if schema == "legacy" else {"pooling_mode": mode})
    folder = make_st_folder(tmp_path / "st", tiny_dir, pooling=config, normalize=False)
    got = SentenceEncoder.from_pretrained(folder).encode(SENTENCES)
    hidden, mask = token_states(tiny_dir, SENTENCES)
    np.testing.assert_allclose(got, manual_pool(hidden, mask, mode).numpy(), atol=ATOL)


@pytest.mark.parametrize("fmt", ["safetensors", "bin"])
def test_dense_and_normalize_modules(tmp_path, tiny_dir, fmt):
    folder = make_st_folder(
        tmp_path / "st", tiny_dir, pooling={"word_embedding_dimension": 32, "pooling_mode": ["mean", "cls"]},
        dense=[{"out": 24, "activation": "torch.nn.modules.activation.Tanh", "format": fmt},
               {"out": 8, "activation": "torch.nn.modules.linear.Identity", "bias": False, "format": fmt}],
    )
    encoder = SentenceEncoder.from_pretrained(folder)
    assert [type(m) for m in encoder.layers] == [Pooling, Dense, Dense, Normalize]
    assert encoder.get_sentence_embedding_dimension() == 8
    hidden, mask = token_states(tiny_dir, SENTENCES)
    x = torch.cat([manual_pool(hidden, mask, "mean"), manual_pool(hidden, mask, "cls")], dim=-1)
    d1, d2 = encoder.layers[1].linear, encoder.layers[2].linear
    expected = F.normalize(torch.tanh(x @ d1.weight.T + d1.bias) @ d2.weight.T, dim=-1)
    np.testing.assert_allclose(encoder.encode(SENTENCES), expected.detach().numpy(), atol=ATOL)
    # the weights are the ones on disk, not an initialisation
    from mintformers.loading import find_weight_files, load_state_dict

    on_disk = load_state_dict(find_weight_files(folder / "2_Dense"))
    torch.testing.assert_close(d1.weight.detach(), on_disk["linear.weight"])


def test_dense_activation_outside_torch_falls_back_to_tanh(tmp_path, tiny_dir, caplog):
    folder = make_st_folder(tmp_path / "st", tiny_dir, dense=[{"out": 4, "activation": "os.system"}])
    encoder = SentenceEncoder.from_pretrained(folder)
    assert isinstance(encoder.layers[1].activation_function, torch.nn.Tanh)
    assert "not a torch.nn class" in caplog.text


def test_unsupported_module_is_a_clear_error(tmp_path, tiny_st_dir):
    folder = tmp_path / "st"
    shutil.copytree(tiny_st_dir, folder)
    modules = json.loads((folder / "modules.json").read_text())
    modules.append({"idx": 9, "name": "9", "path": "9_LSTM", "type": "sentence_transformers.models.LSTM"})
    (folder / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(CheckpointError, match="LSTM"):
        SentenceEncoder.from_pretrained(folder)


def test_max_seq_length_truncates(tiny_st_dir):
    encoder = SentenceEncoder.from_pretrained(tiny_st_dir)
    assert encoder.max_seq_length == 48  # sentence_bert_config.json
    long_text = " ".join(["house"] * 200)
    tokens = encoder.encode([long_text, "hello"], output_value="token_embeddings")
    assert tokens[0].shape == (48, 32) and tokens[1].shape == (3, 32)
    short = SentenceEncoder.from_pretrained(tiny_st_dir, max_seq_length=10)
    assert short.encode(long_text, output_value="token_embeddings").shape == (10, 32)


def test_plain_checkpoint_length_limit_comes_from_the_model(tiny_dir):
    assert SentenceEncoder.from_pretrained(tiny_dir).max_seq_length == 64  # max_position_embeddings


def test_do_lower_case(tmp_path):
    base = make_tiny_checkpoint(tmp_path / "cased")
    config = json.loads((base / "tokenizer_config.json").read_text())
    config["do_lower_case"] = False
    (base / "tokenizer_config.json").write_text(json.dumps(config))
    (base / "tokenizer.json").unlink()  # rebuilt from vocab.txt with the cased setting
    cased = make_st_folder(tmp_path / "st-cased", base, st_config={"max_seq_length": 48, "do_lower_case": False})
    lowered = make_st_folder(tmp_path / "st-lower", base, st_config={"max_seq_length": 48, "do_lower_case": True})
    a = SentenceEncoder.from_pretrained(cased).encode(["HELLO World", "hello world"])
    assert not np.allclose(a[0], a[1], atol=1e-3)  # the cased tokenizer sees unknown upper-case pieces
    b = SentenceEncoder.from_pretrained(lowered).encode(["HELLO World", "hello world"])
    np.testing.assert_allclose(b[0], b[1], atol=ATOL)
    np.testing.assert_allclose(b[1], a[1], atol=ATOL)


def test_prompts_and_include_prompt(tmp_path, tiny_dir):
    prompts = {"query": "represent this sentence for searching relevant passages: "}
    folder = make_st_folder(
        tmp_path / "st", tiny_dir, pooling={"word_embedding_dimension": 32, "pooling_mode": "mean", "include_prompt": False},
        normalize=False, extra_config={"prompts": prompts, "default_prompt_name": None, "similarity_fn_name": "dot"},
    )
    encoder = SentenceEncoder.from_pretrained(folder)
    assert encoder.similarity_fn_name == "dot"
    texts = ["a man is eating food", "the girl plays the violin"]
    got = encoder.encode(texts, prompt_name="query")
    np.testing.assert_allclose(got, encoder.encode(texts, prompt=prompts["query"]), atol=ATOL)
    hidden, mask = token_states(tiny_dir, [prompts["query"] + t for t in texts])
    n_prompt = int(encoder.tokenize([prompts["query"]])["attention_mask"].sum()) - 1  # without its [SEP]
    mask = mask.clone()
    mask[:, :n_prompt] = 0
    np.testing.assert_allclose(got, manual_pool(hidden, mask, "mean").numpy(), atol=ATOL)
    with pytest.raises(ValueError, match="not one of this model's prompts"):
        encoder.encode(texts, prompt_name="passage")


def test_save_pretrained_round_trip(tmp_path, tiny_dir):
    folder = make_st_folder(tmp_path / "st", tiny_dir, dense=[{"out": 12}], pooling={"word_embedding_dimension": 32, "pooling_mode_max_tokens": True})
    encoder = SentenceEncoder.from_pretrained(folder)
    encoder.save_pretrained(tmp_path / "saved")
    again = SentenceEncoder.from_pretrained(tmp_path / "saved")
    assert [type(m) for m in again.layers] == [Pooling, Dense, Normalize]
    assert again.max_seq_length == 48 and again.layers[0].modes == ("max",)
    np.testing.assert_allclose(again.encode(SENTENCES), encoder.encode(SENTENCES), atol=1e-6)


def test_sentence_transformer_alias(tiny_st_dir, caplog):
    model = SentenceTransformer(str(tiny_st_dir), device="cpu")
    assert isinstance(model, SentenceEncoder)
    expected = SentenceEncoder.from_pretrained(tiny_st_dir).encode(SENTENCES)
    np.testing.assert_allclose(model.encode(SENTENCES), expected, atol=1e-6)
    # sentence-transformers' constructor arguments
    half = SentenceTransformer(str(tiny_st_dir), model_kwargs={"torch_dtype": torch.bfloat16}, trust_remote_code=True)
    assert half.dtype == torch.bfloat16 and "never runs code" in caplog.text
    with pytest.raises(TypeError, match="device_map"):
        SentenceTransformer(str(tiny_st_dir), model_kwargs={"device_map": "auto"})
    with pytest.raises(ValueError, match="PyTorch"):
        SentenceTransformer(str(tiny_st_dir), backend="onnx")
    # built from modules, as sentence-transformers builds one
    from mintformers.embeddings import Transformer

    built = SentenceTransformer(modules=[Transformer(model.model, model.tokenizer, 48), *model.layers], device="cpu")
    assert len(built) == 3 and built[0].max_seq_length == 48
    np.testing.assert_allclose(built.encode(SENTENCES), expected, atol=1e-6)


def test_short_names_are_sentence_transformers_repos():
    from mintformers.embeddings.folder import hub_name

    assert hub_name("all-MiniLM-L6-v2", "sentence-transformers") == "sentence-transformers/all-MiniLM-L6-v2"
    assert hub_name("intfloat/e5-small", "sentence-transformers") == "intfloat/e5-small"
    assert hub_name("bert-base-uncased", "cross-encoder") == "bert-base-uncased"  # a plain transformers checkpoint


def test_the_chain_can_be_changed_in_place(tiny_st_dir):
    encoder = SentenceEncoder.from_pretrained(tiny_st_dir)
    model = encoder.model
    encoder.model = model  # reassigning the checkpoint goes to the Transformer module, not a new submodule
    assert list(dict(encoder.named_children())) == ["0", "1", "2"] and encoder[0].model is model
    assert all(k.startswith(("0.model.", "1.", "2.")) for k in encoder.state_dict())


def test_multi_process_encoding_equals_one_process(tiny_st_dir):
    """Two spawned CPU workers (torch.multiprocessing), results in input order, errors sent back, as ST 5 does."""
    encoder = SentenceEncoder.from_pretrained(tiny_st_dir, device="cpu")
    texts = [" ".join(WORDS[i % 13 : i % 13 + i % 9 + 1]) for i in range(40)]
    expected = encoder.encode(texts)
    pool = encoder.start_multi_process_pool(["cpu", "cpu"])
    try:
        assert len(pool["processes"]) == 2
        np.testing.assert_allclose(encoder.encode(texts, pool=pool, chunk_size=3), expected, atol=ATOL)
        tensor = encoder.encode(texts, pool=pool, convert_to_tensor=True, normalize_embeddings=True)
        assert isinstance(tensor, torch.Tensor) and tensor.shape == expected.shape
        tokens = encoder.encode(texts[:5], pool=pool, output_value="token_embeddings")
        assert [t.shape for t in tokens] == [t.shape for t in encoder.encode(texts[:5], output_value="token_embeddings")]
        assert encoder.encode("hello", pool=pool).shape == (32,)
        assert encoder.encode([], pool=pool).shape == (0, 32)
        with pytest.raises(RuntimeError, match="'passage' is not one of this model's prompts"):
            encoder.encode(texts, pool=pool, prompt_name="passage")
        np.testing.assert_allclose(encoder.encode(texts, pool=pool), expected, atol=ATOL)  # the pool still works
    finally:
        encoder.stop_multi_process_pool(pool)
    # encode(device=[...]) starts a pool for the call: tests/test_cross_encoder.py covers that path (shared code)


# ---- encode -------------------------------------------------------------------------------------------------------


def test_output_types(tiny_st_dir):
    encoder = SentenceEncoder.from_pretrained(tiny_st_dir)
    one = encoder.encode("A man is eating food.")
    assert isinstance(one, np.ndarray) and one.shape == (32,)
    tensor = encoder.encode(SENTENCES[:3], convert_to_tensor=True)
    assert isinstance(tensor, torch.Tensor) and tensor.shape == (3, 32)
    listed = encoder.encode(SENTENCES[:3], convert_to_numpy=False)
    assert isinstance(listed, list) and len(listed) == 3 and listed[0].shape == (32,)
    np.testing.assert_allclose(tensor.numpy(), encoder.encode(SENTENCES[:3]), atol=0)
    empty = encoder.encode([])
    assert empty.shape == (0, 32)
    tokens = encoder.encode(SENTENCES[:2], output_value="token_embeddings")
    assert [t.shape for t in tokens] == [(8, 32), (11, 32)]  # [CLS] ... [SEP], no padding
    truncated = encoder.encode(SENTENCES[:2], truncate_dim=5, normalize_embeddings=True)
    assert truncated.shape == (2, 5)
    np.testing.assert_allclose(np.linalg.norm(truncated, axis=1), 1.0, atol=1e-6)


def test_each_text_alone_equals_it_in_any_batch(tiny_st_dir):
    """Padding must not leak: each text alone, in mixed-length batches of every size, in any order."""
    encoder = SentenceEncoder.from_pretrained(tiny_st_dir, normalize=False)
    texts = SENTENCES * 5 + [" ".join(WORDS[: k + 1]) for k in range(0, 40, 3)]
    alone = np.stack([encoder.encode(t) for t in texts])
    for batch_size in (1, 2, 7, 32, 100):
        np.testing.assert_allclose(encoder.encode(texts, batch_size=batch_size), alone, atol=ATOL)
    order = np.random.default_rng(0).permutation(len(texts))
    np.testing.assert_allclose(encoder.encode([texts[i] for i in order]), alone[order], atol=ATOL)


def test_large_inputs_are_windowed_and_restored_in_order(tiny_st_dir, monkeypatch):
    import mintformers.embeddings.batching as batching

    monkeypatch.setattr(batching, "WINDOW_BATCHES", 1)  # windows of 1024 texts
    encoder = SentenceEncoder.from_pretrained(tiny_st_dir)
    rng = np.random.default_rng(1)
    texts = [" ".join(rng.choice(WORDS, size=rng.integers(1, 20))) for _ in range(2100)]
    got = encoder.encode(texts, batch_size=64)
    sample = rng.choice(len(texts), size=20, replace=False)
    np.testing.assert_allclose(got[sample], np.stack([encoder.encode(texts[i]) for i in sample]), atol=ATOL)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda e: e.encode(None), TypeError, ["got None", "list of strings"]),
        (lambda e: e.encode(b"bytes"), TypeError, ["not bytes", "decode"]),
        (lambda e: e.encode({"a": "text"}), TypeError, ["not a dict"]),
        (lambda e: e.encode(42), TypeError, ["not a int"]),
        (lambda e: e.encode(["ok", 3]), TypeError, ["item 1 is a int", "str()"]),
        (lambda e: e.encode(["ok", None]), TypeError, ["item 1 is a NoneType"]),
        (lambda e: e.encode(["ok"], batch_size=0), ValueError, ["batch_size", "positive integer"]),
        (lambda e: e.encode(["ok"], batch_size="32"), ValueError, ["batch_size", "'32'"]),
        (lambda e: e.encode(["ok"], truncate_dim=0), ValueError, ["truncate_dim", "positive"]),
        (lambda e: e.encode(["ok"], precision="float16"), ValueError, ["precision", "int8"]),
        (lambda e: e.encode(["ok"], output_value="logits"), ValueError, ["output_value", "token_embeddings"]),
        (lambda e: e.encode(["ok"], prompt_name="passage"), ValueError, ["'passage'", "prompts"]),
        (lambda e: e.encode(["ok"], normalise=True), TypeError, ["unexpected", "normalise"]),
        (lambda e: e.encode(["ok"], pool={"input": None, "output": None, "processes": []}, chunk_size=-1), ValueError, ["chunk_size"]),
        (lambda e: setattr(e, "max_seq_length", 0), ValueError, ["max_seq_length", "positive"]),
    ],
)
def test_bad_inputs_get_clear_errors(tiny_st_dir, call, error, words):
    encoder = SentenceEncoder.from_pretrained(tiny_st_dir)
    with pytest.raises(error) as info:
        call(encoder)
    for word in words:
        assert word in str(info.value)


def test_encode_accepts_what_sentence_transformers_accepts(tiny_st_dir):
    encoder = SentenceEncoder.from_pretrained(tiny_st_dir)
    expected = encoder.encode(SENTENCES[:3])
    np.testing.assert_allclose(encoder.encode(np.array(SENTENCES[:3])), expected, atol=ATOL)  # a numpy column of strings
    np.testing.assert_allclose(encoder.encode(t for t in SENTENCES[:3]), expected, atol=ATOL)  # any iterable
    np.testing.assert_allclose(encoder.encode(sentences=SENTENCES[:3]), expected, atol=ATOL)  # the older keyword
    np.testing.assert_allclose(encoder.encode(SENTENCES[:3], None, None, 2), expected, atol=ATOL)  # ST 5's positional order
    np.testing.assert_allclose(encoder.encode(SENTENCES[:3], 2), expected, atol=ATOL)  # an int second: the older batch_size
    np.testing.assert_allclose(encoder.encode(SENTENCES[:3], task="query"), expected, atol=ATOL)  # Router's task: no router


def test_precisions(tiny_st_dir):
    encoder = SentenceEncoder.from_pretrained(tiny_st_dir)
    floats = encoder.encode(SENTENCES)
    for precision, dtype, width in [("int8", np.int8, 32), ("uint8", np.uint8, 32), ("binary", np.int8, 4), ("ubinary", np.uint8, 4)]:
        got = encoder.encode(SENTENCES, precision=precision)
        assert got.dtype == dtype and got.shape == (len(SENTENCES), width)
        np.testing.assert_array_equal(got, quantize_embeddings(floats, precision))
    ubinary = quantize_embeddings(floats, "ubinary")
    np.testing.assert_array_equal(np.unpackbits(ubinary, axis=1)[:, :32], (floats > 0).astype(np.uint8))
    np.testing.assert_array_equal(quantize_embeddings(floats, "binary").astype(np.int16), ubinary.astype(np.int16) - 128)
    u8 = quantize_embeddings(floats, "uint8")
    assert u8.min(axis=0).max() == 0 and u8.max(axis=0).min() >= 254  # each dimension spans its own range
    ranges = np.array([[-1.0] * 32, [1.0] * 32])
    np.testing.assert_array_equal(quantize_embeddings(np.zeros((1, 32)), "uint8", ranges=ranges), 127)


@pytest.mark.parametrize("model_type", ["mpnet", "mobilebert", "ernie_m", "mpt"])
def test_every_family_encodes_batch_invariantly(tmp_path, model_type):
    """Any family's base model works through AutoModel; decoder-only MPT pools its last token."""
    pytest.importorskip(f"mintformers.models.{model_type}")
    from mintformers.auto import AutoConfig

    base = make_tiny_checkpoint(tmp_path / "bert")
    vocab_size = json.loads((base / "config.json").read_text())["vocab_size"]
    sizes = {
        "mpnet": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48, max_position_embeddings=66),
        "mobilebert": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=32, embedding_size=16,
                           intra_bottleneck_size=16, true_hidden_size=16, num_feedforward_networks=2),
        "ernie_m": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48, max_position_embeddings=66),
        "mpt": dict(d_model=32, n_heads=4, n_layers=2, max_seq_len=64),
    }[model_type]
    config = AutoConfig.for_model(model_type, vocab_size=vocab_size, pad_token_id=0, **sizes)
    torch.manual_seed(0)
    model = perturb_(AutoModel.from_config(config))
    if model_type == "mobilebert":
        # Its trigram input feeds the last real token its right neighbour's embedding: the pad row, or zeros when
        # alone. Trained checkpoints keep the pad row at zero (padding_idx), which makes the two agree.
        with torch.no_grad():
            model.get_input_embeddings().weight[0].zero_()
    folder = tmp_path / model_type
    model.save_pretrained(folder)
    for f in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(base / f, folder / f)
    encoder = SentenceEncoder.from_pretrained(folder)
    assert encoder.layers[0].modes == (("lasttoken",) if model_type == "mpt" else ("mean",))
    texts = SENTENCES[:5]
    batched = encoder.encode(texts)
    alone = np.stack([encoder.encode(t) for t in texts])
    np.testing.assert_allclose(batched, alone, atol=1e-4 if model_type == "mobilebert" else ATOL)


# ---- batching plan ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("overhead", [None, 0, 16, 64, 1e9])
def test_batch_plan_covers_everything_in_contiguous_bounded_batches(overhead):
    rng = np.random.default_rng(0)
    lengths = sorted(rng.integers(1, 200, size=257).tolist(), reverse=True)
    plan = plan_batches(lengths, 32, overhead)
    assert plan[0][0] == 0 and plan[-1][1] == len(lengths)
    assert all(a[1] == b[0] for a, b in zip(plan, plan[1:]))
    assert all(0 < end - start <= 32 for start, end in plan)
    padded = sum((end - start) * lengths[start] for start, end in plan)
    fixed = sum((end - start) * lengths[start] for start, end in plan_batches(lengths, 32, None))
    assert padded <= fixed
    if overhead == 0:
        assert padded == sum(lengths)  # free batches: no padding at all


# ---- similarity and search ----------------------------------------------------------------------------------------


def test_similarity_functions():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 8)).astype(np.float32), rng.normal(size=(4, 8)).astype(np.float32)
    an, bn = a / np.linalg.norm(a, axis=1, keepdims=True), b / np.linalg.norm(b, axis=1, keepdims=True)
    np.testing.assert_allclose(cos_sim(a, b).numpy(), an @ bn.T, atol=1e-6)
    np.testing.assert_allclose(dot_score(a, b).numpy(), a @ b.T, atol=1e-5)
    np.testing.assert_allclose(euclidean_sim(a, b).numpy(), -np.linalg.norm(a[:, None] - b[None], axis=-1), atol=1e-5)
    np.testing.assert_allclose(manhattan_sim(a, b).numpy(), -np.abs(a[:, None] - b[None]).sum(-1), atol=1e-5)
    c = b[:3]
    np.testing.assert_allclose(pairwise_cos_sim(a, c).numpy(), np.diag(an @ bn[:3].T), atol=1e-6)
    np.testing.assert_allclose(pairwise_dot_score(a, c).numpy(), (a * c).sum(1), atol=1e-5)
    np.testing.assert_allclose(pairwise_euclidean_sim(a, c).numpy(), -np.linalg.norm(a - c, axis=1), atol=1e-5)
    np.testing.assert_allclose(pairwise_manhattan_sim(a, c).numpy(), -np.abs(a - c).sum(1), atol=1e-5)
    assert cos_sim(a[0], b).shape == (1, 4)  # vectors are one-row matrices
    assert cos_sim(torch.from_numpy(a), [torch.from_numpy(r) for r in b]).shape == (3, 4)


def test_encoder_similarity_follows_its_function(tiny_st_dir):
    encoder = SentenceEncoder.from_pretrained(tiny_st_dir)
    emb = encoder.encode(SENTENCES[:3])
    torch.testing.assert_close(encoder.similarity(emb, emb), cos_sim(emb, emb))
    encoder.similarity_fn_name = "manhattan"
    torch.testing.assert_close(encoder.similarity(emb, emb), manhattan_sim(emb, emb))
    torch.testing.assert_close(encoder.similarity_pairwise(emb, emb), pairwise_manhattan_sim(emb, emb))
    with pytest.raises(ValueError, match="similarity_fn_name"):
        encoder.similarity_fn_name = "jaccard"


def test_semantic_search_matches_brute_force_in_every_chunking():
    rng = np.random.default_rng(0)
    corpus, queries = rng.normal(size=(50, 16)).astype(np.float32), rng.normal(size=(7, 16)).astype(np.float32)
    scores = cos_sim(queries, corpus).numpy()
    for kwargs in ({}, {"query_chunk_size": 2, "corpus_chunk_size": 3}, {"corpus_chunk_size": 1}):
        hits = semantic_search(queries, corpus, top_k=5, **kwargs)
        assert len(hits) == 7
        for q, qh in enumerate(hits):
            assert [h["corpus_id"] for h in qh] == list(np.argsort(-scores[q], kind="stable")[:5])
            np.testing.assert_allclose([h["score"] for h in qh], np.sort(scores[q])[::-1][:5], atol=1e-6)
    assert len(semantic_search(queries[0], corpus, top_k=100)[0]) == 50  # top_k larger than the corpus
    tied = semantic_search(np.ones((1, 4)), np.ones((6, 4)), top_k=3)[0]
    ids = [h["corpus_id"] for h in tied]
    assert ids == sorted(ids) and len(set(ids)) == 3  # equal scores are listed in corpus order
    dot_hits = semantic_search(queries, corpus, top_k=3, score_function=dot_score)
    assert [h["corpus_id"] for h in dot_hits[0]] == list(np.argsort(-(queries[0] @ corpus.T))[:3])


# ---- saved embeddings ---------------------------------------------------------------------------------------------


def test_save_and_load_embeddings(tmp_path):
    emb = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    records = ["first", {"text": "second", "source": "notes.md", "line": 3}, "third"]
    npy, jsonl = save_embeddings(tmp_path / "index", emb, records, metadata={"model": "tiny"})
    assert (npy.name, jsonl.name) == ("index.npy", "index.jsonl")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.jsonl", "index.npy"]  # no temporary files left
    loaded = load_embeddings(tmp_path / "index.npy")
    np.testing.assert_array_equal(loaded.embeddings, emb)
    assert loaded.texts == ["first", "second", "third"]
    assert loaded.records[1] == {"text": "second", "source": "notes.md", "line": 3}
    assert loaded.metadata == {"model": "tiny"}
    emb2, texts2, _, _ = load_embeddings(tmp_path / "index")
    assert texts2 == loaded.texts


def test_saved_embeddings_are_checked(tmp_path):
    emb = np.zeros((2, 4), dtype=np.float32)
    with pytest.raises(ValueError, match="must match"):
        save_embeddings(tmp_path / "x", emb, ["only one"])
    save_embeddings(tmp_path / "x", emb, ["a", "b"])
    np.save(tmp_path / "x.npy", np.zeros((3, 4), dtype=np.float32))  # a stale array from another corpus
    with pytest.raises(CheckpointError, match="do not belong together"):
        load_embeddings(tmp_path / "x")
    (tmp_path / "x.npy").unlink()
    with pytest.raises(FileNotFoundError, match="x.npy"):
        load_embeddings(tmp_path / "x")


# ---- progress bar -------------------------------------------------------------------------------------------------


def test_progress_bar_draws_only_when_enabled():
    stream = io.StringIO()
    with Progress(total=4, desc="Embedding", unit="texts", enabled=True, stream=stream, min_interval=0) as bar:
        bar.update(1)
        bar.update(3)
    out = stream.getvalue()
    assert out.startswith("\rEmbedding:") and "4/4" in out and "100%" in out and out.endswith("\n")
    quiet = io.StringIO()
    with Progress(total=4, enabled=None, stream=quiet) as bar:  # a StringIO is no terminal
        bar.update(4)
    assert quiet.getvalue() == "" and not progress_enabled(None, quiet)
    untotalled = Progress(enabled=True, stream=io.StringIO(), unit="files")
    untotalled.update(2)
    assert "2 files" in untotalled.render()
