"""Task pipelines behind the server: POST /predict (a classifier in TEI's shape, any other task as
`{"outputs": pipe(inputs, **parameters)}`) and POST /rerank (a one-label sequence classifier as a cross-encoder).

Each request runs the pipeline itself — its own input and output rules — in a thread of its own; only the forward
passes are shared. The pipeline hands its chunks (tokenized, unpadded inputs) to the batcher instead of running them,
so chunks from concurrent requests go through the model together, and the request thread postprocesses its own.
"""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import CancelledError, ThreadPoolExecutor
from concurrent.futures import Future as ThreadFuture
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from ..pipelines.base import Chunk, Pipeline
from .common import ApiError, ClientDisconnected, json_response, until_done_or_disconnected
from .schemas import ClassifyRequest, PipelineRequest, RerankRequest

if TYPE_CHECKING:
    from .app import ServerState

__all__ = ["PipelineEngine", "classifier_routes", "pipeline_routes"]

# Options a request may not set: the server chooses them, or they are objects JSON cannot carry.
_SERVER_OPTIONS = ("batch_size", "num_workers", "streamer", "stopping_criteria", "logits_processor", "generation_config",
                   "device", "prefix_allowed_tokens_fn")


class _Call:
    """One request's run of the pipeline (its thread): where its forward passes go, and whether its client left."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.cancelled = False
        self.pending: ThreadFuture | None = None

    def cancel(self) -> None:  # event loop
        self.cancelled = True
        if self.pending is not None:
            self.pending.cancel()


class PipelineEngine:
    """A task pipeline whose forward passes go through the server's batcher."""

    kind = "pipeline"

    def __init__(self, pipe: Pipeline, state: ServerState, threads: int):
        self.pipe = pipe
        self.state = state
        self.max_length = _input_limit(pipe, state.limits.max_input_length)
        self._local = threading.local()
        self._threads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="mintformers-pipeline")
        # Every forward pass of this pipeline object now goes through `_batched`; the batcher's worker runs the
        # class's own method on the packed chunks.
        pipe._run_batch = self._batched  # type: ignore[method-assign]

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
        del self.pipe._run_batch  # the pipeline runs its own passes again

    async def __call__(self, request: Request, inputs: Any, options: dict[str, Any]) -> Any:
        """`pipe(inputs, **options)` in a request thread; a client that leaves cancels its queued chunks."""
        for name in _SERVER_OPTIONS:
            if name in options:
                raise ApiError(422, f"parameters.{name} is set by the server; leave it out.", param=f"parameters.{name}")
        call = _Call(asyncio.get_running_loop())
        work = call.loop.run_in_executor(self._threads, self._run_call, call, inputs, options)
        try:
            return await until_done_or_disconnected(request, work)
        except ClientDisconnected:
            call.cancel()
            raise
        except ApiError:
            raise
        except (ValueError, TypeError, KeyError, NotImplementedError) as e:  # how the library reports bad input
            raise ApiError(422, str(e) or type(e).__name__) from None

    def _run_call(self, call: _Call, inputs: Any, options: dict[str, Any]) -> Any:
        self._local.call = call
        try:
            return self.pipe(inputs, batch_size=self.state.limits.max_batch_requests, **options)
        finally:
            self._local.call = None

    def _batched(self, chunks: list[Chunk], fwd: dict) -> None:
        """The pipeline's `_run_batch`, called in a request thread: queue the chunks, wait for their pass."""
        call: _Call | None = getattr(self._local, "call", None)
        if call is None:  # the pipeline used outside a request (e.g. directly, in the same process)
            type(self.pipe)._run_batch(self.pipe, chunks, fwd)
            return
        for chunk in chunks:
            if self.max_length is not None and len(chunk) > self.max_length:
                raise ApiError(
                    413, f"An input has {len(chunk)} tokens; this server takes at most {self.max_length} "
                    "(--max-input-length / the model's positions). Shorten it or ask for truncation.", param="inputs",
                )
        key: tuple = (self.kind, json.dumps(fwd, sort_keys=True, default=repr))
        if fwd.get("seed") is not None:  # seeded sampling gives what it gives alone only when run alone
            key += (id(call),)
        rows = [(len(chunk), (chunk, fwd)) for chunk in chunks]
        pending = asyncio.run_coroutine_threadsafe(self.state.batcher.submit(key, rows), call.loop)
        call.pending = pending
        if call.cancelled:
            pending.cancel()
        try:
            pending.result()
        except CancelledError:
            raise ClientDisconnected() from None

    def run(self, key: tuple, rows: list) -> list[None]:
        """Worker thread: one pass over chunks of several requests (outputs land on the chunks themselves)."""
        chunks = [row.payload[0] for row in rows]
        type(self.pipe)._run_batch(self.pipe, chunks, rows[0].payload[1])
        return [None] * len(rows)


