"""The routes every server has, loading, the API key, and bad requests: each answered with a 4xx that says what is
wrong, the server healthy and correct after each."""

from __future__ import annotations

import socket
import threading

import pytest
from server_helpers import get, post, task_pipeline, wait_for

from mintformers.embeddings import SentenceEncoder


def raw(url: str, data: bytes, timeout: float = 10) -> bytes:
    """Send bytes on a fresh connection; the answer up to the close (or timeout)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
    return b"".join(chunks)


def healthy(url: str, encoder: SentenceEncoder) -> None:
    assert get(url + "/health").status_code == 200
    got = post(url + "/embed", json={"inputs": "still fine", "normalize": False}).json()
    assert abs(got[0][0] - float(encoder.encode("still fine")[0])) < 1e-5


def test_health_is_503_until_the_model_is_loaded(servers, models):
    release = threading.Event()

    def load():
        release.wait(30)
        return SentenceEncoder.from_pretrained(models["st"])

    url = servers.start("embed", load=load)
    r = get(url + "/health")
    assert r.status_code == 503 and r.json()["status"] == "loading"
    r = post(url + "/embed", json={"inputs": "x"})
    assert r.status_code == 503 and "still loading" in r.json()["error"] and r.headers["retry-after"]
    assert get(url + "/info").json()["status"] == "loading"
    release.set()
    wait_for(lambda: get(url + "/health").status_code == 200, "the model to load")
    assert post(url + "/embed", json={"inputs": "x"}).status_code == 200

    def broken():
        raise OSError("no such checkpoint")

    url = servers.start("embed", load=broken)
    wait_for(lambda: get(url + "/health").json()["status"] != "loading", "the load to fail")
    r = get(url + "/health")
    assert r.status_code == 503 and r.json() == {"status": "failed", "model": "tiny", "task": "embed",
                                                 "error": "OSError: no such checkpoint"}


def test_info_metrics_models(servers, models):
    encoder = SentenceEncoder.from_pretrained(models["st"])
    url = servers.start("embed", encoder, max_batch_requests=8)
    post(url + "/embed", json={"inputs": ["a", "b"]})
    info = get(url + "/info").json()
    assert info["family"] == "bert" and info["model_dtype"] == "float32" and info["task"] == "embed"
    assert info["model_type"] == {"embedding": {"pooling": "mean", "dimension": 32}}
    assert info["max_batch_requests"] == 8 and info["max_input_length"] == encoder.max_seq_length
    assert {"/embed", "/v1/embeddings", "/similarity", "/embed_all", "/tokenize", "/health"} <= set(info["routes"])
    metrics = get(url + "/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    for series in ('mintformers_requests_total{route="/embed",status="200"} 1.0', "mintformers_request_duration_seconds_bucket",
                   "mintformers_queue_rows 0.0", "mintformers_batch_rows_sum 2.0", "mintformers_batch_tokens_count 1.0",
                   "mintformers_forward_passes_total 1.0", "mintformers_requests_in_flight"):
        assert series in text, series
    post(url + "/embed", json={"inputs": 1})
    assert 'mintformers_request_errors_total{status="422"} 1.0' in get(url + "/metrics").text
    assert get(url + "/v1/models").json()["data"][0]["id"] == "tiny"
    page = get(url + "/")
    assert page.status_code == 200 and "<title>mintformers playground</title>" in page.text
    assert get(url + "/docs").status_code == 200 and "/embed" in get(url + "/openapi.json").json()["paths"]


def test_api_key(servers, models):
    url = servers.start("embed", SentenceEncoder.from_pretrained(models["st"]), api_key="s3cret")
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret"}):
        r = post(url + "/embed", json={"inputs": "x"}, headers=headers)
        assert r.status_code == 401 and "Authorization: Bearer" in r.json()["error"] and r.headers["www-authenticate"] == "Bearer"
    r = post(url + "/v1/embeddings", json={"input": "x"})
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    assert post(url + "/", json={"inputs": "x"}).status_code == 401
    assert get(url + "/metrics").status_code == 401
    assert post(url + "/embed", json={"inputs": "x"}, headers={"Authorization": "Bearer s3cret"}).status_code == 200
    for open_path in ("/health", "/", "/static/playground.js", "/openapi.json"):
        assert get(url + open_path).status_code == 200, open_path


def test_bad_requests_get_clear_4xx(servers, models):
    encoder = SentenceEncoder.from_pretrained(models["st"])
    url = servers.start("embed", encoder, body_timeout=1.0, header_timeout=1.0)
    cases = [
        (b"{bad json", 400, "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, 400, "nested too deeply"),
        (b'{"inputs": ' + b"[" * 50 + b'"x"' + b"]" * 50 + b"}", 422, "inputs"),
        (b'{"inputs": {"a": 1}}', 422, "inputs: Input should be a valid string or Input should be a valid list"),
        (b'{"inputs": ["a", 3]}', 422, "inputs.1: Input should be a valid string"),
        (b'{"inputs": "a", "truncate": "yes"}', 422, "truncate: Input should be a valid boolean"),
        (b'["inputs"]', 422, "Input should be a valid dictionary"),
        (b"\xff\xfe\x00", 400, "not valid JSON"),
        (b"", 422, "Field required"),
    ]
    for body, status, message in cases:
        r = post(url + "/embed", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == status and message in r.json()["error"], (body[:40], r.text)
    r = post(url + "/embed", content=b'{"inputs": "x"}', headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and "application/json" in r.json()["error"]
    assert post(url + "/embed", content=b'{"inputs": "x"}').status_code == 200  # no Content-Type: read as JSON
    r = get(url + "/nowhere")
    assert r.status_code == 404 and "/embed" in r.json()["error"]
    r = get(url + "/embed")
    assert r.status_code == 405 and "takes POST" in r.json()["error"]

    # Content-Length: not a number; larger than the body sent (the client stalls); smaller (the rest is garbage)
    head = b"POST /embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    assert raw(url, head + b"Content-Length: abc\r\n\r\n{}").startswith(b"HTTP/1.1 400")
    stalled = raw(url, head + b'Content-Length: 100\r\n\r\n{"inputs": "x"}')
    assert stalled.startswith(b"HTTP/1.1 408") and b"did not arrive within 1 s" in stalled
    short = raw(url, head + b'Content-Length: 5\r\n\r\n{"inputs": "x"}', timeout=3)
    assert short.startswith(b"HTTP/1.1 400")  # the 5 bytes are no JSON; the rest is no request (either is said)
    assert b"not valid JSON" in short or b"Invalid HTTP request" in short
    healthy(url, encoder)


@pytest.mark.parametrize("task", ["generate", "classify", "rerank"])
def test_routes_per_task(servers, models, task):
    url = servers.start(task, task_pipeline(models, task))
    routes = set(get(url + "/info").json()["routes"])
    assert ("/predict" in routes) == (task != "rerank") and "/embed" not in routes
    assert ("/v1/completions" in routes) == (task == "generate") and ("/rerank" in routes) == (task == "rerank")
    tokens = post(url + "/tokenize", json={"inputs": "the cat", "add_special_tokens": False}).json()
    assert [t["text"] for t in tokens[0]] == ["the", "cat"]
    r = post(url + "/tokenize", json={"inputs": "x", "prompt_name": "query"})
    assert r.status_code == 422 and "embedding models" in r.json()["error"]
    r = post(url + "/decode", json={"ids": [10**9]})
    assert r.status_code == 422 and "outside this model's vocabulary" in r.json()["error"]
