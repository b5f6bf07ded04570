"""`pipeline(...)` itself: loading, task names, heads, devices, dtypes, input kinds and the errors users meet.

Checkpoints are written by mintformers (no reference needed); parity with the reference lives in
tests/reference/test_pipelines_parity.py.
"""

from __future__ import annotations

import logging
import zlib

import pytest
import torch

import mintformers
from mintformers import AutoTokenizer, BertConfig, BertForMaskedLM, pipeline
from mintformers.pipelines import TASKS, Pipeline, resolve_device
from pipelines.tiny import NER_LABELS, NLI_LABELS, SENTIMENT_LABELS, write_checkpoint


@pytest.fixture(scope="module", autouse=True)
def single_threaded():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: threads cost more than they save
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    made: dict = {}

    def get(class_name: str, **config):
        key = (class_name, repr(sorted(config.items())))
        if key not in made:
            seed = zlib.crc32(repr(key).encode()) % 10_000  # the same weights whichever test asks first
            made[key] = write_checkpoint(mintformers, tmp_path_factory.mktemp(class_name), class_name, seed=seed, **config)
        return made[key]

    return get


@pytest.fixture(scope="module")
def fill(checkpoint):
    return pipeline("fill-mask", model=checkpoint("BertForMaskedLM"))


# ---- building ------------------------------------------------------------------------------------------------
def test_lazy_top_level_names():
    assert mintformers.pipeline is pipeline and issubclass(mintformers.Pipeline, Pipeline)


def test_aliases_and_task_inference(checkpoint):
    ner_dir = checkpoint("BertForTokenClassification", id2label=NER_LABELS)
    assert pipeline("ner", model=ner_dir).task == "token-classification"
    assert pipeline("sentiment-analysis", model=checkpoint("BertForSequenceClassification")).task == "text-classification"
    # no task: the checkpoint's config.architectures says what it was trained for
    assert type(pipeline(model=ner_dir)).__name__ == "TokenClassificationPipeline"
    assert pipeline(model=checkpoint("BertForMaskedLM")).task == "fill-mask"
    assert pipeline(model=checkpoint("BertModel")).task == "feature-extraction"


def test_unknown_task_lists_the_supported_ones(checkpoint):
    with pytest.raises(ValueError, match="Unknown task 'summarization'") as error:
        pipeline("summarization", model=checkpoint("BertModel"))
    for task in TASKS:
        assert task in str(error.value)
    assert "ner → token-classification" in str(error.value)


def test_model_is_required():
    with pytest.raises(ValueError, match="needs model="):
        pipeline("fill-mask")


def test_task_without_head_names_task_model_type_and_heads(checkpoint):
    with pytest.raises(ValueError) as error:
        pipeline("text-generation", model=checkpoint("BertForMaskedLM"))
    message = str(error.value)
    assert "'text-generation'" in message and "'bert'" in message and "is_decoder" in message
    assert "BertForMaskedLM" in message and "fill-mask" in message
    with pytest.raises(ValueError, match="'information-extraction' needs .* 'bert' models do not have"):
        pipeline("information-extraction", model=checkpoint("BertModel"))


def test_built_model_needs_the_right_head_and_a_tokenizer(checkpoint):
    directory = checkpoint("BertForMaskedLM")
    model = BertForMaskedLM.from_pretrained(directory)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    with pytest.raises(ValueError, match="needs a tokenizer"):
        pipeline("fill-mask", model=model)
    with pytest.raises(ValueError, match="'token-classification' needs a token classification head.*BertForMaskedLM"):
        pipeline("token-classification", model=model, tokenizer=tokenizer)
    with pytest.raises(TypeError, match="model must be"):
        pipeline("fill-mask", model=42, tokenizer=tokenizer)
    built = pipeline("fill-mask", model=model, tokenizer=tokenizer)
    loaded = pipeline("fill-mask", model=directory)
    assert built("hello [MASK] !") == loaded("hello [MASK] !")
    # any model gives features: its first output
    assert len(pipeline("feature-extraction", model=model, tokenizer=tokenizer)("hello")[0][0]) == len(tokenizer)


def test_train_mode_model_is_put_in_eval_mode(checkpoint):
    directory = checkpoint("BertForMaskedLM")
    model = BertForMaskedLM.from_pretrained(directory, hidden_dropout_prob=0.5).train()
    fill = pipeline("fill-mask", model=model, tokenizer=AutoTokenizer.from_pretrained(directory))
    assert not model.training and fill("hello [MASK] !") == fill("hello [MASK] !")


def test_unknown_option_is_a_clear_error(fill):
    with pytest.raises(TypeError, match=r"does not know the option\(s\) \['topk'\].*'top_k'"):
        fill("hello [MASK]", topk=3)
    with pytest.raises(TypeError, match="does not know"):
        pipeline("fill-mask", model=fill.model, tokenizer=fill.tokenizer, colour="red")