def _input_limit(pipe: Pipeline, configured: int | None) -> int | None:
    """Tokens per input: the configured limit, the tokenizer's, the model's position table — the smallest."""
    limits = [configured, getattr(pipe.tokenizer, "model_max_length", None)]
    config = pipe.model.config
    limits.append(getattr(config, "max_position_embeddings", None))
    limits = [n for n in limits if isinstance(n, int) and 0 < n < 1_000_000]
    return min(limits) if limits else None


def _truncation(state: ServerState, engine: PipelineEngine, truncate: bool | None, direction: str) -> dict[str, Any]:
    """Tokenizer options for a TEI `truncate` flag (pairs are cut longest-first from the right)."""
    if not (state.limits.auto_truncate if truncate is None else truncate):
        return {}
    if direction.lower() != "right":
        raise ApiError(422, "truncation_direction=left is not supported for classifiers and rerankers; use right.",
                       param="truncation_direction")
    return {"truncation": True, "max_length": engine.max_length} if engine.max_length else {}


def classifier_routes(app: FastAPI, state: ServerState) -> tuple[type, Any]:
    """TEI's /predict and /rerank on a sequence-classification pipeline."""
    tags = ["classification"]

    def engine() -> PipelineEngine:
        return state.engine("pipeline")  # type: ignore[return-value]

    async def predict(request: Request, body: ClassifyRequest) -> Response:
        inputs = body.inputs
        # TEI's shapes: "text", ["text", "pair"] (one pair), or a list of texts / [text] / [text, pair] (a batch)
        single = isinstance(inputs, str) or (len(inputs) == 2 and all(isinstance(x, str) for x in inputs))
        items = [inputs] if single else inputs
        state.check_batch_size(len(items), "inputs")
        items = [_classify_item(item) for item in items]
        options: dict[str, Any] = {"top_k": None}  # every label, best first
        parameters = body.parameters
        if body.raw_scores:
            options["function_to_apply"] = "none"
        elif parameters is not None and parameters.function_to_apply is not None:
            options["function_to_apply"] = parameters.function_to_apply
        options.update(_truncation(state, engine(), body.truncate, body.truncation_direction))
        results = await engine()(request, items, options)
        if parameters is not None and parameters.top_k is not None:
            results = [r[: parameters.top_k] for r in results]
        return json_response(results[0] if single else results)

    @app.post("/predict", tags=tags, summary="Classify texts or text pairs (TEI)")
    async def predict_route(request: Request, body: ClassifyRequest) -> Response:
        return await predict(request, body)

    @app.post("/rerank", tags=tags, summary="Rank texts by relevance to a query (TEI)")
    async def rerank(request: Request, body: RerankRequest) -> Response:
        labels = engine().pipe.model.config.num_labels
        if labels != 1:
            raise ApiError(422, f"/rerank needs a cross-encoder with one output (relevance); this classifier has "
                                f"{labels} labels. Use /predict.", error_type="validation")
        state.check_batch_size(len(body.texts), "texts")
        items = [{"text": body.query, "text_pair": text} for text in body.texts]
        options = {"top_k": None, "function_to_apply": "none" if body.raw_scores else "sigmoid"}
        options.update(_truncation(state, engine(), body.truncate, body.truncation_direction))
        results = await engine()(request, items, options)
        ranked = sorted(
            ({"index": i, "score": r[0]["score"], **({"text": body.texts[i]} if body.return_text else {})}
             for i, r in enumerate(results)),
            key=lambda hit: -hit["score"],
        )
        return json_response(ranked)

    return (ClassifyRequest, predict)  # POST / classifies


def _classify_item(item: str | list[str]) -> str | dict[str, str]:
    if isinstance(item, str):
        return item
    return item[0] if len(item) == 1 else {"text": item[0], "text_pair": item[1]}


def pipeline_routes(app: FastAPI, state: ServerState) -> tuple[type, Any]:
    """POST /predict for the other tasks: what the pipeline returns for `pipe(inputs, **parameters)`."""
    tags = ["pipeline"]

    async def predict(request: Request, body: PipelineRequest) -> Response:
        if isinstance(body.inputs, list):
            state.check_batch_size(len(body.inputs), "inputs")
        outputs = await state.engine("pipeline")(request, body.inputs, dict(body.parameters))
        return json_response({"outputs": outputs})

    @app.post("/predict", tags=tags, summary="Run the task's pipeline")
    async def predict_route(request: Request, body: PipelineRequest) -> Response:
        return await predict(request, body)

    return (PipelineRequest, predict)
