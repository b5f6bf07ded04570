"""int8 and bfloat16 tiers: outputs within the stated cosine of float32 for every family, the kernels equal their
float emulation, quantized checkpoints reload without re-quantizing (and other loaders refuse them), the dtype
choice by CPU flags, greedy generation in int8/bf16 equal to float32 on a small trained MPT."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors import safe_open

import mintformers
from mintformers import hardware
from mintformers.hub import CheckpointError
from mintformers.layers.quantized import Int8Linear, quantize_weight
from mintformers.modeling import auto_dtype, resolve_dtype
from mintformers.quantization import QUANTIZE_CHOICES, SAFETENSORS_FORMAT, quantize_model

from parity import perturb_

TINY = {
    "BertModel": ("BertConfig", dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=96)),
    "MobileBertModel": ("MobileBertConfig", dict(
        hidden_size=64, embedding_size=32, intra_bottleneck_size=32, intermediate_size=48, num_hidden_layers=2,
        num_attention_heads=4, num_feedforward_networks=2,
    )),
    "MPNetModel": ("MPNetConfig", dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=96)),
    "ErnieMModel": ("ErnieMConfig", dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=96)),
}


def tiny(name: str) -> torch.nn.Module:
    config_name, sizes = TINY[name]
    config = getattr(mintformers, config_name)(vocab_size=120, max_position_embeddings=64, **sizes)
    torch.manual_seed(0)
    return perturb_(getattr(mintformers, name)(config), 0).eval()


def batch(vocab: int = 120) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(3, vocab, (3, 17), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 12:] = 0
    mask[2, 5:] = 0
    return ids, mask


def token_cosines(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return F.cosine_similarity(a, b, dim=-1)[mask.bool()]


# ---- every encoder family -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("tier, cosine", [("int8", 0.99), ("bfloat16", 0.999)])
@pytest.mark.parametrize("name", sorted(TINY))
def test_tier_outputs_within_cosine_of_float32(name, tier, cosine):
    """Every token's hidden state of every encoder family, int8 or bf16, within the stated cosine of float32."""
    model = tiny(name)
    ids, mask = batch()
    with torch.inference_mode():
        want = model(input_ids=ids, attention_mask=mask).last_hidden_state
        model = quantize_model(model, "int8") if tier == "int8" else model.to(torch.bfloat16)
        got = model(input_ids=ids, attention_mask=mask).last_hidden_state.float()
    if tier == "int8":
        assert model.config.quantization_config["scheme"] == "int8-dynamic"
        assert all(type(m) is not torch.nn.Linear for m in model.modules())  # the whole base model runs in int8
    assert token_cosines(got, want, mask).min() >= cosine


def test_real_minilm_int8_cosine_and_retrieval(minilm_dir):
    """The issue's yardstick: min cosine ≥ 0.99 on the benchmark corpus, and the same top-1 in a retrieval check."""
    from mintformers import SentenceEncoder

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_embeddings import mixed_sentences

    corpus = mixed_sentences(256)
    fp32 = SentenceEncoder.from_pretrained(minilm_dir, device="cpu")
    int8 = SentenceEncoder.from_pretrained(minilm_dir, device="cpu", quantize="int8")
    a, b = (m.encode(corpus, convert_to_tensor=True, normalize_embeddings=True) for m in (fp32, int8))
    assert (a * b).sum(1).min() >= 0.99
    documents = (Path(mintformers.__file__).parent / "data" / "demo_corpus.txt").read_text(encoding="utf-8").splitlines()
    queries = ["How do plants make sugar?", "Why does a volcano erupt?", "What causes earthquakes?",
               "Which insects pollinate crops?", "How do trees get water?"]
    hits = []
    for m in (fp32, int8):
        d, q = (m.encode(t, convert_to_tensor=True, normalize_embeddings=True) for t in (documents, queries))
        hits.append((q @ d.T).argmax(1))
    assert torch.equal(hits[0], hits[1])


