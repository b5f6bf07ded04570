"""server/worker.py: embedding passes in a model process of their own (`mintformers serve`'s default on a CPU) give
what the library gives, still share passes, survive the process being killed, and end with the server.

The model process gets a pickled copy of the model, forward hooks included: the gates here are files, which both
processes see, and the hooks are classes of this module, which the model process imports."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import httpx
import numpy as np
from server_helpers import TIMEOUT, get, metric, post, wait_for

from mintformers.embeddings import SentenceEncoder

TEXTS = ["A man is eating food.", "A man is eating a piece of bread while the girl plays the violin.", "Cats.", ""]


class FileGate:
    """A forward pre-hook: every pass waits until `path` exists."""

    def __init__(self, path):
        self.path = str(path)

    def __call__(self, module, args):
        deadline = time.monotonic() + TIMEOUT
        while not os.path.exists(self.path) and time.monotonic() < deadline:
            time.sleep(0.01)


class Refuse:
    """A forward pre-hook refusing every pass, as the library refuses a bad input."""

    def __call__(self, module, args):
        raise ValueError("refused by the test's hook")


def process_of(servers, url):
    return servers.app(url).state.server.engines["embed"].process


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_model_process_serves_what_the_library_computes(servers, minilm):
    url = servers.start("embed", minilm, model_process=True)
    process = process_of(servers, url)
    assert process.pid != os.getpid() and alive(process.pid)
    assert get(url + "/info").json()["model_process"] is True

    got = post(url + "/embed", json={"inputs": TEXTS}).json()
    want = minilm.encode(TEXTS, normalize_embeddings=True)
    np.testing.assert_allclose(got, want, atol=1e-5)
    tokens = post(url + "/embed_all", json={"inputs": TEXTS[:3]}).json()
    for row, expected in zip(tokens, minilm.encode(TEXTS[:3], output_value="token_embeddings")):
        np.testing.assert_allclose(row, expected.numpy(), atol=1e-5)
    openai = post(url + "/v1/embeddings", json={"input": TEXTS[:2], "dimensions": 8}).json()
    np.testing.assert_allclose([d["embedding"] for d in openai["data"]],
                               minilm.encode(TEXTS[:2], truncate_dim=8), atol=1e-5)


async def _concurrently(url: str, texts: list[str]) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as client:
        return await asyncio.gather(*(client.post("/embed", json={"inputs": t}) for t in texts))


def test_concurrent_requests_share_passes_in_the_model_process(servers, models, tmp_path):
    encoder = SentenceEncoder.from_pretrained(models["st"])
    go = tmp_path / "go"
    encoder.model.register_forward_pre_hook(FileGate(go))
    url = servers.start("embed", encoder, model_process=True)
    texts = [f"sentence {i} " + "word " * (i % 9) for i in range(24)]

    def release() -> None:  # once all are queued: the first pass holds (it waits for `go`), the rest queue behind it
        wait_for(lambda: metric(url, "mintformers_queued_rows_total") >= len(texts), "every request to queue")
        go.touch()

    from threading import Thread

    Thread(target=release, daemon=True).start()
    answers = asyncio.run(_concurrently(url, texts))
    assert [a.status_code for a in answers] == [200] * len(texts)
    assert metric(url, "mintformers_forward_passes_total") <= 3  # the held pass, then the rest together
    np.testing.assert_allclose([a.json()[0] for a in answers], encoder.encode(texts, normalize_embeddings=True),
                               atol=1e-5)


def test_a_killed_model_process_fails_its_pass_and_is_started_again(servers, models, tmp_path, caplog):
    encoder = SentenceEncoder.from_pretrained(models["st"])
    go = tmp_path / "go"
    encoder.model.register_forward_pre_hook(FileGate(go))
    url = servers.start("embed", encoder, model_process=True)
    process = process_of(servers, url)
    first = process.pid

    from threading import Thread

    answer: list[httpx.Response] = []
    flight = Thread(target=lambda: answer.append(post(url + "/embed", json={"inputs": "held"})))
    flight.start()
    wait_for(lambda: metric(url, "mintformers_forward_passes_total") == 1, "the pass to start")
    os.kill(first, signal.SIGKILL)  # mid-pass
    flight.join()
    assert answer[0].status_code == 500 and "see the server's log" in answer[0].json()["error"]
    assert any("model process" in r.getMessage() and "killed by signal 9" in r.getMessage() for r in caplog.records)

    go.touch()
    r = post(url + "/embed", json={"inputs": "again"})  # a new process takes the next pass
    assert r.status_code == 200
    np.testing.assert_allclose(r.json(), encoder.encode(["again"], normalize_embeddings=True), atol=1e-5)
    assert process.pid not in (None, first) and not alive(first)

    os.kill(process.pid, signal.SIGKILL)  # between passes: the next one starts a new process first
    wait_for(lambda: not process._process.is_alive(), "the process to end")
    assert post(url + "/embed", json={"inputs": "and again"}).status_code == 200
    assert get(url + "/health").status_code == 200


def test_errors_in_the_model_process_reach_the_client(servers, models):
    encoder = SentenceEncoder.from_pretrained(models["st"])
    encoder.model.register_forward_pre_hook(Refuse())
    url = servers.start("embed", encoder, model_process=True)
    r = post(url + "/embed", json={"inputs": ["a", "b"]})
    assert r.status_code == 422 and "refused by the test's hook" in r.json()["error"]
    assert get(url + "/health").status_code == 200


def test_the_model_process_ends_with_the_server(servers, models):
    url = servers.start("embed", SentenceEncoder.from_pretrained(models["st"]), model_process=True)
    pid = process_of(servers, url).pid
    assert post(url + "/embed", json={"inputs": "x"}).status_code == 200
    servers.stop()
    assert not alive(pid)
