"""The generic PreTrainedTokenizerFast on a GPT-NeoX-style byte-level BPE tokenizer.json vs transformers 4.57.6.

MPT checkpoints ship only tokenizer.json + tokenizer_config.json ("GPTNeoXTokenizer"); the reference's AutoTokenizer
gives GPTNeoXTokenizerFast, ours the generic class with GPT-NeoX's defaults. Both are compared here, and the plain
generic class with the reference's `PreTrainedTokenizerFast(tokenizer_file=...)`.
"""

from __future__ import annotations

import json

import pytest
import torch

pytest.importorskip("transformers")
from transformers import AutoTokenizer as RefAutoTokenizer  # noqa: E402
from transformers import GPTNeoXTokenizerFast as RefGPTNeoXTokenizerFast  # noqa: E402
from transformers import PreTrainedTokenizerFast as RefPreTrainedTokenizerFast  # noqa: E402

from byte_bpe import EOS, write_neox_tokenizer  # noqa: E402
from mintformers.tokenization import AutoTokenizer, PreTrainedTokenizerFast  # noqa: E402

TRAIN = [
    "Hello world! The quick brown fox jumps over the lazy dog.",
    "Héllo wörld, naïve café 😀 中文 text",
    "  leading spaces\tand tabs\nand newlines",
    "don't stop, it's fine; we're here",
] * 10
TEXTS = [
    "Hello world!",
    " leading space",
    "Héllo wörld 😀 中文",
    "",
    "don't stop believing <|endoftext|> after eos",
    "tabs\tand\nnewlines   and   spaces",
    "unseen wordpieces: Zyxqv ÆØÅ",
]


@pytest.fixture(scope="module")
def bpe_dir(tmp_path_factory):
    return write_neox_tokenizer(tmp_path_factory.mktemp("neox"), TRAIN, 350, add_prefix_space=False)


def same(ours, ref, **kwargs):
    for inputs in ((TEXTS,), (TEXTS, TEXTS[::-1]), (TEXTS[0],), (TEXTS[2], TEXTS[4])):
        a, b = ours(*inputs, **kwargs), ref(*inputs, **kwargs)
        assert a.keys() == b.keys(), kwargs
        for key in a:
            va, vb = a[key], b[key]
            if isinstance(vb, torch.Tensor):
                assert torch.equal(va, vb), key
            else:
                assert va == vb, key
        if len(inputs[0]) > 1 and isinstance(inputs[0], list):
            assert [a.tokens(i) for i in range(len(TEXTS))] == [b.tokens(i) for i in range(len(TEXTS))]
            assert [a.word_ids(i) for i in range(len(TEXTS))] == [b.word_ids(i) for i in range(len(TEXTS))]


VARIANTS = [
    {},
    {"return_offsets_mapping": True, "return_special_tokens_mask": True},
    {"padding": True, "padding_side": "left", "return_tensors": "pt"},
    {"padding": "max_length", "max_length": 40, "truncation": True},
    {"truncation": True, "max_length": 6, "return_overflowing_tokens": True, "stride": 2},
    {"add_special_tokens": False, "return_length": True},
]


def test_generic_class_matches_reference_generic_class(bpe_dir):
    file = str(bpe_dir / "tokenizer.json")
    ours = PreTrainedTokenizerFast(tokenizer_file=file, eos_token=EOS, pad_token="<|padding|>")
    ref = RefPreTrainedTokenizerFast(tokenizer_file=file, eos_token=EOS, pad_token="<|padding|>")
    for kwargs in VARIANTS:
        same(ours, ref, **kwargs)
    ids = ref(TEXTS, padding=True)["input_ids"]
    for skip in (False, True):
        for clean in (None, True, False):
            assert ours.batch_decode(ids, skip, clean) == ref.batch_decode(ids, skip, clean)
    assert ours.get_vocab() == ref.get_vocab() and len(ours) == len(ref)


def test_auto_tokenizer_matches_reference_gpt_neox(bpe_dir):
    ours, ref = AutoTokenizer.from_pretrained(bpe_dir), RefAutoTokenizer.from_pretrained(bpe_dir)
    assert type(ref) is RefGPTNeoXTokenizerFast
    for tokenizer in (ours, ref):
        tokenizer.pad_token = tokenizer.eos_token  # the usual setup for batched generation
        tokenizer.padding_side = "left"
    assert ours.model_input_names == ref.model_input_names
    for kwargs in VARIANTS:
        same(ours, ref, **kwargs)
    ids = ref(TEXTS)["input_ids"]
    assert ours.batch_decode(ids, skip_special_tokens=True) == ref.batch_decode(ids, skip_special_tokens=True)


@pytest.mark.parametrize(("bos", "eos"), [(True, False), (False, True), (True, True)])
def test_add_bos_and_eos_match_reference(bpe_dir, bos, eos):
    ours = AutoTokenizer.from_pretrained(bpe_dir, add_bos_token=bos, add_eos_token=eos)
    ref = RefGPTNeoXTokenizerFast.from_pretrained(bpe_dir, add_bos_token=bos, add_eos_token=eos)
    for kwargs in VARIANTS[:2]:
        same(ours, ref, **kwargs)
    assert ours.build_inputs_with_special_tokens([5], [6]) == ref.build_inputs_with_special_tokens([5], [6])
    assert ours.get_special_tokens_mask([5], [6]) == ref.get_special_tokens_mask([5], [6])
    ours.add_bos_token, ref.add_bos_token = not bos, not bos
    same(ours, ref)


def test_save_round_trips_with_reference(bpe_dir, tmp_path):
    ours = AutoTokenizer.from_pretrained(bpe_dir, add_eos_token=True)
    ours.add_special_tokens({"pad_token": "<|padding|>", "additional_special_tokens": ["<|im_start|>"]})
    ours.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "tokenizer_config.json").read_text())["tokenizer_class"] == "GPTNeoXTokenizer"
    ref = RefAutoTokenizer.from_pretrained(tmp_path)
    assert type(ref) is RefGPTNeoXTokenizerFast
    assert ref("Hello <|im_start|> world")["input_ids"] == ours("Hello <|im_start|> world").input_ids
    ref.save_pretrained(tmp_path / "back")
    again = AutoTokenizer.from_pretrained(tmp_path / "back")
    same(again, ref, padding=True)
