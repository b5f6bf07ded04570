"""Special-token semantics and return_tensors against transformers 4.57.6: what unset and reassigned special tokens
read back as, add_special_tokens' validation, the fast tokenizer's pad() notice, and tensors for "pt", "np", "tf",
"jax" (types, dtypes, values)."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pytest
from tokenizers import AddedToken

transformers = pytest.importorskip("transformers")

from mintformers.tokenization import (  # noqa: E402
    BertTokenizer,
    BertTokenizerFast,
    ErnieMTokenizer,
    MPNetTokenizerFast,
    PreTrainedTokenizerFast,
)
from mintformers.tokenization.special_tokens import SpecialTokenError  # noqa: E402
from pipelines.tiny import write_bpe_tokenizer, write_ernie_m_tokenizer, write_tokenizer  # noqa: E402

PROPERTIES = [
    "bos_token", "bos_token_id", "cls_token", "cls_token_id", "additional_special_tokens",
    "additional_special_tokens_ids", "special_tokens_map", "all_special_tokens", "all_special_ids",
]  # fmt: skip


def read_back(tokenizer) -> dict:
    out = {name: getattr(tokenizer, name) for name in PROPERTIES}
    out["extended"] = {k: str(v) for k, v in tokenizer.special_tokens_map_extended.items()}
    out["all_extended"] = [str(t) for t in tokenizer.all_special_tokens_extended]
    out["length"] = len(tokenizer)
    out["ids"] = tokenizer("hello <a> world <s>", "the [MASK]").input_ids
    try:
        out["decoded"] = tokenizer.decode(out["ids"], skip_special_tokens=True)
    except TypeError:  # the reference's slow decode fails while additional_special_tokens is None
        out["decoded"] = None
    return out


def same(ours, ref, step: str) -> None:
    mine, theirs = read_back(ours), read_back(ref)
    if theirs["decoded"] is None:  # ours decodes there: as it does with no additional special tokens
        assert isinstance(mine.pop("decoded"), str) and theirs.pop("decoded") is None
    assert mine == theirs, step


STEPS = [
    ("additional_special_tokens = None", lambda t: setattr(t, "additional_special_tokens", None)),
    ("a special token added after that", lambda t: t.add_special_tokens({"additional_special_tokens": ["<a>"]})),
    ("additional_special_tokens_ids = None", lambda t: setattr(t, "additional_special_tokens_ids", None)),
    ("bos_token = None", lambda t: setattr(t, "bos_token", None)),
    ("pad_token_id = 5", lambda t: setattr(t, "pad_token_id", 5)),
    ("additional_special_tokens_ids = [5, 6]", lambda t: setattr(t, "additional_special_tokens_ids", [5, 6])),
    ("add two", lambda t: t.add_special_tokens({"additional_special_tokens": ["<a>", "<b>"]})),
    ("extend", lambda t: t.add_special_tokens({"additional_special_tokens": ["<c>", "<a>"]}, False)),
    ("replace", lambda t: t.add_special_tokens({"additional_special_tokens": ["<d>"]})),
    ("bos", lambda t: t.add_special_tokens({"bos_token": "<s>"})),
    ("bos again (known)", lambda t: t.add_special_tokens({"bos_token": AddedToken("<s>", lstrip=True)})),
    ("a tuple", lambda t: setattr(t, "additional_special_tokens", ("<z>",))),
    ("mask as AddedToken", lambda t: setattr(t, "mask_token", AddedToken("<m>", lstrip=True))),
    ("nothing", lambda t: t.add_special_tokens({})),
]
ERRORS = [
    ("unknown key", lambda t: t.add_special_tokens({"foo_token": "<x>"})),
    ("a number", lambda t: t.add_special_tokens({"bos_token": 3})),
    ("a string for the list", lambda t: t.add_special_tokens({"additional_special_tokens": "<q>"})),
    ("numbers in the list", lambda t: t.add_special_tokens({"additional_special_tokens": [1]})),
    ("a number as sep_token", lambda t: setattr(t, "sep_token", 5)),
]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    return {
        "bert": write_tokenizer(tmp_path_factory.mktemp("bert"), "bert"),
        "mpnet": write_tokenizer(tmp_path_factory.mktemp("mpnet"), "mpnet"),
        "bpe": write_bpe_tokenizer(tmp_path_factory.mktemp("bpe")),
        "ernie_m": write_ernie_m_tokenizer(tmp_path_factory.mktemp("ernie_m")),
    }


CLASSES = [
    ("bert", BertTokenizer, "BertTokenizer"),
    ("bert", BertTokenizerFast, "BertTokenizerFast"),
    ("mpnet", MPNetTokenizerFast, "MPNetTokenizerFast"),
    ("bpe", PreTrainedTokenizerFast, "PreTrainedTokenizerFast"),
    ("ernie_m", ErnieMTokenizer, "ErnieMTokenizer"),
]


@pytest.mark.parametrize("folder, ours_class, ref_name", CLASSES)
def test_special_tokens_read_back_as_the_reference(folders, folder, ours_class, ref_name):
    ours = ours_class.from_pretrained(folders[folder])
    ref = getattr(transformers, ref_name).from_pretrained(folders[folder])
    same(ours, ref, "loaded")
    for name, step in STEPS:
        assert step(ours) == step(ref), name
        same(ours, ref, name)
    for name, step in ERRORS:
        with pytest.raises(Exception) as expected:
            step(ref)
        with pytest.raises(type(expected.value)) as got:  # the reference's exception type (ours is also a ValueError)
            step(ours)
        assert isinstance(got.value, ValueError), name
        same(ours, ref, name)


@pytest.mark.parametrize("ours_class", [BertTokenizer, BertTokenizerFast])
def test_extending_none_or_a_tuple_works(folders, ours_class):
    # (the reference raises AttributeError / TypeError here: it extends the stored value in place)
    tokenizer = ours_class.from_pretrained(folders["bert"])
    tokenizer.additional_special_tokens = None
    assert tokenizer.add_special_tokens({"additional_special_tokens": ["<b>"]}, False) == 1
    assert tokenizer.additional_special_tokens == ["<b>"] and tokenizer.decode(tokenizer("x <b>").input_ids)
    tokenizer.additional_special_tokens = ("<b>",)
    tokenizer.add_special_tokens({"additional_special_tokens": ["<y>"]}, replace_additional_special_tokens=False)
    assert tokenizer.additional_special_tokens == ["<b>", "<y>"] and tokenizer.tokenize("a<y>") == ["a", "<y>"]


def test_special_token_errors_say_what_to_do(folders):
    tokenizer = BertTokenizerFast.from_pretrained(folders["bert"])
    with pytest.raises(SpecialTokenError, match="use one of .*add_tokens"):
        tokenizer.add_special_tokens({"foo_token": "<x>"})
    with pytest.raises(SpecialTokenError, match=r"given as a list \(e\.g\."):
        tokenizer.add_special_tokens({"additional_special_tokens": "<q>"})
    with pytest.raises(SpecialTokenError, match="additional_special_tokens"):
        BertTokenizerFast.from_pretrained(folders["bert"], additional_special_tokens="<q>")


@pytest.mark.parametrize("ours_class, ref_name", [(BertTokenizerFast, "BertTokenizerFast"), (BertTokenizer, "BertTokenizer")])
def test_the_fast_tokenizers_pad_notice(folders, caplog, monkeypatch, ours_class, ref_name):
    tokenizer = ours_class.from_pretrained(folders["bert"])
    rows = [tokenizer("hello world"), tokenizer("the")]
    with caplog.at_level(logging.WARNING, logger="mintformers"):
        tokenizer.pad(rows)
        tokenizer.pad(rows)  # said once
    notices = [r.getMessage() for r in caplog.records if "`pad` method" in r.getMessage()]
    if ours_class is BertTokenizerFast:
        ref = getattr(transformers, ref_name).from_pretrained(folders["bert"])
        from transformers.utils import logging as ref_logging

        ref_logging.enable_propagation()
        with caplog.at_level(logging.WARNING, logger="transformers"):
            caplog.clear()
            ref.pad([ref("hello world"), ref("the")])
        expected = [r.getMessage() for r in caplog.records if "`pad` method" in r.getMessage()]
        assert len(notices) == 1 and notices[0] == expected[0]
        monkeypatch.setenv("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")  # the reference's switch for advice
        caplog.clear()
        ours_class.from_pretrained(folders["bert"]).pad(rows)
        assert not [r for r in caplog.records if "`pad` method" in r.getMessage()]
    else:
        assert notices == []  # slow tokenizers have nothing faster to suggest


def _plain(value):
    if hasattr(value, "numpy"):
        value = value.numpy()
    return np.asarray(value).tolist()


@pytest.mark.parametrize("return_tensors", ["pt", "np", "tf", "jax"])
@pytest.mark.parametrize("ours_class, ref_name", [(BertTokenizerFast, "BertTokenizerFast"), (BertTokenizer, "BertTokenizer")])
def test_return_tensors_of_every_framework(folders, return_tensors, ours_class, ref_name):
    pytest.importorskip({"pt": "torch", "np": "numpy", "tf": "tensorflow", "jax": "jax"}[return_tensors])
    ours = ours_class.from_pretrained(folders["bert"])
    ref = getattr(transformers, ref_name).from_pretrained(folders["bert"])
    for args, kwargs in [((["hello world", "the"],), dict(padding=True)), (("hello",), {}),
                         (("hello", "world"), dict(return_special_tokens_mask=True))]:  # fmt: skip
        a = ours(*args, return_tensors=return_tensors, **kwargs)
        b = ref(*args, return_tensors=return_tensors, **kwargs)
        assert a.keys() == b.keys()
        for key in b:
            assert type(a[key]) is type(b[key]) and str(a[key].dtype) == str(b[key].dtype), key
            assert _plain(a[key]) == _plain(b[key])
    # tensors in: pad() and decode() read them, and keep the framework
    encoded = ours(["hello world", "the"], padding=True, return_tensors=return_tensors)
    rows = [{key: value[i] for key, value in encoded.items()} for i in range(2)]
    padded = ours.pad(rows, padding="max_length", max_length=6)
    assert type(padded["input_ids"]) is type(encoded["input_ids"]) and tuple(padded["input_ids"].shape) == (2, 6)
    assert ours.decode(encoded["input_ids"][0]) == ref.decode(_plain(encoded["input_ids"][0]))


@pytest.mark.parametrize("return_tensors, module, install", [("tf", "tensorflow", "mintformers[tf]"),
                                                             ("jax", "jax", "mintformers[flax]")])  # fmt: skip
def test_a_missing_framework_names_what_to_install(folders, monkeypatch, return_tensors, module, install):
    tokenizer = BertTokenizerFast.from_pretrained(folders["bert"])
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    with pytest.raises(ImportError, match=rf"not installed: `pip install {install.replace('[', '.').replace(']', '.')}`"):
        tokenizer("hello", return_tensors=return_tensors)
    with pytest.raises(ValueError, match="'pt'"):  # an unknown kind lists the valid ones
        tokenizer("hello", return_tensors="mlx")