# ---- devices and dtypes ----------------------------------------------------------------------------------------
def test_devices(checkpoint, caplog):
    directory = checkpoint("BertForMaskedLM")
    for device in ("cpu", -1, torch.device("cpu")):
        assert pipeline("fill-mask", model=directory, device=device).device == torch.device("cpu")
    assert resolve_device(None) is None
    with pytest.raises(ValueError, match="Unknown device"):
        resolve_device("gpu:0")
    with pytest.raises(TypeError, match="device must be"):
        resolve_device(1.5)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="needs CUDA"):
            pipeline("fill-mask", model=directory, device="cuda:0")
        if not torch.backends.mps.is_available():
            with caplog.at_level(logging.WARNING, logger="mintformers.pipelines.base"):
                assert resolve_device(0) == torch.device("cpu")
            assert "no" in caplog.text and "CPU" in caplog.text


def test_dtypes(checkpoint):
    directory = checkpoint("BertForSequenceClassification", id2label=SENTIMENT_LABELS)
    full = pipeline("text-classification", model=directory)
    assert full.dtype == torch.float32  # "auto": the checkpoint's dtype
    half = pipeline("text-classification", model=directory, dtype=torch.bfloat16)
    assert half.dtype == torch.bfloat16 and pipeline("text-classification", model=directory, torch_dtype="bfloat16").dtype == torch.bfloat16
    expected, got = full("good movie", top_k=None), half("good movie", top_k=None)
    assert [r["label"] for r in expected] == [r["label"] for r in got]
    assert all(abs(a["score"] - b["score"]) < 0.05 for a, b in zip(expected, got))
    assert isinstance(got[0]["score"], float)
    with pytest.raises(ValueError, match="disagree"):
        pipeline("text-classification", model=full.model, tokenizer=full.tokenizer, dtype="float16", torch_dtype="bfloat16")


def test_model_kwargs_reach_from_pretrained(checkpoint):
    directory = checkpoint("BertForSequenceClassification", id2label=SENTIMENT_LABELS)
    pipe = pipeline("text-classification", model=directory, model_kwargs={"attn_implementation": "eager"})
    assert pipe.model.config.attn_implementation == "eager"
    with pytest.raises(ValueError, match="already built"):
        pipeline("text-classification", model=pipe.model, tokenizer=pipe.tokenizer, model_kwargs={"x": 1})


def test_save_pretrained_round_trip(fill, tmp_path):
    fill.save_pretrained(tmp_path)
    assert pipeline("fill-mask", model=tmp_path)("the sky is [MASK]") == fill("the sky is [MASK]")
    assert "FillMaskPipeline(task='fill-mask'" in repr(fill)


# ---- inputs ----------------------------------------------------------------------------------------------------
def test_input_kinds(fill):
    texts = ["hello [MASK] !", "the sky is [MASK]", "[MASK] world"]
    one = fill(texts)
    assert isinstance(one, list) and len(one) == 3 and fill(texts[1]) == one[1]
    assert fill(tuple(texts)) == one
    assert list(fill(iter(texts))) == one
    assert list(fill(t for t in texts)) == one
    assert list(fill((t for t in texts), batch_size=2)) == one
    assert fill(texts, batch_size=3) == one


def test_empty_and_invalid_inputs(fill):
    with pytest.raises(ValueError, match="empty list"):
        fill([])
    with pytest.raises(ValueError, match="no input"):
        fill(None)
    with pytest.raises(TypeError, match="cannot read an input of type int"):
        fill(42)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        fill("hello [MASK]", batch_size=0)
    with pytest.raises(ValueError, match=r"No mask_token \(\[MASK\]\) found"):
        fill("no mask here")
    with pytest.raises(ValueError, match="At least one target"):
        fill("hello [MASK]", targets=[])


def test_batching_needs_a_pad_token(fill):
    pad = fill.tokenizer.pad_token
    fill.tokenizer.pad_token = None
    try:
        assert fill(["hello [MASK] !", "[MASK]"])  # batch_size 1: no padding needed
        with pytest.raises(ValueError, match="padding token"):
            fill(["hello [MASK] !", "[MASK]"], batch_size=2)
    finally:
        fill.tokenizer.pad_token = pad


# ---- task-specific errors ---------------------------------------------------------------------------------------
def test_token_classification_errors(checkpoint):
    directory = checkpoint("BertForTokenClassification", id2label=NER_LABELS)
    ner = pipeline("ner", model=directory)
    with pytest.raises(ValueError, match="not one of"):
        ner("john", aggregation_strategy="best")
    with pytest.raises(ValueError, match="needs an aggregation"):
        ner("john", stride=4, aggregation_strategy="none")
    with pytest.raises(ValueError, match="less than tokenizer.model_max_length"):
        ner("john", stride=64, aggregation_strategy="simple")
    with pytest.raises(ValueError, match="list of words"):
        ner("john smith", is_split_into_words=True)
    slow = pipeline("ner", model=directory, use_fast=False)
    assert not slow.tokenizer.is_fast
    with pytest.raises(ValueError, match="fast tokenizer"):
        slow("john", aggregation_strategy="first")
    # a slow tokenizer has no offsets: entities come without start/end
    assert all(e["start"] is None and e["end"] is None for e in slow("john smith", ignore_labels=[]))