# ---- the layer ----------------------------------------------------------------------------------------------------


def test_int8_linear_matches_its_float_emulation(monkeypatch):
    """oneDNN's u8 × s8 product (7-bit weights: no 16-bit saturation on CPUs without VNNI) equals the same integer
    arithmetic done in float, and stays close to the float layer."""
    torch.manual_seed(0)
    linear = torch.nn.Linear(96, 40)
    layer = Int8Linear.from_linear(linear, "int8-dynamic")
    x = torch.randn(2, 9, 96) * torch.linspace(0.1, 8, 96)  # outlier features, as in real activations
    x[0, 3] *= 30  # and an outlier token
    with torch.inference_mode():
        fast = layer(x)
        import mintformers.layers.quantized as q

        monkeypatch.setattr(q, "_onednn_int8", lambda: False)
        layer.__dict__.pop("_mf_derived", None)
        emulated = layer(x)
        exact = linear(x)
    torch.testing.assert_close(fast, emulated, rtol=1e-5, atol=1e-4)
    assert F.cosine_similarity(fast, exact, dim=-1).min() > 0.999
    assert layer.weight.abs().max() <= 63


def test_quantize_weight_per_channel():
    w = torch.tensor([[1.0, -2.0, 0.5], [0.0, 0.0, 0.0], [100.0, 1.0, -50.0]])
    q, scale = quantize_weight(w, 8)
    assert q.dtype == torch.int8 and q.abs().max() == 127
    torch.testing.assert_close(q.float() * scale[:, None], w, atol=scale.max().item() / 2, rtol=0)
    assert q[1].eq(0).all() and scale[1] == 1  # an all-zero row stays zero


def test_weight_only_paths_agree():
    """Few rows (decode: torch._weight_int8pack_mm, bf16 activations) and many rows (prefill: dequantized float
    product) give the same numbers within bfloat16 rounding."""
    torch.manual_seed(0)
    layer = Int8Linear.from_linear(torch.nn.Linear(64, 48, bias=False), "int8-weight-only")
    x = torch.randn(40, 64)
    with torch.inference_mode():
        many = layer(x)
        few = torch.cat([layer(x[i : i + 4]) for i in range(0, 40, 4)])
    assert F.cosine_similarity(few, many, dim=-1).min() > 0.999


# ---- saving and loading -------------------------------------------------------------------------------------------


def test_saved_int8_model_reloads_identically(tmp_path):
    model = quantize_model(tiny("BertModel"), "int8")
    ids, mask = batch()
    with torch.inference_mode():
        want = model(input_ids=ids, attention_mask=mask).last_hidden_state
    model.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["quantization_config"]["quant_method"] == "mintformers"
    assert config["quantization_config"]["scheme"] == "int8-dynamic"
    with safe_open(tmp_path / "model.safetensors", "pt") as f:
        assert f.metadata()["format"] == SAFETENSORS_FORMAT
        assert f.get_tensor("encoder.layer.0.attention.self.query.weight").dtype == torch.int8
    reloaded = mintformers.BertModel.from_pretrained(tmp_path)  # no quantize=: the checkpoint says int8
    assert torch.equal(reloaded.encoder.layer[1].output.dense.weight, model.encoder.layer[1].output.dense.weight)
    with torch.inference_mode():
        got = reloaded(input_ids=ids, attention_mask=mask).last_hidden_state
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    # a head class loads the base model's int8 checkpoint (names gain the "bert." prefix)
    head = mintformers.BertForSequenceClassification.from_pretrained(tmp_path, num_labels=2)
    assert type(head.bert.encoder.layer[0].intermediate.dense) is Int8Linear
    with pytest.raises(ValueError, match="already quantized"):
        mintformers.BertModel.from_pretrained(tmp_path, quantize="int8-weight-only")


