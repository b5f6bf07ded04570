"""Embedding routes against the library called directly (all-MiniLM-L6-v2), through the clients people use: the
`openai` client, huggingface_hub's InferenceClient, and plain requests on each TEI route."""

from __future__ import annotations

import asyncio
import base64

import httpx
import numpy as np
import pytest
import requests
from server_helpers import TIMEOUT, metric, post, release_when_arrived

from mintformers.embeddings import SentenceEncoder

TEXTS = ["A man is eating food.", "A man is eating a piece of bread.", "The girl plays the violin.", "Cats sleep a lot."]


def cosines(a, b) -> np.ndarray:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def assert_same_vectors(got, want) -> None:
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape
    assert cosines(got, want).min() >= 0.99999
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_tei_routes_equal_the_encoder(minilm_url, minilm):
    url = minilm_url
    want = minilm.encode(TEXTS, normalize_embeddings=True)
    assert_same_vectors(requests.post(url + "/embed", json={"inputs": TEXTS}).json(), want)
    raw = requests.post(url + "/embed", json={"inputs": TEXTS[0], "normalize": False}).json()
    assert_same_vectors(raw, minilm.encode(TEXTS[:1]))
    short = requests.post(url + "/embed", json={"inputs": TEXTS[:2], "dimensions": 64}).json()
    assert_same_vectors(short, minilm.encode(TEXTS[:2], truncate_dim=64, normalize_embeddings=True))

    tokens = requests.post(url + "/embed_all", json={"inputs": TEXTS[:2]}).json()
    for got, expected in zip(tokens, minilm.encode(TEXTS[:2], output_value="token_embeddings")):
        assert_same_vectors(got, expected.numpy())

    scores = requests.post(url + "/similarity", json={"inputs": {"source_sentence": TEXTS[0], "sentences": TEXTS[1:]}}).json()
    emb = minilm.encode(TEXTS)
    np.testing.assert_allclose(scores, minilm.similarity(emb[:1], emb[1:])[0].numpy(), atol=1e-5)

    tokenized = requests.post(url + "/tokenize", json={"inputs": ["Hello world"]}).json()
    ids = minilm.tokenizer("Hello world")["input_ids"]
    assert [t["id"] for t in tokenized[0]] == ids
    assert [(t["text"], t["special"], t["start"]) for t in tokenized[0]] == [
        ("[CLS]", True, None), ("Hello", False, 0), ("world", False, 6), ("[SEP]", True, None)]
    assert requests.post(url + "/decode", json={"ids": [ids, ids[1:2]]}).json() == [minilm.tokenizer.decode(ids, skip_special_tokens=True), "hello"]

    # TEI's root route answers the model's main task (what InferenceClient posts to)
    assert_same_vectors(requests.post(url + "/", json={"inputs": TEXTS[0]}).json(), want[:1])


def test_openai_route_and_client(minilm_url, minilm):
    import openai

    want = minilm.encode(TEXTS)
    client = openai.OpenAI(base_url=minilm_url + "/v1", api_key="unused", max_retries=0)
    response = client.embeddings.create(input=TEXTS, model="all-MiniLM-L6-v2")  # base64 under the hood
    assert [d.index for d in response.data] == [0, 1, 2, 3] and response.model == "all-MiniLM-L6-v2"
    assert_same_vectors([d.embedding for d in response.data], want)
    assert response.usage.prompt_tokens == sum(len(minilm.tokenizer(t)["input_ids"]) for t in TEXTS)
    floats = client.embeddings.create(input="Cats sleep a lot.", model="x", encoding_format="float", dimensions=32)
    assert_same_vectors([floats.data[0].embedding], minilm.encode(TEXTS[3:], truncate_dim=32))
    assert [m.id for m in client.models.list()] == ["all-MiniLM-L6-v2"]

    raw = post(minilm_url + "/v1/embeddings", json={"input": TEXTS[:1], "encoding_format": "base64"}).json()
    decoded = np.frombuffer(base64.b64decode(raw["data"][0]["embedding"]), dtype="<f4")
    assert_same_vectors([decoded], want[:1])
    ids = minilm.tokenizer("Cats sleep a lot.", add_special_tokens=False)["input_ids"]  # pre-tokenized input
    by_ids = post(minilm_url + "/v1/embeddings", json={"input": [ids]}).json()
    assert_same_vectors([by_ids["data"][0]["embedding"]], want[3:])

    with pytest.raises(openai.UnprocessableEntityError, match="input"):
        client.embeddings.create(input=[{"not": "text"}], model="x")  # type: ignore[list-item]


