"""MobileBERT forward: mintformers vs the reference (transformers, eager only), side by side in one run.

google/mobilebert-uncased's shape (24 layers, hidden 512, bottleneck 128, 4 feed-forward blocks, NoNorm, trigram
input, vocab 30522) with random weights. Timings alternate between the two models run by run (so a busy machine
slows both alike); each is the median (and the minimum, steadier on a busy machine) of several runs after a warm-up.
Ratio = reference / ours of the medians (> 1: ours faster). bfloat16 runs the batch-1 cases only (slow on CPUs
without native bf16 arithmetic).

    .venv/bin/python benchmarks/bench_mobilebert.py [--runs 15] [--threads N] [--dtypes float32 bfloat16]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import mintformers as mf

CASES = [  # (class, batch, sequence length)
    ("MobileBertModel", 1, 128),
    ("MobileBertForMaskedLM", 1, 128),
    ("MobileBertModel", 8, 128),
]


def ragged(batch: int, seq: int, vocab: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1, vocab, (batch, seq), generator=g)
    lengths = torch.linspace(seq, max(2, seq // 2), batch).long()  # row 0 full, the last half as long
    mask = (torch.arange(seq)[None] < lengths[:, None]).long()
    return ids.masked_fill(mask == 0, 0), mask


def paired_ms(fns, runs: int) -> list[tuple[float, float]]:
    """(median, min) milliseconds of each function, timed in turns."""
    for fn in fns:  # warm-up
        fn()
        fn()
    times = [[] for _ in fns]
    for _ in range(runs):
        for t, fn in zip(times, fns):
            start = time.perf_counter()
            fn()
            t.append(time.perf_counter() - start)
    return [(1000 * statistics.median(t), 1000 * min(t)) for t in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"])
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    import transformers  # the reference, for comparison only

    transformers.logging.set_verbosity_error()
    print(f"MobileBERT forward (google/mobilebert-uncased shape), {torch.get_num_threads()} threads, "
          f"median (min) of {args.runs} runs, ms; torch {torch.__version__}")
    print(f"{'model':>22} {'dtype':>9} {'batch x seq':>12} {'reference (min)':>18} {'ours (min)':>18} {'ref/ours':>9}")
    for dtype_name in args.dtypes:
        dtype = getattr(torch, dtype_name)
        for cls, batch, seq in CASES:
            if dtype != torch.float32 and batch > 1:
                continue
            torch.manual_seed(0)
            ref = getattr(transformers, cls)(transformers.MobileBertConfig()).eval()
            ours = getattr(mf, cls).from_pretrained("unused", config=mf.MobileBertConfig(), state_dict=ref.state_dict())
            ref.to(dtype)
            ours.to(dtype)
            ids, mask = ragged(batch, seq, ref.config.vocab_size)
            with torch.inference_mode():
                (t_ref, min_ref), (t_ours, min_ours) = paired_ms(
                    [lambda m=model, i=ids, a=mask: m(i, attention_mask=a) for model in (ref, ours)], args.runs
                )
                a, b = ref(ids, attention_mask=mask)[0], ours(ids, attention_mask=mask)[0]
            if dtype == torch.float32:
                diff = (a - b)[mask.bool()].abs().max().item()
                assert diff < 1e-3, f"outputs differ by {diff}: the timing would compare different work"
            print(f"{cls:>22} {dtype_name:>9} {f'{batch} x {seq}':>12} {f'{t_ref:.1f} ({min_ref:.1f})':>18} "
                  f"{f'{t_ours:.1f} ({min_ours:.1f})':>18} {t_ref / t_ours:8.2f}x")


if __name__ == "__main__":
    main()
