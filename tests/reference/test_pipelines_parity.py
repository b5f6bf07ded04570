"""Pipelines against transformers 4.57.6's `pipeline(...)` on the same tiny checkpoints (written by the reference).

Every task and its main options: labels, words, spans and offsets must be identical, scores within 1e-5. Then the
input kinds: batch_size > 1 and generators must give what batch_size = 1 gives.
"""

from __future__ import annotations

import itertools
import logging
import warnings
import zlib

import numpy as np
import pytest
import torch

import mintformers
from pipelines.tiny import (
    CORPUS,
    NER_LABELS,
    NLI_LABELS,
    SENTIMENT_LABELS,
    write_checkpoint,
    write_ernie_m_checkpoint,
    write_mpt_checkpoint,
)

transformers = pytest.importorskip("transformers")

ATOL = 1e-5
NER_SENTENCES = [
    "John Smith works for Microsoft in New York",
    "hello zzz world, microsoft visited Amsterdam!",
    "Mary met John at the capital of France today.",
    "she-who lives in paris",
]
LONG_TEXT = " ".join(["John Smith works for Microsoft in New York and Mary visited Amsterdam today."] * 6)
CONTEXT = (
    "John Smith lives in New York. He works for Microsoft. Mary visited Amsterdam today. The capital of France is "
    "Paris. The sky is blue and the grass is green."
)


@pytest.fixture(scope="module", autouse=True)
def quiet_and_single_threaded():
    verbosity, ours = transformers.logging.get_verbosity(), logging.getLogger("mintformers")
    level, threads = ours.level, torch.get_num_threads()
    transformers.logging.set_verbosity_error()
    ours.setLevel(logging.ERROR)
    torch.set_num_threads(1)  # tiny models: thread start-up costs far more than it saves
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
    torch.set_num_threads(threads)
    ours.setLevel(level)
    transformers.logging.set_verbosity(verbosity)


def _seed(key: tuple) -> int:
    """Weights depend on what the checkpoint is, not on which test asked for it first."""
    return zlib.crc32(repr(key).encode()) % 10_000


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """checkpoint(class_name, family="bert", **config) → a directory written by the reference (cached)."""
    made: dict = {}

    def get(class_name: str, family: str = "bert", **config):
        key = (class_name, family, repr(sorted(config.items())))
        if key not in made:
            directory = tmp_path_factory.mktemp(class_name)
            made[key] = write_checkpoint(transformers, directory, class_name, family, seed=_seed(key), **config)
        return made[key]

    return get


@pytest.fixture(scope="module")
def pipes():
    """pipes(task, directory, **init_options) → (reference pipeline, ours), cached."""
    made: dict = {}

    def get(task: str, directory, **options):
        key = (task, str(directory), repr(sorted(options.items())))
        if key not in made:
            made[key] = (
                transformers.pipeline(task, model=str(directory), device="cpu", **options),
                mintformers.pipeline(task, model=directory, device="cpu", **options),
            )
        return made[key]

    return get


def assert_same(expected, got, path="result", atol=ATOL):
    """Same structure, equal labels/strings/ints, floats within ATOL (numpy scalars count as Python numbers)."""
    if isinstance(expected, (np.floating, np.integer)):
        expected = expected.item()
    if isinstance(expected, dict):
        assert isinstance(got, dict), f"{path}: expected a dict, got {type(got).__name__}"
        assert list(expected) == list(got), f"{path}: keys {list(expected)} != {list(got)}"
        for key in expected:
            assert_same(expected[key], got[key], f"{path}[{key!r}]", atol)
    elif isinstance(expected, (list, tuple)):
        assert isinstance(got, (list, tuple)), f"{path}: expected a list, got {type(got).__name__}"
        assert len(expected) == len(got), f"{path}: length {len(expected)} != {len(got)}\n{expected}\n{got}"
        for i, (a, b) in enumerate(zip(expected, got)):
            assert_same(a, b, f"{path}[{i}]", atol)
    elif isinstance(expected, torch.Tensor):
        assert isinstance(got, torch.Tensor) and expected.shape == got.shape, f"{path}: tensor shape"
        assert (expected.float() - got.float()).abs().max().item() <= atol, f"{path}: tensors differ"
    elif isinstance(expected, float):
        assert isinstance(got, float), f"{path}: expected a float, got {type(got).__name__}"
        assert abs(expected - got) <= atol, f"{path}: {expected} != {got}"
    else:
        assert type(expected) is type(got) and expected == got, f"{path}: {expected!r} != {got!r}"


