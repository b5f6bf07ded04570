"""MPT generate(): mintformers vs the reference (transformers), greedy, side by side in one run.

A ~125M MPT (d_model 768, 12 layers, 12 heads, vocab 50368, random weights), built by the reference and loaded into
mintformers through save_pretrained → from_pretrained, so both run the same weights (the greedy tokens are checked
to be identical). Reported:

- prefill: time to the first token for a 512-token prompt (generate with max_new_tokens=1);
- decode: per-step time and tokens/s for `--new-tokens` greedy tokens after a short prompt, at batch 1 and 8,
  measured as (time of generate(N) - time of generate(1)) / (N - 1), so the prefill is not counted;
- end-to-end tokens/s: B·N / time of generate(N).

Both sides use a key/value cache: the reference is called with use_cache=True. (Its MPT generation_config says
use_cache=False, copied from config.json, so a plain `generate()` there recomputes the whole sequence every step;
`--reference-default` adds that line.) Runs alternate between the implementations, so a busy machine slows both
alike; each figure is the median of `--runs`. Ratio = reference time / ours (> 1: ours faster).

"ours, cpu_linear='packed'" decodes on a oneDNN-packed copy of the weights (twice the weight memory; see
mintformers/generation/onednn.py). Optional lines: `--compile` (ours with compile=True: static cache +
torch.compile with weight freezing; the compile time is reported on its own line, not folded into tokens/s) and
`--bf16` (both with bfloat16 weights; their greedy tokens may differ from float32's).

Batch 1 is bound by memory bandwidth: each step reads all 494 MB of float32 weights. The "floors" lines time, in
the same runs, what that costs on this machine: one pass over every weight (a sum per tensor), and our 49 linear
layers back to back on one row (the decode path's oneDNN products and nothing else). A step costs at least each
of them, so reference step / floor is the most any float32 implementation (first line) or ours with zero other
work (second line) could reach here.

    .venv/bin/python benchmarks/bench_mpt_generate.py [--runs 3] [--new-tokens 128] [--threads N] [--compile] [--bf16]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
from collections.abc import Callable

import torch

import mintformers as mf
from mintformers.generation.onednn import OneDNNLinears

VOCAB = 50368


def timed(fn, *args, **kwargs) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def prompt(batch: int, length: int) -> torch.Tensor:
    return torch.randint(0, VOCAB, (batch, length), generator=torch.Generator().manual_seed(batch * 1000 + length))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--prompt", type=int, default=32, help="prompt length for the decode measurements")
    parser.add_argument("--prefill", type=int, default=512)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--compile", action="store_true", help="add ours with compile=True")
    parser.add_argument("--bf16", action="store_true", help="add both with bfloat16 weights")
    parser.add_argument("--reference-default", action="store_true", help="add the reference without a cache")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    import transformers  # the reference, for comparison only

    transformers.logging.set_verbosity_error()
    torch.manual_seed(0)
    config = transformers.MptConfig(d_model=768, n_heads=12, n_layers=12, vocab_size=VOCAB, max_seq_len=2048)
    ref = transformers.MptForCausalLM(config).eval()
    with tempfile.TemporaryDirectory() as d:
        ref.save_pretrained(d)
        ours = mf.MptForCausalLM.from_pretrained(d)
    params = sum(p.numel() for p in ours.parameters())
    print(f"MPT generate, greedy, {params / 1e6:.0f}M parameters, float32, {torch.get_num_threads()} threads, "
          f"median of {args.runs}; torch {torch.__version__}")

    def ref_generate(ids, n, **kw):
        kw.setdefault("use_cache", True)
        return ref.generate(ids, max_new_tokens=n, do_sample=False, pad_token_id=0, **kw)

    def our_generate(ids, n, model=None, **kw):
        return (model or ours).generate(ids, max_new_tokens=n, **kw)

    variants = {
        "reference": ref_generate,
        "ours": our_generate,
        "ours, cpu_linear='packed'": lambda ids, n: our_generate(ids, n, cpu_linear="packed"),
    }
    if args.reference_default:
        variants["reference, no cache (its default)"] = lambda ids, n: ref_generate(ids, n, use_cache=False)
    if args.compile:
        variants["ours, compile=True"] = lambda ids, n: our_generate(ids, n, compile=True)
        for batch in args.batches:  # compile outside the timed runs, and say what it cost
            t = timed(our_generate, prompt(batch, args.prompt), args.new_tokens, None, compile=True)
            print(f"  compile + first run, batch {batch}: {t:.1f} s (once per batch size and length)")
    if args.bf16:
        ours_bf16 = mf.MptForCausalLM.from_pretrained("unused", config=ours.config, state_dict=ours.state_dict(),
                                                     dtype=torch.bfloat16)
        variants["ours, bfloat16"] = lambda ids, n: our_generate(ids, n, model=ours_bf16)
        ref_bf16 = copy.deepcopy(ref).to(torch.bfloat16)
        variants["reference, bfloat16"] = lambda ids, n: ref_bf16.generate(
            ids, max_new_tokens=n, do_sample=False, pad_token_id=0, use_cache=True
        )

    # prefill: time to first token
    ids = prompt(1, args.prefill)
    times = {name: [] for name in variants}
    for fn in variants.values():
        fn(ids, 1)
    for _ in range(args.runs):
        for name, fn in variants.items():
            times[name].append(timed(fn, ids, 1))
    print(f"\nprefill, 1 x {args.prefill} tokens (time to first token)")
    base = statistics.median(times["reference"])
    for name, t in times.items():
        print(f"  {name:<34} {1000 * statistics.median(t):9.1f} ms   {base / statistics.median(t):5.2f}x")

    n = args.new_tokens
    for batch in args.batches:
        ids = prompt(batch, args.prompt)
        want = ref_generate(ids, n)
        for name, fn in variants.items():
            got = fn(ids, n)
            same = (got[:, args.prompt :] == want[:, args.prompt :]).float().mean().item()
            if "bfloat16" not in name and same < 1.0:
                print(f"  WARNING: {name} matches the reference's greedy tokens at {100 * same:.1f}% only")
        step = {name: [] for name in variants}
        total = {name: [] for name in variants}
        floors = step_floors(ours) if batch == 1 else {}
        floor = {name: [] for name in floors}
        for _ in range(args.runs):
            for name, fn in variants.items():
                first = timed(fn, ids, 1)  # prefill + first token
                total[name].append(timed(fn, ids, n))  # prefill + n - 1 decode steps
                step[name].append((total[name][-1] - first) / (n - 1))
            with torch.no_grad():  # interleaved with the runs above: the same machine state
                for name, fn in floors.items():
                    floor[name].append(statistics.median(timed(fn) for _ in range(5)))
        print(f"\ndecode, batch {batch}, {args.prompt}-token prompt, {n} new tokens")
        print(f"  {'':<34} {'ms/step':>9} {'tokens/s':>9} {'ratio':>6}   {'end-to-end tok/s':>16}")
        base = statistics.median(step["reference"])
        for name in variants:
            s = statistics.median(step[name])
            e2e = batch * n / statistics.median(total[name])
            print(f"  {name:<34} {1000 * s:9.1f} {batch / s:9.1f} {base / s:5.2f}x   {e2e:16.1f}")
        if floors:
            size = sum(p.numel() * p.element_size() for p in ours.parameters())
            print(f"  floors: parts of one step, alone ({size / 1e6:.0f} MB of weights; ratio = the most a step could reach)")
        for name, t in floor.items():
            t = statistics.median(t)
            print(f"  {name:<34} {1000 * t:9.1f} {'':>9} {base / t:5.2f}x   ({size / t / 1e9:.1f} GB/s)")


def step_floors(model: torch.nn.Module) -> dict[str, Callable[[], None]]:
    """Work every batch-1 decode step must do, timed alone: one read of all weights (a sum per tensor), and the
    model's linear layers back to back on one row (the decode path's oneDNN products, nothing else)."""
    params = list(model.parameters())  # tied weights once
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    rows = {m.in_features: torch.randn(1, 1, m.in_features) for m in linears}

    def read_weights():
        for p in params:
            p.sum()

    def run_linears():
        with OneDNNLinears(model):
            for m in linears:
                m(rows[m.in_features])

    return {"read every weight once": read_weights, f"our {len(linears)} linears alone": run_linears}


if __name__ == "__main__":
    main()
