"""mintformers.server.run: the header deadline on both of uvicorn's HTTP/1.1 protocols (httptools, the default;
h11, the fallback without it), and a taken port failing at bind time."""

from __future__ import annotations

import socket

import httpx
import pytest
from server_helpers import TIMEOUT, get

from mintformers.embeddings import SentenceEncoder
from mintformers.server import BackgroundServer, Limits, bind, create_app


@pytest.mark.parametrize("parser", ["httptools", "h11"])
def test_header_deadline(models, monkeypatch, parser):
    import mintformers.server.run as run

    if parser == "h11":
        monkeypatch.setattr(run, "HttpToolsProtocol", None)
    app = create_app("embed", SentenceEncoder.from_pretrained(models["st"]), limits=Limits(header_timeout=0.5))
    with BackgroundServer(app) as url:
        host, port = url.removeprefix("http://").split(":")
        idle = socket.create_connection((host, int(port)), timeout=TIMEOUT)
        slow = socket.create_connection((host, int(port)), timeout=TIMEOUT)
        slow.sendall(b"POST /embed HTTP/1.1\r\nHo")  # headers that never end
        with httpx.Client(base_url=url, timeout=TIMEOUT) as client:  # a keep-alive client is served, request after request
            for _ in range(3):
                assert client.post("/embed", json={"inputs": "x"}).status_code == 200
        assert idle.recv(1) == b"" and slow.recv(1) == b""  # both closed by the server at the deadline
        idle.close()
        slow.close()
        assert get(url + "/health").status_code == 200


def test_bind_refuses_a_taken_port():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            bind("127.0.0.1", taken.getsockname()[1])
    sock = bind("127.0.0.1", 0)
    assert sock.getsockname()[1] > 0
    sock.close()
