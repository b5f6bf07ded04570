"""Task pipelines and cross-encoders behind the server: POST /predict (a classifier in TEI's shape, any other task
as `{"outputs": pipe(inputs, **parameters)}`) and POST /rerank (CrossEncoder.rank).

Each request runs the library itself — the pipeline's or the CrossEncoder's own input and output rules — in a thread
of its own; only the forward passes are shared. The pipeline hands its chunks (tokenized, unpadded inputs) to the
batcher instead of running them, the CrossEncoder its classifier's batches, so inputs of concurrent requests go
through the model together, and each request thread finishes its own.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import CancelledError, ThreadPoolExecutor
from concurrent.futures import Future as ThreadFuture
from typing import TYPE_CHECKING, Any

import torch
from fastapi import FastAPI, Request
from starlette.responses import Response
from torch import nn

from ..embeddings.batching import CPU_BATCH_OVERHEAD_TOKENS, pad_id_of, pad_rows
from ..outputs import SequenceClassifierOutput
from ..pipelines.base import Chunk, Pipeline
from .common import ApiError, ClientDisconnected, json_response, until_done_or_disconnected
from .schemas import ClassifyRequest, PipelineRequest, RerankRequest

if TYPE_CHECKING:
    from .app import ServerState

__all__ = ["PipelineEngine", "RerankEngine", "classifier_routes", "rerank_routes", "pipeline_routes"]

# Options a request may not set: the server chooses them, or they are objects JSON cannot carry.
_SERVER_OPTIONS = ("batch_size", "num_workers", "streamer", "stopping_criteria", "logits_processor", "generation_config",
                   "device", "prefix_allowed_tokens_fn")


class _Call:
    """One request's run in its thread: where its forward passes go, and whether its client left."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.cancelled = False
        self.pending: ThreadFuture | None = None

    def cancel(self) -> None:  # event loop
        self.cancelled = True
        if self.pending is not None:
            self.pending.cancel()


class _ThreadedEngine:
    """Library code run as a caller would run it — in a request thread of its own — whose forward passes are queued
    for the batcher's worker instead of run there: `_queue(key, rows)` from the request thread."""

    kind = ""

    def __init__(self, state: ServerState, threads: int):
        self.state = state
        self._local = threading.local()
        self._threads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"mintformers-{self.kind}")

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)

    async def _in_thread(self, request: Request, function: Callable[..., Any], *args: Any) -> Any:
        """`function(*args)` in a request thread; a client that leaves cancels its queued rows."""
        call = _Call(asyncio.get_running_loop())
        work = call.loop.run_in_executor(self._threads, self._run_call, call, function, args)
        try:
            return await until_done_or_disconnected(request, work)
        except ClientDisconnected:
            call.cancel()
            raise
        except ApiError:
            raise
        except (ValueError, TypeError, KeyError, NotImplementedError) as e:  # how the library reports bad input
            raise ApiError(422, str(e) or type(e).__name__) from None

    def _run_call(self, call: _Call, function: Callable[..., Any], args: tuple) -> Any:
        self._local.call = call
        try:
            return function(*args)
        finally:
            self._local.call = None

    @property
    def _call(self) -> _Call | None:
        """The request this thread runs for (None: the library used outside a request, e.g. directly)."""
        return getattr(self._local, "call", None)

    def _queue(self, key: Any, rows: list[tuple[int, Any]]) -> list[Any]:
        """From a request thread: queue rows for the batcher and wait for their results."""
        call = self._call
        assert call is not None
        pending = asyncio.run_coroutine_threadsafe(self.state.batcher.submit(key, rows), call.loop)
        call.pending = pending
        if call.cancelled:
            pending.cancel()
        try:
            return pending.result()
        except CancelledError:
            raise ClientDisconnected() from None

    def _check_lengths(self, lengths: Iterable[int], limit: int | None, hint: str) -> None:
        for n in lengths:
            if limit is not None and n > limit:
                raise ApiError(413, f"An input has {n} tokens; this server takes at most {limit} (--max-input-length / "
                                    f"the model's positions). {hint}", param="inputs")


class PipelineEngine(_ThreadedEngine):
    """A task pipeline whose forward passes go through the server's batcher."""

    kind = "pipeline"

    def __init__(self, pipe: Pipeline, state: ServerState, threads: int):
        super().__init__(state, threads)
        self.pipe = pipe
        self.max_length = _input_limit(pipe, state.limits.max_input_length)
        # Every forward pass of this pipeline object now goes through `_batched`; the batcher's worker runs the
        # class's own method on the packed chunks.
        pipe._run_batch = self._batched  # type: ignore[method-assign]

    def close(self) -> None:
        super().close()
        del self.pipe._run_batch  # the pipeline runs its own passes again

    async def __call__(self, request: Request, inputs: Any, options: dict[str, Any]) -> Any:
        """`pipe(inputs, **options)`, as a caller would run it, its forward passes shared with other requests."""
        for name in _SERVER_OPTIONS:
            if name in options:
                raise ApiError(422, f"parameters.{name} is set by the server; leave it out.", param=f"parameters.{name}")
        batch = self.state.limits.max_batch_requests
        return await self._in_thread(request, lambda: self.pipe(inputs, batch_size=batch, **options))

    def _batched(self, chunks: list[Chunk], fwd: dict) -> None:
        """The pipeline's `_run_batch`, called in a request thread: queue the chunks, wait for their pass."""
        call = self._call
        if call is None:
            type(self.pipe)._run_batch(self.pipe, chunks, fwd)
            return
        self._check_lengths(map(len, chunks), self.max_length, "Shorten it or ask for truncation.")
        key: tuple = (self.kind, json.dumps(fwd, sort_keys=True, default=repr))
        if fwd.get("seed") is not None:  # seeded sampling gives what it gives alone only when run alone
            key += (id(call),)
        self._queue(key, [(len(chunk), (chunk, fwd)) for chunk in chunks])

    def run(self, key: tuple, rows: list) -> list[None]:
        """Worker thread: one pass over chunks of several requests (outputs land on the chunks themselves)."""
        chunks = [row.payload[0] for row in rows]
        type(self.pipe)._run_batch(self.pipe, chunks, rows[0].payload[1])
        return [None] * len(rows)