def test_huggingface_hub_inference_client(minilm_url, minilm):
    from huggingface_hub import InferenceClient

    client = InferenceClient(base_url=minilm_url)
    vector = client.feature_extraction(TEXTS[0])
    assert_same_vectors(vector, minilm.encode(TEXTS[:1], normalize_embeddings=True))
    raw = client.feature_extraction(TEXTS[0], normalize=False)
    assert_same_vectors(raw, minilm.encode(TEXTS[:1]))


def test_limits_truncation_and_bad_requests(servers, models):
    encoder = SentenceEncoder.from_pretrained(models["st"])
    url = servers.start("embed", encoder, max_input_length=6, max_client_batch_size=3)
    long_text = "the cat sleeps on the mat in the sun all day"
    r = post(url + "/embed", json={"inputs": long_text})
    assert r.status_code == 413 and "at most 6" in r.json()["error"] and '"truncate": true' in r.json()["error"]
    cut = post(url + "/embed", json={"inputs": long_text, "truncate": True}).json()
    assert_same_vectors(cut, SentenceEncoder.from_pretrained(models["st"], max_seq_length=6).encode([long_text], normalize_embeddings=True))
    left = post(url + "/embed", json={"inputs": long_text, "truncate": True, "truncation_direction": "left"}).json()
    assert cosines(left, cut)[0] < 0.999  # the other end of the text
    ids = [t["id"] for t in post(url + "/tokenize", json={"inputs": long_text}).json()[0]]
    kept = post(url + "/v1/embeddings", json={"input": [ids[-5:-1]]}).json()["data"][0]["embedding"]
    assert_same_vectors(left, [kept])  # [CLS] + the last 4 tokens + [SEP]

    r = post(url + "/embed", json={"inputs": ["a", "b", "c", "d"]})
    assert r.status_code == 413 and "--max-client-batch-size" in r.json()["error"]
    for body, field in (({"inputs": []}, "inputs is empty"), ({"inputs": "a", "prompt_name": "no-such-prompt"}, "prompt_name"),
                        ({"inputs": "a", "dimensions": 1000}, "dimensions"), ({"inputs": "a", "normalize": "yes"}, "normalize"),
                        ({"input": "a"}, "inputs: Field required"), ({"inputs": "a", "dimensions": 0}, "dimensions")):
        r = post(url + "/embed", json=body)
        assert r.status_code == 422 and field in r.json()["error"], (body, r.text)
    r = post(url + "/v1/embeddings", json={"input": "a", "encoding_format": "hex"})
    error = r.json()["error"]
    assert r.status_code == 422 and error["param"] == "encoding_format" and "'float' or 'base64'" in error["message"]


def test_an_input_no_pass_can_take_is_refused_by_name(servers, models, server_logs):
    encoder = SentenceEncoder.from_pretrained(models["st"])
    url = servers.start("embed", encoder, max_batch_tokens=8)  # below the model's own limit: said at start
    assert any("--max-batch-tokens (8) is below" in r.getMessage() for r in server_logs.records)
    r = post(url + "/embed", json={"inputs": "the cat sleeps on the mat in the sun all day"})
    assert r.status_code == 413 and "--max-batch-tokens" in r.json()["error"]
    assert post(url + "/embed", json={"inputs": "a cat"}).status_code == 200


@pytest.mark.parametrize("family", ["mpnet", "mobilebert", "ernie_m", "mpt"])
def test_every_family_batched_equals_alone(servers, family_encoders, family, hold):
    """Concurrent requests of different lengths share passes; each answer is what the encoder gives the text
    alone (MobileBERT's trigram input sees padding: its rows are batched with rows of their own length only)."""
    encoder = SentenceEncoder.from_pretrained(family_encoders[family])
    url = servers.start("embed", encoder)
    texts = ["a man eats", "the cat sleeps on the mat", "a man eats food", "trains", "the girl plays music all day"] * 2
    release_when_arrived(url, len(texts), hold(encoder.model))  # the first pass waits until every text is queued

    async def ask() -> list:
        async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as client:
            return await asyncio.gather(*(client.post("/embed", json={"inputs": t, "normalize": False}) for t in texts))

    answers = asyncio.run(ask())
    assert_same_vectors([a.json()[0] for a in answers], np.stack([encoder.encode([t])[0] for t in texts]))
    assert metric(url, "mintformers_forward_passes_total") < len(texts)
