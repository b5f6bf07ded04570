"""generate() refuses what the reference (transformers 4.57.6) refuses: each option value below makes the reference's
generate() raise; ours must raise a ValueError too, with a message that names the option. (Where the reference
silently accepts a value that cannot mean anything — top_p=1.5 is simply never applied there — mintformers may
refuse it as well; those cases are not listed here.)
"""

from __future__ import annotations

import math

import pytest
import torch

import mintformers

from parity import load_like

transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def pair():
    torch.manual_seed(0)
    config = transformers.MptConfig(d_model=32, n_heads=4, n_layers=1, vocab_size=64, max_seq_len=32)
    ref = transformers.MptForCausalLM(config).eval()
    return ref, load_like(ref, mintformers.MptForCausalLM).eval()


SAMPLING = {"do_sample": True}
REJECTED = [
    ({**SAMPLING, "temperature": -1.0}, "temperature"),
    ({**SAMPLING, "temperature": 0.0}, "temperature"),
    ({**SAMPLING, "temperature": math.nan}, "temperature"),
    ({**SAMPLING, "top_k": -1}, "top_k"),
    ({**SAMPLING, "top_k": 2.5}, "top_k"),
    ({**SAMPLING, "top_p": -0.5}, "top_p"),
    ({**SAMPLING, "min_p": 1.5}, "min_p"),
    ({**SAMPLING, "min_p": -0.1}, "min_p"),
    ({**SAMPLING, "typical_p": 0.0}, "typical_p"),
    ({**SAMPLING, "typical_p": -1.0}, "typical_p"),
    ({"repetition_penalty": 0.0}, "repetition_penalty"),
    ({"repetition_penalty": -1.0}, "repetition_penalty"),
    ({"repetition_penalty": math.nan}, "repetition_penalty"),
    ({"no_repeat_ngram_size": 1.5}, "no_repeat_ngram_size"),
    ({"max_new_tokens": 0}, "max_new_tokens"),
    ({"max_new_tokens": -3}, "max_new_tokens"),
    ({"num_return_sequences": 2}, "num_return_sequences"),
    ({"num_beams": 2, "num_return_sequences": 3}, "num_return_sequences"),
    ({"early_stopping": "sometimes"}, "early_stopping"),
    ({"bad_words_ids": []}, "bad_words_ids"),
    ({"bad_words_ids": [[-1]]}, "bad_words_ids"),
    ({"bad_words_ids": [5]}, "bad_words_ids"),
    ({"cache_implementation": "paged-nonsense"}, "cache_implementation"),
]


@pytest.mark.parametrize("options, name", REJECTED, ids=[str(o) for o, _ in REJECTED])
def test_generate_refuses_what_the_reference_refuses(pair, options, name):
    ref, ours = pair
    ids = torch.tensor([[1, 2, 3]])
    with pytest.raises((ValueError, TypeError)):  # the reference's own behaviour: the premise of the case
        ref.generate(ids, max_new_tokens=options.get("max_new_tokens", 2), pad_token_id=0,
                     **{k: v for k, v in options.items() if k != "max_new_tokens"})
    with pytest.raises(ValueError, match=name):
        ours.generate(ids, max_new_tokens=options.get("max_new_tokens", 2), pad_token_id=0,
                      **{k: v for k, v in options.items() if k != "max_new_tokens"})


@pytest.mark.parametrize("options", [{"temperature": 0.7}, {"top_k": 0, **SAMPLING}, {"top_p": 1.0, **SAMPLING},
                                     {"repetition_penalty": 1.3}, {"num_beams": 2, "num_return_sequences": 2}])
def test_both_accept_valid_options(pair, options):
    ref, ours = pair
    ids = torch.tensor([[1, 2, 3]])
    ref.generate(ids, max_new_tokens=2, pad_token_id=0, **options)
    ours.generate(ids, max_new_tokens=2, pad_token_id=0, **options)


# The reference fails on these too, but deep inside (ZeroDivisionError, a negative tensor size, IndexError, a torch
# TypeError): ours refuses them up front, naming the option.
CRASHES = [
    ({"num_beams": 0}, "num_beams"),
    ({"num_beams": -1}, "num_beams"),
    ({"bad_words_ids": [[]]}, "bad_words_ids"),
    ({"num_beams": 2, "length_penalty": "x"}, "length_penalty"),
    ({**SAMPLING, "top_k": True}, "top_k"),
]


@pytest.mark.parametrize("options, name", CRASHES, ids=[str(o) for o, _ in CRASHES])
def test_what_crashes_the_reference_is_refused_by_name(pair, options, name):
    ref, ours = pair
    ids = torch.tensor([[1, 2, 3]])
    with pytest.raises(Exception):  # noqa: B017 - the reference's failure is any exception: the premise of the case
        ref.generate(ids, max_new_tokens=2, pad_token_id=0, **options)
    with pytest.raises(ValueError, match=name):
        ours.generate(ids, max_new_tokens=2, pad_token_id=0, **options)
