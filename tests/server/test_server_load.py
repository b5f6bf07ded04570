"""Load and faults, on 127.0.0.1 with bounded counts: batching (forward passes counted), many clients, the
concurrency limit, clients that vanish, slow and idle connections, huge requests, and a graceful SIGTERM. After
each, the server is healthy and correct."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from server_helpers import TIMEOUT, get, metric, post, release_when_arrived, task_pipeline, tracebacks, wait_for

from mintformers.embeddings import SentenceEncoder

ROOT = Path(__file__).resolve().parents[2]


def address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def request_bytes(path: str, body: bytes) -> bytes:
    return (b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (path.encode(), len(body), body))


def assert_healthy(url: str, encoder: SentenceEncoder) -> None:
    assert get(url + "/health").status_code == 200
    got = post(url + "/embed", json={"inputs": ["still", "fine"], "normalize": False}).json()
    np.testing.assert_allclose(got, encoder.encode(["still", "fine"]), atol=1e-5)


async def _many(url: str, bodies: list[tuple[str, dict]], concurrency: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=TIMEOUT) as client:
        return await asyncio.gather(*(client.post(path, json=body) for path, body in bodies))


def test_concurrent_one_text_requests_share_forward_passes(servers, models, hold):
    encoder = SentenceEncoder.from_pretrained(models["st"])
    url = servers.start("embed", encoder)
    texts = [f"sentence number {i} about {'cats ' * (i % 7)}" for i in range(48)]
    release_when_arrived(url, len(texts), hold(encoder.model))  # the first pass waits until every request is queued
    answers = asyncio.run(_many(url, [("/embed", {"inputs": t, "normalize": False}) for t in texts], 48))
    passes = metric(url, "mintformers_forward_passes_total")
    assert all(a.status_code == 200 for a in answers), [(a.status_code, a.text[:200]) for a in answers if a.status_code != 200][:3]
    assert passes <= len(texts) / 4, f"{passes} forward passes for {len(texts)} requests"
    assert metric(url, "mintformers_batch_rows_sum") == len(texts)
    got = np.array([a.json()[0] for a in answers])
    want = encoder.encode(texts)  # unbatched: each text's result does not depend on its batch
    cos = (got * want).sum(1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1))
    assert cos.min() >= 0.99999


def test_many_clients_mixed_routes_zero_errors(minilm_url, minilm):
    texts = [f"client {i} asks about {w}" for i, w in enumerate(["cats", "trains", "bread", "music"] * 16)]
    bodies = []
    for i, text in enumerate(texts):
        route = i % 4
        if route == 0:
            bodies.append(("/embed", {"inputs": text}))
        elif route == 1:
            bodies.append(("/v1/embeddings", {"input": [text, "another one"]}))
        elif route == 2:
            bodies.append(("/similarity", {"inputs": {"source_sentence": text, "sentences": ["cats", "trains"]}}))
        else:
            bodies.append(("/tokenize", {"inputs": text}))
    answers = asyncio.run(_many(minilm_url, bodies, 64))
    assert [a.status_code for a in answers] == [200] * len(bodies)
    embedded = [(texts[i], a.json()[0]) for i, a in enumerate(answers) if i % 4 == 0]
    want = minilm.encode([t for t, _ in embedded], normalize_embeddings=True)
    np.testing.assert_allclose([v for _, v in embedded], want, atol=1e-5)
    assert_healthy(minilm_url, minilm)


def test_every_pass_keeps_within_the_batch_limits(servers, models, hold):
    """--max-batch-requests and --max-batch-tokens bound what the model sees: rows per pass, and rows x the longest."""
    encoder = SentenceEncoder.from_pretrained(models["st"])
    url = servers.start("embed", encoder, max_batch_requests=4, max_batch_tokens=40)
    shapes: list[tuple[int, int]] = []  # (rows, longest) of each batch (the model may take its rows end to end)
    encoder[0].register_forward_pre_hook(lambda module, args: shapes.append(tuple(args[0]["input_ids"].shape)))
    texts = [f"text {i} {'and more ' * (i % 5)}" for i in range(24)]  # 4 to 13 tokens
    release_when_arrived(url, len(texts), hold(encoder.model))
    answers = asyncio.run(_many(url, [("/embed", {"inputs": t, "normalize": False}) for t in texts], len(texts)))
    np.testing.assert_allclose([a.json()[0] for a in answers], encoder.encode(texts), atol=1e-5)
    shapes = shapes[: int(metric(url, "mintformers_forward_passes_total"))]  # encode() above added its own
    assert sum(rows for rows, _ in shapes) == len(texts) and max(rows for rows, _ in shapes) == 4
    assert all(rows * length <= 40 for rows, length in shapes), shapes


def test_over_the_limit_429_then_recovery(servers, models, hold):
    encoder = SentenceEncoder.from_pretrained(models["st"])
    url = servers.start("embed", encoder, max_concurrent_requests=2)
    gate = hold(encoder.model)
    held: list[httpx.Response] = []
    holders = [threading.Thread(target=lambda i=i: held.append(post(url + "/embed", json={"inputs": f"held {i}"})))
               for i in range(2)]
    for t in holders:
        t.start()
    wait_for(lambda: metric(url, "mintformers_requests_in_flight") == 2, "two requests in flight")
    # the model is busy (held): the event loop still answers, and refuses what is over the limit
    assert get(url + "/health").status_code == 200
    refused = asyncio.run(_many(url, [("/embed", {"inputs": f"text {i}"}) for i in range(6)], 6))
    assert [a.status_code for a in refused] == [429] * 6
    assert refused[0].headers["retry-after"] == "1" and "--max-concurrent-requests" in refused[0].json()["error"]
    gate.set()
    for t in holders:
        t.join()
    assert [a.status_code for a in held] == [200, 200]
    answers = asyncio.run(_many(url, [("/embed", {"inputs": f"text {i}"}) for i in range(2)], 2))
    assert [a.status_code for a in answers] == [200] * 2  # recovered
    assert metric(url, 'mintformers_request_errors_total{status="429"}') == 6


def test_a_client_that_leaves_has_its_queued_work_dropped(servers, models, hold, server_logs):
    encoder = SentenceEncoder.from_pretrained(models["st"])
    url = servers.start("embed", encoder)
    seen: list[int] = []
    encoder.model.register_forward_pre_hook(lambda module, args, kwargs: seen.append(len(kwargs["input_ids"])), with_kwargs=True)
    gate = hold(encoder.model)
    holder = threading.Thread(target=post, args=(url + "/embed",), kwargs={"json": {"inputs": "first"}})
    holder.start()
    wait_for(lambda: seen, "the first request's pass")  # held in it
    with socket.create_connection(address(url)) as sock:
        sock.sendall(request_bytes("/embed", b'{"inputs": ["gone", "away", "now"]}'))
        wait_for(lambda: metric(url, "mintformers_queue_rows") == 3, "three queued rows")  # behind the held pass
    wait_for(lambda: metric(url, "mintformers_dropped_rows_total") == 3, "the rows to be dropped")  # the client left
    gate.set()
    holder.join()
    assert seen == [1]  # only the first request's text went through the model
    assert_healthy(url, encoder)
    assert tracebacks(server_logs) == []


def test_a_client_that_leaves_mid_stream_stops_its_generation(servers, models, slow_steps, server_logs):
    import openai

    pipe = task_pipeline(models, "generate")
    url = servers.start("generate", pipe)
    steps: list[int] = []
    pipe.model.register_forward_pre_hook(lambda module, args, kwargs: steps.append(1), with_kwargs=True)
    slow_steps(pipe.model, 0.05)  # 50 steps would take 2.5 s
    body = b'{"inputs": "the cat", "parameters": {"max_new_tokens": 50, "repetition_penalty": 2.0}}'
    with socket.create_connection(address(url), timeout=TIMEOUT) as sock:
        sock.sendall(request_bytes("/generate_stream", body))
        received = b""
        while b"data:" not in received:  # the headers, then the first token's event
            received += sock.recv(4096)
        assert received.startswith(b"HTTP/1.1 200")

    def steps_for_three_tokens() -> int:
        """Steps taken until a 3-token request is answered: waves run one at a time, so the earlier ones are over."""
        answer = post(url + "/generate", json={"inputs": "the cat", "parameters": {"max_new_tokens": 3}})
        assert answer.status_code == 200
        return len(steps)

    assert steps_for_three_tokens() < 30  # the stream stopped soon after its client left, not after 50 tokens
    client = openai.OpenAI(base_url=url + "/v1", api_key="x", max_retries=0, timeout=TIMEOUT)
    for _ in range(2):  # the openai client closing its streams early
        before = len(steps)
        stream = client.completions.create(model="m", prompt="the cat", max_tokens=50, temperature=1.0, seed=7, stream=True)
        next(iter(stream))
        stream.close()
        assert steps_for_three_tokens() - before < 30
    assert tracebacks(server_logs) == []


def test_slow_and_idle_connections_do_not_block_others(servers, models):
    encoder = SentenceEncoder.from_pretrained(models["st"])
    url = servers.start("embed", encoder, header_timeout=1.5)
    threads_before = threading.active_count()
    fds_before = len(os.listdir("/proc/self/fd"))
    idle = [socket.create_connection(address(url)) for _ in range(300)]  # connect, then say nothing

    slow_done = threading.Event()
    slow_result: list[bytes] = []

    def slow_client() -> None:
        with socket.create_connection(address(url), timeout=10) as sock:
            try:
                for byte in request_bytes("/embed", b'{"inputs": "x"}')[:20]:
                    sock.sendall(bytes([byte]))
                    time.sleep(1.0)  # one byte a second
                slow_result.append(sock.recv(100))
            except OSError:
                slow_result.append(b"closed")
        slow_done.set()

    slow = threading.Thread(target=slow_client)
    slow.start()
    served_meanwhile = 0
    for i in range(5):  # served while 300 idle connections and a slow-loris client are open
        assert get(url + "/health").status_code == 200
        assert post(url + "/embed", json={"inputs": f"quick {i}"}).status_code == 200
        served_meanwhile += not slow_done.is_set()
    assert served_meanwhile >= 1  # answered while the slow client was still sending its headers
    assert threading.active_count() <= threads_before + 2  # sockets, not threads (+ the slow client's thread)

    for sock in idle:  # closed by the server at the header deadline
        sock.settimeout(TIMEOUT)
        assert sock.recv(1) == b""
        sock.close()
    slow.join(10)
    assert slow_result == [b""] or slow_result == [b"closed"]  # the slow-loris connection was closed too
    assert len(os.listdir("/proc/self/fd")) <= fds_before + 5
    assert_healthy(url, encoder)


def test_huge_requests_are_refused_without_stalling_small_ones(servers, models):
    encoder = SentenceEncoder.from_pretrained(models["st"])
    url = servers.start("embed", encoder)
    small: list[int] = []
    big: list[bytes] = []

    def huge_body() -> None:  # 15 MB of text: refused from the headers, the body never read
        with socket.create_connection(address(url), timeout=TIMEOUT) as sock:
            text = b'{"inputs": "' + b"word " * 3_000_000 + b'"}'
            sock.sendall(request_bytes("/embed", text)[:2_000_000])
            big.append(sock.recv(4096))

    def small_requests() -> None:
        for i in range(5):
            small.append(post(url + "/embed", json={"inputs": f"small {i}"}).status_code)

    threads = [threading.Thread(target=huge_body), threading.Thread(target=small_requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert big[0].startswith(b"HTTP/1.1 413") and b"--max-payload-bytes" in big[0]
    assert small == [200] * 5

    many = post(url + "/embed", json={"inputs": ["x"] * 10_000})  # 10,000 texts, 70 kB
    assert many.status_code == 413 and "--max-client-batch-size" in many.json()["error"]
    # a request near the limits (32 texts of 30,000 characters, truncated) runs beside small ones
    long_texts = ["cats and trains " * 1_875] * 32
    order: list[str] = []
    heavy = threading.Thread(target=lambda: order.append(
        f"heavy {post(url + '/embed', json={'inputs': long_texts, 'truncate': True}).status_code}"))
    heavy.start()
    wait_for(lambda: metric(url, "mintformers_requests_in_flight") == 1, "the heavy request")
    order.append(f"small {post(url + '/embed', json={'inputs': 'small'}).status_code}")
    heavy.join()
    assert sorted(order) == ["heavy 200", "small 200"]
    assert_healthy(url, encoder)


@pytest.mark.parametrize("model_process", [False, True], ids=["in-process", "model-process"])
def test_sigterm_stops_accepting_finishes_in_flight_requests_and_exits_0(models, tmp_path, model_process):
    port_file, release = tmp_path / "port", tmp_path / "release"
    script = tmp_path / "serve.py"  # a file, not -c: the model process imports it to find `held`
    script.write_text(textwrap.dedent(f"""
        import time, torch
        from pathlib import Path
        from mintformers.embeddings import SentenceEncoder
        from mintformers.server import bind, create_app, serve

        def held(module, args):  # every forward pass waits for the test's go
            while not Path({str(release)!r}).exists():
                time.sleep(0.01)

        if __name__ == "__main__":
            torch.set_num_threads(1)
            encoder = SentenceEncoder.from_pretrained({str(models["st"])!r})
            encoder.model.register_forward_pre_hook(held)
            sock = bind("127.0.0.1", 0)
            Path({str(port_file)!r}).write_text(str(sock.getsockname()[1]))
            serve(create_app("embed", encoder, model_process={model_process}), sock)
            print("stopped cleanly")
    """))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    process = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: process.poll() is None and port_file.exists() and port_file.read_text(), "the port")
        url = f"http://127.0.0.1:{port_file.read_text()}"

        def answers() -> bool:  # the socket listens before uvicorn runs
            with contextlib.suppress(httpx.TransportError):
                return get(url + "/health").status_code == 200
            return False

        wait_for(answers, "the server to answer")
        helpers = children(process.pid)  # the model process (and multiprocessing's resource tracker)
        assert bool(helpers) == model_process
        answer: list[httpx.Response] = []
        flight = threading.Thread(target=lambda: answer.append(post(url + "/embed", json={"inputs": "x"})))
        flight.start()
        wait_for(lambda: metric(url, "mintformers_forward_passes_total") == 1, "the request's pass")  # held in it
        process.send_signal(signal.SIGTERM)

        def refused() -> bool:
            try:
                socket.create_connection(address(url), timeout=TIMEOUT).close()
            except ConnectionRefusedError:
                return True
            return False

        wait_for(refused, "the server to stop accepting")
        assert process.poll() is None  # still running: its request is in flight
        release.touch()
        flight.join()
        assert answer[0].status_code == 200 and len(answer[0].json()[0]) == 32  # finished, not cut off
        out, err = process.communicate(timeout=TIMEOUT)
        assert process.returncode == 0, err.decode()
        assert b"stopped cleanly" in out
        wait_for(lambda: not any(map(running, helpers)), "the model process to end")
    finally:
        if process.poll() is None:
            process.kill()


def children(pid: int) -> list[int]:
    return [int(c) for task in Path(f"/proc/{pid}/task").iterdir() for c in (task / "children").read_text().split()]


def running(pid: int) -> bool:
    """Whether a process exists and is no zombie (an orphan's exit is reaped by whoever adopted it, maybe never)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
