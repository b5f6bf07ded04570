"""train_new_from_iterator against transformers 4.57.6.

Byte-level BPE (MPT's tokenizer) trains deterministically: the vocabulary and merges must be identical. The
WordPiece trainer of `tokenizers` breaks ties between equally frequent pairs in hash order, so two runs of the
reference itself differ; for WordPiece the proof is that the trainer is handed exactly the reference's problem (the
pipeline it trains, its settings and the texts) and that everything around the vocabulary (special tokens, their
ids in the post-processor, normalizer, pre-tokenizer, decoder, saved files) equals the reference's."""

from __future__ import annotations

import json

import pytest

transformers = pytest.importorskip("transformers")
import transformers.tokenization_utils_fast as ref_fast_module  # noqa: E402

import mintformers.tokenization.training as training_module  # noqa: E402
from byte_bpe import write_neox_tokenizer  # noqa: E402
from mintformers.tokenization import (  # noqa: E402
    AutoTokenizer,
    BertTokenizer,
    BertTokenizerFast,
    MobileBertTokenizerFast,
    MPNetTokenizerFast,
)

CORPUS = [
    "Hello world! The quick brown fox jumps over the lazy dog.",
    "Héllo wörld, naïve café 😀 中文 text",
    "don't stop, it's fine; we're here 12345",
] * 10
NEW = [
    "Training corpus: the quick brown fox jumped over the lazy dogs",
    "Tokenizers learn merges from pairs of symbols, most frequent first.",
    "naïve café, 中文字符 and emoji 😀😀 in 2025",
    "   spaces\tand tabs\nand newlines   ",
] * 12
SETTINGS = [
    dict(),
    dict(new_special_tokens=["<tool>", "</tool>"]),
    dict(special_tokens_map={"<|endoftext|>": "<eot>", "[CLS]": "<cls>", "[SEP]": "<sep>", "<s>": "<bos>"}),
    dict(min_frequency=3),
]


def batches(texts, size=5):
    """The corpus as the reference's docstring asks for it: an iterator of batches of texts."""
    return (texts[i : i + size] for i in range(0, len(texts), size))


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    bpe = write_neox_tokenizer(tmp_path_factory.mktemp("bpe"), CORPUS, 350)
    bert = tmp_path_factory.mktemp("bert")
    words = sorted({w for line in CORPUS for w in line.lower().split()})
    (bert / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "<s>", "</s>", "<pad>",
                                               "<mask>", *words]) + "\n", encoding="utf-8")  # fmt: skip
    return {"bpe": bpe, "bert": bert}


@pytest.mark.parametrize("settings", SETTINGS)
def test_byte_level_bpe_trains_the_reference_vocabulary(folders, tmp_path, settings):
    ours = AutoTokenizer.from_pretrained(folders["bpe"])
    ref = transformers.AutoTokenizer.from_pretrained(folders["bpe"])
    kwargs = dict(vocab_size=330, length=len(NEW), show_progress=False, **settings)
    a = ours.train_new_from_iterator(batches(NEW), **kwargs)
    b = ref.train_new_from_iterator(batches(NEW), **kwargs)
    model_a = json.loads(a.backend_tokenizer.to_str())["model"]
    model_b = json.loads(b.backend_tokenizer.to_str())["model"]
    assert model_a["vocab"] == model_b["vocab"] and model_a["merges"] == model_b["merges"]
    assert a.get_vocab() == b.get_vocab() and a.special_tokens_map == b.special_tokens_map
    texts = ["Tokenizers learn 😀 merges", " naïve  text\n", "<eot> and <tool>x</tool> <|endoftext|>"]
    assert a(texts)["input_ids"] == b(texts)["input_ids"]
    # saved and reloaded (by us and by the reference): the same tokenizer
    a.save_pretrained(tmp_path)
    assert AutoTokenizer.from_pretrained(tmp_path)(texts)["input_ids"] == b(texts)["input_ids"]
    assert transformers.AutoTokenizer.from_pretrained(tmp_path)(texts)["input_ids"] == b(texts)["input_ids"]
    assert json.loads((tmp_path / "tokenizer_config.json").read_text())["tokenizer_class"] == "GPTNeoXTokenizer"


class _Recorded(Exception):
    pass


def training_problem(monkeypatch, module, tokenizer, **kwargs):
    """(pipeline JSON, trainer settings, texts) that `tokenizer.train_new_from_iterator` hands the trainer."""
    seen = {}
    real = module.Tokenizer if module is training_module else module.TokenizerFast

    class Recorder:
        def __init__(self, backend):
            self.backend = backend

        @staticmethod
        def from_str(text):
            return Recorder(real.from_str(text))

        def train_from_iterator(self, iterator, trainer=None, length=None):
            trainer_state = json.loads(trainer.__getstate__())
            for settings in trainer_state.values():
                inner = settings.get("bpe_trainer", settings)
                inner["initial_alphabet"] = sorted(inner.get("initial_alphabet", []))
            seen.update(pipeline=json.loads(self.backend.to_str()), trainer=trainer_state, texts=list(iterator),
                        length=length)  # fmt: skip
            raise _Recorded

    monkeypatch.setattr(module, "Tokenizer" if module is training_module else "TokenizerFast", Recorder)
    with pytest.raises(_Recorded):
        tokenizer.train_new_from_iterator(**kwargs)
    monkeypatch.undo()
    return seen


