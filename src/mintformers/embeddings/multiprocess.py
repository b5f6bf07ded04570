"""Encoding (or cross-encoder scoring) on several processes: several GPUs, or CPU processes, as sentence-transformers
5 does it.

    pool = model.start_multi_process_pool(["cuda:0", "cuda:1"])   # or ["cpu"] * 4
    embeddings = model.encode(texts, pool=pool)                   # or model.encode(texts, device=["cuda:0", ...])
    model.stop_multi_process_pool(pool)                            # CrossEncoder.predict(pairs, pool=pool) alike

Each worker is a spawned process holding the model (its weights in shared memory), on its own device. The input is
cut into chunks, put on a queue, run by whichever worker is free with the caller's arguments (`encode` or
`predict`), and reassembled in input order. A worker that fails sends its error back, and one that dies is noticed: the caller gets
an exception, never a hang.
"""

from __future__ import annotations

import itertools
import math
import os
import queue
import uuid
from typing import Any

import numpy as np
import torch
import torch.multiprocessing as mp

from ..progress import Progress

_POLL_SECONDS = 1.0  # how often a waiting caller checks that the workers are still alive


def start_pool(model: Any, target_devices: list[str] | None = None) -> dict[str, Any]:
    """Start one worker per device: {"input": queue, "output": queue, "processes": [...]}.

    No devices given: every CUDA GPU, else 4 CPU processes. The model moves to the CPU and into shared memory
    (each worker moves its own copy to its device), as in sentence-transformers.
    """
    if target_devices is None:
        if torch.cuda.is_available():
            target_devices = [f"cuda:{i}" for i in range(torch.cuda.device_count())]
        else:
            target_devices = ["cpu"] * 4
    target_devices = [str(d) for d in target_devices]
    if not target_devices:
        raise ValueError("start_multi_process_pool needs at least one device, e.g. ['cpu', 'cpu'] or ['cuda:0'].")
    # CPU workers share the cores: without a limit each would start one thread per core
    cpu_workers = sum(torch.device(d).type == "cpu" for d in target_devices)
    threads = max(1, (os.cpu_count() or 1) // cpu_workers) if cpu_workers else None
    model.to("cpu")
    model.share_memory()
    context = mp.get_context("spawn")
    inputs, outputs = context.Queue(), context.Queue()
    processes = []
    for device in target_devices:
        process = context.Process(target=_worker, args=(device, model, inputs, outputs, threads), daemon=True)
        process.start()
        processes.append(process)
    return {"input": inputs, "output": outputs, "processes": processes}


def stop_pool(pool: dict[str, Any]) -> None:
    """Stop the workers (each finishes its current chunk first, then is ended if it does not exit)."""
    for _ in pool["processes"]:
        pool["input"].put(None)
    for process in pool["processes"]:
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()
            process.join()
        process.close()
    pool["input"].close()
    pool["output"].close()


def _worker(device: str, model: Any, inputs: Any, outputs: Any, threads: int | None) -> None:
    if threads is not None and torch.device(device).type == "cpu":
        torch.set_num_threads(threads)
    while True:
        task = inputs.get()
        if task is None:
            return
        job, chunk_id, method, items, kwargs = task
        try:
            result = getattr(model, method)(items, device=device, **kwargs)
            outputs.put((job, chunk_id, _to_cpu(result), None))
        except Exception as e:  # sent back to the caller, who raises it
            outputs.put((job, chunk_id, None, f"{type(e).__name__}: {e}"))


def _to_cpu(result: Any) -> Any:
    if isinstance(result, torch.Tensor):
        return result.cpu()
    if isinstance(result, dict):
        return {k: _to_cpu(v) for k, v in result.items()}
    if isinstance(result, list):
        return [_to_cpu(r) for r in result]
    return result


def run_on_pool(
    pool: dict[str, Any],
    method: str,
    items: list[Any],
    kwargs: dict[str, Any],
    chunk_size: int | None,
    show_progress_bar: bool,
) -> Any:
    """`model.<method>(chunk, **kwargs)` on the pool's workers for chunks of `items`; the results concatenated in
    input order (None when there are no items)."""
    if chunk_size is None:  # about 10 chunks per worker, so a slow worker holds up little
        chunk_size = max(1, min(math.ceil(len(items) / len(pool["processes"]) / 10), 5000))
    chunks = [items[i : i + chunk_size] for i in range(0, len(items), chunk_size)]
    job = uuid.uuid4().hex  # results of an earlier call that failed half-way are told apart and dropped
    for chunk_id, chunk in enumerate(chunks):
        pool["input"].put((job, chunk_id, method, chunk, kwargs))
    results: dict[int, Any] = {}
    with Progress(total=len(chunks), desc="Chunks", unit="chunks", enabled=show_progress_bar) as bar:
        while len(results) < len(chunks):
            try:
                result_job, chunk_id, result, error = pool["output"].get(timeout=_POLL_SECONDS)
            except queue.Empty:
                dead = [p for p in pool["processes"] if not p.is_alive()]
                if dead:
                    raise RuntimeError(
                        f"{len(dead)} worker(s) exited (exit code {dead[0].exitcode}) before finishing; "
                        "stop this pool with stop_multi_process_pool and start a new one."
                    ) from None
                continue
            if result_job != job:
                continue
            if error is not None:
                raise RuntimeError(f"A worker failed on chunk {chunk_id}: {error}")
            results[chunk_id] = result
            bar.update(1)
    parts = [results[i] for i in range(len(chunks))]
    if not parts:
        return None
    if isinstance(parts[0], np.ndarray):
        return np.concatenate(parts, axis=0)
    if isinstance(parts[0], torch.Tensor):
        return torch.cat(parts)
    return list(itertools.chain.from_iterable(parts))


def run(
    model: Any,
    method: str,
    items: list[Any],
    kwargs: dict[str, Any],
    pool: dict[str, Any] | None,
    devices: Any,
    chunk_size: int | None,
    show_progress_bar: bool,
) -> Any:
    """`run_on_pool` on the given pool, or on a pool started for `devices` and stopped afterwards."""
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError(f"chunk_size must be a positive integer or None, got {chunk_size!r}.")
    own_pool = pool is None
    pool = start_pool(model, list(devices)) if own_pool else pool
    try:
        return run_on_pool(pool, method, items, kwargs, chunk_size, show_progress_bar)
    finally:
        if own_pool:
            stop_pool(pool)
