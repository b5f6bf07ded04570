"""Run every benchmark in this folder (bench_*.py), one after another, each in its own process.

    .venv/bin/python benchmarks/run_all.py [--only embeddings mpnet ...] [--list] [--quick]

--quick passes --quick to the benchmarks that have it (a smoke run of each, minutes instead of an hour).

Each benchmark prints its own table (timings as ratios against the reference); this prints a header per benchmark
and a summary of which ones failed. Exit code 1 if any failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def benchmarks() -> list[Path]:
    return sorted(HERE.glob("bench_*.py"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these (e.g. embeddings for bench_embeddings.py)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--quick", action="store_true", help="pass --quick to the benchmarks that take it")
    args = parser.parse_args()
    scripts = benchmarks()
    if args.only:
        wanted = {name.removeprefix("bench_").removesuffix(".py") for name in args.only}
        unknown = wanted - {s.stem.removeprefix("bench_") for s in scripts}
        if unknown:
            parser.error(f"no such benchmark: {', '.join(sorted(unknown))}; see --list")
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in wanted]
    if args.list:
        print("\n".join(s.stem.removeprefix("bench_") for s in scripts))
        return 0
    failed = []
    for script in scripts:
        print(f"\n=== {script.name} ===", flush=True)
        start = time.perf_counter()
        quick = ["--quick"] if args.quick and "--quick" in script.read_text(encoding="utf-8") else []
        done = subprocess.run([sys.executable, str(script), *quick], cwd=HERE.parent)
        print(f"=== {script.name}: {'ok' if done.returncode == 0 else f'FAILED (exit {done.returncode})'} "
              f"in {time.perf_counter() - start:.0f} s ===", flush=True)
        if done.returncode != 0:
            failed.append(script.name)
    print(f"\n{len(scripts) - len(failed)} of {len(scripts)} benchmarks ran" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
