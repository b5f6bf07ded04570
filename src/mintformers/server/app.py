"""The application: its state (the model, the engines, the batcher, the metrics), the routes every task has, and
how errors are answered.

    app = create_app("embed", encoder)                        # an already loaded SentenceEncoder or pipeline
    app = create_app("classify", load=lambda: pipeline(...))  # loaded in a thread after start-up: /health is 503
                                                              # until it is done
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Body, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi_offline import FastAPIOffline
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles

from .batching import Batcher, RowTooLong
from .common import (
    ApiError,
    ClientDisconnected,
    error_response,
    json_response,
    off_loop,
    until_done_or_disconnected,
)
from .guard import Guard
from .limits import Limits
from .metrics import CONTENT_TYPE_LATEST, Metrics
from .schemas import DecodeRequest, TokenizeRequest

__all__ = ["create_app", "ServerState", "TASKS"]

logger = logging.getLogger("mintformers.server")

TASKS = ("embed", "rerank", "classify", "fill-mask", "ner", "qa", "generate", "extract")
STATIC = Path(__file__).parent / "static"
DOCS_STATIC = "/static/docs"  # Swagger UI's script and style, for /docs
_BODY_PARSE_FAILED = "There was an error parsing the body"


class ServerState:
    """Everything the routes share: settings, the loaded model and its engines, the batcher, the metrics."""

    def __init__(self, task: str, model_name: str, limits: Limits, api_key: str | None, model_process: bool = False):
        if task not in TASKS:
            raise ValueError(f"Unknown task {task!r}; serve one of {', '.join(TASKS)}.")
        self.task, self.model_name, self.limits, self.api_key = task, model_name, limits, api_key or None
        self.model_process = model_process
        self.status, self.error = "loading", None
        self.model: Any = None  # the SentenceEncoder or pipeline
        self.engines: dict[str, Any] = {}
        self.in_flight = 0
        self.route_paths: set[str] = set()
        self.started = time.time()
        self.stop_server: Callable[[], None] | None = None  # set by serve(): stops when the model fails to load
        self.metrics = Metrics(queued=lambda: self.batcher.queued)
        self.batcher = Batcher(
            lambda key, rows: self.engines[key[0]].run(key, rows),
            max_batch_tokens=limits.max_batch_tokens, max_batch_rows=limits.max_batch_requests,
            on_queue=self.metrics.rows_queued.inc, on_batch=self.metrics.observe_batch, on_drop=self.metrics.observe_drop,
            pass_overhead=lambda key: getattr(self.engines[key[0]], "pass_overhead", None),
        )

    # ---- the model -------------------------------------------------------------------------------------------------
    def install(self, model: Any) -> None:
        from .embedding import EmbeddingEngine
        from .generate import GenerationEngine
        from .predict import PipelineEngine, RerankEngine

        limits = self.limits
        threads = min(limits.max_concurrent_requests, 64)  # request threads of the pipeline and rerank engines
        if self.task == "embed":
            engine = EmbeddingEngine(model, limits.max_input_length)
            if self.model_process and engine.encoder.device.type == "cpu":
                from .worker import ModelProcess

                engine.process = ModelProcess(engine)
                engine.process.start()
            engines: dict[str, Any] = {"embed": engine}
        elif self.task == "rerank":
            engines = {"rerank": RerankEngine(model, self, threads)}
        else:
            engines = {"pipeline": PipelineEngine(model, self, threads)}
            if self.task == "generate":
                engines["generate"] = GenerationEngine(model, limits.max_input_length, limits.max_new_tokens)
        longest = getattr(next(iter(engines.values())), "max_length", None)
        if longest is not None and longest > limits.max_batch_tokens:
            logger.warning("--max-batch-tokens (%d) is below the %d tokens an input may have: longer inputs will be "
                           "refused (413); raise it, or lower --max-input-length", limits.max_batch_tokens, longest)
        self.model, self.engines, self.status = model, engines, "ok"

    async def load(self, load: Callable[[], Any]) -> None:
        try:
            model = await asyncio.to_thread(load)
            await asyncio.to_thread(self.install, model)
            logger.info("model %s loaded; serving", self.model_name)
        except Exception as e:
            self.status, self.error = "failed", f"{type(e).__name__}: {e}"
            logger.error("could not load %s: %s", self.model_name, self.error)
            if self.stop_server is not None:
                self.stop_server()

    def engine(self, kind: str) -> Any:
        engine = self.engines.get(kind)
        if engine is None:
            if self.status == "failed":
                raise ApiError(503, f"The model failed to load ({self.error}).", "unhealthy")
            raise ApiError(503, "The model is still loading; retry once GET /health answers 200.", "unhealthy",
                           headers={"Retry-After": "5"})
        return engine

    @property
    def tokenizer(self) -> Any:
        if not self.engines:
            self.engine("")  # 503: still loading, or failed
        return self.model.tokenizer

    @property
    def core(self) -> Any:
        """The transformer inside the encoder or pipeline."""
        return self.model.model

    # ---- helpers for the routes ------------------------------------------------------------------------------------
    def check_batch_size(self, n: int, field: str) -> None:
        if n == 0:
            raise ApiError(422, f"{field} is empty: give at least one input.", param=field)
        limit = self.limits.max_client_batch_size
        if n > limit:
            raise ApiError(413, f"{n} inputs in one request; this server takes at most {limit} "
                                "(--max-client-batch-size). Split them over several requests.", param=field)

    async def submit(self, request: Request, key: Any, rows: list, on_event: Any = None) -> list:
        """Queue rows for the batcher and wait for them. A plain request is cancelled when its client leaves; a
        streamed one (`on_event`) is cancelled by its response stream ending."""
        try:
            if on_event is not None:
                return await self.batcher.submit(key, rows, on_event)
            return await until_done_or_disconnected(request, self.batcher.submit(key, rows))
        except RowTooLong as e:
            raise ApiError(413, f"An input has {e.tokens} tokens; a forward pass takes at most {e.limit} "
                                "(--max-batch-tokens). Shorten it, send \"truncate\": true, or start the server with "
                                "a larger --max-batch-tokens.") from None
        except (ValueError, TypeError) as e:  # the library refusing an input or option
            raise ApiError(422, str(e) or type(e).__name__) from None

    def public_message(self, error: BaseException, log: bool = True) -> str:
        """What a client is told about an error: its message when it is about the input, else that it failed."""
        if isinstance(error, (ApiError, ValueError, TypeError)):
            return str(error)
        if log:
            logger.error("request failed: %s: %s", type(error).__name__, error, exc_info=error)
        return f"Internal error ({type(error).__name__}); see the server's log."

    def info(self) -> dict[str, Any]:
        limits = self.limits
        described: dict[str, Any] = {"model_id": self.model_name, "task": self.task, "status": self.status,
                                     "version": _version()}
        if self.engines:
            config = self.core.config
            dtype = next(p.dtype for p in self.core.parameters() if p.is_floating_point())
            described.update(family=config.model_type, model_dtype=str(dtype).replace("torch.", ""),
                             model_type=self._model_type(),
                             model_process=getattr(self.engines.get("embed"), "process", None) is not None)
        described.update(
            max_concurrent_requests=limits.max_concurrent_requests, max_input_length=self._max_input_length(),
            max_batch_tokens=limits.max_batch_tokens, max_batch_requests=limits.max_batch_requests,
            max_client_batch_size=limits.max_client_batch_size, auto_truncate=limits.auto_truncate,
            max_payload_bytes=limits.max_payload_bytes,
            routes=sorted(p for p in self.route_paths if not p.startswith(("/docs", "/openapi", "/static"))),
        )
        if self.task == "generate":
            described["max_new_tokens"] = limits.max_new_tokens
        if self.task == "fill-mask" and self.engines:
            described["mask_token"] = self.model.tokenizer.mask_token
        return described

    def _max_input_length(self) -> int | None:
        engine = next(iter(self.engines.values()), None)
        if engine is None:
            return self.limits.max_input_length
        return getattr(engine, "max_length", self.limits.max_input_length)

    def _model_type(self) -> dict[str, Any]:
        """TEI's description of what the model does."""
        config = self.core.config
        if self.task == "embed":
            pooling = [m for m in self.model.layers if type(m).__name__ == "Pooling"]
            modes = pooling[0].modes if pooling else []
            return {"embedding": {"pooling": "+".join(modes) if isinstance(modes, (list, tuple)) else str(modes),
                                  "dimension": self.model.get_sentence_embedding_dimension()}}
        if self.task in ("classify", "rerank"):
            kind = "reranker" if self.task == "rerank" else "classifier"
            return {kind: {"id2label": {str(k): v for k, v in config.id2label.items()}}}
        return {self.task: {}}