def compare(pair, *args, atol=ATOL, batch_size=None, **options):
    """The reference's result (batch_size 1) equals ours (at `batch_size` when given)."""
    ref, ours = pair
    expected = ref(*args, **options)
    got = ours(*args, **options) if batch_size is None else ours(*args, batch_size=batch_size, **options)
    assert_same(expected, got, atol=atol)
    return got


# ---- fill-mask -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, options",
    [
        ("the capital of france is [MASK] .", {}),
        ("the capital of france is [MASK] .", {"top_k": 3}),
        ("the [MASK] of [MASK] is paris", {}),
        ("the [MASK] of [MASK] is paris", {"top_k": 2}),
        ("hello [MASK] !", {"targets": ["world", "paris", "sky"]}),
        ("hello [MASK] !", {"targets": "world"}),
        ("hello [MASK] !", {"targets": ["world", "microsoft", "qqq"], "top_k": 10}),  # not in vocab: first token
        (["hello [MASK] !"], {}),  # a list of one: the reference unwraps it
        (["hello [MASK] !", "[MASK] is the color of the sky", "the [MASK] [MASK] ."], {"top_k": 2}),
        ("hello [MASK] " + "world " * 80, {"tokenizer_kwargs": {"truncation": True}}),
    ],
)
def test_fill_mask(checkpoint, pipes, text, options):
    compare(pipes("fill-mask", checkpoint("BertForMaskedLM")), text, **options)


def test_fill_mask_init_options(checkpoint, pipes):
    compare(pipes("fill-mask", checkpoint("BertForMaskedLM"), top_k=2, targets=["red", "blue", "green"]), "the sky is [MASK]")


# ---- feature-extraction --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "inputs, options",
    [
        ("hello world", {}),
        (["hello world", "the capital of france is paris ."], {}),
        ("hello world", {"return_tensors": True}),
        ("hello world " * 50, {"truncation": True}),
        ("hello world " * 5, {"tokenize_kwargs": {"truncation": True, "max_length": 6}}),
    ],
)
def test_feature_extraction(checkpoint, pipes, inputs, options):
    compare(pipes("feature-extraction", checkpoint("BertModel")), inputs, **options)


@pytest.mark.parametrize("name", ["minilm_dir", "mpnet_dir"])
def test_feature_extraction_real_checkpoints(request, name):
    directory = request.getfixturevalue(name)
    ref = transformers.pipeline("feature-extraction", model=str(directory), device="cpu")
    ours = mintformers.pipeline("feature-extraction", model=directory, device="cpu")
    texts = ["A man is eating food.", "A man is eating a piece of bread.", "Ünïcödé, 中文 and emoji 🙂 go through too."]
    assert_same(ref(texts), ours(texts))
    assert_same(ref(texts[0], return_tensors=True), ours(texts[0], return_tensors=True))
    # batching: every text keeps exactly its own tokens
    assert_same(ours(texts), ours(texts, batch_size=3))


# ---- text-classification -------------------------------------------------------------------------------------
CLASSIFY_CASES = [
    ("good movie", {}),
    ("good movie", {"top_k": 2}),
    ("good movie", {"top_k": None}),
    ("good movie", {"top_k": 1}),
    (["good movie", "bad film !"], {}),
    (["good movie", "bad film !"], {"top_k": None}),
    ("good movie", {"return_all_scores": True}),
    ("good movie", {"return_all_scores": False}),
    ({"text": "a good movie", "text_pair": "a bad film"}, {}),
    ([{"text": "a good movie", "text_pair": "a bad film"}, {"text": "hello"}], {"top_k": 2}),
    ("good movie", {"function_to_apply": "sigmoid"}),
    ("good movie", {"function_to_apply": "none", "top_k": None}),
    ("good movie", {"function_to_apply": "SOFTMAX"}),
    ("good movie " * 40, {"truncation": True}),
]


