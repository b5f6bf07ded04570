"""The ASGI middleware in front of every route: API key, body type and size, time to send the body, the
concurrency limit, and per-request metrics.

Refusals that need no body are answered before the body is read: 401 (no or wrong API key), 415 (a body that is not
JSON), 413 (Content-Length over --max-payload-bytes; the connection is closed, so the rest is never read), 429 with
Retry-After (--max-concurrent-requests being served). A body that turns out larger than announced, or that takes
longer than `body_timeout` to arrive, gets 413 / 408.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .common import error_response

if TYPE_CHECKING:
    from .app import ServerState

__all__ = ["Guard", "OPEN_PATHS"]

# Reachable without the API key (GET): liveness, the API's description, and the playground page (which asks for the key).
OPEN_PATHS = ("/health", "/", "/docs", "/openapi.json", "/favicon.ico")


def _open(path: str, method: str) -> bool:
    return method in ("GET", "HEAD") and (path in OPEN_PATHS or path.startswith("/static/"))


class Guard:
    def __init__(self, app: ASGIApp, state: ServerState):
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = self.state
        path, method = scope["path"], scope["method"]
        started = time.perf_counter()
        status = 500  # unless a response starts

        async def tracked(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        refusal = self._refusal(scope, path, method)
        counted = refusal is None and method == "POST"
        try:
            if refusal is not None:
                await refusal(scope, receive, tracked)
                return
            if counted:
                state.in_flight += 1
                state.metrics.in_flight.inc()
            await self.app(scope, self._limited(receive, scope), tracked)
        finally:
            if counted:
                state.in_flight -= 1
                state.metrics.in_flight.dec()
            route = path if path in state.route_paths else "other"  # bounded label values
            state.metrics.observe_request(route, status, time.perf_counter() - started)

    def _refusal(self, scope: Scope, path: str, method: str):
        """The response refusing this request from its headers alone, or None."""
        state, limits = self.state, self.state.limits
        headers = dict(scope["headers"])
        if state.api_key is not None and not _open(path, method):
            given = headers.get(b"authorization", b"").decode("latin-1")
            scheme, _, token = given.partition(" ")
            if scheme.lower() != "bearer" or not secrets.compare_digest(token.strip().encode(), state.api_key.encode()):
                return error_response(path, 401, "Missing or wrong API key: send the header `Authorization: Bearer <key>`.",
                                      "unauthorized", headers={"WWW-Authenticate": "Bearer"})
        if method != "POST":
            return None
        kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if kind and kind != b"application/json" and not kind.endswith(b"+json"):
            return error_response(
                path, 415, f"The body must be JSON, sent with `Content-Type: application/json` (got {kind.decode('latin-1')!r}; "
                "curl: add -H 'Content-Type: application/json').", "validation",
            )
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limits.max_payload_bytes:
            return error_response(
                path, 413, f"The body has {int(length)} bytes; this server takes at most {limits.max_payload_bytes} "
                "(--max-payload-bytes). Send fewer or shorter inputs per request.", "validation",
                headers={"Connection": "close"},
            )
        if state.in_flight >= limits.max_concurrent_requests:
            return error_response(
                path, 429, f"The server is serving its maximum of {limits.max_concurrent_requests} requests "
                "(--max-concurrent-requests); retry after the time in Retry-After.", "overloaded",
                headers={"Retry-After": "1"},
            )
        return None

    def _limited(self, receive: Receive, scope: Scope) -> Receive:
        """`receive`, refusing a body over the size limit or slower than the body timeout."""
        limits = self.state.limits
        deadline = asyncio.get_running_loop().time() + limits.body_timeout
        size = 0
        body_done = scope["method"] not in ("POST", "PUT", "PATCH")

        async def receive_limited() -> Message:
            nonlocal size, body_done
            if body_done:  # after the body: waiting for a disconnect is not limited
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise HTTPException(408, f"The body did not arrive within {limits.body_timeout:g} s.",
                                    headers={"Connection": "close"}) from None
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > limits.max_payload_bytes:
                    raise HTTPException(413, f"The body is larger than this server takes ({limits.max_payload_bytes} "
                                             "bytes, --max-payload-bytes). Send fewer or shorter inputs per request.",
                                        headers={"Connection": "close"})
                body_done = not message.get("more_body", False)
            else:
                body_done = True
            return message

        return receive_limited
