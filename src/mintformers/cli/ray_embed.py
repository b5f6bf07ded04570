"""`mintformers embed --ray [ADDRESS] INPUT ... -o OUTPUT`: corpus embedding on a Ray cluster (the `ray` extra).

The embed command's options for Ray live here; embed hands over to `cmd_embed_ray` when --ray is given.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import EXIT_OK, CLIError, display_name, emit_json, model_name, positive_int, show_progress

LOCAL = "local"  # --ray without an address: RAY_ADDRESS, else a local cluster started (and stopped) for the job


def add_ray_options(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("Ray (mintformers[ray]): -o is a folder of Parquet parts, resumable")
    group.add_argument("--ray", nargs="?", const=LOCAL, metavar="ADDRESS",
                       help="embed .jsonl/.parquet/.txt files or folders on Ray: the cluster at ADDRESS (host:port, "
                            "ray://host:port, auto), else RAY_ADDRESS or a local one")
    group.add_argument("--concurrency", type=positive_int, default=1, help="actors, each loading the model once (default 1)")
    group.add_argument("--num-cpus", type=float, default=1, help="CPUs per actor (default 1)")
    group.add_argument("--num-gpus", type=float, default=0, help="GPUs per actor (default 0)")
    group.add_argument("--block-rows", type=positive_int, default=10_000, help="texts per block and Parquet part (default 10000)")
    group.add_argument("--text-column", default="text", help="the text field of .jsonl / .parquet inputs (default text)")
    group.add_argument("--id-column", help="a field to use as the id (default: the input position, 0, 1, ...)")
    group.add_argument("--index", help="also write PATH.npy + PATH.jsonl, the index load_embeddings and search read")
    group.add_argument("--overwrite", action="store_true", help="start over instead of resuming the job in the output folder")


def split_inputs(args: argparse.Namespace) -> tuple[str | None, list[str]]:
    """(address, inputs). `--ray INPUT` parses INPUT as the address (argparse cannot tell): no other inputs means
    it is the input."""
    inputs = list(args.file)
    address = args.ray
    if not inputs and address not in (None, LOCAL):
        inputs, address = [address], LOCAL
    if not inputs:
        raise CLIError("Give the files or folders to embed: mintformers embed --ray [ADDRESS] INPUT ... -o OUTPUT")
    return (None if address == LOCAL else address), inputs


def cmd_embed_ray(args: argparse.Namespace) -> int:
    try:
        from ..distributed import embed_dataset
    except ImportError as e:  # pragma: no cover - the ray extra is part of the test install
        raise CLIError(f"--ray needs the ray extra: pip install 'mintformers[ray]' ({e})") from None
    address, inputs = split_inputs(args)
    if Path(args.output).suffix in (".npy", ".jsonl"):
        raise CLIError(f"With --ray, -o is a folder for the Parquet parts, not {args.output}; use --index PATH for .npy/.jsonl.")
    try:
        import ray  # noqa: F401
    except ImportError:
        raise CLIError("--ray needs Ray: pip install 'mintformers[ray]'") from None
    result = embed_dataset(
        inputs, model_name(args), args.output, text_column=args.text_column, id_column=args.id_column,
        index=args.index, block_rows=args.block_rows, batch_size=args.batch_size, concurrency=args.concurrency,
        num_cpus=args.num_cpus, num_gpus=args.num_gpus, normalize=args.normalize, address=address,
        overwrite=args.overwrite, show_progress=show_progress(args),
    )
    files = [str(result.output)] + ([str(p) for p in result.index] if result.index else [])
    if args.json:
        emit_json({"count": result.rows, "blocks": result.blocks, "embedded": result.embedded, "skipped": result.skipped,
                   "model": display_name(model_name(args)), "files": files})
    else:
        print(f"Embedded {result.rows} texts in {result.blocks} blocks ({result.embedded} this run, {result.skipped} "
              f"already done) into {' and '.join(files)}")
    return EXIT_OK
