"""generate() parity with transformers 4.57.6 (the test-only oracle) on tiny MPT and BERT decoders with perturbed
weights: greedy tokens (plain, left-padded batches, eos + pad filling, penalties), beam search sequences and scores,
seeded sampling (the same torch seed draws the same tokens: the same probabilities reach torch.multinomial), the
logits processors on random logits, stop strings, and GenerationConfig defaults.

Where pad_token_id matters it is non-zero: the reference fills unfinished beam slots with `pad_token_id or
eos_token_id`, i.e. with eos when pad is 0 (a truthiness slip); mintformers fills with pad_token_id.
"""

from __future__ import annotations

import math

import pytest
import torch

import mintformers
from mintformers.generation import (
    GenerationConfig,
    MinLengthLogitsProcessor,
    MinPLogitsWarper,
    NoBadWordsLogitsProcessor,
    NoRepeatNGramLogitsProcessor,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
    TypicalLogitsWarper,
)

from parity import load_like, perturb_

transformers = pytest.importorskip("transformers")
import transformers.generation as ref_gen  # noqa: E402

V = 97
_PAIRS: dict[str, tuple] = {}


@pytest.fixture(autouse=True)
def quiet_reference():
    level = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    yield
    transformers.logging.set_verbosity(level)


def pair(family: str):
    """(reference model, ours with the same weights through save_pretrained → from_pretrained), built once."""
    if family not in _PAIRS:
        torch.manual_seed(0)
        if family == "mpt":
            config = transformers.MptConfig(d_model=48, n_heads=6, n_layers=2, vocab_size=V, max_seq_len=64)
            ref, ours = transformers.MptForCausalLM(config), mintformers.MptForCausalLM
        else:
            config = transformers.BertConfig(
                vocab_size=V, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                max_position_embeddings=48, is_decoder=True, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
            )
            ref, ours = transformers.BertLMHeadModel(config), mintformers.BertLMHeadModel
        ref = perturb_(ref, seed=1).eval()
        _PAIRS[family] = ref, load_like(ref, ours)
    return _PAIRS[family]


