"""generate() on tiny MPT and BERT decoders, checked against plain forward passes and direct formulas (no reference
needed; parity with transformers lives in tests/reference/test_generation_parity.py)."""

from __future__ import annotations

import json
import math
import threading

import pytest
import torch
from gen_helpers import left_padded, tiny_bert, tiny_mpt

from mintformers import MptForCausalLM
from mintformers.generation import (
    GenerateBeamDecoderOnlyOutput,
    GenerateDecoderOnlyOutput,
    GenerationConfig,
    StoppingCriteria,
    TextIteratorStreamer,
    TextStreamer,
)


def manual_greedy(model, ids: torch.Tensor, n: int) -> torch.Tensor:
    """n argmax steps, each a full forward over the whole sequence (no cache, no generate)."""
    seq = ids
    for _ in range(n):
        logits = model(seq, use_cache=False).logits[:, -1]
        seq = torch.cat([seq, logits.argmax(-1, keepdim=True)], dim=1)
    return seq


def prompt(vocab: int, length: int = 6, batch: int = 1, seed: int = 3) -> torch.Tensor:
    return torch.randint(1, vocab, (batch, length), generator=torch.Generator().manual_seed(seed))


# ---- greedy: what the model itself says -----------------------------------------------------------------------------


@pytest.mark.parametrize("family", ["mpt", "bert"])
def test_greedy_equals_argmax_of_full_forwards(family, mpt, bert):
    model = mpt if family == "mpt" else bert
    ids = prompt(model.config.vocab_size, batch=2)
    want = manual_greedy(model, ids, 8)
    assert torch.equal(model.generate(ids, max_new_tokens=8), want)
    assert torch.equal(model.generate(ids, max_new_tokens=8, use_cache=False), want)


def test_static_cache_gives_the_same_tokens(mpt):
    ids, mask = left_padded(mpt.config.vocab_size)
    dynamic = mpt.generate(ids, attention_mask=mask, max_new_tokens=8, pad_token_id=0)
    static = mpt.generate(ids, attention_mask=mask, max_new_tokens=8, pad_token_id=0, cache_implementation="static")
    assert torch.equal(dynamic, static)
    out = mpt.generate(ids, max_new_tokens=3, cache_implementation="static", return_dict_in_generate=True)
    assert type(out.past_key_values).__name__ == "StaticCache"


@pytest.mark.parametrize("family", ["mpt", "bert"])
def test_left_padded_rows_equal_their_prompt_alone(family, mpt, bert):
    model = mpt if family == "mpt" else bert
    ids, mask = left_padded(model.config.vocab_size, batch=3, length=8)
    batched = model.generate(ids, attention_mask=mask, max_new_tokens=10, pad_token_id=0)
    for i in range(3):
        alone = model.generate(ids[i : i + 1, mask[i].bool()], max_new_tokens=10)
        assert torch.equal(batched[i, -10:], alone[0, -10:]), f"row {i}"
    # without a mask, pad ids in the prompt are taken as padding (pad_token_id is known)
    assert torch.equal(model.generate(ids, max_new_tokens=10, pad_token_id=0), batched)


def test_inputs_are_not_modified(mpt):
    ids, mask = left_padded(mpt.config.vocab_size)
    ids_before, mask_before = ids.clone(), mask.clone()
    mpt.generate(ids, attention_mask=mask, max_new_tokens=4, pad_token_id=0, num_beams=2)
    assert torch.equal(ids, ids_before) and torch.equal(mask, mask_before)


def test_starts_from_bos_without_a_prompt(mpt):
    out = mpt.generate(max_new_tokens=4, bos_token_id=7)
    assert out.shape == (1, 5) and out[0, 0] == 7
    assert torch.equal(out, mpt.generate(torch.tensor([[7]]), max_new_tokens=4))


# ---- lengths and stopping -------------------------------------------------------------------------------------------


