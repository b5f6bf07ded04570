"""The dynamic-batching queue: rows from concurrent requests, packed into forward passes by one worker thread.

A request puts its rows (a text's token ids, a pipeline chunk, a prompt to continue) in the queue under a key —
rows under one key can share a forward pass — and awaits their results. The worker thread takes, each time it is
free, the oldest waiting row plus the waiting rows of its key closest to it in length (length-sorted packing: little
padding), up to `max_batch_rows` rows and `max_batch_tokens` padded tokens (rows × the longest), runs one pass, and
hands every row its result back on the event loop. Nothing waits on a timer: rows pile up while a pass runs, so the
batches grow with the load and a lone request is served at once.

A caller that goes away (its task is cancelled: the client disconnected) takes its waiting rows out of the queue, so
their work is never done; rows already in a pass are finished and dropped. Model work happens in the worker thread
only, so the event loop never waits for it.

    batcher = Batcher(run, max_batch_tokens=8192, max_batch_rows=64)   # run(key, rows) -> one result per row
    batcher.start()
    vectors = await batcher.submit("embed", [(12, ids_a), (7, ids_b)])   # (tokens, payload) per row
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..embeddings.batching import plan_batches

__all__ = ["Batcher", "Row", "BatchStats", "RowTooLong"]

logger = logging.getLogger(__name__)


class RowTooLong(ValueError):
    """A row longer than any pass may be (`max_batch_tokens`)."""

    def __init__(self, tokens: int, limit: int):
        super().__init__(f"A row of {tokens} tokens exceeds max_batch_tokens={limit}.")
        self.tokens, self.limit = tokens, limit


class _Ticket:
    """One request's rows: results are gathered here and handed to the awaiting task on its event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, size: int, on_event: Callable[[int, Any], None] | None):
        self.loop = loop
        self.future: asyncio.Future = loop.create_future()
        self.results: list[Any] = [None] * size
        self.missing = size
        self.cancelled = False
        self.on_event = on_event

    def resolve(self, index: int, result: Any) -> None:  # worker thread
        self.results[index] = result
        self.missing -= 1
        if self.missing == 0:
            self.loop.call_soon_threadsafe(_set_result, self.future, self.results)

    def fail(self, error: BaseException) -> None:  # worker thread
        self.loop.call_soon_threadsafe(_set_exception, self.future, error)


def _set_result(future: asyncio.Future, value: Any) -> None:
    if not future.done():  # the caller may have been cancelled meanwhile
        future.set_result(value)


