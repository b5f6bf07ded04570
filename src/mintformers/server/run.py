"""Running the application on uvicorn: a bound socket, a deadline for request headers, graceful stops.

    sock = bind("127.0.0.1", 8000)       # OSError here (port taken) before anything else happens
    serve(app, sock)                     # until SIGTERM / Ctrl-C: stop accepting, finish in-flight requests, return

    with BackgroundServer(app) as url:   # the same in a thread, on a free port (tests, notebooks, benchmarks)
        httpx.post(url + "/embed", json={"inputs": "hello"})

uvicorn's HTTP/1.1 protocols close a keep-alive connection that stays idle, but wait forever for the first request
on a new connection and for headers sent a byte at a time; `_HeaderDeadline` adds a deadline for both, so idle and
slow-loris connections are closed (they cost a socket each, never a thread: everything runs on one event loop).
httptools parses HTTP in C (uvicorn's fast path, in the server extra); h11 is the fallback.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
from collections.abc import Iterator
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools is not installed
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

__all__ = ["bind", "serve", "BackgroundServer", "Server"]


class _HeaderDeadline:
    """A deadline (`header_timeout` s) for the request line and headers of each request on a connection, added to
    one of uvicorn's HTTP/1.1 protocols; `_waiting()` says whether a request's headers are still to come."""

    header_timeout = 10.0
    _header_timer: Any = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing():  # type: ignore[attr-defined]
            self._arm()  # the next request on this connection gets the same deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._expire)  # type: ignore[attr-defined]

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _expire(self) -> None:
        self._header_timer = None
        if self._waiting() and not self.transport.is_closing():  # type: ignore[attr-defined]
            self.transport.close()  # type: ignore[attr-defined]

    def _waiting(self) -> bool:
        raise NotImplementedError


class _H11Protocol(_HeaderDeadline, H11Protocol):
    """Pure Python h11: the fallback when httptools is not installed."""

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self._waiting():  # a whole request line and headers arrived
            self._disarm()

    def _waiting(self) -> bool:
        return self.conn.their_state is h11.IDLE


if HttpToolsProtocol is not None:

    class _HttpToolsProtocol(_HeaderDeadline, HttpToolsProtocol):
        """httptools' C parser (uvicorn's fast path): a few hundred microseconds less per request than h11."""

        _headers_done = False

        def on_headers_complete(self) -> None:
            self._headers_done = True
            self._disarm()
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            self._headers_done = False
            super().on_response_complete()

        def _waiting(self) -> bool:
            return not self._headers_done


class Server(uvicorn.Server):
    """uvicorn's server, stopping on SIGTERM as on Ctrl-C and then returning (uvicorn re-raises the signal after
    its graceful shutdown, which would end the process with the signal's status instead of 0)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def bind(host: str = "127.0.0.1", port: int = 8000) -> socket.socket:
    """A listening socket (port 0: a free one). Raises OSError when the address is taken or not local."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _config(app: Any, sock: socket.socket, access_log: bool) -> uvicorn.Config:
    limits = app.state.server.limits
    base = _HttpToolsProtocol if HttpToolsProtocol is not None else _H11Protocol
    protocol = type("Protocol", (base,), {"header_timeout": limits.header_timeout})
    host, port = sock.getsockname()[:2]
    return uvicorn.Config(
        app, host=host, port=port, http=protocol, lifespan="on", log_config=None, access_log=access_log,
        timeout_keep_alive=5, timeout_graceful_shutdown=60, server_header=False,
    )


def serve(app: Any, sock: socket.socket, *, access_log: bool = False) -> None:
    """Serve until SIGTERM or Ctrl-C, then stop gracefully: no new connections, in-flight requests (streams too)
    finished, queued work done. Raises RuntimeError if the model failed to load."""
    server = Server(_config(app, sock, access_log))
    state = app.state.server
    state.stop_server = lambda: setattr(server, "should_exit", True)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    if state.status == "failed":
        raise RuntimeError(f"The model could not be loaded: {state.error}")


class BackgroundServer:
    """The app served from a thread on `host`:`port` (0: a free port); `url` once started. A context manager."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, *, access_log: bool = False):
        self.app = app
        self.sock = bind(host, port)
        self.server = Server(_config(app, self.sock, access_log))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True,
                                       name="mintformers-server")
        host, port = self.sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"

    def start(self, timeout: float = 60.0) -> str:
        self.thread.start()
        waited = threading.Event()
        while not self.server.started and self.thread.is_alive() and not waited.wait(0.01):
            timeout -= 0.01
            if timeout <= 0:
                raise TimeoutError("The server did not start.")
        if not self.server.started:
            raise RuntimeError("The server stopped during start-up; see the log.")
        return self.url

    def stop(self, timeout: float = 60.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        self.sock.close()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