def _version() -> str:
    from .. import __version__

    return __version__


# ---- the application -----------------------------------------------------------------------------------------------


def create_app(
    task: str = "embed",
    model: Any = None,
    *,
    load: Callable[[], Any] | None = None,
    model_name: str = "model",
    limits: Limits | None = None,
    api_key: str | None = None,
    model_process: bool = False,
) -> FastAPI:
    """The ASGI application serving `model` (a SentenceEncoder for "embed", a CrossEncoder for "rerank", else the
    task's pipeline), or the model `load()` returns — called in a thread once the server runs, /health answering 503
    until it is ready. `model_process`: run the embedding passes of a model on the CPU in a process of their own
    (worker.py), so that they and the HTTP work never wait for each other's GIL; other tasks run in this process."""
    if (model is None) == (load is None):
        raise ValueError("Pass the loaded model (model=...) or a function that loads it (load=...), not both.")
    state = ServerState(task, model_name, limits or Limits(), api_key, model_process)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.batcher.start()
        loading = asyncio.ensure_future(state.load(load)) if load is not None else None
        if model is not None:
            await asyncio.to_thread(state.install, model)
        try:
            yield
        finally:
            if loading is not None:
                loading.cancel()
            await asyncio.to_thread(state.batcher.close)  # in-flight work is finished first
            for engine in state.engines.values():
                getattr(engine, "close", lambda: None)()

    from .. import __version__

    app = FastAPIOffline(  # FastAPI, with /docs' Swagger UI served from here (no CDN: it works offline)
        static_url=DOCS_STATIC, title="mintformers", version=__version__, lifespan=lifespan, strict_content_type=False,
        redoc_url=None,
        description="Embeddings, reranking, classification, task pipelines and generation, with TEI-, TGI- and "
        "OpenAI-compatible routes and dynamic batching.",
    )
    app.state.server = state
    root = _task_routes(app, state)
    _common_routes(app, state, root)
    _error_handlers(app, state)
    app.add_middleware(Guard, state=state)
    state.route_paths = {getattr(route, "path", "") for route in app.routes} - {""}
    return app


