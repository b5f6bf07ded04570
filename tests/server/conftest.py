"""Fixtures of the server tests (helpers live in server_helpers.py): real servers on 127.0.0.1 (a free port each), serving the bundled
all-MiniLM-L6-v2 or the tiny task checkpoints (tests/task_models.py), stopped at the end of their scope."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import pytest
import torch
from server_helpers import TIMEOUT

from mintformers.embeddings import SentenceEncoder
from mintformers.server import BackgroundServer, Limits, create_app


@pytest.fixture(scope="session")
def minilm(minilm_dir) -> SentenceEncoder:
    return SentenceEncoder.from_pretrained(minilm_dir)


FAMILY_SIZES = {
    "mpnet": {},
    "ernie_m": {},
    "mobilebert": dict(hidden_size=32, embedding_size=16, intra_bottleneck_size=16, intermediate_size=24, num_hidden_layers=2,
                       num_attention_heads=4, num_feedforward_networks=2, max_position_embeddings=64),
    "mpt": dict(d_model=32, n_heads=4, n_layers=2, max_seq_len=64),
}


def tiny_families(models: dict[str, Path], root: Path, auto_name: str) -> dict[str, Path]:
    """A tiny `auto_name` checkpoint of each family besides BERT, sharing the WordPiece tokenizer, its weights
    re-drawn (so the padding token's embedding is not zero, as in real MobileBERT checkpoints)."""
    import mintformers.auto as auto
    from task_models import make_tiny_family

    from parity import perturb_

    paths = {}
    for family, sizes in FAMILY_SIZES.items():
        path = make_tiny_family(root / family, models["base"], family, auto_name, **sizes)
        perturb_(getattr(auto, auto_name).from_pretrained(path), seed=1).save_pretrained(path)
        if family in ("mpnet", "ernie_m"):  # no segment embeddings: their own tokenizers return no token_type_ids
            config = json.loads((path / "tokenizer_config.json").read_text())
            config["model_input_names"] = ["input_ids", "attention_mask"]
            (path / "tokenizer_config.json").write_text(json.dumps(config))
        paths[family] = path
    return paths


@pytest.fixture(scope="session")
def family_encoders(models, tmp_path_factory) -> dict[str, Path]:
    """Plain encoders of each family besides BERT (BERT's: the `st` model and all-MiniLM-L6-v2)."""
    return tiny_families(models, tmp_path_factory.mktemp("families"), "AutoModel")


@pytest.fixture(scope="session")
def family_classifiers(models, tmp_path_factory) -> dict[str, Path]:
    """Sequence classifiers (two labels) of each family besides BERT (BERT's: the `cls` model)."""
    return tiny_families(models, tmp_path_factory.mktemp("family-classifiers"), "AutoModelForSequenceClassification")


class Servers:
    """start(task, model, **limits) → base URL of a running server; all stop at teardown."""

    def __init__(self):
        self.running: list[BackgroundServer] = []

    def start(self, task: str, model=None, *, load=None, api_key: str | None = None, name: str = "tiny",
              model_process: bool = False, **limits) -> str:
        app = create_app(task, model, load=load, model_name=name, limits=Limits(**limits), api_key=api_key,
                         model_process=model_process)
        server = BackgroundServer(app)
        self.running.append(server)
        return server.start()

    def app(self, url: str):
        return next(s.app for s in self.running if s.url == url)

    def stop(self) -> None:
        for server in self.running:
            server.stop()


@pytest.fixture
def servers():
    running = Servers()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def module_servers():
    running = Servers()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def minilm_url(module_servers, minilm) -> str:
    """A server of all-MiniLM-L6-v2 shared by a test module."""
    return module_servers.start("embed", minilm, name="all-MiniLM-L6-v2")


@pytest.fixture
def hold():
    """hold(model) -> threading.Event: every forward of `model` waits until the event is set, so that a pass (or a
    generation wave) stays running while other requests queue behind it — for as long as the test needs, whatever
    the machine's load (set it yourself, or with server_helpers.release_when_arrived; set at the end of the test)."""
    gates: list[threading.Event] = []
    handles = []

    def held(model: torch.nn.Module) -> threading.Event:
        gate = threading.Event()
        gates.append(gate)

        def wait(module: torch.nn.Module, args: tuple) -> None:
            gate.wait(TIMEOUT)

        handles.append(model.register_forward_pre_hook(wait))
        return gate

    yield held
    for gate in gates:
        gate.set()
    for handle in handles:
        handle.remove()


@pytest.fixture
def slow_steps():
    """slow_steps(model, seconds): every forward of `model` takes `seconds` longer (tokens of a stream then arrive
    over time); removed at the end of the test."""
    handles = []

    def slow(model: torch.nn.Module, seconds: float):
        import time

        handles.append(model.register_forward_pre_hook(lambda module, args: time.sleep(seconds)))

    yield slow
    for handle in handles:
        handle.remove()


@pytest.fixture
def server_logs(caplog):
    """Every log record of the server and of uvicorn during the test."""
    caplog.set_level(logging.DEBUG, logger="uvicorn")
    caplog.set_level(logging.DEBUG, logger="mintformers")
    return caplog
