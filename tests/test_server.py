"""mintformers.server: each route against the library called directly, the error statuses, streaming, and the
`mintformers serve` command. Servers listen on a free local port (port 0) in a background thread."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

from mintformers import pipeline
from mintformers.cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE, main
from mintformers.embeddings import SentenceEncoder
from mintformers.generation import TextIteratorStreamer
from mintformers.server import MAX_BODY_BYTES, Service, make_server


@pytest.fixture
def serve():
    """serve(task, runner) → base URL of a running server; every server stops at the end of the test."""
    servers = []

    def start(task: str, runner, name: str = "tiny") -> str:
        server = make_server(Service(task, name, runner), port=0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        host, port = server.server_address[:2]
        return f"http://{host}:{port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def call(url: str, body=None, method: str | None = None) -> tuple[int, dict]:
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method or ("POST" if data is not None else "GET"))
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def events(url: str, body: dict) -> list[dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        text = response.read().decode()
    return [json.loads(line.removeprefix("data: ")) for line in text.split("\n\n") if line]


# ---- embeddings ---------------------------------------------------------------------------------------------------


def test_embed_equals_the_encoder(serve, models):
    encoder = SentenceEncoder.from_pretrained(models["st"])
    url = serve("embed", encoder)
    status, health = call(url + "/health")
    assert status == 200 and health == {"status": "ok", "task": "embed", "model": "tiny", "routes": ["/health", "/embed"]}
    texts = ["a man is eating food", "the cat sleeps"]
    status, out = call(url + "/embed", {"inputs": texts})
    assert status == 200
    np.testing.assert_allclose(out["embeddings"], encoder.encode(texts), atol=1e-6)
    _, out = call(url + "/embed", {"inputs": texts[0], "normalize": True, "prompt": "query: "})
    want = encoder.encode([texts[0]], normalize_embeddings=True, prompt="query: ")
    np.testing.assert_allclose(out["embeddings"], want, atol=1e-6)
    assert np.linalg.norm(out["embeddings"][0]) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize(
    "body, status, message",
    [
        ({"inputs": 3}, 400, '"inputs" must be a text or a non-empty list of texts'),
        ({"inputs": []}, 400, "non-empty list"),
        ({"inputs": ["ok", None]}, 400, "non-empty list of texts"),
        ({"texts": ["ok"]}, 400, '"inputs"'),
        ({"inputs": "ok", "normalize": "yes"}, 400, '"normalize" must be true or false'),
        ({"inputs": "ok", "prompt": 1}, 400, '"prompt" must be a text'),
        (b"not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "must be a JSON object"),
        (b"\xff\xfe", 400, "not valid JSON"),
    ],
)
def test_embed_refuses_bad_bodies(serve, models, body, status, message):
    url = serve("embed", SentenceEncoder.from_pretrained(models["st"]))
    got, out = call(url + "/embed", body)
    assert got == status and message in out["error"]


def test_routes_methods_and_sizes(serve, models):
    url = serve("embed", SentenceEncoder.from_pretrained(models["st"]))
    status, out = call(url + "/predict", {"inputs": "x"})
    assert status == 404 and "/embed" in out["error"]  # says which routes there are
    assert call(url + "/embed")[0] == 405
    assert call(url + "/health", {"inputs": "x"})[0] == 405
    host, port = url.removeprefix("http://").split(":")
    for headers, want in (({}, 411), ({"Content-Length": str(MAX_BODY_BYTES + 1)}, 413)):
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.putrequest("POST", "/embed")
        for key, value in headers.items():
            conn.putheader(key, value)
        conn.endheaders()  # no body sent: the server refuses from the headers alone
        response = conn.getresponse()
        assert response.status == want, json.loads(response.read())
        conn.close()


# ---- task pipelines -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "task, key, pipeline_task, inputs, parameters",
    [
        ("classify", "cls", "text-classification", ["good movie", "bad movie"], {"top_k": 2}),
        ("ner", "ner", "token-classification", "John lives in Paris", {"aggregation_strategy": "simple"}),
        ("fill-mask", "mlm", "fill-mask", "the [MASK] sleeps", {"top_k": 3}),
        ("qa", "qa", "question-answering", {"question": "who sleeps?", "context": "the cat sleeps"}, {}),
        ("extract", "ie", "information-extraction", "John lives in Paris", {"schema": ["person", "place"]}),
        ("generate", "gen", "text-generation", "the cat", {"max_new_tokens": 5, "do_sample": False}),
    ],
)
def test_predict_equals_the_pipeline(serve, models, task, key, pipeline_task, inputs, parameters):
    pipe = pipeline(pipeline_task, model=str(models[key]))
    url = serve(task, pipe)
    status, out = call(url + "/predict", {"inputs": inputs, "parameters": parameters})
    assert status == 200, out
    assert out["outputs"] == json.loads(json.dumps(pipe(inputs, **parameters)))


def test_predict_refuses_bad_options(serve, models):
    url = serve("classify", pipeline("text-classification", model=str(models["cls"])))
    status, out = call(url + "/predict", {"inputs": "fine", "parameters": {"no_such_option": 1}})
    assert status == 400 and "no_such_option" in out["error"]
    status, out = call(url + "/predict", {"inputs": "fine", "parameters": [1]})
    assert status == 400 and '"parameters" must be an object' in out["error"]
    status, out = call(url + "/predict", {"parameters": {}})
    assert status == 400 and 'needs "inputs"' in out["error"]
    assert call(url + "/generate_stream", {"inputs": "x"})[0] == 404  # streaming is for the generate task


def test_generate_stream(serve, models):
    pipe = pipeline("text-generation", model=str(models["gen"]))
    url = serve("generate", pipe)
    parameters = {"max_new_tokens": 8, "do_sample": True, "seed": 0}  # greedy, the tiny model repeats [SEP]
    got = events(url + "/generate_stream", {"inputs": "the cat", "parameters": parameters})
    streamer = TextIteratorStreamer(pipe.tokenizer, skip_prompt=True, skip_special_tokens=True)
    want = pipe("the cat", streamer=streamer, **parameters)[0]["generated_text"]
    assert got[-1] == {"generated_text": want, "done": True}
    assert [e["token"] for e in got[:-1]] == list(streamer)  # the library's streamer, piece by piece
    assert len(got) > 2
    # bad options are refused before the stream starts: a plain JSON error
    status, out = call(url + "/generate_stream", {"inputs": "the cat", "parameters": {"max_new_tokens": "many"}})
    assert status == 400 and "max_new_tokens" in out["error"]
    status, out = call(url + "/generate_stream", {"inputs": ["a", "b"]})
    assert status == 400 and "prompt text" in out["error"]
    status, out = call(url + "/generate_stream", {"inputs": "x", "parameters": {"streamer": None}})
    assert status == 400 and "set by the server" in out["error"]


def test_closing_a_stream_stops_the_generation(models):
    pipe = pipeline("text-generation", model=str(models["gen"]))
    steps = []
    pipe.model.register_forward_pre_hook(lambda module, args: (steps.append(1), time.sleep(0.02)) and None)
    stream = Service("generate", "tiny", pipe).generate_stream(
        {"inputs": "the cat", "parameters": {"max_new_tokens": 50, "do_sample": True, "seed": 0}}
    )
    assert "token" in next(stream)
    stream.close()  # what the server does when the client leaves; returns once the generation has stopped
    assert len(steps) < 50


def test_a_client_leaving_mid_stream_frees_the_model(serve, models):
    url = serve("generate", pipeline("text-generation", model=str(models["gen"])))
    host, port = url.removeprefix("http://").split(":")
    body = json.dumps({"inputs": "the cat", "parameters": {"max_new_tokens": 40}}).encode()
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(b"POST /generate_stream HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        assert b"200" in sock.recv(64)
    status, out = call(url + "/predict", {"inputs": "the cat", "parameters": {"max_new_tokens": 2}})
    assert status == 200 and out["outputs"][0]["generated_text"].startswith("the cat")


# ---- the command --------------------------------------------------------------------------------------------------


def test_serve_command(capsys, monkeypatch, models):
    served = []

    def stop_at_once(server):
        served.append(server.server_address)
        raise KeyboardInterrupt  # Ctrl-C: the normal way to stop

    monkeypatch.setattr("mintformers.server.ThreadingHTTPServer.serve_forever", stop_at_once)
    assert main(["serve", "--model", str(models["st"]), "--port", "0"]) == EXIT_OK
    err = capsys.readouterr().err
    assert f"on http://127.0.0.1:{served[0][1]}: POST /embed, GET /health" in err and "server stopped" in err
    assert main(["serve", "classify", "--model", str(models["cls"]), "--port", "0"]) == EXIT_OK
    assert "POST /predict" in capsys.readouterr().err

    assert main(["serve", "classify"]) == EXIT_USAGE
    assert "`classify` needs --model" in capsys.readouterr().err
    assert main(["serve", "classify", "--model", str(models["base"])]) == EXIT_ERROR  # no trained head
    assert "has no trained" in capsys.readouterr().err
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert main(["serve", "--model", str(models["st"]), "--port", str(busy.getsockname()[1])]) == EXIT_ERROR
    assert "pick another --port" in capsys.readouterr().err