def prompts(batch: int = 3, length: int = 9, seed: int = 0):
    """Left-padded prompts (pad id 0): row i has 2·i pads."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, V, (batch, length), generator=g)
    mask = torch.ones_like(ids)
    for i in range(batch):
        mask[i, : 2 * i] = 0
    return ids.masked_fill(mask == 0, 0), mask


def both(family: str, *args, **kwargs):
    ref, ours = pair(family)
    torch.manual_seed(1234)
    want = ref.generate(*args, use_cache=True, **kwargs)
    torch.manual_seed(1234)
    got = ours.generate(*args, **kwargs)
    return want, got


FAMILIES = ["mpt", "bert"]


# ---- greedy ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_greedy_single_prompt(family):
    ids, _ = prompts(batch=1)
    want, got = both(family, ids, max_new_tokens=15, do_sample=False)
    assert torch.equal(got, want)


@pytest.mark.parametrize("family", FAMILIES)
def test_greedy_left_padded_batch(family):
    ids, mask = prompts()
    want, got = both(family, ids, attention_mask=mask, max_new_tokens=15, do_sample=False, pad_token_id=0)
    assert torch.equal(got, want)
    want, got = both(family, ids, max_new_tokens=15, do_sample=False, pad_token_id=0)  # mask inferred from pad
    assert torch.equal(got, want)


@pytest.mark.parametrize("family", FAMILIES)
def test_greedy_eos_stopping_and_pad_filling(family):
    ids, mask = prompts()
    free = pair(family)[1].generate(ids, attention_mask=mask, max_new_tokens=12, pad_token_id=0)
    eos = [int(free[1, 9 + 2]), int(free[2, 9 + 6])]  # rows finish at different steps
    want, got = both(family, ids, attention_mask=mask, max_new_tokens=12, do_sample=False, eos_token_id=eos,
                     pad_token_id=5)
    assert torch.equal(got, want)
    assert (got == 5).any()  # some row finished early and was padded


@pytest.mark.parametrize("family", FAMILIES)
def test_greedy_with_penalties_and_min_length(family):
    ids, mask = prompts()
    free = pair(family)[1].generate(ids, attention_mask=mask, max_new_tokens=1, pad_token_id=0)
    settings = dict(repetition_penalty=1.8, no_repeat_ngram_size=2, bad_words_ids=[[3], [10, 11]],
                    eos_token_id=int(free[0, -1]), min_new_tokens=4)
    want, got = both(family, ids, attention_mask=mask, max_new_tokens=12, do_sample=False, pad_token_id=5, **settings)
    assert torch.equal(got, want)


def test_bert_token_type_ids():
    ids, mask = prompts()
    segments = torch.zeros_like(ids)
    segments[:, 5:] = 1
    want, got = both("bert", ids, attention_mask=mask, token_type_ids=segments, max_new_tokens=10, do_sample=False,
                     pad_token_id=0)
    assert torch.equal(got, want)


@pytest.mark.parametrize("family", FAMILIES)
def test_scores_and_logits_match(family):
    ids, mask = prompts()
    kwargs = dict(attention_mask=mask, max_new_tokens=6, do_sample=False, pad_token_id=0, repetition_penalty=1.3,
                  return_dict_in_generate=True, output_scores=True, output_logits=True)
    want, got = both(family, ids, **kwargs)
    assert torch.equal(got.sequences, want.sequences)
    assert len(got.scores) == len(want.scores) == 6
    for a, b in zip(got.scores + got.logits, want.scores + want.logits):
        assert torch.allclose(a, b, atol=1e-4), (a - b).abs().max()


# ---- beam search ----------------------------------------------------------------------------------------------------

BEAM_SETTINGS = [
    dict(num_beams=3),
    dict(num_beams=4, num_return_sequences=4, length_penalty=0.5),
    dict(num_beams=3, num_return_sequences=2, length_penalty=2.0, early_stopping=True),
    dict(num_beams=3, early_stopping="never", length_penalty=1.5),
    dict(num_beams=2, early_stopping="never", length_penalty=-1.0, num_return_sequences=2),
]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("settings", BEAM_SETTINGS, ids=lambda s: "-".join(f"{k}={v}" for k, v in s.items()))
def test_beam_search(family, settings):
    ids, mask = prompts()
    free = pair(family)[1].generate(ids, attention_mask=mask, max_new_tokens=8, pad_token_id=0)
    eos = [int(free[0, 9 + 3]), int(free[2, 9 + 1])]  # some beams end early
    want, got = both(family, ids, attention_mask=mask, max_new_tokens=8, do_sample=False, eos_token_id=eos,
                     pad_token_id=5, return_dict_in_generate=True, output_scores=True, **settings)
    assert torch.equal(got.sequences, want.sequences)
    assert torch.allclose(got.sequences_scores, want.sequences_scores, atol=1e-4)
    assert torch.equal(got.beam_indices, want.beam_indices.long())
    assert len(got.scores) == len(want.scores)


# ---- sampling -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize(
    "settings",
    [dict(), dict(temperature=0.7, top_k=10), dict(top_p=0.8, top_k=0), dict(min_p=0.1, top_k=0), dict(typical_p=0.9)],
    ids=lambda s: "-".join(f"{k}={v}" for k, v in s.items()) or "defaults",
)
def test_seeded_sampling_draws_the_same_tokens(family, settings):
    ids, mask = prompts()
    want, got = both(family, ids, attention_mask=mask, max_new_tokens=10, do_sample=True, pad_token_id=0,
                     num_return_sequences=2, **settings)
    assert torch.equal(got, want)


def test_beam_sampling_draws_the_same_tokens():
    ids, mask = prompts()
    want, got = both("mpt", ids, attention_mask=mask, max_new_tokens=8, do_sample=True, num_beams=3, pad_token_id=5,
                     top_k=20)
    assert torch.equal(got, want)


# ---- stop strings ---------------------------------------------------------------------------------------------------


def test_stop_strings():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    backend = Tokenizer(models.BPE())  # byte-level BPE, like MPT's own tokenizer
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    backend.train_from_iterator(["the cat sat on the mat; stop here, then go on."] * 5, trainer)
    tok = transformers.PreTrainedTokenizerFast(tokenizer_object=backend)
    ids = torch.tensor([tok.encode("the cat")])
    for seed in range(10):  # random weights write mostly stray bytes: take the first model that writes some ASCII
        torch.manual_seed(seed)
        config = transformers.MptConfig(d_model=32, n_heads=4, n_layers=2, vocab_size=len(tok), max_seq_len=64)
        ref = perturb_(transformers.MptForCausalLM(config), seed=seed).eval()
        ours = load_like(ref, mintformers.MptForCausalLM)
        free = ours.generate(ids, max_new_tokens=16)
        new = free[0, ids.shape[1] :].tolist()
        pieces = [tok.decode(new[k - 1 : k + 1]) for k in range(3, len(new))]
        stop = next((p[-2:] for p in pieces if len(p) >= 2 and p.isascii() and p.isprintable()), None)
        if stop is not None:
            break
    want = ref.generate(ids, max_new_tokens=16, do_sample=False, stop_strings=[stop], tokenizer=tok)
    got = ours.generate(ids, max_new_tokens=16, stop_strings=[stop], tokenizer=tok)
    assert torch.equal(got, want) and got.shape[1] < free.shape[1]


# ---- processors on random logits ------------------------------------------------------------------------------------

PROCESSORS = [
    (RepetitionPenaltyLogitsProcessor, ref_gen.RepetitionPenaltyLogitsProcessor, dict(penalty=1.5)),
    (NoRepeatNGramLogitsProcessor, ref_gen.NoRepeatNGramLogitsProcessor, dict(ngram_size=2)),
    (NoRepeatNGramLogitsProcessor, ref_gen.NoRepeatNGramLogitsProcessor, dict(ngram_size=3)),
    (NoBadWordsLogitsProcessor, ref_gen.NoBadWordsLogitsProcessor, dict(bad_words_ids=[[4], [1, 2], [3, 3, 1]], eos_token_id=4)),
    (MinLengthLogitsProcessor, ref_gen.MinLengthLogitsProcessor, dict(min_length=40, eos_token_id=[2, 3])),
    (TemperatureLogitsWarper, ref_gen.TemperatureLogitsWarper, dict(temperature=0.6)),
    (TopKLogitsWarper, ref_gen.TopKLogitsWarper, dict(top_k=7)),
    (TopKLogitsWarper, ref_gen.TopKLogitsWarper, dict(top_k=2, min_tokens_to_keep=4)),
    (TopPLogitsWarper, ref_gen.TopPLogitsWarper, dict(top_p=0.3)),
    (TopPLogitsWarper, ref_gen.TopPLogitsWarper, dict(top_p=0.9, min_tokens_to_keep=2)),
    (MinPLogitsWarper, ref_gen.MinPLogitsWarper, dict(min_p=0.05)),
    (MinPLogitsWarper, ref_gen.MinPLogitsWarper, dict(min_p=0.5, min_tokens_to_keep=3)),
    (TypicalLogitsWarper, ref_gen.TypicalLogitsWarper, dict(mass=0.7)),
]


@pytest.mark.parametrize("ours, ref, kwargs", PROCESSORS, ids=lambda x: x.__name__ if isinstance(x, type) else str(x))
def test_processors_equal_the_reference(ours, ref, kwargs):
    g = torch.Generator().manual_seed(0)
    for trial in range(5):
        scores = torch.randn(6, 50, generator=g) * (1 + trial)
        input_ids = torch.randint(0, 5 if trial % 2 else 50, (6, 30), generator=g)  # small alphabets repeat n-grams
        want = ref(**kwargs)(input_ids, scores.clone())
        got = ours(**kwargs)(input_ids, scores.clone())
        assert torch.equal(torch.isinf(got), torch.isinf(want))
        finite = ~torch.isinf(want)
        assert torch.allclose(got[finite], want[finite], atol=1e-6, rtol=1e-6)


def test_generation_config_defaults_match_the_reference():
    ref = transformers.GenerationConfig()
    ours = GenerationConfig()
    for name in GenerationConfig.field_names():
        if hasattr(ref, name) and name != "output_logits":  # None in the reference, False here: both mean off
            assert getattr(ours, name) == getattr(ref, name), name
    assert math.isclose(ours.top_p, 1.0)


def test_reference_generation_config_files_load(tmp_path):
    ref, _ = pair("mpt")
    saved = ref.generation_config
    ref.generation_config = transformers.GenerationConfig(max_new_tokens=7, repetition_penalty=1.2, eos_token_id=[3, 4])
    try:
        ref.save_pretrained(tmp_path)
    finally:
        ref.generation_config = saved
    ours = mintformers.MptForCausalLM.from_pretrained(tmp_path)
    config = ours.generation_config
    assert (config.max_new_tokens, config.repetition_penalty, config.eos_token_id) == (7, 1.2, [3, 4])
    assert config.use_cache
    (tmp_path / "generation_config.json").unlink()
    ref.save_pretrained(tmp_path)  # the reference's own file: a copy of config.json's use_cache=False
    assert mintformers.MptForCausalLM.from_pretrained(tmp_path).generation_config.use_cache  # not a generation setting
