"""mintformers.server.batching: the queue alone, without HTTP — packing by length within the limits, results back
in order, cancelled callers' rows never run, a failing request does not fail the others."""

from __future__ import annotations

import asyncio
import threading

import pytest

from mintformers.server.batching import Batcher


class Recorder:
    """A batch function that records each batch's (key, payloads) and returns payload * 10; `gate` holds the
    first batch until set, so that later rows pile up in the queue."""

    def __init__(self, hold_first: bool = False):
        self.batches: list[tuple] = []
        self.gate = threading.Event()
        self.started = threading.Event()
        if not hold_first:
            self.gate.set()

    def __call__(self, key, rows):
        self.batches.append((key, [row.payload for row in rows]))
        self.started.set()
        self.gate.wait(10)
        if any(row.payload == "boom" for row in rows):
            raise ValueError("bad row")
        return [row.payload * 10 for row in rows]


def run(coroutine):
    return asyncio.run(coroutine)


async def queued(batcher: Batcher, rows: int) -> None:
    """Until `rows` rows wait in the queue (the submitting tasks have run)."""
    for _ in range(1000):
        if batcher.queued == rows:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{batcher.queued} rows queued, not {rows}")


async def _started(batcher: Batcher, recorder: Recorder, key="k"):
    """Submit a first row and wait until the worker holds it (so the next rows queue up)."""
    first = asyncio.ensure_future(batcher.submit(key, [(1, 0)]))
    await asyncio.to_thread(recorder.started.wait, 10)
    return first


def test_rows_pile_up_and_share_a_pass_in_order():
    recorder = Recorder(hold_first=True)
    batcher = Batcher(recorder, max_batch_tokens=1000, max_batch_rows=64)
    batcher.start()

    async def main():
        first = await _started(batcher, recorder)
        requests = [asyncio.ensure_future(batcher.submit("k", [(3, i), (5, i + 100)])) for i in range(1, 11)]
        await queued(batcher, 20)
        recorder.gate.set()
        return await first, await asyncio.gather(*requests)

    first, results = run(main())
    batcher.close()
    assert first == [0]
    assert results == [[i * 10, (i + 100) * 10] for i in range(1, 11)]  # each caller its rows, in its order
    assert len(recorder.batches) == 2  # the held row, then all 20 queued rows in one pass
    assert batcher.stats.passes == 2 and batcher.stats.rows == 21 == batcher.stats.queued_rows


def test_packing_respects_rows_and_padded_tokens_and_sorts_by_length():
    recorder = Recorder(hold_first=True)
    batcher = Batcher(recorder, max_batch_tokens=40, max_batch_rows=4)
    batcher.start()
    lengths = [10, 2, 9, 3, 10, 2, 8, 3, 1]

    async def main():
        first = await _started(batcher, recorder)
        requests = [asyncio.ensure_future(batcher.submit("k", [(n, f"{i}:{n}")])) for i, n in enumerate(lengths)]
        await queued(batcher, len(lengths))
        recorder.gate.set()
        await first
        return await asyncio.gather(*requests)

    run(main())
    batcher.close()
    passes = [payloads for _, payloads in recorder.batches[1:]]
    for payloads in passes:
        sizes = [int(p.split(":")[1]) for p in payloads]
        assert len(sizes) <= 4 and len(sizes) * max(sizes) <= 40
    # the oldest row (10 tokens) goes first, with the rows nearest its length: 10, 9, 8 (3 rows x 10 = 30 <= 40)
    assert sorted(int(p.split(":")[1]) for p in passes[0]) == [8, 9, 10, 10]
    assert sorted(p for ps in passes for p in ps) == sorted(f"{i}:{n}" for i, n in enumerate(lengths))


def test_keys_never_mix():
    recorder = Recorder(hold_first=True)
    batcher = Batcher(recorder, max_batch_tokens=1000, max_batch_rows=64)
    batcher.start()

    async def main():
        first = await _started(batcher, recorder)
        requests = [asyncio.ensure_future(batcher.submit(key, [(1, i)])) for i, key in enumerate("abab")]
        await queued(batcher, 4)
        recorder.gate.set()
        await first
        return await asyncio.gather(*requests)

    assert run(main()) == [[0], [10], [20], [30]]
    batcher.close()
    assert [(key, sorted(p)) for key, p in recorder.batches[1:]] == [("a", [0, 2]), ("b", [1, 3])]


def test_a_cancelled_caller_is_dropped_from_the_queue_and_its_rows_never_run():
    recorder = Recorder(hold_first=True)
    drops = []
    batcher = Batcher(recorder, max_batch_tokens=1000, max_batch_rows=64, on_drop=drops.append)
    batcher.start()

    async def main():
        first = await _started(batcher, recorder)
        leaving = asyncio.ensure_future(batcher.submit("k", [(1, "gone-1"), (1, "gone-2")]))
        staying = asyncio.ensure_future(batcher.submit("k", [(1, 7)]))
        await queued(batcher, 3)
        leaving.cancel()  # what the server does when the client disconnects
        await queued(batcher, 1)
        recorder.gate.set()
        await first
        with pytest.raises(asyncio.CancelledError):
            await leaving
        return await staying

    assert run(main()) == [70]
    batcher.close()
    ran = [p for _, payloads in recorder.batches for p in payloads]
    assert "gone-1" not in ran and "gone-2" not in ran
    assert drops == [2] and batcher.stats.dropped_rows == 2


def test_a_failing_request_fails_alone():
    recorder = Recorder(hold_first=True)
    batcher = Batcher(recorder, max_batch_tokens=1000, max_batch_rows=64)
    batcher.start()

    async def main():
        first = await _started(batcher, recorder)
        good = asyncio.ensure_future(batcher.submit("k", [(1, 1), (1, 2)]))
        bad = asyncio.ensure_future(batcher.submit("k", [(1, "boom")]))
        await queued(batcher, 3)
        recorder.gate.set()
        await first
        with pytest.raises(ValueError, match="bad row"):
            await bad
        return await good

    assert run(main()) == [10, 20]  # the shared pass failed; each request was then run alone
    batcher.close()


def test_limits_and_closing():
    with pytest.raises(ValueError, match="must be >= 1"):
        Batcher(Recorder(), max_batch_tokens=0, max_batch_rows=4)
    recorder = Recorder()
    batcher = Batcher(recorder, max_batch_tokens=10, max_batch_rows=4)
    batcher.start()
    with pytest.raises(ValueError, match="exceeds max_batch_tokens=10"):
        run(batcher.submit("k", [(11, 1)]))
    assert run(batcher.submit("k", [])) == []
    batcher.close()
    with pytest.raises(RuntimeError, match="shutting down"):
        run(batcher.submit("k", [(1, 1)]))