def test_length_settings(mpt, bert):
    ids = prompt(mpt.config.vocab_size, length=5)
    assert mpt.generate(ids).shape[1] == 5 + 20  # default: 20 new tokens
    assert mpt.generate(ids, max_length=9).shape[1] == 9  # max_length counts the prompt
    assert mpt.generate(ids, max_length=9, max_new_tokens=2).shape[1] == 7  # max_new_tokens wins
    long = prompt(bert.config.vocab_size, length=30)
    assert bert.generate(long).shape[1] == 40  # the default stops at max_position_embeddings
    mpt.generation_config.max_length = 9  # e.g. from generation_config.json: counts the prompt, as an argument does
    try:
        assert mpt.generate(ids).shape[1] == 9
    finally:
        mpt.generation_config.max_length = 20


def test_eos_stops_and_finished_rows_get_pad(mpt):
    ids, mask = left_padded(mpt.config.vocab_size, batch=3)
    free = mpt.generate(ids, attention_mask=mask, max_new_tokens=10, pad_token_id=0)
    new = free[:, 8:]
    eos = int(new[1, 3])  # row 1 produces it at step 3 (maybe other rows earlier or never)
    out = mpt.generate(ids, attention_mask=mask, max_new_tokens=10, pad_token_id=299, eos_token_id=eos)
    for i in range(3):
        row, hits = new[i].tolist(), (new[i] == eos).nonzero()
        stop = int(hits[0]) + 1 if len(hits) else 10
        assert out[i, 8 : 8 + stop].tolist() == row[:stop]  # same tokens up to and including eos
        assert (out[i, 8 + stop :] == 299).all()  # then padding
    assert out.shape[1] == 8 + max(int((new[i] == eos).nonzero()[0]) + 1 if (new[i] == eos).any() else 10 for i in range(3))


def test_single_row_stops_at_eos_without_pad(mpt):
    ids = prompt(mpt.config.vocab_size)
    free = mpt.generate(ids, max_new_tokens=10)
    eos = int(free[0, 6 + 4])
    first = int((free[0, 6:] == eos).nonzero()[0])
    assert torch.equal(mpt.generate(ids, max_new_tokens=10, eos_token_id=eos), free[:, : 6 + first + 1])
    assert torch.equal(mpt.generate(ids, max_new_tokens=10, eos_token_id=[298, eos]), free[:, : 6 + first + 1])


def test_min_new_tokens_bans_eos_until_reached(mpt):
    ids = prompt(mpt.config.vocab_size)
    eos = int(mpt.generate(ids, max_new_tokens=1)[0, -1])  # the model's first choice
    out = mpt.generate(ids, max_new_tokens=10, eos_token_id=eos, min_new_tokens=4)
    assert eos not in out[0, 6:10].tolist() and out.shape[1] > 6 + 4 - 1


def test_user_stopping_criteria(mpt):
    class AfterThree(StoppingCriteria):
        def __call__(self, input_ids, scores=None, **kwargs):
            return torch.full((input_ids.shape[0],), input_ids.shape[1] >= 9)

    out = mpt.generate(prompt(mpt.config.vocab_size), max_new_tokens=10, stopping_criteria=[AfterThree()])
    assert out.shape[1] == 9


def test_stop_strings_stop_at_the_first_occurrence(tokenizer):
    model = tiny_mpt(vocab_size=len(tokenizer), seed=3)
    ids = torch.tensor([tokenizer.encode("the cat")])
    free = model.generate(ids, max_new_tokens=16)
    text = tokenizer.decode(free[0, ids.shape[1] :])
    # three letters the model writes after its first few characters (random weights write mostly stray bytes)
    stop = next(text[i : i + 3] for i in range(4, len(text) - 2) if text[i : i + 3].isascii() and text[i : i + 3].isalpha())
    out = model.generate(ids, max_new_tokens=16, stop_strings=[stop], tokenizer=tokenizer)
    new = out[0, ids.shape[1] :]
    assert torch.equal(out, free[:, : out.shape[1]])  # the same tokens, cut short
    assert stop in tokenizer.decode(new) and stop not in tokenizer.decode(new[:-1])
    with pytest.raises(ValueError, match="tokenizer="):
        model.generate(ids, max_new_tokens=4, stop_strings="x")