def test_other_loaders_refuse_int8_checkpoints(tmp_path):
    transformers = pytest.importorskip("transformers")
    quantize_model(tiny("BertModel"), "int8").save_pretrained(tmp_path)
    with pytest.raises((ValueError, OSError), match="mintformers-int8|metadata"):
        transformers.BertModel.from_pretrained(tmp_path)


def test_int8_weights_without_their_config_are_refused(tmp_path):
    quantize_model(tiny("BertModel"), "int8").save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    del config["quantization_config"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="quantization_config"):
        mintformers.BertModel.from_pretrained(tmp_path)


def test_foreign_quantization_is_refused(tmp_path):
    tiny("BertModel").save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["quantization_config"] = {"quant_method": "gptq", "bits": 4}
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="gptq"):
        mintformers.BertModel.from_pretrained(tmp_path)


def test_quantize_choices_and_errors():
    model = tiny("BertModel")
    with pytest.raises(ValueError, match="int4"):
        quantize_model(model, "int4")
    quantize_model(model, "int8")
    with pytest.raises(ValueError, match="already quantized"):
        quantize_model(model, "int8")
    from mintformers.cli.common import QUANTIZE_CHOICES as CLI_CHOICES

    assert CLI_CHOICES == QUANTIZE_CHOICES


# ---- dtype="auto" -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "stored", "device", "want"),
    [
        ({"avx2", "fma"}, torch.float32, "cpu", torch.float32),  # AVX2 only (this project's CI): never bf16
        ({"avx512f", "avx512_vnni"}, torch.float32, "cpu", torch.float32),  # AVX-512 without BF16
        ({"avx512f", "avx512_bf16"}, torch.float32, "cpu", torch.bfloat16),  # Cooper Lake, Zen 4
        ({"amx_bf16", "amx_tile"}, torch.float32, None, torch.bfloat16),  # Sapphire Rapids
        ({"amx_bf16"}, torch.float16, "cpu", torch.float16),  # a half-precision checkpoint stays as stored
        ({"amx_bf16"}, torch.float32, "cuda", torch.float32),  # the rule is about CPUs
    ],
)
def test_auto_dtype_picks_bf16_only_with_native_bf16(monkeypatch, flags, stored, device, want):
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset(flags))
    assert auto_dtype(stored, device) == want


def test_resolve_dtype_auto_uses_the_rule(monkeypatch):
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"amx_bf16"}))
    config = mintformers.BertConfig(dtype="float32")
    assert resolve_dtype("auto", config) == torch.bfloat16
    assert resolve_dtype(None, config) == torch.float32  # the default stays float32, as in the reference
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"avx2"}))
    assert resolve_dtype("auto", config) == torch.float32


def test_cpu_flags_are_read_from_cpuinfo():
    flags = hardware.cpu_flags()
    assert isinstance(flags, frozenset)
    if Path("/proc/cpuinfo").exists() and torch.backends.cpu.get_cpu_capability() in ("AVX2", "AVX512"):
        assert "avx2" in flags
    assert "native bf16" in hardware.describe_cpu()


