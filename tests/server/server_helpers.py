"""Helpers of the server tests (fixtures live in conftest.py).

Waits in these tests are for a condition (a metric reaching a value, a socket closing), never a fixed sleep, and
every HTTP call has a generous timeout: eight people's test runs share two cores, and a request that takes 5 s
(httpx's default timeout) there is slow, not broken.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from mintformers import CrossEncoder, pipeline

TIMEOUT = 60.0  # seconds, for any one request or wait

PIPELINE_TASKS = {"classify": ("cls", "text-classification"), "fill-mask": ("mlm", "fill-mask"),
                  "ner": ("ner", "token-classification"), "qa": ("qa", "question-answering"),
                  "extract": ("ie", "information-extraction"), "generate": ("gen", "text-generation"),
                  "rerank": ("rerank", "text-classification")}


def get(url: str, **kwargs) -> httpx.Response:
    kwargs.setdefault("timeout", TIMEOUT)
    return httpx.get(url, **kwargs)


def post(url: str, **kwargs) -> httpx.Response:
    kwargs.setdefault("timeout", TIMEOUT)
    return httpx.post(url, **kwargs)


def metric(url: str, name: str) -> float:
    """A metric's value from the server's /metrics (0 when it has no sample yet)."""
    match = re.search(rf"^{re.escape(name)} (\S+)$", get(url + "/metrics").text, re.M)
    return float(match.group(1)) if match else 0.0


def wait_for(condition: Callable[[], bool], what: str = "the condition", timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def release_when_arrived(url: str, rows: int, gate: threading.Event) -> threading.Thread:
    """In a thread: set `gate` (see the `hold` fixture) once the server has queued `rows` rows since it started, so
    that they are all queued behind the held pass before it ends (or after TIMEOUT, so that a failing test fails
    instead of hanging)."""

    def release() -> None:
        try:
            wait_for(lambda: metric(url, "mintformers_queued_rows_total") >= rows, f"{rows} queued rows")
        finally:
            gate.set()

    thread = threading.Thread(target=release, daemon=True)
    thread.start()
    return thread


def task_pipeline(models: dict[str, Path], task: str):
    """A fresh model for a server of `task`: the task's pipeline, or a CrossEncoder for "rerank" (a server takes
    over its model's forward passes: one server each)."""
    key, pipeline_task = PIPELINE_TASKS[task]
    if task == "rerank":
        return CrossEncoder(models[key])
    return pipeline(pipeline_task, model=str(models[key]))


def plain(value):
    """A library result as JSON values (tensors and numpy numbers too), as a server answers it."""
    return json.loads(json.dumps(value, default=lambda v: v.tolist()))


def tracebacks(caplog) -> list[str]:
    """Log records that carry an exception (what a traceback in the server's log would come from)."""
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]


def required(what: str, how: str) -> None:
    """Skip the test for lack of `what` — or fail it where CI must run it (MINTFORMERS_REQUIRE_REAL_WEIGHTS=1, which
    `make test` sets), so that CI never passes by skipping."""
    if os.environ.get("MINTFORMERS_REQUIRE_REAL_WEIGHTS") == "1":
        pytest.fail(f"{what} is required but missing: {how}")
    pytest.skip(f"{what} is missing: {how}")