# ---- sampling -------------------------------------------------------------------------------------------------------


def test_seeded_sampling_is_reproducible(mpt):
    ids = prompt(mpt.config.vocab_size, batch=2)
    kw = dict(do_sample=True, max_new_tokens=12, top_k=0)
    a = mpt.generate(ids, generator=torch.Generator().manual_seed(5), **kw)
    b = mpt.generate(ids, generator=torch.Generator().manual_seed(5), **kw)
    c = mpt.generate(ids, generator=torch.Generator().manual_seed(6), **kw)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(mpt.generate(ids, seed=5, **kw), a)
    torch.manual_seed(11)
    d = mpt.generate(ids, **kw)
    torch.manual_seed(11)
    assert torch.equal(mpt.generate(ids, **kw), d)


def test_sampling_follows_the_filtered_distribution():
    model = tiny_mpt(vocab_size=40, seed=2)
    ids = prompt(40, length=4)
    n = 4000
    out = model.generate(
        ids, do_sample=True, temperature=1.7, top_k=6, max_new_tokens=1, num_return_sequences=n, seed=0
    )
    assert out.shape == (n, 5)
    logits = model(ids).logits[0, -1] / 1.7
    top = logits.topk(6)
    want = torch.zeros(40).index_put_((top.indices,), top.values.softmax(-1))
    freq = torch.bincount(out[:, -1], minlength=40).float() / n
    assert set(out[:, -1].tolist()) <= set(top.indices.tolist())  # nothing outside the top 6
    assert (freq - want).abs().max() < 4 * math.sqrt(0.25 / n)  # within 4 standard errors


def test_num_return_sequences_shapes(mpt):
    ids, mask = left_padded(mpt.config.vocab_size, batch=2)
    out = mpt.generate(ids, attention_mask=mask, do_sample=True, num_return_sequences=3, max_new_tokens=4, seed=0,
                       pad_token_id=0)
    assert out.shape == (6, 12)
    assert all(torch.equal(out[3 * b + j, :8], ids[b]) for b in range(2) for j in range(3))
    beams = mpt.generate(ids, attention_mask=mask, num_beams=4, num_return_sequences=2, max_new_tokens=4,
                         pad_token_id=0)
    assert beams.shape == (4, 12)


# ---- penalties ------------------------------------------------------------------------------------------------------


def test_no_repeat_ngram_and_bad_words_hold_in_the_output(mpt):
    ids = prompt(mpt.config.vocab_size, length=4)
    free = mpt.generate(ids, max_new_tokens=20)
    grams = lambda seq, n: [tuple(seq[i : i + n]) for i in range(len(seq) - n + 1)]  # noqa: E731
    assert len(set(grams(free[0].tolist(), 2))) < len(grams(free[0].tolist(), 2))  # the free run repeats itself
    out = mpt.generate(ids, max_new_tokens=20, no_repeat_ngram_size=2)[0].tolist()
    assert len(set(grams(out, 2))) == len(grams(out, 2))
    bad = sorted(set(free[0, 4:].tolist()))[:3]
    out = mpt.generate(ids, max_new_tokens=20, bad_words_ids=[[t] for t in bad])[0, 4:].tolist()
    assert not set(out) & set(bad)


def test_repetition_penalty_changes_scores_by_its_formula(mpt):
    ids = prompt(mpt.config.vocab_size)
    out = mpt.generate(ids, max_new_tokens=1, repetition_penalty=3.0, return_dict_in_generate=True,
                       output_scores=True, output_logits=True)
    raw, processed = out.logits[0][0], out.scores[0][0]
    seen = set(ids[0].tolist())
    for j in range(raw.shape[0]):
        v = raw[j].item()
        want = (v / 3.0 if v > 0 else v * 3.0) if j in seen else v
        assert processed[j].item() == pytest.approx(want)