def _task_routes(app: FastAPI, state: ServerState) -> tuple[type, Callable]:
    from .embedding import embedding_routes
    from .generate import generation_routes
    from .predict import classifier_routes, pipeline_routes, rerank_routes

    if state.task == "embed":
        return embedding_routes(app, state)
    if state.task == "rerank":
        return rerank_routes(app, state)
    if state.task == "classify":
        return classifier_routes(app, state)
    root = pipeline_routes(app, state)
    if state.task == "generate":
        root = generation_routes(app, state)  # POST / generates, as TGI's does
    return root


def _common_routes(app: FastAPI, state: ServerState, root: tuple[type, Callable]) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def playground() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.post("/", summary="The task's main route (TEI's and TGI's root)")
    async def root_route(request: Request, body: Annotated[dict[str, Any], Body()]) -> Response:
        model, handler = root
        try:
            parsed = model.model_validate(body)
        except ValidationError as e:
            raise RequestValidationError(e.errors(include_url=False)) from None
        return await handler(request, parsed)

    @app.get("/health", summary="200 once the model is loaded, 503 before (or if it failed)")
    async def health() -> Response:
        body: dict[str, Any] = {"status": state.status, "model": state.model_name, "task": state.task}
        if state.error:
            body["error"] = state.error
        return json_response(body, 200 if state.status == "ok" else 503)

    @app.get("/info", summary="Model, family, dtype and limits")
    async def info() -> Response:
        return json_response(state.info())

    @app.get("/metrics", summary="Prometheus metrics")
    async def metrics() -> Response:
        return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/models", summary="The served model (OpenAI)")
    async def models() -> Response:
        card = {"id": state.model_name, "object": "model", "created": int(state.started), "owned_by": "mintformers"}
        return json_response({"object": "list", "data": [card]})

    @app.post("/tokenize", summary="Tokens of texts (TEI)")
    async def tokenize(body: TokenizeRequest) -> Response:
        texts = [body.inputs] if isinstance(body.inputs, str) else body.inputs
        state.check_batch_size(len(texts), "inputs")
        if body.prompt_name is not None or state.task == "embed":
            prompt = state.engine("embed").prompt(body.prompt_name) if state.task == "embed" else None
            if body.prompt_name is not None and state.task != "embed":
                raise ApiError(422, "prompt_name is for embedding models.", param="prompt_name")
            texts = [(prompt or "") + t for t in texts]
        tokens = await off_loop(sum(map(len, texts)), _tokens, state.tokenizer, texts, body.add_special_tokens)
        return json_response(tokens)

    @app.post("/decode", summary="Texts of token ids (TEI)")
    async def decode(body: DecodeRequest) -> Response:
        rows = [body.ids] if not body.ids or isinstance(body.ids[0], int) else body.ids
        state.check_batch_size(len(rows), "ids")
        tokenizer = state.tokenizer
        vocab = len(tokenizer)
        for row in rows:
            if any(not 0 <= i < vocab for i in row):  # type: ignore[union-attr]
                raise ApiError(422, f"ids hold token ids outside this model's vocabulary (0..{vocab - 1}).", param="ids")
        texts = [tokenizer.decode(row, skip_special_tokens=body.skip_special_tokens) for row in rows]
        return json_response(texts)