PAIRS = [
    (BertTokenizerFast, transformers.BertTokenizerFast),
    (MobileBertTokenizerFast, transformers.MobileBertTokenizerFast),
    (MPNetTokenizerFast, transformers.MPNetTokenizerFast),
    ("bpe", "bpe"),
]


@pytest.mark.parametrize("ours_class, ref_class", PAIRS)
@pytest.mark.parametrize("settings", [*SETTINGS, dict(limit_alphabet=40, continuing_subword_prefix="@@")])
def test_the_trainer_gets_the_reference_problem(folders, monkeypatch, ours_class, ref_class, settings):
    if ours_class == "bpe":
        ours, ref = AutoTokenizer.from_pretrained(folders["bpe"]), transformers.AutoTokenizer.from_pretrained(folders["bpe"])
    else:
        ours, ref = ours_class.from_pretrained(folders["bert"]), ref_class.from_pretrained(folders["bert"])
    kwargs = dict(text_iterator=batches(NEW), vocab_size=120, length=len(NEW), **settings)
    ours_problem = training_problem(monkeypatch, training_module, ours, **kwargs)
    kwargs["text_iterator"] = batches(NEW)
    assert ours_problem == training_problem(monkeypatch, ref_fast_module, ref, **kwargs)


@pytest.mark.parametrize("ours_class, ref_class", PAIRS[:3])
@pytest.mark.parametrize("settings", SETTINGS[:3])
def test_wordpiece_trained_tokenizers_match_the_reference_around_the_vocabulary(
    folders, tmp_path, ours_class, ref_class, settings
):
    kwargs = dict(vocab_size=150, show_progress=False, **settings)
    a = ours_class.from_pretrained(folders["bert"]).train_new_from_iterator(batches(NEW), **kwargs)
    b = ref_class.from_pretrained(folders["bert"]).train_new_from_iterator(batches(NEW), **kwargs)
    state_a, state_b = json.loads(a.backend_tokenizer.to_str()), json.loads(b.backend_tokenizer.to_str())
    vocab_a, vocab_b = state_a["model"].pop("vocab"), state_b["model"].pop("vocab")
    assert state_a == state_b  # normalizer, pre-tokenizer, decoder, model options, added tokens, post-processor ids
    assert len(vocab_a) == len(vocab_b)
    specials = {t: i for t, i in vocab_b.items() if t in set(b.all_special_tokens)}
    assert {t: vocab_a[t] for t in specials} == specials
    alphabet = lambda vocab: {t for t in vocab if len(t.removeprefix("##")) == 1}  # noqa: E731
    assert alphabet(vocab_a) == alphabet(vocab_b)
    assert type(a) is ours_class and a.special_tokens_map == b.special_tokens_map
    assert a.do_lower_case == b.do_lower_case and a.model_input_names == b.model_input_names
    written = a.save_pretrained(tmp_path / "ours")
    expected = b.save_pretrained(tmp_path / "ref")
    assert sorted(p.rsplit("/", 1)[1] for p in written) == sorted(
        p.rsplit("/", 1)[1] for p in expected if (tmp_path / "ref" / p.rsplit("/", 1)[1]).exists()
    )
    config_a = json.loads((tmp_path / "ours" / "tokenizer_config.json").read_text())
    config_b = json.loads((tmp_path / "ref" / "tokenizer_config.json").read_text())
    assert config_a == config_b
    # the reference reads our trained folder as the tokenizer we trained, slow and fast
    texts = ["Tokenizers learn merges", "naïve café 中文 2025", "<cls> x <tool>"]
    ids = a(texts, ["pairs", "of", "symbols"])["input_ids"]
    assert ref_class.from_pretrained(tmp_path / "ours")(texts, ["pairs", "of", "symbols"])["input_ids"] == ids
    assert ref_class.slow_tokenizer_class.from_pretrained(tmp_path / "ours")(texts, ["pairs", "of", "symbols"])[
        "input_ids"
    ] == ids


def test_a_post_processor_token_missing_from_the_trained_vocabulary_is_an_error():
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    from mintformers.tokenization import PreTrainedTokenizerFast

    backend = Tokenizer(models.WordLevel({"[X]": 0, "a": 1, "[UNK]": 2}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.post_processor = processors.TemplateProcessing(single="[X] $A", special_tokens=[("[X]", 0)])
    ours = PreTrainedTokenizerFast(tokenizer_object=backend)
    ref = transformers.PreTrainedTokenizerFast(tokenizer_object=backend)
    with pytest.raises(ValueError) as expected:  # "[X]" is no added token: the trainer does not keep it
        ref.train_new_from_iterator(NEW, 50, show_progress=False)
    with pytest.raises(ValueError) as got:
        ours.train_new_from_iterator(NEW, 50, show_progress=False)
    assert str(got.value) == str(expected.value)
    assert not hasattr(BertTokenizer, "train_new_from_iterator")  # as the reference: fast tokenizers train