# ---- beams ----------------------------------------------------------------------------------------------------------


def test_beam_scores_are_length_normalised_log_probabilities(mpt):
    ids = prompt(mpt.config.vocab_size, batch=2)
    out = mpt.generate(ids, num_beams=3, num_return_sequences=3, max_new_tokens=5, length_penalty=0.7,
                       return_dict_in_generate=True, output_scores=True, pad_token_id=0)
    assert isinstance(out, GenerateBeamDecoderOnlyOutput) and out.sequences.shape == (6, 11)
    logp = mpt(out.sequences).logits.log_softmax(-1)
    for r in range(6):
        total = sum(logp[r, t - 1, out.sequences[r, t]].item() for t in range(6, 11))
        assert out.sequences_scores[r].item() == pytest.approx(total / 5**0.7, abs=1e-4)
    assert (out.sequences_scores.view(2, 3).diff(dim=1) <= 0).all()  # best first
    assert out.beam_indices.shape == (6, 5) and len(out.scores) == 5


# ---- outputs --------------------------------------------------------------------------------------------------------


def test_return_dict_outputs(mpt):
    ids = prompt(mpt.config.vocab_size)
    out = mpt.generate(ids, max_new_tokens=4, return_dict_in_generate=True, output_scores=True, output_logits=True,
                       output_attentions=True, output_hidden_states=True)
    assert isinstance(out, GenerateDecoderOnlyOutput) and out.sequences.shape == (1, 10)
    assert len(out.scores) == len(out.logits) == len(out.attentions) == len(out.hidden_states) == 4
    full = mpt(out.sequences).logits
    for step in range(4):
        torch.testing.assert_close(out.logits[step][0], full[0, 5 + step], atol=1e-5, rtol=0)
    assert out.past_key_values.get_seq_length() == 9  # the last token is never fed back
    assert out.attentions[0][0].shape[-1] == 6 and out.attentions[1][0].shape[-1] == 7  # prefill, then one step
    assert torch.is_tensor(mpt.generate(ids, max_new_tokens=2))


# ---- streaming ------------------------------------------------------------------------------------------------------


def test_streamers_show_the_generated_text(tokenizer, capsys):
    model = tiny_mpt(vocab_size=len(tokenizer), seed=1)
    ids = torch.tensor([tokenizer.encode("the cat")])
    out = model.generate(ids, max_new_tokens=12, streamer=TextStreamer(tokenizer, skip_prompt=True))
    assert capsys.readouterr().out == tokenizer.decode(out[0, ids.shape[1] :]) + "\n"

    streamer = TextIteratorStreamer(tokenizer, timeout=30)
    result = {}
    worker = threading.Thread(
        target=lambda: result.update(out=model.generate(ids, max_new_tokens=12, streamer=streamer))
    )
    worker.start()
    text = "".join(streamer)
    worker.join()
    assert text == tokenizer.decode(result["out"][0])


def test_streamer_sees_a_failure(tokenizer):
    model = tiny_mpt(vocab_size=len(tokenizer), seed=1)
    streamer = TextIteratorStreamer(tokenizer, timeout=30)

    class Boom(StoppingCriteria):
        def __call__(self, input_ids, scores=None, **kwargs):
            raise KeyError("boom")

    worker = threading.Thread(
        target=lambda: pytest.raises(KeyError, model.generate, torch.tensor([[5]]), max_new_tokens=3,
                                     streamer=streamer, stopping_criteria=[Boom()])
    )
    worker.start()
    with pytest.raises(RuntimeError, match="failed"):
        list(streamer)
    worker.join()


# ---- configuration --------------------------------------------------------------------------------------------------


