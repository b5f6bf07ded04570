"""Generation routes against the text-generation pipeline called directly (the tiny MPT checkpoint): OpenAI's
/v1/completions (plain and streamed, n, stop, seed, echo) with the `openai` client, TGI's /generate and
/generate_stream with huggingface_hub's InferenceClient, and batched waves equal to lone requests.

The tiny model's greedy choice is its [SEP] token (no text), so greedy tests add a repetition penalty; sampled ones
fix the seed.
"""

from __future__ import annotations

import json
import threading

import pytest
import requests
from server_helpers import metric, post, release_when_arrived, task_pipeline

PROMPTS = ["the cat", "a man is eating", "hello"]
GREEDY = {"do_sample": False, "repetition_penalty": 2.0}


@pytest.fixture(scope="module")
def gen(module_servers, models):
    """(URL of a server of the tiny MPT, a pipeline of the same checkpoint to compare with)."""
    url = module_servers.start("generate", task_pipeline(models, "generate"), name="tiny-mpt")
    return url, task_pipeline(models, "generate")


def completion(pipe, prompt: str, **options) -> list[str]:
    return [r["generated_text"] for r in pipe(prompt, return_full_text=False, **options)]


def sse(text: str) -> list:
    return [json.loads(line[6:]) if line[6:] != "[DONE]" else "[DONE]" for line in text.split("\n\n") if line.startswith("data: ")]