def test_question_answering_errors(checkpoint):
    directory = checkpoint("BertForQuestionAnswering")
    qa = pipeline("question-answering", model=directory)
    with pytest.raises(ValueError, match="`question` cannot be empty"):
        qa(question="", context="paris")
    with pytest.raises(KeyError, match="'context' is missing"):
        qa({"question": "who ?"})
    with pytest.raises(ValueError, match="2 questions but 1 contexts"):
        qa(question=["who ?", "where ?"], context=["paris"])
    with pytest.raises(ValueError, match="needs question"):
        qa()
    with pytest.raises(ValueError, match="top_k must be >= 1"):
        qa(question="who ?", context="paris", top_k=0)
    with pytest.raises(ValueError, match="doc_stride"):
        qa(question="who ?", context="paris", max_seq_len=10, doc_stride=20)
    with pytest.raises(NotImplementedError, match="fast tokenizer"):
        pipeline("question-answering", model=directory, use_fast=False)(question="who ?", context="paris")


def test_zero_shot_errors(checkpoint):
    nli = pipeline("zero-shot-classification", model=checkpoint("BertForSequenceClassification", id2label=NLI_LABELS))
    with pytest.raises(ValueError, match="at least one label"):
        nli("good movie")
    with pytest.raises(ValueError, match="at least one label"):
        nli("good movie", candidate_labels=[])
    with pytest.raises(ValueError, match="no place for the label"):
        nli("good movie", candidate_labels=["sports"], hypothesis_template="This is it.")
    assert nli.entailment_id == 2


def test_text_classification_errors(checkpoint):
    classify = pipeline("text-classification", model=checkpoint("BertForSequenceClassification", id2label=SENTIMENT_LABELS))
    with pytest.raises(ValueError, match="function_to_apply='tanh'"):
        classify("good", function_to_apply="tanh")
    with pytest.raises(ValueError, match="'text' and 'text_pair'"):
        classify({"txt": "good"})
    with pytest.raises(ValueError, match="text pairs"):
        classify([["good", "bad"]])


def test_bert_decoder_checkpoint_is_accepted_for_generation_head_check(checkpoint):
    # a BERT trained as a decoder passes the head check (generation itself is tested with the generation module)
    from mintformers.pipelines import TASKS as tasks
    from mintformers.pipelines import _check_head

    _check_head("text-generation", tasks["text-generation"], BertConfig(is_decoder=True))
    with pytest.raises(ValueError, match="is an encoder"):
        _check_head("text-generation", tasks["text-generation"], BertConfig())


def test_multiple_choice_api(checkpoint):
    choose = pipeline("multiple-choice", model=checkpoint("BertForMultipleChoice"))
    item = {"question": "the capital of france is", "choices": ["paris", "new york", "the red sky"]}
    result = choose(item)
    assert list(result) == ["answer", "index", "scores", "choices"]
    assert result["choices"] == item["choices"] and result["answer"] == item["choices"][result["index"]]
    assert abs(sum(result["scores"]) - 1) < 1e-6 and result["scores"][result["index"]] == max(result["scores"])
    assert choose(item["question"], choices=item["choices"]) == result
    assert choose(question=item["question"], choices=item["choices"]) == result
    # any number of choices per question, batched together
    items = [item, {"question": "who lives in paris ?", "choices": ["john", "mary"]},
             {"question": "the sky is", "choices": ["blue"], "context": "the sky is blue ."}]
    one = choose(items)
    assert one[0] == result and [len(r["scores"]) for r in one] == [3, 2, 1] and one[2]["scores"] == [1.0]
    batched = choose(items, batch_size=4)
    assert [r["answer"] for r in batched] == [r["answer"] for r in one]
    assert all(abs(a - b) < 1e-5 for x, y in zip(one, batched) for a, b in zip(x["scores"], y["scores"]))
    assert list(choose(iter(items))) == one
    raw = choose(item, function_to_apply="none")["scores"]
    assert torch.allclose(torch.tensor(raw).softmax(-1), torch.tensor(result["scores"]), atol=1e-6)


def test_multiple_choice_errors(checkpoint):
    choose = pipeline("multiple-choice", model=checkpoint("BertForMultipleChoice"))
    with pytest.raises(ValueError, match="'choices': a non-empty list"):
        choose("the sky is")
    with pytest.raises(ValueError, match="'choices': a non-empty list"):
        choose("the sky is", choices="blue")
    with pytest.raises(ValueError, match="Unknown keys"):
        choose({"question": "the sky is", "choices": ["blue"], "answer": "blue"})
    with pytest.raises(ValueError, match="once"):
        choose("the sky is", question="the sky is", choices=["blue"])
    with pytest.raises(ValueError, match="'softmax' or 'none'"):
        choose("the sky is", choices=["blue"], function_to_apply="sigmoid")
    masked_lm = BertForMaskedLM.from_pretrained(checkpoint("BertForMaskedLM"))
    with pytest.raises(ValueError, match="multiple choice head"):
        pipeline("multiple-choice", model=masked_lm, tokenizer=choose.tokenizer)