# ---- generation ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained_mpt():
    """A small MPT trained for a few seconds on real English text (the bundled demo corpus), so that its greedy
    continuations are decided by learnt margins rather than by near-ties of random weights."""
    sys.path.insert(0, str(Path(__file__).resolve().parent / "generation"))
    from gen_helpers import ByteTokenizer

    text = (Path(mintformers.__file__).parent / "data" / "demo_corpus.txt").read_text(encoding="utf-8")
    tokenizer = ByteTokenizer()
    ids = torch.tensor(tokenizer.encode(text))[:700]  # a few paragraphs, learnt well in a few seconds
    config = mintformers.MptConfig(d_model=64, n_heads=4, n_layers=2, vocab_size=len(tokenizer), max_seq_len=64,
                                   learned_pos_emb=False)
    torch.manual_seed(0)
    model = mintformers.MptForCausalLM(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(120):
        starts = torch.randint(0, len(ids) - 65, (16,), generator=g)
        chunk = torch.stack([ids[s : s + 65] for s in starts])
        loss = model(chunk[:, :-1], labels=chunk[:, :-1]).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    prompt = torch.tensor([tokenizer.encode(text[:120])])
    return model.eval(), prompt


@pytest.mark.parametrize("tier", ["int8", "bfloat16"])
def test_generation_tiers_match_float32_greedy_tokens(trained_mpt, tier):
    """generate() runs in the tier, and at each of 128 greedy steps along float32's continuation the tier picks
    float32's token ≥ 95% of the time (per step, given the same text so far: one near-tie does not count twice)."""
    import copy

    model, prompt = trained_mpt
    n = prompt.shape[1]
    want = model.generate(prompt, max_new_tokens=128, do_sample=False)
    other = copy.deepcopy(model)
    other = quantize_model(other, "int8") if tier == "int8" else other.to(torch.bfloat16)
    if tier == "int8":
        assert other.config.quantization_config["scheme"] == "int8-weight-only"
        assert other.lm_head.weight is other.transformer.wte.weight  # the tied table is stored once, in int8
    got = other.generate(prompt, max_new_tokens=128, do_sample=False)
    assert got.shape == want.shape and torch.equal(got[0, :n], prompt[0])
    with torch.inference_mode():
        picked = other(want).logits[0, n - 1 : -1].argmax(-1)  # the tier's greedy choice at every step
    assert (picked == want[0, n:]).float().mean() >= 0.95


def test_int8_mpt_saves_and_reloads_tied(tmp_path, trained_mpt):
    import copy

    model, prompt = trained_mpt
    q = quantize_model(copy.deepcopy(model), "int8")
    q.save_pretrained(tmp_path)
    with safe_open(tmp_path / "model.safetensors", "pt") as f:
        assert not any(k.startswith("lm_head.") for k in f.keys())  # tied: stored once, as transformer.wte
    reloaded = mintformers.MptForCausalLM.from_pretrained(tmp_path)
    assert reloaded.lm_head.weight is reloaded.transformer.wte.weight
    assert reloaded.lm_head.weight_scale is reloaded.transformer.wte.weight_scale
    assert torch.equal(reloaded.generate(prompt, max_new_tokens=8), q.generate(prompt, max_new_tokens=8))


def test_int8_pipeline_refuses_a_built_model(trained_mpt):
    model, _ = trained_mpt
    with pytest.raises(ValueError, match="quantize"):
        mintformers.pipeline("text-generation", model=model, tokenizer=None, quantize="int8")


# ---- every entry point --------------------------------------------------------------------------------------------


@pytest.fixture
def quantized(monkeypatch):
    """(class name, scheme) of every model that quantize_model quantized during the test."""
    from mintformers import quantization

    seen, real = [], quantization.quantize_model

    def spy(model, quantize="int8"):
        out = real(model, quantize)
        seen.append((type(model).__name__, model.config.quantization_config["scheme"]))
        return out

    monkeypatch.setattr(quantization, "quantize_model", spy)
    return seen


def int8_layers(module: torch.nn.Module) -> set[str]:
    return {m.scheme for m in module.modules() if type(m) is Int8Linear}


def test_quantize_reaches_every_python_entry_point(models, quantized):
    """quantize="int8" from from_pretrained, SentenceEncoder, SentenceTransformer and CrossEncoder (model_kwargs, as
    sentence-transformers passes loading options) and pipeline(); the model runs afterwards."""
    from mintformers import AutoModel, CrossEncoder, SentenceEncoder, SentenceTransformer, pipeline

    assert int8_layers(AutoModel.from_pretrained(models["base"], quantize="int8")) == {"int8-dynamic"}
    encoder = SentenceEncoder.from_pretrained(models["st"], quantize="int8")
    assert int8_layers(encoder) == {"int8-dynamic"} and encoder.encode(["a man eats"]).shape == (1, 32)
    st = SentenceTransformer(str(models["st"]), model_kwargs={"quantize": "int8"})
    assert int8_layers(st) == {"int8-dynamic"}
    np_close = encoder.encode(["the cat sleeps"]) - st.encode(["the cat sleeps"])
    assert abs(np_close).max() == 0  # one scheme, one result
    reranker = CrossEncoder(str(models["rerank"]), model_kwargs={"quantize": "int8"})
    assert int8_layers(reranker.model) == {"int8-dynamic"} and len(reranker.predict([("a", "b"), ("c", "d")])) == 2
    fill = pipeline("fill-mask", model=models["mlm"], quantize="int8")
    assert int8_layers(fill.model) == {"int8-dynamic"} and fill("the [MASK] sleeps", top_k=2)
    generator = pipeline("text-generation", model=models["gen"], quantize="int8")
    assert int8_layers(generator.model) == {"int8-weight-only"}  # MPT: int8 weights, float activations
    assert generator("the cat", max_new_tokens=4, do_sample=False)[0]["generated_text"].startswith("the cat")
    assert {scheme for _, scheme in quantized} == {"int8-dynamic", "int8-weight-only"}


def test_bfloat16_generation_through_the_pipeline(models):
    from mintformers import pipeline

    generator = pipeline("text-generation", model=models["gen"], torch_dtype=torch.bfloat16)
    assert generator.model.dtype == torch.bfloat16
    assert generator("the cat", max_new_tokens=4, do_sample=False)[0]["generated_text"].startswith("the cat")


def test_quantize_reaches_the_command_line_and_the_server(models, quantized, capsys, tmp_path, monkeypatch):
    """--quantize int8 on a command that embeds, a task command (a pipeline) and the server (its model is loaded
    at once here, and uvicorn's run is replaced so that nothing listens)."""
    from mintformers.cli import EXIT_OK, main

    source = tmp_path / "texts.txt"
    source.write_text("a man is eating food\nthe cat sleeps\n")
    assert main(["embed", str(source), "-o", str(tmp_path / "out.npy"), "--model", str(models["st"]), "--quantize", "int8"]) == EXIT_OK
    assert quantized[-1] == ("BertModel", "int8-dynamic")
    assert main(["generate", "the cat", "--model", str(models["gen"]), "--max-new-tokens", "3", "--quantize", "int8"]) == EXIT_OK
    assert quantized[-1] == ("MptForCausalLM", "int8-weight-only")
    from mintformers import server

    real_create_app = server.create_app

    def create_app(task, load=None, **kwargs):
        load()  # what the server loads in a thread once it runs
        return real_create_app(task, load=load, **kwargs)

    monkeypatch.setattr(server, "create_app", create_app)
    monkeypatch.setattr("mintformers.server.run.Server.run", lambda server, sockets=None: None)
    assert main(["serve", "--model", str(models["st"]), "--port", "0", "--quantize", "int8"]) == EXIT_OK
    assert quantized[-1] == ("BertModel", "int8-dynamic")
    assert main(["serve", "rerank", "--model", str(models["rerank"]), "--port", "0", "--quantize", "int8"]) == EXIT_OK
    assert quantized[-1] == ("BertForSequenceClassification", "int8-dynamic")
    capsys.readouterr()


# ---- start-up -----------------------------------------------------------------------------------------------------


def test_import_loads_no_other_framework():
    """`import mintformers` (and a model class) must not pull in TensorFlow, JAX/Flax or Ray: seconds of start-up
    and gigabytes of memory for users who never touch those backends."""
    code = (
        "import sys, mintformers; mintformers.BertModel; mintformers.AutoModel; "
        "print(sorted(m for m in ('tensorflow', 'jax', 'flax', 'ray', 'keras') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
