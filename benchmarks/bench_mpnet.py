"""MPNet encoder forward: mintformers (SDPA, and eager) vs the reference (transformers, eager only), side by side.

Base-size model (all-mpnet-base-v2's shape: 12 layers, hidden 768) with random weights, ragged right-padded
batches. Prints the median time of several runs after a warm-up, and the ratio reference / ours (> 1: ours faster);
then the peak memory one forward adds on top of the loaded model (each model in a fresh process: peak RSS).

    .venv/bin/python benchmarks/bench_mpnet.py [--layers 12] [--runs 7] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import torch

import mintformers as mf

SHAPES = [(1, 16), (1, 128), (8, 128), (32, 64), (8, 384)]  # (batch, sequence length)
MEMORY_SHAPE = (8, 384)


def ragged(batch: int, seq: int, vocab: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(3, vocab, (batch, seq), generator=g)
    lengths = torch.linspace(seq, max(2, seq // 2), batch).long()  # row 0 full, the last half as long
    mask = (torch.arange(seq)[None] < lengths[:, None]).long()
    return ids.masked_fill(mask == 0, 1), mask


def median_ms(fns: list, runs: int) -> list[float]:
    """Median wall time of each function; runs are interleaved so that load from other processes hits all alike."""
    for fn in fns:
        fn()  # warm-up
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for fn, t in zip(fns, times):
            start = time.perf_counter()
            fn()
            t.append(time.perf_counter() - start)
    return [1000 * statistics.median(t) for t in times]


def build(layers: int, only: str | None = None) -> dict:
    import transformers  # the reference, for comparison only

    kwargs = dict(num_hidden_layers=layers, max_position_embeddings=514, layer_norm_eps=1e-5)
    ref = transformers.MPNetModel(transformers.MPNetConfig(**kwargs)).eval()
    models = {"reference": ref}
    for impl in ("sdpa", "eager"):
        if only in (None, impl):
            models[impl] = mf.MPNetModel(mf.MPNetConfig(**kwargs, attn_implementation=impl)).eval()
            models[impl].load_state_dict(ref.state_dict(), strict=False)
    return models if only is None else {only: models[only]}


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def peak_forward_mb(which: str, layers: int) -> None:
    """Run in a fresh process (Linux): print how far one forward raises the peak RSS above the loaded model."""
    model = build(layers, which)[which]
    ids, mask = ragged(*MEMORY_SHAPE, model.config.vocab_size)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak (VmHWM) to the current RSS
    before = _status_kb("VmRSS")
    with torch.inference_mode():
        model(ids, attention_mask=mask)
    print((_status_kb("VmHWM") - before) / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--peak-of", choices=["reference", "sdpa", "eager"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.peak_of:
        return peak_forward_mb(args.peak_of, args.layers)

    models = build(args.layers)
    ref, with_sdpa = models["reference"], models["sdpa"]
    print(f"MPNetModel forward, {args.layers} layers, hidden 768, fp32, {torch.get_num_threads()} threads; "
          f"median of {args.runs} (ms)")
    columns = ("reference", "ours sdpa", "ours eager", "ref/sdpa", "ref/eager")
    print(f"{'batch x seq':>12} " + " ".join(f"{c:>10}" for c in columns))
    with torch.inference_mode():
        for batch, seq in SHAPES:
            ids, mask = ragged(batch, seq, ref.config.vocab_size)
            calls = [lambda m=model: m(ids, attention_mask=mask) for model in models.values()]  # noqa: B023
            t_ref, t_sdpa, t_eager = median_ms(calls, args.runs)
            a, b = (m(ids, attention_mask=mask).last_hidden_state[mask.bool()] for m in (ref, with_sdpa))
            assert (a - b).abs().max() < 1e-4, "outputs differ: the timing would compare different work"
            print(f"{f'{batch} x {seq}':>12} {t_ref:10.1f} {t_sdpa:10.1f} {t_eager:10.1f} "
                  f"{t_ref / t_sdpa:9.2f}x {t_ref / t_eager:9.2f}x")

    peaks = {}
    for which in models:
        cmd = [sys.executable, __file__, "--peak-of", which, "--layers", str(args.layers)]
        peaks[which] = float(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()[-1])
    print(f"peak memory added by one forward at {MEMORY_SHAPE[0]} x {MEMORY_SHAPE[1]} (MB): "
          + ", ".join(f"{k} {v:.0f}" for k, v in peaks.items())
          + f"; reference / sdpa {peaks['reference'] / max(peaks['sdpa'], 1):.2f}x")


if __name__ == "__main__":
    main()
