"""`mintformers serve`: one model behind an HTTP API that text-embeddings-inference (TEI), text-generation-inference
(TGI) and OpenAI clients speak, with dynamic batching, limits, metrics and a playground page.

    mintformers serve                                   # embeddings, the bundled all-MiniLM-L6-v2
    mintformers serve classify --model cross-encoder/ms-marco-MiniLM-L6-v2 --port 8000

    from mintformers.server import create_app, BackgroundServer
    with BackgroundServer(create_app("embed", encoder)) as url: ...

Layout (each part reads and tests alone):
    app.py        the application: state, the routes every task has (/health, /info, /metrics, /tokenize, ...),
                  how errors are answered
    batching.py   the dynamic-batching queue (length-sorted packing into forward passes, in one worker thread)
    worker.py     the embedding passes in a model process of their own (`mintformers serve` on a CPU)
    embedding.py  /embed, /embed_all, /similarity, /v1/embeddings
    predict.py    /predict and /rerank: task pipelines whose forward passes go through the batcher
    generate.py   /v1/completions, /generate, /generate_stream: batched generation waves, streamed
    schemas.py    request bodies (pydantic: a bad one is a 422 naming the field)
    guard.py      API key, body type/size/time, the concurrency limit (429), request metrics
    metrics.py    Prometheus metrics
    run.py        uvicorn: sockets, header deadlines, graceful SIGTERM
    static/       the playground page (plain HTML/JS/CSS: no build step, nothing fetched from elsewhere)

Why this stack: FastAPI validates bodies against pydantic models (422s that name the field) and writes the OpenAPI
page at /docs (fastapi-offline serves its Swagger UI); uvicorn runs it on one asyncio event loop, so idle and slow
connections cost a socket, not a thread. Model work runs in the batcher's worker thread (PyTorch releases the GIL in
its kernels), so the loop never waits; embedding passes on a CPU go on to a model process, so that neither waits for
the other's GIL either.
"""

from __future__ import annotations

import importlib
from typing import Any

# name → module; imported on first use, so `mintformers.server.limits` (the CLI's defaults) loads without FastAPI
_EXPORTS = {"create_app": "app", "ServerState": "app", "TASKS": "app", "Batcher": "batching", "ApiError": "common",
            "Limits": "limits", "BackgroundServer": "run", "bind": "run", "serve": "run"}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