@pytest.mark.parametrize("inputs, options", CLASSIFY_CASES)
def test_text_classification(checkpoint, pipes, inputs, options):
    compare(pipes("text-classification", checkpoint("BertForSequenceClassification", id2label=SENTIMENT_LABELS)), inputs, **options)


@pytest.mark.parametrize(
    "config",
    [dict(num_labels=1), dict(id2label=SENTIMENT_LABELS, problem_type="multi_label_classification"),
     dict(num_labels=1, problem_type="regression")],
    ids=["one-label", "multi-label", "regression"],
)
def test_text_classification_default_function(checkpoint, pipes, config):
    pair = pipes("sentiment-analysis", checkpoint("BertForSequenceClassification", **config))
    compare(pair, "good movie")
    compare(pair, ["good movie", "bad"], top_k=None)


@pytest.mark.parametrize("options", [{"top_k": 2}, {"top_k": None}, {"return_all_scores": True}, {"function_to_apply": "none"}])
def test_text_classification_init_options(checkpoint, pipes, options):
    pair = pipes("text-classification", checkpoint("BertForSequenceClassification", id2label=SENTIMENT_LABELS), **options)
    compare(pair, "good movie")
    compare(pair, ["good movie", "bad"])


# ---- token-classification ------------------------------------------------------------------------------------
@pytest.mark.parametrize("strategy", ["none", "simple", "first", "average", "max"])
def test_token_classification(checkpoint, pipes, strategy):
    pair = pipes("ner", checkpoint("BertForTokenClassification", id2label=NER_LABELS), aggregation_strategy=strategy)
    for sentence in NER_SENTENCES:
        compare(pair, sentence)
    compare(pair, NER_SENTENCES)
    compare(pair, NER_SENTENCES[0], ignore_labels=[])
    compare(pair, NER_SENTENCES[1], ignore_labels=["O", "B-PER"])


@pytest.mark.parametrize("strategy", ["simple", "first", "max"])
@pytest.mark.parametrize("stride", [4, 16])
def test_token_classification_stride(checkpoint, pipes, strategy, stride):
    pair = pipes("token-classification", checkpoint("BertForTokenClassification", id2label=NER_LABELS),
                 aggregation_strategy=strategy, stride=stride)
    compare(pair, LONG_TEXT)
    every = compare(pair, LONG_TEXT, ignore_labels=[])
    assert every[-1]["end"] == len(LONG_TEXT)  # the last window's tokens are there too


@pytest.mark.parametrize("strategy", ["none", "first"])
def test_token_classification_split_into_words(checkpoint, pipes, strategy):
    pair = pipes("token-classification", checkpoint("BertForTokenClassification", id2label=NER_LABELS),
                 aggregation_strategy=strategy)
    compare(pair, ["John", "Smith", "works", "for", "Microsoft"], is_split_into_words=True)
    compare(pair, [["hello", "zzz", "world"], ["Mary", "visited", "Amsterdam"]], is_split_into_words=True)
    compare(pair, ["John", "Smith"], is_split_into_words=True, delimiter="--")


def test_token_classification_legacy_grouping(checkpoint, pipes):
    pair = pipes("ner", checkpoint("BertForTokenClassification", id2label=NER_LABELS))
    compare(pair, NER_SENTENCES[0], grouped_entities=True)
    compare(pair, NER_SENTENCES[0], grouped_entities=True, ignore_subwords=True)


