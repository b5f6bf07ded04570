"""/predict and /rerank against the task pipelines called directly (tiny checkpoints): TEI's shapes for a
classifier and a reranker, `{"outputs": pipe(inputs, **parameters)}` for the other tasks, and their errors."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import torch
from server_helpers import TIMEOUT, metric, plain, post, release_when_arrived, task_pipeline

from mintformers import pipeline


def assert_close(got, want, path="") -> None:
    """Equal JSON values, floats within 1e-5 (a batch pads what a lone call does not)."""
    if isinstance(want, float):
        assert math.isclose(got, want, rel_tol=1e-5, abs_tol=1e-6), f"{path}: {got} != {want}"
    elif isinstance(want, dict):
        assert sorted(got) == sorted(want), path
        for key in want:
            assert_close(got[key], want[key], f"{path}.{key}")
    elif isinstance(want, list):
        assert len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want)):
            assert_close(g, w, f"{path}[{i}]")
    else:
        assert got == want, f"{path}: {got!r} != {want!r}"


def test_classifier_predict_in_tei_shape(servers, models):
    pipe = task_pipeline(models, "classify")
    url = servers.start("classify", pipe)
    reference = task_pipeline(models, "classify")
    got = requests.post(url + "/predict", json={"inputs": "good movie"}).json()
    assert_close(got, plain(reference("good movie", top_k=None)))  # every label, best first
    got = requests.post(url + "/predict", json={"inputs": ["good movie", "a bad one"]}).json()  # one pair
    assert_close(got, plain(reference({"text": "good movie", "text_pair": "a bad one"}, top_k=None)))
    got = requests.post(url + "/predict", json={"inputs": [["good movie"], ["fine", "ok"]], "raw_scores": True}).json()
    want = reference(["good movie", {"text": "fine", "text_pair": "ok"}], top_k=None, function_to_apply="none")
    assert_close(got, plain(want))
    top = requests.post(url + "/predict", json={"inputs": "good movie", "parameters": {"top_k": 1}}).json()
    assert_close(top, plain(reference("good movie", top_k=1)))
    assert requests.post(url + "/", json={"inputs": "good movie"}).json() == requests.post(url + "/predict", json={"inputs": "good movie"}).json()

    assert requests.post(url + "/rerank", json={"query": "q", "texts": ["a"]}).status_code == 404  # `serve rerank` has it
    r = requests.post(url + "/predict", json={"inputs": [["a", "b", "c"]]})
    assert r.status_code == 422 and "inputs" in r.json()["error"] and "pair" in r.json()["error"]


def test_rerank_equals_the_cross_encoder(servers, models, hold):
    cross_encoder = task_pipeline(models, "rerank")
    url = servers.start("rerank", cross_encoder)
    reference = task_pipeline(models, "rerank")
    texts = ["the cat sleeps", "a man eats bread", "cats sleep all day", "trains are fast"]
    query = "where do cats sleep"
    hits = requests.post(url + "/rerank", json={"query": query, "texts": texts, "return_text": True}).json()
    want = reference.rank(query, texts)
    assert [h["index"] for h in hits] == [w["corpus_id"] for w in want]
    assert [h["text"] for h in hits] == [texts[w["corpus_id"]] for w in want]
    assert [h["score"] for h in hits] == pytest.approx([float(w["score"]) for w in want], abs=1e-6)
    raw = requests.post(url + "/rerank", json={"query": query, "texts": texts, "raw_scores": True}).json()
    logits = reference.rank(query, texts, activation_fn=torch.nn.Identity())
    assert [h["score"] for h in raw] == pytest.approx([float(w["score"]) for w in logits], abs=1e-5) and "text" not in raw[0]
    info = requests.get(url + "/info").json()
    assert "reranker" in info["model_type"] and info["task"] == "rerank"
    assert requests.post(url + "/", json={"query": query, "texts": texts[:2]}).status_code == 200  # TEI's root

    # concurrent rerank requests share the classifier's passes; each equals the CrossEncoder alone
    queries = [f"{query} {i}" for i in range(8)]
    before = metric(url, "mintformers_forward_passes_total")
    release_when_arrived(url, metric(url, "mintformers_queued_rows_total") + len(queries) * len(texts),
                         hold(cross_encoder.model.base_model))
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(
            lambda q: requests.post(url + "/rerank", json={"query": q, "texts": texts}, timeout=TIMEOUT).json(), queries))
    for q, answer in zip(queries, answers):
        assert [(h["index"], round(h["score"], 5)) for h in answer] == [
            (w["corpus_id"], round(float(w["score"]), 5)) for w in reference.rank(q, texts)]
    passes = metric(url, "mintformers_forward_passes_total") - before
    assert passes <= len(queries) / 2  # the first request's pass, then few for the seven others' 28 pairs

    long_text = "cats " * 100
    r = requests.post(url + "/rerank", json={"query": query, "texts": [long_text]})
    assert r.status_code == 413 and '"truncate": true' in r.json()["error"]
    assert requests.post(url + "/rerank", json={"query": query, "texts": [long_text], "truncate": True}).status_code == 200


@pytest.mark.parametrize("family", ["mpnet", "mobilebert", "ernie_m", "mpt"])
def test_every_family_classifies_batched_equal_to_alone(servers, family_classifiers, family, hold):
    """Concurrent /predict requests on a classifier of each family share passes (the pipeline's own batching rules:
    MobileBERT's rows only with rows of their length); each answer is what the pipeline gives the text alone."""
    pipe = pipeline("text-classification", model=str(family_classifiers[family]))
    url = servers.start("classify", pipe)
    reference = pipeline("text-classification", model=str(family_classifiers[family]))
    texts = ["a man eats", "the cat sleeps on the mat", ["a man eats food", "trains"], "the girl plays music all day"] * 2
    release_when_arrived(url, len(texts), hold(pipe.model))
    with ThreadPoolExecutor(len(texts)) as pool:
        answers = list(pool.map(lambda t: post(url + "/predict", json={"inputs": t}).json(), texts))
    for text, answer in zip(texts, answers):
        alone = reference({"text": text[0], "text_pair": text[1]} if isinstance(text, list) else text, top_k=None)
        assert_close(answer, plain(alone))
    assert metric(url, "mintformers_forward_passes_total") < len(texts)


@pytest.mark.parametrize(
    "task, inputs, parameters",
    [
        ("fill-mask", "the [MASK] sleeps", {"top_k": 3}),
        ("fill-mask", ["the [MASK] sleeps", "a [MASK] eats"], {}),
        ("ner", "John lives in Paris", {"aggregation_strategy": "simple"}),
        ("qa", {"question": "who sleeps?", "context": "the cat sleeps on the mat"}, {"top_k": 2}),
        ("extract", "John lives in Paris", {"schema": ["person", "place"]}),
        ("generate", "the cat", {"max_new_tokens": 6, "do_sample": True, "seed": 3}),
    ],
)
def test_pipelines_equal_the_library(servers, models, task, inputs, parameters):
    url = servers.start(task, task_pipeline(models, task))
    got = requests.post(url + "/predict", json={"inputs": inputs, "parameters": parameters})
    assert got.status_code == 200, got.text
    assert_close(got.json()["outputs"], plain(task_pipeline(models, task)(inputs, **parameters)))


def test_pipeline_errors(servers, models):
    url = servers.start("fill-mask", task_pipeline(models, "fill-mask"), max_input_length=16)
    for body, status, message in (
        ({"inputs": "the [MASK] sleeps", "parameters": {"no_such_option": 1}}, 422, "no_such_option"),
        ({"inputs": "the [MASK] sleeps", "parameters": [1]}, 422, "parameters: Input should be a valid dictionary"),
        ({"parameters": {}}, 422, "inputs: Field required"),
        ({"inputs": None}, 422, "inputs"),
        ({"inputs": "x [MASK]", "parameters": {"batch_size": 4}}, 422, "parameters.batch_size is set by the server"),
        ({"inputs": "no mask here"}, 422, "mask"),
        ({"inputs": "the [MASK] " + "cat " * 40}, 413, "at most 16"),
    ):
        r = post(url + "/predict", json=body)
        assert r.status_code == status and message in r.json()["error"], (body, r.text)
    assert post(url + "/predict", json={"inputs": "the [MASK] sleeps"}).status_code == 200  # still healthy
    assert post(url + "/rerank", json={"query": "a", "texts": ["b"]}).status_code == 404  # a classifier's route