class RerankEngine(_ThreadedEngine):
    """A CrossEncoder whose classifier passes go through the server's batcher: `rank` runs as a caller would run it
    (its tokenization, length sorting, activation), and its model calls are split into pairs that share passes
    with other requests' pairs."""

    kind = "rerank"

    def __init__(self, cross_encoder: Any, state: ServerState, threads: int):
        super().__init__(state, threads)
        self.model = cross_encoder.eval()
        self.tokenizer = cross_encoder.tokenizer
        limits = [n for n in (state.limits.max_input_length, cross_encoder.max_length) if n]
        self.max_length = cross_encoder.max_length = min(limits) if limits else None
        self.pad_id = pad_id_of(self.tokenizer)
        self.pass_overhead = CPU_BATCH_OVERHEAD_TOKENS if cross_encoder.device.type == "cpu" else None
        self.classifier = cross_encoder.model
        self.classifier.forward = self._batched  # the CrossEncoder's calls of its classifier land here

    def close(self) -> None:
        super().close()
        del self.classifier.forward

    async def rank(self, request: Request, query: str, texts: list[str], raw_scores: bool, truncate: bool) -> list[dict]:
        if not truncate and self.max_length is not None:
            pairs = self.tokenizer([query] * len(texts), texts, padding=False, truncation=False,
                                   return_attention_mask=False, return_token_type_ids=False)["input_ids"]
            self._check_lengths(map(len, pairs), self.max_length, 'Shorten it, or send "truncate": true to cut it.')
        activation = nn.Identity() if raw_scores else None
        batch = self.state.limits.max_batch_requests
        return await self._in_thread(request, lambda: self.model.rank(
            query, texts, activation_fn=activation, batch_size=batch, show_progress_bar=False))

    def _batched(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, **inputs: Any) -> Any:
        """The classifier's forward, called in a request thread with a padded batch of this request's pairs: queue
        each pair, unpadded, and put the logits the worker computed back together."""
        if self._call is None:
            return type(self.classifier).forward(self.classifier, input_ids=input_ids, attention_mask=attention_mask, **inputs)
        lengths = attention_mask.sum(1).tolist() if attention_mask is not None else [input_ids.shape[1]] * len(input_ids)
        types = inputs.get("token_type_ids")
        rows = [(n, (input_ids[i, :n].tolist(), None if types is None else types[i, :n].tolist()))
                for i, n in enumerate(lengths)]
        logits = self._queue((self.kind,), rows)
        return SequenceClassifierOutput(logits=torch.stack(logits).to(input_ids.device))

    @torch.inference_mode()
    def run(self, key: tuple, rows: list) -> list[torch.Tensor]:
        """Worker thread: one pass of the classifier over pairs of several requests."""
        device = self.model.device
        ids, mask = pad_rows([row.payload[0] for row in rows], self.pad_id, device)
        inputs: dict[str, Any] = {"input_ids": ids}
        if not bool(mask.all()):
            inputs["attention_mask"] = mask
        if rows[0].payload[1] is not None:
            inputs["token_type_ids"] = pad_rows([row.payload[1] for row in rows], 0, device)[0]
        logits = type(self.classifier).forward(self.classifier, **inputs).logits
        return list(logits.float().cpu())


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

    return (ClassifyRequest, predict)  # POST / classifies


def _classify_item(item: str | list[str]) -> str | dict[str, str]:
    if isinstance(item, str):
        return item
    return item[0] if len(item) == 1 else {"text": item[0], "text_pair": item[1]}


def rerank_routes(app: FastAPI, state: ServerState) -> tuple[type, Any]:
    """TEI's /rerank on a CrossEncoder."""
    tags = ["reranking"]

    async def rerank(request: Request, body: RerankRequest) -> Response:
        engine: RerankEngine = state.engine("rerank")
        if engine.model.num_labels != 1:
            raise ApiError(422, f"/rerank needs a cross-encoder with one output (relevance); this checkpoint has "
                                f"{engine.model.num_labels} labels: serve it with `classify` and use /predict.")
        state.check_batch_size(len(body.texts), "texts")
        if body.truncation_direction.lower() != "right":
            raise ApiError(422, "truncation_direction=left is not supported for rerankers; use right.",
                           param="truncation_direction")
        truncate = state.limits.auto_truncate if body.truncate is None else body.truncate
        hits = await engine.rank(request, body.query, body.texts, body.raw_scores, truncate)
        return json_response([{"index": hit["corpus_id"], "score": hit["score"],
                               **({"text": body.texts[hit["corpus_id"]]} if body.return_text else {})} for hit in hits])

    @app.post("/rerank", tags=tags, summary="Rank texts by relevance to a query (TEI)")
    async def rerank_route(request: Request, body: RerankRequest) -> Response:
        return await rerank(request, body)

    return (RerankRequest, rerank)


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