def _set_exception(future: asyncio.Future, error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


@dataclass(eq=False)
class Row:
    """One row of model work, as the run function sees it."""

    key: Any
    tokens: int  # its length: what it costs in a padded batch
    payload: Any
    ticket: _Ticket = field(repr=False)
    index: int  # its place among its request's rows
    order: int  # arrival order over all rows

    @property
    def cancelled(self) -> bool:
        """True once its caller has gone (a long pass, e.g. generation, can stop working on it)."""
        return self.ticket.cancelled

    def emit(self, event: Any) -> None:
        """Hand a partial result (a streamed token) to the caller now, from the worker thread."""
        on_event = self.ticket.on_event
        if on_event is not None and not self.ticket.cancelled:
            self.ticket.loop.call_soon_threadsafe(on_event, self.index, event)


@dataclass
class BatchStats:
    """Totals since start: rows queued, forward passes run, rows and padded tokens in them, rows dropped before
    running."""

    queued_rows: int = 0
    passes: int = 0
    rows: int = 0
    padded_tokens: int = 0
    dropped_rows: int = 0


class Batcher:
    """Packs queued rows into batches and runs them, one at a time, in a worker thread.

    `run(key, rows)` does one batch (rows share `key`) and returns one result per row, in order; an exception fails
    every request with a row in that batch. `on_queue(rows)` is told about rows queued, `on_batch(rows,
    padded_tokens)` about each batch and `on_drop(rows)` about rows dropped from the queue (metrics).

    `pass_overhead(key)`: what one more forward pass costs, in padded tokens, for rows of that key (None: never
    split). The rows taken together are then cut into passes of similar lengths where the padding saved outweighs
    the extra passes (`embeddings.batching.plan_batches`, as `encode` cuts its batches): on a CPU a pass over 64
    sentences of 5 to 16 tokens costs more than two passes over the short and the long half.
    """

    def __init__(
        self,
        run: Callable[[Any, list[Row]], Sequence[Any]],
        *,
        max_batch_tokens: int,
        max_batch_rows: int,
        on_queue: Callable[[int], None] | None = None,
        on_batch: Callable[[int, int], None] | None = None,
        on_drop: Callable[[int], None] | None = None,
        pass_overhead: Callable[[Any], float | None] | None = None,
        name: str = "mintformers-batcher",
    ):
        if max_batch_tokens < 1 or max_batch_rows < 1:
            raise ValueError(f"max_batch_tokens ({max_batch_tokens}) and max_batch_rows ({max_batch_rows}) must be >= 1.")
        self.run = run
        self.max_batch_tokens = max_batch_tokens
        self.max_batch_rows = max_batch_rows
        self.on_queue = on_queue
        self.on_batch = on_batch
        self.on_drop = on_drop
        self.pass_overhead = pass_overhead
        self.stats = BatchStats()
        self._waiting: list[Row] = []  # in arrival order
        self._condition = threading.Condition()
        self._closing = False
        self._counter = itertools.count()
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)

    # ---- the caller's side (event loop) -----------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def close(self, timeout: float | None = None) -> None:
        """Stop taking rows; the worker finishes what is queued, then exits (waited for up to `timeout` s)."""
        with self._condition:
            self._closing = True
            self._condition.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def queued(self) -> int:
        """Rows waiting for a pass."""
        return len(self._waiting)

    async def submit(
        self, key: Any, rows: Sequence[tuple[int, Any]], on_event: Callable[[int, Any], None] | None = None
    ) -> list[Any]:
        """Queue `rows` — (tokens, payload) pairs — under `key` and wait for their results, in order.

        `on_event(index, event)` is called on this event loop for each partial result a row emits (streaming).
        Cancelling the awaiting task takes the rows that have not started out of the queue.
        """
        if not rows:
            return []
        longest = max(tokens for tokens, _ in rows)
        if longest > self.max_batch_tokens:  # no pass could take it
            raise RowTooLong(longest, self.max_batch_tokens)
        ticket = _Ticket(asyncio.get_running_loop(), len(rows), on_event)
        with self._condition:
            if self._closing:
                raise RuntimeError("The server is shutting down.")
            self._waiting.extend(
                Row(key, tokens, payload, ticket, i, next(self._counter)) for i, (tokens, payload) in enumerate(rows)
            )
            self.stats.queued_rows += len(rows)
            self._condition.notify()
        if self.on_queue is not None:
            self.on_queue(len(rows))
        try:
            return await ticket.future
        except asyncio.CancelledError:
            ticket.cancelled = True
            with self._condition:
                before = len(self._waiting)
                self._waiting = [row for row in self._waiting if row.ticket is not ticket]
                dropped = before - len(self._waiting)
            self.stats.dropped_rows += dropped
            if dropped and self.on_drop is not None:
                self.on_drop(dropped)
            raise

    # ---- the worker thread ------------------------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            with self._condition:
                while not self._waiting and not self._closing:
                    self._condition.wait()
                if not self._waiting:
                    return
                batch = self._take()
            overhead = self.pass_overhead(batch[0].key) if self.pass_overhead is not None else None
            if overhead is None or len(batch) == 1:
                self._run(batch)
                continue
            batch.sort(key=lambda row: -row.tokens)
            for start, end in plan_batches([row.tokens for row in batch], self.max_batch_rows, overhead):
                self._run(batch[start:end])

    def _take(self) -> list[Row]:
        """The oldest row, and the rows of its key nearest to it in length, within the limits (lock held)."""
        anchor = self._waiting[0]
        candidates = sorted(
            (row for row in self._waiting if row.key == anchor.key),
            key=lambda row: (abs(row.tokens - anchor.tokens), row.order),
        )
        batch: list[Row] = []
        longest = 0
        for row in candidates:
            if len(batch) == self.max_batch_rows:
                break
            wider = max(longest, row.tokens)
            if batch and wider * (len(batch) + 1) > self.max_batch_tokens:
                continue  # a shorter row further on may still fit
            batch.append(row)
            longest = wider
        taken = set(map(id, batch))
        self._waiting = [row for row in self._waiting if id(row) not in taken]
        return batch

    def _run(self, batch: list[Row]) -> None:
        live = [row for row in batch if not row.cancelled]
        if not live:
            return
        padded = len(live) * max(row.tokens for row in live)
        self.stats.passes += 1
        self.stats.rows += len(live)
        self.stats.padded_tokens += padded
        if self.on_batch is not None:
            self.on_batch(len(live), padded)
        try:
            results = self.run(live[0].key, live)
            if len(results) != len(live):
                raise RuntimeError(f"The batch function returned {len(results)} results for {len(live)} rows.")
        except Exception as error:
            tickets = {id(row.ticket): row.ticket for row in live}
            if len(tickets) == 1:
                next(iter(tickets.values())).fail(error)
            else:  # one request's input may be at fault: run each request alone, so only that one fails
                for ticket in tickets.values():
                    self._run([row for row in live if row.ticket is ticket])
            return
        for row, result in zip(live, results):
            row.ticket.resolve(row.index, result)
