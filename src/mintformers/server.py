"""`mintformers serve`: one model behind a small JSON API over HTTP, on the standard library's server.

    mintformers serve                                           # embeddings, the bundled all-MiniLM-L6-v2
    mintformers serve classify --model path/to/checkpoint --port 8000

Routes. Bodies are JSON objects; an error is {"error": "..."} with status 400 (bad input or option), 404, 405,
411, 413 or 500:

    GET  /health           → {"status": "ok", "task": ..., "model": ..., "routes": [...]}
    POST /embed            {"inputs": text | [texts], "normalize": false, "prompt": null}
                           → {"embeddings": [[float, ...], ...]}, one vector per text (task "embed")
    POST /predict          {"inputs": ..., "parameters": {...}} → {"outputs": ...}: what the task's pipeline returns
                           for `pipe(inputs, **parameters)` (every task but "embed")
    POST /generate_stream  {"inputs": prompt, "parameters": {...}} → server-sent events as text is produced:
                           `data: {"token": "..."}` per piece, then `data: {"generated_text": "...", "done": true}`
                           (task "generate"; a client that disconnects stops the generation)

Requests use the model one at a time (a lock: one forward already uses every core). The server has no
authentication and binds 127.0.0.1 by default: put it behind a proxy that authenticates before exposing it.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import torch

from .generation import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

__all__ = ["MAX_BODY_BYTES", "RequestError", "Service", "make_server"]

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024 * 1024


class RequestError(Exception):
    """A request the server refuses: `status` is the HTTP status, the message goes back as {"error": ...}."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class Service:
    """What each route does with the model. `runner`: a SentenceEncoder for task "embed" (texts per forward pass:
    `batch_size`), else the task's pipeline."""

    def __init__(self, task: str, model_name: str, runner: Any, batch_size: int = 32):
        self.task, self.model_name, self.runner, self.batch_size = task, model_name, runner, batch_size
        self.lock = threading.Lock()
        if task == "embed":
            self.routes: dict[str, Callable[[dict], Any]] = {"/embed": self.embed}
        else:
            self.routes = {"/predict": self.predict}
            if task == "generate":
                self.routes["/generate_stream"] = self.generate_stream

    def health(self) -> dict[str, Any]:
        return {"status": "ok", "task": self.task, "model": self.model_name, "routes": ["/health", *self.routes]}

    def embed(self, body: dict) -> dict[str, Any]:
        inputs = body.get("inputs")
        texts = [inputs] if isinstance(inputs, str) else inputs
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            raise RequestError(400, '"inputs" must be a text or a non-empty list of texts.')
        normalize, prompt = body.get("normalize", False), body.get("prompt")
        if not isinstance(normalize, bool):
            raise RequestError(400, '"normalize" must be true or false.')
        if prompt is not None and not isinstance(prompt, str):
            raise RequestError(400, '"prompt" must be a text (prepended to every input) or null.')
        with self.lock:
            vectors = self.runner.encode(texts, self.batch_size, normalize_embeddings=normalize, prompt=prompt)
        return {"embeddings": vectors.tolist()}

    def predict(self, body: dict) -> dict[str, Any]:
        inputs, parameters = _inputs(body), _parameters(body)
        with self.lock:
            return {"outputs": self.runner(inputs, **parameters)}

    def generate_stream(self, body: dict) -> Iterator[dict[str, Any]]:
        """Events of one streamed generation. The handler computes the first before sending anything, so bad
        options still get a plain 400; closing the iterator (the client left) stops the generation at its next
        step and returns once it has."""
        prompt, parameters = _inputs(body), _parameters(body)
        if not isinstance(prompt, str):
            raise RequestError(400, '"inputs" must be the prompt text.')
        if "streamer" in parameters or "stopping_criteria" in parameters:
            raise RequestError(400, "streamer and stopping_criteria are set by the server.")
        streamer = TextIteratorStreamer(self.runner.tokenizer, skip_prompt=True, skip_special_tokens=True)  # as the pipeline decodes
        cancelled = threading.Event()
        outputs: list[Any] = []

        def work() -> None:
            with self.lock:
                try:
                    criteria = StoppingCriteriaList([_Cancelled(cancelled)])
                    outputs.append(self.runner(prompt, streamer=streamer, stopping_criteria=criteria, **parameters))
                except BaseException as error:  # also a failure before generate() started: the stream raises it
                    streamer.on_error(error)

        worker = threading.Thread(target=work, name="mintformers-generate", daemon=True)
        worker.start()
        try:
            for piece in streamer:
                yield {"token": piece}
            worker.join()
            yield {"generated_text": outputs[0][0]["generated_text"], "done": True}
        finally:
            cancelled.set()
            worker.join()