# ---- question-answering --------------------------------------------------------------------------------------
QA_CASES = [
    dict(question="where does john live ?", context=CONTEXT),
    dict(question="who works for microsoft ?", context=CONTEXT, top_k=5),
    dict(question="what is the capital of france ?", context=CONTEXT, top_k=3, max_seq_len=24, doc_stride=8),
    dict(question="who ?", context=CONTEXT * 3, top_k=4, doc_stride=20),  # windows of the default max_seq_len
    dict(question="who ?", context=CONTEXT, handle_impossible_answer=True, top_k=2),
    dict(question="who ?", context=CONTEXT, handle_impossible_answer=True, max_seq_len=20, doc_stride=5),
    dict(question="who ?", context=CONTEXT, align_to_words=False, top_k=4, max_answer_len=3),
    dict(question="who ?", context=CONTEXT, max_answer_len=1, top_k=2),
    dict(question="who ?", context="paris", top_k=20),  # fewer spans than top_k
    dict(question=["who ?", "where ?"], context=CONTEXT, top_k=2),
    dict(question=["who ?", "where ?"], context=[CONTEXT, "Mary visited Amsterdam."]),
    dict(question=["who ?"], context=CONTEXT),
]


@pytest.mark.parametrize("case", QA_CASES)
def test_question_answering(checkpoint, pipes, case):
    compare(pipes("question-answering", checkpoint("BertForQuestionAnswering")), **case)


def test_question_answering_input_forms(checkpoint, pipes):
    pair = pipes("question-answering", checkpoint("BertForQuestionAnswering"))
    item = {"question": "who works for microsoft ?", "context": CONTEXT}
    compare(pair, item)
    compare(pair, [item, {"question": "where ?", "context": CONTEXT}])
    compare(pair, "who works ?", CONTEXT)


# ---- zero-shot-classification --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args, options",
    [
        (("good movie", ["sports", "politics", "weather"]), {}),
        (("good movie", "sports, politics,weather"), {}),
        (("good movie", ["sports", "politics"]), {"multi_label": True}),
        (("good movie", ["sports"]), {}),
        ((["a movie about paris", "the city"], ["sports", "politics"]), {"hypothesis_template": "this is about {} ."}),
        (("good movie " * 40, ["sports", "weather"]), {}),  # the text is truncated, never the hypothesis
    ],
)
@pytest.mark.parametrize("labels", [NLI_LABELS, {0: "entailment", 1: "neutral", 2: "contradiction"}], ids=["entail-last", "entail-first"])
def test_zero_shot(checkpoint, pipes, args, options, labels):
    pair = pipes("zero-shot-classification", checkpoint("BertForSequenceClassification", id2label=labels))
    ref, ours = pair
    assert_same(ref(*args, **options), ours(*args, **options))
    assert_same(ref(args[0], candidate_labels=args[1], **options), ours(args[0], candidate_labels=args[1], **options))