def _tokens(tokenizer: Any, texts: list[str], add_special_tokens: bool) -> list[list[dict[str, Any]]]:
    """TEI's /tokenize answer: per text, its tokens with their character spans (none for special tokens)."""
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    encoded = tokenizer(texts, add_special_tokens=add_special_tokens, return_offsets_mapping=True,
                        return_attention_mask=False, return_token_type_ids=False)
    out = []
    for text, ids, spans in zip(texts, encoded["input_ids"], encoded["offset_mapping"]):
        pieces = tokenizer.convert_ids_to_tokens(ids)
        tokens = []
        for token_id, piece, (start, stop) in zip(ids, pieces, spans):
            if token_id in special:
                tokens.append({"id": token_id, "text": piece, "special": True, "start": None, "stop": None})
            else:
                tokens.append({"id": token_id, "text": text[start:stop], "special": False, "start": start, "stop": stop})
        out.append(tokens)
    return out


# ---- errors ----------------------------------------------------------------------------------------------------


def _field(loc: tuple) -> str:
    """A validation error's location as the field path a client wrote (`inputs`, `texts.2`), without pydantic's
    union-member tags (`str`, `list[str]`)."""
    parts = [str(p) for p in loc if p != "body" and not (isinstance(p, str) and ("[" in p or p in _TYPE_TAGS))]
    return ".".join(parts) or "body"


_TYPE_TAGS = {"str", "int", "float", "bool", "list", "dict", "none"}


def _error_handlers(app: FastAPI, state: ServerState) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return error_response(request.url.path, exc.status, str(exc), exc.error_type, exc.param, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, exc: RequestValidationError) -> Response:
        errors = list(exc.errors())
        broken = next((e for e in errors if e.get("type") == "json_invalid"), None)
        if broken is not None:
            position = broken["loc"][1] if len(broken["loc"]) > 1 else "?"
            detail = (broken.get("ctx") or {}).get("error", "invalid JSON")
            return error_response(request.url.path, 400, f"The body is not valid JSON: {detail} (at character {position}).")
        by_field: dict[str, list[str]] = {}
        for error in errors:
            messages = by_field.setdefault(_field(tuple(error["loc"])), [])
            if error["msg"] not in messages:
                messages.append(error["msg"])
        message = "; ".join(f"{name}: {' or '.join(msgs)}" for name, msgs in by_field.items())
        return error_response(request.url.path, 422, message, param=next(iter(by_field), None))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        path, status = request.url.path, exc.status_code
        message = str(exc.detail)
        if status == 404:
            routes = ", ".join(state.info()["routes"])
            message = f"No route {path}; this server has {routes}."
        elif status == 405:
            message = f"{path} does not take {request.method}; it takes {(exc.headers or {}).get('Allow', 'another method')}."
        elif message == _BODY_PARSE_FAILED:
            cause = exc.__cause__
            if isinstance(cause, RecursionError):
                message = "The JSON body is nested too deeply to read; send a flat object."
            elif isinstance(cause, UnicodeDecodeError):
                message = "The body is not valid JSON: it is not UTF-8 text."
            else:
                message = f"The body could not be read: {type(cause).__name__}: {cause}."
        return error_response(path, status, message, headers=exc.headers)

    @app.exception_handler(ClientDisconnected)
    async def gone(request: Request, exc: ClientDisconnected) -> Response:
        return Response(status_code=499)  # nginx's "client closed request"; never delivered

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> Response:
        # Starlette logs the traceback (it re-raises after this answer)
        return error_response(request.url.path, 500, state.public_message(exc, log=False), "backend")
