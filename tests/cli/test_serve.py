"""`mintformers serve` (cli/serve.py): its options and errors in-process, and one real run as a user starts it —
the model loads behind a 503 /health, the routes answer, SIGTERM ends it with status 0."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from mintformers.cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE, main

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60.0


@pytest.fixture
def served(monkeypatch):
    """The apps `mintformers serve` would have served (uvicorn's run is replaced: it returns at once)."""
    apps = []

    def run(server, sockets=None):
        apps.append((server.config.app, sockets[0].getsockname()))

    monkeypatch.setattr("mintformers.server.run.Server.run", run)
    return apps


def test_options_and_errors(capsys, served, models, monkeypatch):
    assert main(["serve", "--model", str(models["st"]), "--port", "0", "--max-batch-requests", "8", "--auto-truncate"]) == EXIT_OK
    err = capsys.readouterr().err
    app, (host, port) = served[-1]
    assert f"on http://127.0.0.1:{port}: POST /embed, /embed_all, /similarity, /v1/embeddings" in err
    assert "server stopped" in err
    state = app.state.server
    assert state.task == "embed" and state.limits.max_batch_requests == 8 and state.limits.auto_truncate
    assert state.api_key is None
    assert state.model_process  # embeddings on a CPU: passes in a process of their own (server/worker.py)
    assert main(["serve", "--model", str(models["st"]), "--port", "0", "--in-process"]) == EXIT_OK
    assert not served[-1][0].state.server.model_process
    capsys.readouterr()

    monkeypatch.setenv("MINTFORMERS_API_KEY", "from-the-environment")
    assert main(["serve", "classify", "--model", str(models["cls"]), "--port", "0"]) == EXIT_OK
    assert "POST /predict, /tokenize" in capsys.readouterr().err and served[-1][0].state.server.api_key == "from-the-environment"
    assert main(["serve", "rerank", "--model", str(models["cls"]), "--port", "0"]) == EXIT_OK  # a cross-encoder
    assert "POST /rerank, /tokenize" in capsys.readouterr().err
    assert main(["serve", "generate", "--model", str(models["gen"]), "--port", "0", "--api-key", "k"]) == EXIT_OK
    assert "/v1/completions" in capsys.readouterr().err and served[-1][0].state.server.api_key == "k"

    assert main(["serve", "classify"]) == EXIT_USAGE
    assert "needs --model" in capsys.readouterr().err
    assert main(["serve", "classify", "--model", str(models["base"])]) == EXIT_ERROR  # no trained head
    assert "has no trained" in capsys.readouterr().err
    assert main(["serve", "--max-batch-tokens", "0"]) == EXIT_USAGE
    assert "must be at least 1" in capsys.readouterr().err
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert main(["serve", "--model", str(models["st"]), "--port", str(busy.getsockname()[1])]) == EXIT_ERROR
    assert "pick another --port" in capsys.readouterr().err


def test_a_real_run_until_sigterm(models):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, "-m", "mintformers", "serve", "--model", str(models["st"]), "--port", "0"],
                               env=env, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stderr.readline()
        url = re.search(r"on (http://127\.0\.0\.1:\d+):", line).group(1)  # bound to 127.0.0.1 by default
        with httpx.Client(base_url=url, timeout=TIMEOUT) as client:  # generous: a loaded machine is slow, not broken
            deadline = time.monotonic() + TIMEOUT
            while client.get("/health").status_code != 200:  # 503 while the model loads
                assert time.monotonic() < deadline and process.poll() is None, "the server did not get ready"
                time.sleep(0.05)
            vectors = client.post("/embed", json={"inputs": ["a man eats", "a cat sleeps"]}).json()
            assert len(vectors) == 2 and len(vectors[0]) == 32
            info = client.get("/info").json()
            assert info["model_id"] == str(models["st"]) and info["model_process"] is True
        process.send_signal(signal.SIGTERM)
        assert process.wait(TIMEOUT) == 0
        assert "server stopped" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
