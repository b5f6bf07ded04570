"""FlaxBert*: parity with transformers 4.57.6's Flax classes (the test-only oracle) for all nine classes, decoding
with a cache, relative positions against our PyTorch classes, the same checkpoint through PyTorch and Flax, the
real all-MiniLM-L6-v2, jit / grad / an optax training step, dtype and gradient checkpointing.

Checkpoints are tiny perturbed reference models (conftest.reference_dirs); inputs are padded batches compared at
real positions only (flax_parity.max_diff).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
from flax.traverse_util import flatten_dict
from flax_parity import ATOL, CLASSES, TINY, batch, choices, max_diff, reference_folder

import mintformers
from mintformers import (
    BertConfig,
    FlaxBertForCausalLM,
    FlaxBertForSequenceClassification,
    FlaxBertModel,
)

from parity import perturb_

LOUD = dict(output_hidden_states=True, output_attentions=True)


def reference_flax(name: str, folder):
    import transformers

    return getattr(transformers, name).from_pretrained(folder, from_pt=True)


# ---- parity with the reference's Flax classes ---------------------------------------------------------------------


@pytest.mark.parametrize("pt_class", list(CLASSES))
def test_matches_the_reference_flax_class(pt_class, reference_dirs):
    name = CLASSES[pt_class]
    ref = reference_flax(name, reference_dirs[pt_class])
    ours, info = getattr(mintformers, name).from_pretrained(reference_dirs[pt_class], output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []

    # the same parameter tree as the reference, as a plain pytree of dicts
    assert type(ours.params) is dict
    ref_shapes = {k: v.shape for k, v in flatten_dict(ref.params).items()}
    assert {k: v.shape for k, v in flatten_dict(ours.params).items()} == ref_shapes

    inputs = choices(batch()) if "MultipleChoice" in name else batch()
    expected, got = ref(**inputs, **LOUD), ours(**inputs, **LOUD)
    assert got.keys() == [k for k in expected.keys() if k != "past_key_values"]
    for key in got.keys():
        assert max_diff(got[key], expected[key], inputs["attention_mask"]) <= ATOL, key
    # return_dict=False: the reference's tuple
    got_tuple, expected_tuple = ours(**inputs, **LOUD, return_dict=False), ref(**inputs, **LOUD, return_dict=False)
    assert len(got_tuple) == len(expected_tuple)
    assert max_diff(got_tuple[0], expected_tuple[0], inputs["attention_mask"]) <= ATOL


def test_head_mask_matches_the_reference(reference_dirs):
    ref = reference_flax("FlaxBertModel", reference_dirs["BertModel"])
    ours = FlaxBertModel.from_pretrained(reference_dirs["BertModel"])
    head_mask = np.array([[1, 0, 1, 1], [0, 1, 1, 0]], dtype=np.float32)
    inputs = batch()
    got = ours(**inputs, head_mask=head_mask).last_hidden_state
    assert max_diff(got, ref(**inputs, head_mask=head_mask).last_hidden_state, inputs["attention_mask"]) <= ATOL
    assert max_diff(got, ours(**inputs).last_hidden_state) > 1e-2  # the mask matters


# ---- decoding with a cache ----------------------------------------------------------------------------------------


def decode(model, inputs: dict, prompt: int, **kwargs) -> np.ndarray:
    """The prompt in one call, then one token per call through the cache; the logits of every position."""
    ids, mask = inputs["input_ids"], inputs["attention_mask"]
    cache = model.init_cache(ids.shape[0], ids.shape[1])
    logits = []
    for start, stop in [(0, prompt)] + [(i, i + 1) for i in range(prompt, ids.shape[1])]:
        positions = np.broadcast_to(np.arange(start, stop), (ids.shape[0], stop - start))
        out = model(ids[:, start:stop], mask, position_ids=positions, past_key_values=cache, **kwargs)
        cache = out.past_key_values
        logits.append(np.asarray(out.logits))
    return np.concatenate(logits, axis=1)


def test_cache_steps_equal_the_full_pass(reference_dirs):
    """The reference ignores past_key_values for decoders without cross-attention; here the cache is used, and
    each step equals the full forward pass."""
    model = FlaxBertForCausalLM.from_pretrained(reference_dirs["BertLMHeadModel"])
    inputs = batch()
    full = model(inputs["input_ids"], inputs["attention_mask"]).logits
    assert max_diff(decode(model, inputs, prompt=5), full, inputs["attention_mask"]) <= ATOL
    # default positions continue after the cache
    cache = model.init_cache(3, 9)
    first = model(inputs["input_ids"][:, :8], inputs["attention_mask"], past_key_values=cache)
    last = model(inputs["input_ids"][:, 8:], inputs["attention_mask"], past_key_values=first.past_key_values)
    assert max_diff(last.logits, full[:, 8:]) <= ATOL


def test_cache_with_cross_attention_matches_the_reference(tmp_path):
    """Where the reference's cache works (decoders with cross-attention): the same steps, and both equal the full
    pass."""
    folder = reference_folder(tmp_path, "BertLMHeadModel", add_cross_attention=True)
    ref = reference_flax("FlaxBertForCausalLM", folder)
    ours = FlaxBertForCausalLM.from_pretrained(folder)
    inputs = batch()
    rng = np.random.default_rng(0)
    encoder = {
        "encoder_hidden_states": rng.normal(size=(3, 5, TINY["hidden_size"])).astype(np.float32),
        "encoder_attention_mask": np.array([[1] * 5, [1] * 3 + [0] * 2, [1] * 4 + [0]]),
    }
    mask = inputs["attention_mask"]
    steps_ours, steps_ref = decode(ours, inputs, 5, **encoder), decode(ref, inputs, 5, **encoder)
    assert max_diff(steps_ours, steps_ref, mask) <= ATOL
    assert max_diff(steps_ours, ref(inputs["input_ids"], mask, **encoder).logits, mask) <= ATOL


# ---- relative positions, against our PyTorch classes --------------------------------------------------------------


def our_pytorch_folder(directory, cls, **config):
    torch.manual_seed(0)
    model = perturb_(cls(BertConfig(**{**TINY, **config})).eval())
    model.save_pretrained(directory)
    return model


@pytest.mark.parametrize("position_type", ["relative_key", "relative_key_query"])
def test_relative_positions_match_our_pytorch_model(tmp_path, position_type):
    pt = our_pytorch_folder(tmp_path, mintformers.BertModel, position_embedding_type=position_type)
    flax_model = FlaxBertModel.from_pretrained(tmp_path)
    assert "distance_embedding" in flax_model.params["encoder"]["layer"]["0"]["attention"]["self"]
    inputs = batch()
    with torch.no_grad():
        expected = pt(**{k: torch.from_numpy(v) for k, v in inputs.items()})
    got = flax_model(**inputs)
    assert max_diff(got.last_hidden_state, expected.last_hidden_state.numpy(), inputs["attention_mask"]) <= ATOL
    assert max_diff(got.pooler_output, expected.pooler_output.numpy()) <= ATOL


def test_relative_decoder_and_its_cache_match_our_pytorch_model(tmp_path):
    pt = our_pytorch_folder(
        tmp_path, mintformers.BertLMHeadModel, is_decoder=True, position_embedding_type="relative_key_query"
    )
    flax_model = FlaxBertForCausalLM.from_pretrained(tmp_path)
    inputs = batch()
    with torch.no_grad():
        expected = pt(torch.from_numpy(inputs["input_ids"]), torch.from_numpy(inputs["attention_mask"])).logits.numpy()
    mask = inputs["attention_mask"]
    assert max_diff(flax_model(inputs["input_ids"], mask).logits, expected, mask) <= ATOL
    assert max_diff(decode(flax_model, inputs, prompt=5), expected, mask) <= ATOL


# ---- one checkpoint, two frameworks -------------------------------------------------------------------------------


def test_same_checkpoint_in_pytorch_and_flax(reference_dirs):
    pt = mintformers.BertModel.from_pretrained(reference_dirs["BertModel"])
    flax_model = FlaxBertModel.from_pretrained(reference_dirs["BertModel"])
    inputs = batch()
    with torch.no_grad():
        expected = pt(**{k: torch.from_numpy(v) for k, v in inputs.items()})
    got = flax_model(**inputs)
    assert max_diff(got.last_hidden_state, expected.last_hidden_state.numpy(), inputs["attention_mask"]) <= ATOL
    assert max_diff(got.pooler_output, expected.pooler_output.numpy()) <= ATOL


def test_real_minilm_gives_the_same_sentence_embeddings(minilm_dir):
    from mintformers import AutoTokenizer, SentenceEncoder

    texts = ["A man is eating food.", "A man is eating a piece of bread.", "The girl plays the violin."]
    tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    model = FlaxBertModel.from_pretrained(minilm_dir)
    inputs = tokenizer(texts, padding=True, return_tensors="np")
    hidden = model(**inputs).last_hidden_state
    mask = inputs["attention_mask"][..., None]
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    embeddings = np.asarray(pooled / jnp.linalg.norm(pooled, axis=-1, keepdims=True))
    expected = SentenceEncoder.from_pretrained(minilm_dir).encode(texts)
    assert np.abs(embeddings - expected).max() <= ATOL
    assert embeddings[0] @ embeddings[1] == pytest.approx(0.7553, abs=1e-4)  # REFERENCE.md's sanity value


# ---- jit, grad, training ------------------------------------------------------------------------------------------


def test_jitted_optax_training_step_learns_without_retracing(reference_dirs):
    model = FlaxBertForSequenceClassification.from_pretrained(reference_dirs["BertForSequenceClassification"])
    optimizer = optax.adamw(3e-3)
    traces = 0

    def loss_fn(params, batch_, rng):
        logits = model(batch_["input_ids"], batch_["attention_mask"], params=params, dropout_rng=rng, train=True).logits
        return optax.softmax_cross_entropy_with_integer_labels(logits, batch_["labels"]).mean()

    @jax.jit
    def train_step(params, opt_state, batch_, rng):
        nonlocal traces
        traces += 1
        loss, grads = jax.value_and_grad(loss_fn)(params, batch_, rng)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    batches = [dict(batch(seed), labels=np.array([0, 1, 2])) for seed in (0, 1)]  # same shapes, other values
    params, opt_state = model.params, optimizer.init(model.params)
    losses = []
    for step in range(12):
        params, opt_state, loss = train_step(params, opt_state, batches[step % 2], jax.random.PRNGKey(step))
        losses.append(float(loss))
    assert traces == 1  # no Python-side dependence on the batch's values
    assert losses[-2] < losses[0] and losses[-1] < losses[1]

    # train=True: dropout draws from dropout_rng
    jitted_loss = jax.jit(loss_fn)
    assert jitted_loss(params, batches[0], jax.random.PRNGKey(0)) != jitted_loss(params, batches[0], jax.random.PRNGKey(1))


def test_eager_calls_compile_once_per_shape(reference_dirs):
    model = FlaxBertModel.from_pretrained(reference_dirs["BertModel"])
    first = model(**batch(0)).last_hidden_state
    compiled = model._apply._cache_size()
    second = model(**batch(1)).last_hidden_state  # other values, same shapes: no new trace
    assert model._apply._cache_size() == compiled
    assert max_diff(first, second) > 0.1


def test_bf16_compute_with_fp32_params(reference_dirs):
    fp32 = FlaxBertModel.from_pretrained(reference_dirs["BertModel"])
    bf16 = FlaxBertModel.from_pretrained(reference_dirs["BertModel"], dtype=jnp.bfloat16)
    assert {x.dtype for x in jax.tree_util.tree_leaves(bf16.params)} == {jnp.dtype("float32")}
    inputs = batch()
    got = bf16(**inputs).last_hidden_state
    assert got.dtype == jnp.bfloat16
    expected = fp32(**inputs).last_hidden_state
    scale = float(jnp.abs(expected).max())
    assert 0 < max_diff(got, expected, inputs["attention_mask"]) <= 0.05 * scale
    assert {x.dtype for x in jax.tree_util.tree_leaves(bf16.to_bf16(bf16.params))} == {jnp.dtype("bfloat16")}


def test_gradient_checkpointing_gives_the_same_gradients(reference_dirs):
    inputs = batch()

    def grads(model):
        def loss(params):
            return model(**inputs, params=params).last_hidden_state.sum()

        return jax.jit(jax.grad(loss))(model.params)

    plain = FlaxBertModel.from_pretrained(reference_dirs["BertModel"])
    remat = FlaxBertModel.from_pretrained(reference_dirs["BertModel"], gradient_checkpointing=True)
    assert max_diff(grads(remat), grads(plain)) <= 1e-4