# ---- multiple-choice (no reference pipeline: against the reference model) -------------------------------------
def test_multiple_choice_matches_reference_model(checkpoint):
    directory = checkpoint("BertForMultipleChoice")
    ref_model = transformers.AutoModelForMultipleChoice.from_pretrained(directory).eval()
    ref_tok = transformers.AutoTokenizer.from_pretrained(directory)
    choose = mintformers.pipeline("multiple-choice", model=directory)
    question, choices = "the capital of france is", ["paris", "new york city", "the red sky of amsterdam"]
    encoded = ref_tok([question] * 3, choices, padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = ref_model(**{k: v[None] for k, v in encoded.items()}).logits[0]
    got = choose({"question": question, "choices": choices})
    assert got["choices"] == choices and got["index"] == int(logits.argmax()) and got["answer"] == choices[got["index"]]
    assert_same(logits.softmax(-1).tolist(), got["scores"])
    assert_same(logits.tolist(), choose(question, choices=choices, function_to_apply="none")["scores"])
    context = "mary visited amsterdam today ."
    encoded = ref_tok([context] * 2, [f"who visited ? {c}" for c in ["mary", "john"]], padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = ref_model(**{k: v[None] for k, v in encoded.items()}).logits[0]
    got = choose(question="who visited ?", context=context, choices=["mary", "john"])
    assert_same(logits.softmax(-1).tolist(), got["scores"])


# ---- batching and input kinds ---------------------------------------------------------------------------------
BATCH_CASES = {
    "fill-mask": ("BertForMaskedLM", {}, ["hello [MASK] !", "the [MASK] of [MASK] is paris", "[MASK]", "the sky is [MASK] and the grass is green"], {"top_k": 3}),
    "feature-extraction": ("BertModel", {}, ["hello", "the capital of france is paris .", "a b c d e f"], {}),
    "text-classification": ("BertForSequenceClassification", {"id2label": SENTIMENT_LABELS}, ["good", "a bad film about the city", {"text": "good", "text_pair": "bad movie"}], {"top_k": None}),
    "token-classification": ("BertForTokenClassification", {"id2label": NER_LABELS}, NER_SENTENCES + [LONG_TEXT], {"aggregation_strategy": "first", "stride": 8}),
    "question-answering": ("BertForQuestionAnswering", {}, [{"question": "who ?", "context": CONTEXT * 2}, {"question": "where does john live ?", "context": "John lives in Paris."}], {"top_k": 3, "max_seq_len": 30, "doc_stride": 10, "handle_impossible_answer": True}),
    "zero-shot-classification": ("BertForSequenceClassification", {"id2label": NLI_LABELS}, ["good movie", "the city of paris is great", "sky"], {"candidate_labels": ["sports", "a very long label about politics", "weather"]}),
}


@pytest.mark.parametrize("task", list(BATCH_CASES))
def test_batch_size_and_streams(checkpoint, pipes, task):
    class_name, config, items, options = BATCH_CASES[task]
    ref, ours = pipes(task, checkpoint(class_name, **config))
    one = ours(items, **options)
    assert_same(ref(items, **options), one)
    for batch_size in (2, 3, 8):
        assert_same(one, ours(items, batch_size=batch_size, **options))

    # generators are consumed lazily and answered with an iterator
    pulled = []

    def generate():
        for item in items:
            pulled.append(item)
            yield item

    stream = ours(generate(), batch_size=2, **options)
    assert not isinstance(stream, list)
    first = next(stream)
    assert len(pulled) <= 2
    assert_same(one, [first, *stream])

    class Dataset:  # __len__ + __getitem__, like a torch or 🤗 dataset
        def __len__(self):
            return len(items)

        def __getitem__(self, i):
            return items[i]

    assert_same(one, list(ours(Dataset(), batch_size=3, **options)))
    assert_same(one, list(ours(iter(items), **options)))


def test_pipeline_batch_size_option(checkpoint, pipes):
    directory = checkpoint("BertForTokenClassification", id2label=NER_LABELS)
    ref, ours = pipes("ner", directory, aggregation_strategy="simple")
    batched = mintformers.pipeline("ner", model=directory, aggregation_strategy="simple", batch_size=4)
    assert batched.batch_size == 4
    assert_same(ref(NER_SENTENCES), batched(NER_SENTENCES))


# ---- other families --------------------------------------------------------------------------------------------
FAMILY_HEADS = {"mobilebert": "MobileBert", "mpnet": "MPNet"}


@pytest.mark.parametrize("family", list(FAMILY_HEADS))
def test_other_encoder_families(checkpoint, pipes, family):
    prefix = FAMILY_HEADS[family]
    atol = 1e-4 if family == "mobilebert" else ATOL  # MobileBERT's NoNorm activations are large (REFERENCE.md)
    mask = "<mask>" if family == "mpnet" else "[MASK]"
    compare(pipes("fill-mask", checkpoint(f"{prefix}ForMaskedLM", family)), f"the capital of france is {mask} .", top_k=3, atol=atol)
    compare(pipes("feature-extraction", checkpoint(f"{prefix}Model", family)), ["hello world", "paris"], batch_size=2, atol=atol)
    classify = pipes("text-classification", checkpoint(f"{prefix}ForSequenceClassification", family, id2label=SENTIMENT_LABELS))
    compare(classify, ["good movie", {"text": "good", "text_pair": "bad film"}], top_k=None, atol=atol)
    ner = pipes("ner", checkpoint(f"{prefix}ForTokenClassification", family, id2label=NER_LABELS), aggregation_strategy="average")
    compare(ner, NER_SENTENCES, batch_size=2, atol=atol)
    if family != "mobilebert":  # the reference pads its windows, which MobileBERT's trigram input sees; we do not
        compare(ner, LONG_TEXT, stride=10, atol=atol)
    qa = pipes("question-answering", checkpoint(f"{prefix}ForQuestionAnswering", family))
    compare(qa, question="who works for microsoft ?", context=CONTEXT * 2, top_k=3, max_seq_len=32, doc_stride=8, atol=atol)
    nli = pipes("zero-shot-classification", checkpoint(f"{prefix}ForSequenceClassification", family, id2label=NLI_LABELS))
    compare(nli, "good movie", candidate_labels=["sports", "weather"], batch_size=2, atol=atol)


# ---- MPT: text-generation and its encoder-style heads ------------------------------------------------------------
@pytest.fixture(scope="module")
def mpt(tmp_path_factory):
    """mpt(class_name, **config) → an MPT checkpoint (byte-level BPE tokenizer) written by the reference."""
    made: dict = {}

    def get(class_name: str = "MptForCausalLM", **config):
        key = (class_name, repr(sorted(config.items())))
        if key not in made:
            made[key] = write_mpt_checkpoint(transformers, tmp_path_factory.mktemp(class_name), class_name, _seed(key), **config)
        return made[key]

    return get


GREEDY = dict(max_new_tokens=8, do_sample=False)
GENERATION_CASES = [
    ("Once upon a time", GREEDY),
    ("Once upon a time", {**GREEDY, "return_full_text": False}),
    ("Once upon a time", {**GREEDY, "return_tensors": True}),
    ("Once upon a time", {**GREEDY, "return_text": True}),
    ("Once upon a time", {**GREEDY, "num_beams": 3, "num_return_sequences": 2}),
    ("Once upon a time", {**GREEDY, "prefix": "Hello world! "}),
    ("Once upon a time", {**GREEDY, "prefix": "Hello world! ", "return_full_text": False}),
    ("Once upon a time", {**GREEDY, "repetition_penalty": 1.5, "no_repeat_ngram_size": 2}),
    ("Once upon a time", {**GREEDY, "clean_up_tokenization_spaces": False, "skip_special_tokens": False}),
    (["Once upon a time", "The sky", "John Smith works for Microsoft in"], GREEDY),
    (" ".join(CORPUS), {**GREEDY, "handle_long_generation": "hole"}),  # the prompt alone nearly fills the model
]


@pytest.mark.parametrize("prompt, options", GENERATION_CASES)
def test_text_generation_mpt(mpt, pipes, prompt, options):
    pair = pipes("text-generation", mpt())
    got = compare(pair, prompt, **options)
    if isinstance(prompt, list):  # batched prompts are left-padded: the same generations
        assert_same(got, pair[1](prompt, batch_size=3, **options))


def test_text_generation_stop_sequence(mpt, pipes):
    ref, ours = pair = pipes("text-generation", mpt())
    prompt = "Once upon a time"
    ids = ours(prompt, return_tensors=True, **GREEDY)[0]["generated_token_ids"]
    new = ids[len(ours.tokenizer(prompt)["input_ids"]):]
    # a later generated token that is also a whole string of its own: generation must stop right after it
    stop = next(t for t in new[2:] if ours.tokenizer.encode(ours.tokenizer.decode([t]), add_special_tokens=False) == [t])
    got = compare(pair, prompt, stop_sequence=ours.tokenizer.decode([stop]), return_tensors=True, **GREEDY)
    assert got[0]["generated_token_ids"] == ids[: ids.index(stop, len(ids) - len(new)) + 1]
    compare(pair, prompt, stop_sequence=ours.tokenizer.decode([stop]), **GREEDY)


def test_text_generation_bert_decoder(checkpoint, pipes):
    pair = pipes("text-generation", checkpoint("BertLMHeadModel", is_decoder=True))
    for options in (GREEDY, {**GREEDY, "return_full_text": False}, {**GREEDY, "add_special_tokens": False},
                    {**GREEDY, "return_tensors": True}):
        compare(pair, "the capital of france is", **options)


@pytest.mark.parametrize("head, labels", [("MptForSequenceClassification", SENTIMENT_LABELS), ("MptForTokenClassification", NER_LABELS), ("MptForQuestionAnswering", None)])
def test_mpt_encoder_style_heads(mpt, pipes, head, labels):
    directory = mpt(head, **({"id2label": labels} if labels else {}))
    if head == "MptForSequenceClassification":
        compare(pipes("text-classification", directory), ["Hello world!", "The sky is blue"], top_k=None)
    elif head == "MptForTokenClassification":
        for strategy in ("none", "simple", "first"):  # BPE has no "##": words are found by the space heuristic
            compare(pipes("ner", directory, aggregation_strategy=strategy), CORPUS[1])
    else:
        compare(pipes("question-answering", directory), question="Who works for Microsoft?", context=CORPUS[1], top_k=3)


# ---- ErnieM: a sentencepiece tokenizer, no token types --------------------------------------------------------------
def test_ernie_m(tmp_path_factory):
    """The reference has only a slow ErnieM tokenizer (no offsets); ours defaults to a fast one. With use_fast=False
    the results are identical; with the fast one they are too, except that entities also get their offsets."""

    def both(task, class_name, **config):
        directory = write_ernie_m_checkpoint(transformers, tmp_path_factory.mktemp(class_name), class_name, **config)
        ref = transformers.pipeline(task, model=str(directory), device="cpu")
        return ref, mintformers.pipeline(task, model=directory, use_fast=False), mintformers.pipeline(task, model=directory)

    ref, slow, fast = both("ner", "ErnieMForTokenClassification", id2label=NER_LABELS)
    for strategy in ("none", "simple"):
        expected = ref(CORPUS[1], aggregation_strategy=strategy)
        assert_same(expected, slow(CORPUS[1], aggregation_strategy=strategy))
        with_offsets = fast(CORPUS[1:3], aggregation_strategy=strategy, batch_size=2)[0]
        assert_same(expected, [{**e, "start": None, "end": None} for e in with_offsets])
        assert all(CORPUS[1][e["start"] : e["end"]].strip() for e in with_offsets if e["word"].strip("▁ "))

    ref, slow, fast = both("text-classification", "ErnieMForSequenceClassification", id2label=SENTIMENT_LABELS)
    for ours in (slow, fast):
        assert_same(ref(CORPUS, top_k=None), ours(CORPUS, top_k=None, batch_size=3))
        pair = {"text": "Hello world!", "text_pair": "The sky is blue."}
        assert_same(ref(pair), ours(pair))
    ref, slow, fast = both("zero-shot-classification", "ErnieMForSequenceClassification", id2label=NLI_LABELS)
    for ours in (slow, fast):
        assert_same(ref(CORPUS[0], ["sports", "weather"]), ours(CORPUS[0], ["sports", "weather"], batch_size=2))
    ref, slow, fast = both("feature-extraction", "ErnieMModel")
    for ours in (slow, fast):
        assert_same(ref(CORPUS[:2]), ours(CORPUS[:2], batch_size=2))
    # question answering: the reference's slow-tokenizer path (SQuAD word splitting) is not reproduced; ours uses
    # the fast tokenizer's offsets, so answers are spans of the context
    _, _, qa = both("question-answering", "ErnieMForQuestionAnswering")
    for answer in qa(question="Who works for Microsoft?", context=CORPUS[1], top_k=3):
        assert answer["answer"] == CORPUS[1][answer["start"]:answer["end"]]


def test_itertools_islice_of_stream(checkpoint, pipes):
    """A stream is a plain iterator: partial consumption works and runs only what was asked for."""
    _, ours = pipes("fill-mask", checkpoint("BertForMaskedLM"))
    endless = itertools.cycle(["hello [MASK] !", "the sky is [MASK]"])
    results = list(itertools.islice(ours(endless, batch_size=2), 5))
    assert len(results) == 5 and results[0] == results[2] == results[4]