class _Cancelled(StoppingCriteria):
    """Every row is done once `event` is set."""

    def __init__(self, event: threading.Event):
        self.event = event

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor | None = None, **kwargs) -> torch.BoolTensor:
        return torch.full((input_ids.shape[0],), self.event.is_set(), device=input_ids.device)


def _inputs(body: dict) -> Any:
    if body.get("inputs") is None:
        raise RequestError(400, 'The request needs "inputs".')
    return body["inputs"]


def _parameters(body: dict) -> dict[str, Any]:
    parameters = body.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise RequestError(400, '"parameters" must be an object of the task\'s options.')
    return parameters


_INPUT_ERRORS = (ValueError, TypeError, KeyError)  # how the library reports bad inputs and options


def _request_error(error: BaseException) -> RequestError | None:
    """A 400 for an input error, also one raised in the generation thread (the streamer re-raises it as the cause
    of a RuntimeError); None for anything else."""
    while isinstance(error, RuntimeError) and error.__cause__ is not None:
        error = error.__cause__
    return RequestError(400, str(error)) if isinstance(error, _INPUT_ERRORS) else None


def _jsonable(value: Any) -> Any:
    """numpy scalars/arrays and tensors that pipelines may return → plain JSON values."""
    if hasattr(value, "tolist"):  # numpy scalars have it too
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def make_server(service: Service, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """An HTTP server for `service` (port 0 picks a free port: see `server.server_address`). Run it with
    `serve_forever()`; `shutdown()` from another thread stops it."""
    from . import __version__

    class Handler(BaseHTTPRequestHandler):
        server_version = f"mintformers/{__version__}"

        def do_GET(self) -> None:
            if self.path == "/health":
                self._send(200, service.health())
            elif self.path in service.routes:
                self._send(405, {"error": f"{self.path} takes POST with a JSON body."})
            else:
                self._not_found()

        def do_POST(self) -> None:
            route = service.routes.get(self.path)
            if route is None:
                if self.path == "/health":
                    self._send(405, {"error": "/health takes GET."})
                else:
                    self._not_found()
                return
            try:
                result = route(self._body())
                if isinstance(result, dict):
                    self._send(200, result)
                else:
                    self._stream(result)
            except Exception as e:
                refused = e if isinstance(e, RequestError) else _request_error(e)
                if refused is not None:
                    self._send(refused.status, {"error": str(refused)})
                    return
                logger.exception("%s failed", self.path)
                self._send(500, {"error": f"internal error ({type(e).__name__}: {e}); see the server's log."})

        def _body(self) -> dict:
            length = self.headers.get("Content-Length")
            if length is None:
                raise RequestError(411, "Send the body with a Content-Length header.")
            if not length.isdigit() or int(length) > MAX_BODY_BYTES:
                raise RequestError(413, f"The body must be at most {MAX_BODY_BYTES} bytes; send fewer inputs per request.")
            try:
                body = json.loads(self.rfile.read(int(length)) or b"null")
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                raise RequestError(400, f"The body is not valid JSON: {e}.") from None
            if not isinstance(body, dict):
                raise RequestError(400, 'The body must be a JSON object, e.g. {"inputs": ...}.')
            return body

        def _send(self, status: int, payload: dict) -> None:
            data = json.dumps(payload, ensure_ascii=False, default=_jsonable).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, events: Iterator[dict]) -> None:
            """Server-sent events; the first event is computed before the headers go out."""
            event: dict | None = next(events)
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()  # no Content-Length: the response ends when the connection closes
            self.close_connection = True
            try:
                while event is not None:
                    self._event(event)
                    event = next(events, None)
            except (BrokenPipeError, ConnectionResetError):
                logger.info("%s: the client left; generation stopped", self.path)
            except Exception as e:  # the status line is gone: the error becomes the last event
                refused = _request_error(e)
                if refused is None:
                    logger.exception("%s failed while streaming", self.path)
                self._event({"error": str(refused or e) or type(e).__name__})
            finally:
                events.close()  # type: ignore[attr-defined]

        def _event(self, payload: dict) -> None:
            self.wfile.write(f"data: {json.dumps(payload, ensure_ascii=False, default=_jsonable)}\n\n".encode())
            self.wfile.flush()

        def _not_found(self) -> None:
            self._send(404, {"error": f"No route {self.path}; this server has {', '.join(service.health()['routes'])}."})

        def log_message(self, format: str, *args: Any) -> None:  # access log through logging, not stderr
            logger.info("%s %s", self.address_string(), format % args)

    return ThreadingHTTPServer((host, port), Handler)