def test_generation_config_json_round_trip(tmp_path, mpt):
    ids = prompt(mpt.config.vocab_size)
    mpt.generation_config = GenerationConfig(max_new_tokens=3, eos_token_id=5, pad_token_id=0)
    try:
        mpt.save_pretrained(tmp_path)
    finally:
        mpt.generation_config = GenerationConfig.from_model_config(mpt.config)
    saved = json.loads((tmp_path / "generation_config.json").read_text())
    assert saved["max_new_tokens"] == 3 and saved["eos_token_id"] == 5
    loaded = MptForCausalLM.from_pretrained(tmp_path)
    assert loaded.generation_config.max_new_tokens == 3
    assert loaded.generate(ids).shape[1] <= 6 + 3  # the file's max_new_tokens is the default now
    assert loaded.generate(ids, max_new_tokens=5, eos_token_id=None).shape[1] == 11  # arguments win


def test_generation_config_from_files(tmp_path):
    data = {"_from_model_config": True, "use_cache": False, "transformers_version": "4.57.6", "top_k": 7,
            "watermarking_config": {"greenlist_ratio": 0.25}}
    (tmp_path / "generation_config.json").write_text(json.dumps(data))
    config = GenerationConfig.from_pretrained(tmp_path)
    assert config.top_k == 7 and config.use_cache  # a copied model-config use_cache says nothing about generate
    assert config.extra == {"watermarking_config": {"greenlist_ratio": 0.25}}
    config.save_pretrained(tmp_path / "out")
    again = json.loads((tmp_path / "out" / "generation_config.json").read_text())
    assert again == {"top_k": 7, "watermarking_config": {"greenlist_ratio": 0.25}}


def test_model_config_ids_are_the_defaults():
    model = tiny_mpt(eos_token_id=3, pad_token_id=1)
    assert (model.generation_config.eos_token_id, model.generation_config.pad_token_id) == (3, 1)
    assert model.generation_config.use_cache  # MPT's config.use_cache=False is about forward(), not generate()


# ---- limits and errors ----------------------------------------------------------------------------------------------


def test_alibi_runs_past_max_seq_len(mpt):
    ids = prompt(mpt.config.vocab_size, length=20)  # max_seq_len is 24
    out = mpt.generate(ids, max_new_tokens=10)
    assert out.shape[1] == 30 and torch.equal(out, manual_greedy(mpt, ids, 10))


def test_learned_positions_limit_the_length(bert):
    mpt = tiny_mpt(learned_pos_emb=True)  # built with a wpe table
    with pytest.raises(ValueError, match="max_seq_len.*at most 4"):
        mpt.generate(prompt(300, length=20), max_new_tokens=10)
    with pytest.raises(ValueError, match="max_position_embeddings.*at most 10"):
        bert.generate(prompt(90, length=30), max_new_tokens=11)
    assert bert.generate(prompt(90, length=30), max_new_tokens=10).shape[1] == 40


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(max_new_tokens=0), "max_new_tokens must be a positive int"),
        (dict(max_new_tokens=-3), "max_new_tokens must be a positive int"),
        (dict(num_beams=2, num_return_sequences=3), "larger than num_beams"),
        (dict(num_return_sequences=2), "do_sample=True"),
        (dict(do_sample=True, top_p=0.0), "top_p must be in \\(0, 1\\]"),
        (dict(do_sample=True, top_p=1.5), "top_p must be in \\(0, 1\\]"),
        (dict(do_sample=True, temperature=0.0), "temperature must be > 0.*do_sample=False"),
        (dict(do_sample=True, top_k=-1), "top_k"),
        (dict(repetition_penalty=0), "repetition_penalty"),
        (dict(early_stopping="sometimes", num_beams=2), "early_stopping"),
        (dict(cache_implementation="paged"), "cache_implementation"),
        (dict(bad_words_ids=[[]]), "bad_words_ids"),
        (dict(max_length=4), "nothing is left to generate"),
        (dict(eos_token_id=-1), "eos_token_id"),
    ],
)
def test_bad_arguments_raise_clear_errors(mpt, kwargs, match):
    with pytest.raises(ValueError, match=match):
        mpt.generate(prompt(mpt.config.vocab_size), **kwargs)


