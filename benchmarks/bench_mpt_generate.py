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
mintformers/generation/onednn.py). The tiers: "ours, int8" (`quantize="int8"`: int8 weights, one scale per output
channel, float activations; a quarter of the float32 bytes per step) and "ours, bf16" (bfloat16 weights). Their
greedy tokens may differ from float32's where two logits nearly tie (random weights tie often); the quality lines
give, along float32's greedy continuation, each tier's min cosine of the logits to float32's and the share of steps
where it picks float32's token. Optional lines: `--compile` (ours with compile=True: static cache + torch.compile
with weight freezing; the compile time is reported on its own line, not folded into tokens/s) and `--reference-bf16`
(the reference with bfloat16 weights).

Batch 1 is bound by memory bandwidth: each step reads all 494 MB of float32 weights (247 MB in bf16, 124 MB in
int8). The "floors" lines time, in the same runs, what that costs on this machine per dtype: one pass over every
weight (a sum per tensor), and our 49 linear layers back to back on one row (the products the decode path uses and
nothing else). A step costs at least each of them, so reference step / floor is the most any implementation in that
dtype (first line) or ours with zero other work (second line) could reach here.

    .venv/bin/python benchmarks/bench_mpt_generate.py [--runs 3] [--new-tokens 128] [--threads N] [--quick]
        [--compile] [--reference-bf16]

--quick: batch 1 only, 32 new tokens, a 128-token prefill, 2 rounds (a smoke run).
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
from mintformers.hardware import describe_cpu
from mintformers.layers.quantized import Int8Linear
from mintformers.quantization import quantize_model

VOCAB = 50368