def test_openai_completions(gen):
    url, pipe = gen
    body = {"model": "tiny-mpt", "prompt": "the cat", "max_tokens": 8, "temperature": 0.9, "top_p": 0.8, "seed": 5}
    out = requests.post(url + "/v1/completions", json=body).json()
    want = completion(pipe, "the cat", max_new_tokens=8, do_sample=True, temperature=0.9, top_p=0.8, seed=5)
    assert [c["text"] for c in out["choices"]] == want and out["object"] == "text_completion"
    assert out["choices"][0]["finish_reason"] == "length" and out["usage"]["completion_tokens"] == 8

    pair = ["the cat", "the man"]  # as many tokens each: the pipeline's length sort keeps their order
    assert len({len(pipe.tokenizer(p)["input_ids"]) for p in pair}) == 1
    several = requests.post(url + "/v1/completions", json={**body, "n": 2, "prompt": pair}).json()
    want = pipe(pair, max_new_tokens=8, do_sample=True, temperature=0.9, top_p=0.8, seed=5, num_return_sequences=2,
                batch_size=2, return_full_text=False)
    assert [c["index"] for c in several["choices"]] == [0, 1, 2, 3]
    # a seeded request is a wave of its own: what the library gives for the same batch
    assert [c["text"] for c in several["choices"]] == [r["generated_text"] for rows in want for r in rows]

    streamed = requests.post(url + "/v1/completions", json={**body, "stream": True, "stream_options": {"include_usage": True}})
    events = sse(streamed.text)
    assert streamed.headers["content-type"].startswith("text/event-stream") and events[-1] == "[DONE]"
    assert "".join(e["choices"][0]["text"] for e in events[:-2]) == out["choices"][0]["text"]
    assert events[-2]["usage"]["completion_tokens"] == 8 and events[-3]["choices"][0]["finish_reason"] == "length"

    text = out["choices"][0]["text"]
    stop = text[len(text) // 2 : len(text) // 2 + 2]
    cut = requests.post(url + "/v1/completions", json={**body, "stop": [stop], "echo": True}).json()["choices"][0]
    assert cut["text"] == "the cat" + text[: text.index(stop)] and cut["finish_reason"] == "stop"
    cut_stream = sse(requests.post(url + "/v1/completions", json={**body, "stop": stop, "stream": True}).text)
    assert "".join(e["choices"][0]["text"] for e in cut_stream[:-1]) == text[: text.index(stop)]

    greedy = requests.post(url + "/v1/completions", json={"prompt": PROMPTS, "max_tokens": 5, "temperature": 0}).json()
    assert [c["text"] for c in greedy["choices"]] == [completion(pipe, p, max_new_tokens=5, do_sample=False)[0] for p in PROMPTS]

    for bad, field in (({"max_tokens": 0}, "max_tokens"), ({"temperature": 3}, "temperature"), ({"logprobs": 2}, "logprobs"),
                       ({"stop": ["a", "b", "c", "d", "e"]}, "stop"), ({"max_tokens": 100}, "positions")):
        r = requests.post(url + "/v1/completions", json={**body, **bad})
        assert r.status_code == 422 and field in r.json()["error"]["message"], (bad, r.text)


def test_openai_client_streams(gen):
    import openai

    url, pipe = gen
    client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
    chunks = list(client.completions.create(model="tiny-mpt", prompt="a man is eating", max_tokens=10, temperature=1.0,
                                            seed=11, stream=True))
    want = completion(pipe, "a man is eating", max_new_tokens=10, do_sample=True, temperature=1.0, seed=11)[0]
    assert "".join(c.choices[0].text for c in chunks) == want and len(chunks) > 2
    assert chunks[-1].choices[0].finish_reason == "length"
    plain = client.completions.create(model="tiny-mpt", prompt="a man is eating", max_tokens=10, temperature=1.0, seed=11)
    assert plain.choices[0].text == want


def test_tgi_routes_and_inference_client(gen):
    from huggingface_hub import InferenceClient

    url, pipe = gen
    parameters = {"max_new_tokens": 7, **GREEDY}
    want = completion(pipe, "the cat", **parameters)[0]
    out = post(url + "/generate", json={"inputs": "the cat", "parameters": {**parameters, "details": True}}).json()
    assert out == {"generated_text": want, "details": {"finish_reason": "length", "generated_tokens": 7, "seed": None}}
    full = post(url + "/generate", json={"inputs": "the cat", "parameters": {**parameters, "return_full_text": True}}).json()
    assert full["generated_text"] == "the cat" + want

    events = sse(post(url + "/generate_stream", json={"inputs": "the cat", "parameters": parameters}).text)
    assert [e["index"] for e in events] == list(range(1, 8))
    assert "".join(e["token"]["text"] for e in events) == want == events[-1]["generated_text"]
    assert all(e["generated_text"] is None for e in events[:-1])
    assert all(isinstance(e["token"]["id"], int) and e["token"]["logprob"] <= 0 for e in events)

    client = InferenceClient(base_url=url)
    assert client.text_generation("the cat", max_new_tokens=7, repetition_penalty=2.0) == want
    assert "".join(client.text_generation("the cat", max_new_tokens=7, repetition_penalty=2.0, stream=True)) == want
    sampled = client.text_generation("hello", max_new_tokens=6, do_sample=True, temperature=0.7, seed=2)
    assert sampled == completion(pipe, "hello", max_new_tokens=6, do_sample=True, temperature=0.7, seed=2)[0]

    r = post(url + "/generate", json={"inputs": "the cat", "parameters": {"grammar": {"type": "json"}}})
    assert r.status_code == 422 and "grammar is not supported" in r.json()["error"]
    r = post(url + "/generate", json={"inputs": "", "parameters": {"max_new_tokens": 2}})
    assert r.status_code == 200  # the tokenizer's special tokens make a prompt


def test_concurrent_requests_share_waves_and_equal_lone_ones(servers, models, hold):
    pipe = task_pipeline(models, "generate")
    url = servers.start("generate", pipe)
    reference = task_pipeline(models, "generate")
    prompts = [f"{p} {i}" for i in range(4) for p in PROMPTS]  # 12 requests, different prompt lengths
    lengths = [3 + i % 5 for i in range(len(prompts))]  # and different max_new_tokens
    release_when_arrived(url, len(prompts), hold(pipe.model))  # the first wave waits until every request is queued
    results: list = [None] * len(prompts)

    def ask(i: int) -> None:
        body = {"inputs": prompts[i], "parameters": {"max_new_tokens": lengths[i], **GREEDY}}
        results[i] = post(url + "/generate", json=body).json()["generated_text"]

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(prompts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert metric(url, "mintformers_forward_passes_total") <= 2  # the first wave, then one with all the others
    assert results == [completion(reference, p, max_new_tokens=n, **GREEDY)[0] for p, n in zip(prompts, lengths)]