def test_batched_sampling_with_eos_needs_pad(mpt):
    ids = prompt(mpt.config.vocab_size, batch=2)
    with pytest.raises(ValueError, match="pad_token_id is not set"):
        mpt.generate(ids, do_sample=True, eos_token_id=3, max_new_tokens=3)
    with pytest.raises(ValueError, match="pad_token_id is not set"):
        mpt.generate(ids[:1], do_sample=True, num_return_sequences=2, eos_token_id=3, max_new_tokens=3)
    assert mpt.generate(ids, do_sample=True, eos_token_id=3, pad_token_id=3, max_new_tokens=3, seed=0).shape[0] == 2


def test_bad_inputs_raise_clear_errors(mpt, bert, tokenizer):
    ids = prompt(mpt.config.vocab_size, batch=2)
    with pytest.raises(TypeError, match="did you mean 'max_new_tokens'"):
        mpt.generate(ids, max_new_token=3)
    with pytest.raises(TypeError, match="did you mean 'token_type_ids'"):
        bert.generate(prompt(90), token_types_ids=torch.zeros(1, 6, dtype=torch.long))
    with pytest.raises(ValueError, match="input_ids\\[None\\]"):
        mpt.generate(ids[0])
    with pytest.raises(ValueError, match="outside the vocabulary"):
        mpt.generate(ids + 1000)
    with pytest.raises(ValueError, match="attention_mask must have the shape"):
        mpt.generate(ids, attention_mask=torch.ones(2, 3))
    with pytest.raises(ValueError, match="manages 'past_key_values'"):
        mpt.generate(ids, past_key_values=None)
    with pytest.raises(ValueError, match="beam search"):
        mpt.generate(ids[:1], num_beams=2, streamer=TextStreamer(tokenizer))
    with pytest.raises(ValueError, match="no static cache"):
        bert.generate(prompt(90), cache_implementation="static")
    with pytest.raises(ValueError, match="either seed= or generator="):
        mpt.generate(ids, seed=1, generator=torch.Generator())
    with pytest.warns(UserWarning, match="right padding"):
        mpt.generate(ids, attention_mask=torch.tensor([[1] * 6, [1] * 5 + [0]]), max_new_tokens=1, pad_token_id=0)


def test_other_forward_inputs_reach_every_step():
    model = tiny_bert(type_vocab_size=2)
    ids = prompt(90)
    ones = torch.ones_like(ids)
    a = model.generate(ids, token_type_ids=ones, max_new_tokens=5)
    b = model.generate(ids, max_new_tokens=5)
    assert not torch.equal(a, b)  # segment 1 instead of 0 changes the embeddings, at every step
    seq = ids
    for _ in range(5):  # new tokens take the last prompt token's segment
        logits = model(seq, token_type_ids=torch.ones_like(seq)).logits[:, -1]
        seq = torch.cat([seq, logits.argmax(-1, keepdim=True)], 1)
    assert torch.equal(a, seq)


def test_compiled_decode_step_traces_once(mpt):
    """compile= traces the decode step once for all steps (fixed shapes over the static cache); the eager backend
    checks the tracing without paying for code generation."""
    from torch._dynamo.utils import counters

    ids, mask = left_padded(mpt.config.vocab_size)
    want = mpt.generate(ids, attention_mask=mask, max_new_tokens=6, pad_token_id=0)
    before = counters["stats"]["unique_graphs"]
    got = mpt.generate(ids, attention_mask=mask, max_new_tokens=6, pad_token_id=0, compile={"backend": "eager"})
    assert torch.equal(got, want)
    assert counters["stats"]["unique_graphs"] - before == 1
    again = mpt.generate(ids, attention_mask=mask, max_new_tokens=6, pad_token_id=0, compile={"backend": "eager"})
    assert torch.equal(again, want) and counters["stats"]["unique_graphs"] - before == 1  # reused
    with pytest.raises(ValueError, match="compile must be"):
        mpt.generate(ids, compile="yes")