def timed(fn, *args, **kwargs) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def prompt(batch: int, length: int) -> torch.Tensor:
    return torch.randint(0, VOCAB, (batch, length), generator=torch.Generator().manual_seed(batch * 1000 + length))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=None, help="interleaved rounds (default 3; --quick 2)")
    parser.add_argument("--new-tokens", type=int, default=None, help="default 128 (--quick 32)")
    parser.add_argument("--prompt", type=int, default=32, help="prompt length for the decode measurements")
    parser.add_argument("--prefill", type=int, default=None, help="default 512 (--quick 128)")
    parser.add_argument("--batches", type=int, nargs="+", default=None, help="default 1 8 (--quick 1)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="batch 1, 32 new tokens, 128-token prefill, 2 rounds")
    parser.add_argument("--compile", action="store_true", help="add ours with compile=True")
    parser.add_argument("--reference-bf16", action="store_true", help="add the reference with bfloat16 weights")
    parser.add_argument("--reference-default", action="store_true", help="add the reference without a cache")
    args = parser.parse_args()
    quick = args.quick
    args.runs = args.runs or (2 if quick else 3)
    args.new_tokens = args.new_tokens or (32 if quick else 128)
    args.prefill = args.prefill or (128 if quick else 512)
    args.batches = args.batches or ([1] if quick else [1, 8])
    if args.threads:
        torch.set_num_threads(args.threads)
    print(describe_cpu())

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

    ours_int8 = quantize_model(copy.deepcopy(ours), "int8")
    ours_bf16 = mf.MptForCausalLM.from_pretrained("unused", config=ours.config, state_dict=ours.state_dict(),
                                                 dtype=torch.bfloat16)
    tiers = {"ours, int8": ours_int8, "ours, bf16": ours_bf16}
    variants = {
        "reference": ref_generate,
        "ours": our_generate,
        "ours, cpu_linear='packed'": lambda ids, n: our_generate(ids, n, cpu_linear="packed"),
        **{name: (lambda ids, n, m=m: our_generate(ids, n, model=m)) for name, m in tiers.items()},
    }
    if args.reference_default:
        variants["reference, no cache (its default)"] = lambda ids, n: ref_generate(ids, n, use_cache=False)
    if args.compile:
        variants["ours, compile=True"] = lambda ids, n: our_generate(ids, n, compile=True)
        for batch in args.batches:  # compile outside the timed runs, and say what it cost
            t = timed(our_generate, prompt(batch, args.prompt), args.new_tokens, None, compile=True)
            print(f"  compile + first run, batch {batch}: {t:.1f} s (once per batch size and length)")
    if args.reference_bf16:
        ref_bf16 = copy.deepcopy(ref).to(torch.bfloat16)
        variants["reference, bf16"] = lambda ids, n: ref_bf16.generate(
            ids, max_new_tokens=n, do_sample=False, pad_token_id=0, use_cache=True
        )
    print_quality(ours, tiers, prompt(1, args.prompt), args.new_tokens)

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
            if "bf16" not in name and "int8" not in name and same < 1.0:
                print(f"  WARNING: {name} matches the reference's greedy tokens at {100 * same:.1f}% only")
        step = {name: [] for name in variants}
        total = {name: [] for name in variants}
        floors = {}
        if batch == 1:
            for label, model in (("float32", ours), ("bf16", ours_bf16), ("int8", ours_int8)):
                floors.update(step_floors(model, label))
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
            print("  floors: parts of one step, alone (ratio = the most a step in that dtype could reach)")
        for name, t in floor.items():
            t = statistics.median(t)
            size = floor_bytes[name.split(":")[0]]
            print(f"  {name:<34} {1000 * t:9.1f} {'':>9} {base / t:5.2f}x   ({size / 1e6:.0f} MB, {size / t / 1e9:.1f} GB/s)")


floor_bytes: dict[str, int] = {}


def weight_tensors(model: torch.nn.Module) -> list[torch.Tensor]:
    """Every weight a decode step reads, once (tied tensors once): parameters and the int8 layers' buffers."""
    seen, out = set(), []
    for t in list(model.parameters()) + list(model.buffers()):
        if id(t) not in seen:
            seen.add(id(t))
            out.append(t)
    return out


def step_floors(model: torch.nn.Module, label: str) -> dict[str, Callable[[], None]]:
    """Work every batch-1 decode step must do, timed alone: one read of all weights (a sum per tensor), and the
    model's linear layers back to back on one row (the products the decode path uses, nothing else)."""
    tensors = weight_tensors(model)
    floor_bytes[label] = sum(t.numel() * t.element_size() for t in tensors)
    linears = [m for m in model.modules() if isinstance(m, (torch.nn.Linear, Int8Linear))]
    dtype = next(t.dtype for t in tensors if t.is_floating_point())
    rows = {m.in_features: torch.randn(1, 1, m.in_features, dtype=dtype) for m in linears}

    # int8 tensors are read as int32 words (4 bytes at a time, no conversion): the same bytes, at memory speed
    words = [t.view(torch.int32) if t.dtype == torch.int8 and t.shape[-1] % 4 == 0 else t for t in tensors]

    def read_weights():
        for t in words:
            t.sum()

    def run_linears():
        with OneDNNLinears(model):  # float32 layers on oneDNN, as in generate(); other dtypes as they are
            for m in linears:
                m(rows[m.in_features])

    return {f"{label}: read every weight once": read_weights, f"{label}: our {len(linears)} linears alone": run_linears}


def step_logits(model: torch.nn.Module, tokens: torch.Tensor, prompt_length: int) -> torch.Tensor:
    """Next-token logits at every decode step over `tokens`, computed as generate() does (the prompt at once, then
    one token per step on the key/value cache): (steps, vocab) float32."""
    out = model(tokens[:, :prompt_length], use_cache=True)
    logits = [out.logits[0, -1]]
    for i in range(prompt_length, tokens.shape[1] - 1):
        out = model(tokens[:, i : i + 1], past_key_values=out.past_key_values, use_cache=True)
        logits.append(out.logits[0, -1])
    return torch.stack(logits).float()


def print_quality(ours: torch.nn.Module, tiers: dict[str, torch.nn.Module], ids: torch.Tensor, n: int) -> None:
    """Along float32's greedy continuation: each tier's min cosine of next-token logits to float32's (per step),
    and the share of steps where it picks float32's token (each step given the same text so far)."""
    with torch.inference_mode():
        want = ours.generate(ids, max_new_tokens=n)
        reference = step_logits(ours, want, ids.shape[1])
        print(f"\nquality along float32's greedy path ({n} steps, random weights)")
        for name, model in tiers.items():
            logits = step_logits(model, want, ids.shape[1])
            cos = torch.nn.functional.cosine_similarity(logits, reference, dim=-1)
            same = (logits.argmax(-1) == reference.argmax(-1)).float().mean().item()
            print(f"  {name:<34} min cosine {cos.min().item():.5f}, mean {cos.mean().item():.5f}; same token "
                  f"{100 * same:.1f}% of steps")


if __name__ == "__main__":
    main()
