"""The forward pass in a process of its own (`mintformers serve`'s way of running embeddings on a CPU).

In one process the batcher thread's forward pass and the event loop's HTTP work take turns at Python's GIL: every
torch call hands it over and must win it back, and under load the loop holds it for bursts of requests (parsing,
validation, tokenizing, JSON): with 64 clients on all-MiniLM-L6-v2 a pass took ~12% longer than its CPU time. With
the passes in a child process the two never wait for each other — 0.86x offline `encode` instead of 0.80x, 2 cores,
benchmarks/bench_server.py (vLLM runs its engine apart from its API server for the same reason).

The child is started with `spawn` (a fork would inherit the OpenMP pool of a process that already ran torch, and
hang in its first parallel region). It gets a pickled copy of the engine — its own copy of the weights: torch's
shared-memory tensors would need a /dev/shm that containers often cap at 64 MB — and the parent's torch thread count.
It ignores SIGINT and SIGTERM, so that Ctrl-C or a stop signal to the whole process group lets the server finish its
in-flight requests first; it exits when the server closes it, or when the server is gone (its pipe ends).

    process = ModelProcess(engine)      # engine.forward(key, payloads) -> one result per payload
    process.start()                     # returns once the child has the model
    results = process.run(key, payloads)
    process.close()
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import pickle
import signal
import threading
from typing import Any

__all__ = ["ModelProcess"]

logger = logging.getLogger("mintformers.server")

START_TIMEOUT = 300.0  # seconds for the child to import torch and unpickle the model


class ModelProcess:
    """A child process running `engine.forward(key, payloads)`, one call at a time. A child that dies (killed, out
    of memory) fails the call it was running and is started again for the next one."""

    def __init__(self, engine: Any, threads: int | None = None):
        import torch

        self.engine = engine
        self.threads = threads or torch.get_num_threads()
        self._lock = threading.Lock()
        self._process: Any = None
        self._conn: Any = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        with self._lock:
            self._start()

    def run(self, key: Any, payloads: list[Any]) -> list[Any]:
        with self._lock:
            if self._process is None or not self._process.is_alive():
                self._start()
            try:
                self._conn.send((key, payloads))
                status, value = self._conn.recv()
            except (EOFError, OSError):
                how = self._stopped()
                raise RuntimeError(f"The model process died during a forward pass ({how}); it is started again for "
                                   "the next one.") from None
        if status == "error":
            raise value
        return value

    def close(self, timeout: float = 30.0) -> None:
        with self._lock:
            if self._process is None:
                return
            with contextlib.suppress(OSError):
                self._conn.send(None)
            self._reap(timeout)

    # ---- lock held ---------------------------------------------------------------------------------------------------
    def _start(self) -> None:
        if self._process is not None:
            self._stopped()
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(target=_serve, args=(theirs, self.threads), daemon=True, name="mintformers-model")
        process.start()
        theirs.close()  # the child's end: once the child is gone, recv() here ends with EOFError
        self._process, self._conn = process, ours
        try:
            ours.send_bytes(pickle.dumps(self.engine))  # plain pickle: a copy, not shared memory (see above)
            if not ours.poll(START_TIMEOUT):
                self._stopped()
                raise RuntimeError(f"The model process did not start within {START_TIMEOUT:g} s.")
            status, value = ours.recv()
        except (EOFError, OSError):
            how = self._stopped()
            raise RuntimeError(f"The model process could not start ({how}); see its output above.") from None
        if status == "error":
            self._stopped()
            raise value
        logger.info("model process %d started (%d torch threads)", process.pid, self.threads)

    def _stopped(self) -> str:
        """Reap a child that ended (or must end) unasked; how it ended, in words."""
        pid = self._process.pid
        code = self._reap(5)
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit status {code}"
        logger.error("model process %d ended: %s", pid, how)
        return how

    def _reap(self, timeout: float) -> int | None:
        """Wait up to `timeout` s for the child to exit (then kill it); forget it. Its exit code."""
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            conn.close()
        process.join(timeout)
        if process.is_alive():
            process.kill()
            process.join()
        return process.exitcode


def _portable(error: BaseException) -> BaseException:
    """`error` if it survives pickling (the parent re-raises it: a ValueError still answers 422), else a
    RuntimeError saying what it was."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")


def _serve(conn: Any, threads: int) -> None:
    """The child: take the model, then answer forward calls until told to stop or the server is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when its model stops (after in-flight work)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        import torch

        torch.set_num_threads(threads)
        engine = pickle.loads(conn.recv_bytes())
    except BaseException as error:
        conn.send(("error", _portable(error)))
        return
    conn.send(("ready", None))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the server is gone
        if message is None:
            return
        key, payloads = message
        try:
            reply = ("ok", engine.forward(key, payloads))
        except Exception as error:
            reply = ("error", _portable(error))
        conn.send(reply)
