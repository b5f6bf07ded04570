"""Embed a corpus on Ray Data: an actor pool in which each actor loads the model once and embeds whole blocks.

    from mintformers.distributed import embed_dataset
    result = embed_dataset(["docs.jsonl"], "sentence-transformers/all-MiniLM-L6-v2", "embeddings/",
                           concurrency=4, index="embeddings/index")

Why blocks are planned here rather than read with `ray.data.read_json`: resuming needs block boundaries and row
positions that are the same in every run, which Ray's readers do not promise. The plan (blocks.py) costs one
pass over the JSON-lines / text inputs (Parquet: only the footers); then `ray.data.from_items(<blocks to do>)
.map_batches(BlockEmbedder, compute=ActorPoolStrategy(size=concurrency))` runs the actors, Ray schedules them
on the cluster and draws its own progress bars. Each actor reads its block, embeds it with
`SentenceEncoder.encode` (texts sorted by token count and cut into padding-minimising batches inside the block)
and writes the block's Parquet part. Output and inputs must be on storage every node can reach.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .blocks import (
    MANIFEST_NAME,
    Block,
    InputFile,
    Manifest,
    find_inputs,
    id_type,
    part_name,
    plan_blocks,
    read_block,
    write_part,
)

__all__ = ["embed_dataset", "EmbedResult", "BlockEmbedder", "RowEmbedder", "read_parts"]

logger = logging.getLogger(__name__)
ModelSource = Any  # a path / hub id, a zero-argument callable returning a SentenceEncoder, or a SentenceEncoder


@dataclass
class EmbedResult:
    output: Path
    rows: int
    blocks: int
    embedded: int  # blocks this run embedded
    skipped: int  # blocks already written by an earlier run
    index: tuple[Path, Path] | None = None  # the .npy / .jsonl pair `load_embeddings` reads, when asked for
    busy_seconds: float = 0.0  # summed over this run's blocks: reading, embedding and writing inside the actors

    def read_table(self):
        """All rows as one pyarrow Table (id, text, embedding), in input order."""
        return read_parts(self.output)


def read_parts(output: str | os.PathLike):
    """The parts of a finished (or partial) job, in block order, as one pyarrow Table."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    manifest = Manifest.read(Path(output))
    if manifest is None:
        raise FileNotFoundError(f"{os.fspath(output)!r} has no {MANIFEST_NAME}: not an embed_dataset output folder.")
    parts = [Path(output) / part_name(b.index) for b in manifest.blocks]
    return pa.concat_tables([pq.read_table(p) for p in parts if p.exists()])


# ---- the actors -------------------------------------------------------------------------------------------------------


class _Embedder:
    """Loads the model once per actor (its constructor runs in the actor process)."""

    def __init__(self, model: ModelSource, *, batch_size: int, normalize: bool, num_cpus: float, num_gpus: float):
        import torch

        from ..embeddings import SentenceEncoder

        if num_cpus and num_cpus >= 1:
            torch.set_num_threads(int(num_cpus))  # the actor's CPU share, not the whole machine
        device = "cuda" if num_gpus else "cpu"
        if isinstance(model, SentenceEncoder):
            self.encoder = model.to(device)
        elif callable(model):
            self.encoder = model()
        else:
            self.encoder = SentenceEncoder.from_pretrained(model, device=device)
        self.batch_size = batch_size
        self.normalize = normalize

    def embed(self, texts: list[str]) -> np.ndarray:
        # encode() sorts the texts by token count and plans padding-minimising batches; results come back in order
        return self.encoder.encode(texts, batch_size=self.batch_size, normalize_embeddings=self.normalize, show_progress_bar=False)


class BlockEmbedder(_Embedder):
    """map_batches callable over block descriptions: read, embed, write a part; returns (block, rows)."""

    def __init__(self, model: ModelSource, *, output: str, inputs: list[dict], text_column: str, id_column: str | None,
                 ids_as: str, **options: Any):
        super().__init__(model, **options)
        self.output = Path(output)
        self.inputs = [InputFile(**i) for i in inputs]
        self.text_column, self.id_column, self.ids_as = text_column, id_column, ids_as

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        done, rows, seconds = [], [], []
        for spec in batch["block"]:
            start = time.perf_counter()
            fields = json.loads(str(spec))
            block = Block(**{**fields, "row_groups": tuple(fields["row_groups"])})
            texts, ids = read_block(self.inputs[block.file], block, self.text_column, self.id_column)
            write_part(self.output, block, ids, texts, self.embed(texts), self.ids_as)
            done.append(block.index)
            rows.append(len(texts))
            seconds.append(time.perf_counter() - start)
        return {"block": np.array(done, dtype=np.int64), "rows": np.array(rows, dtype=np.int64), "seconds": np.array(seconds)}


class RowEmbedder(_Embedder):
    """map_batches callable over rows of a user's Dataset: adds an `embedding` column."""

    def __init__(self, model: ModelSource, *, text_column: str, **options: Any):
        super().__init__(model, **options)
        self.text_column = text_column

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        batch["embedding"] = self.embed([str(t) for t in batch[self.text_column]])
        return batch


# ---- the driver -------------------------------------------------------------------------------------------------------


def _model_name(model: ModelSource) -> str:
    if isinstance(model, (str, os.PathLike)):
        return os.fspath(model)
    inner = getattr(getattr(model, "model", None), "config", None)
    if inner is not None:
        return str(getattr(inner, "name_or_path", "") or type(model).__name__)
    return f"{getattr(model, '__module__', '')}.{getattr(model, '__qualname__', type(model).__name__)}"


def _start_ray(address: str | None, init_kwargs: dict[str, Any] | None) -> bool:
    """Connect to the cluster at `address` (or RAY_ADDRESS), else start a local one; True if this call did."""
    import ray

    if ray.is_initialized():
        if address is not None:
            logger.warning("Ray is already initialised in this process; ignoring address=%r.", address)
        return False
    ray.init(address=address, **(init_kwargs or {}))
    return True


def embed_dataset(
    data: Any,
    model: ModelSource,
    output: str | os.PathLike | None = None,
    *,
    text_column: str = "text",
    id_column: str | None = None,
    index: str | os.PathLike | None = None,
    block_rows: int = 10_000,
    batch_size: int = 32,
    concurrency: int = 1,
    num_cpus: float = 1,
    num_gpus: float = 0,
    normalize: bool = False,
    address: str | None = None,
    init_kwargs: dict[str, Any] | None = None,
    overwrite: bool = False,
    show_progress: bool | None = None,
) -> Any:
    """Embed `data` with `model` on Ray, `concurrency` actors of `num_cpus` CPUs / `num_gpus` GPUs each.

    `data`: input files or folders (.jsonl with a `text_column` field, .parquet with that column, .txt with one
    text per non-blank line), or a `ray.data.Dataset`. `model`: a sentence-transformers folder / hub id (each actor
    loads it once), a zero-argument function returning a SentenceEncoder, or a SentenceEncoder.

    Files are written to the `output` folder as `part-<k>.parquet` (id, text, embedding), `block_rows` rows each,
    in input order; ids are the `id_column` values, else the rows' input positions (0, 1, ...). A rerun with the
    same inputs and settings embeds only the blocks not yet written (`overwrite=True` starts over). `index`: also
    write the `.npy` / `.jsonl` pair that `mintformers.embeddings.load_embeddings` reads. A Dataset is returned
    lazily with an `embedding` column added (no output folder; write it with Ray's writers).

    `address`: a Ray cluster ("host:port", "ray://host:port", "auto"); default RAY_ADDRESS or a local cluster
    (`init_kwargs` go to `ray.init`, e.g. num_cpus, object_store_memory). A cluster started here is shut down
    at the end. Returns an EmbedResult.
    """
    import ray

    options = {"batch_size": batch_size, "normalize": normalize, "num_cpus": num_cpus, "num_gpus": num_gpus}
    remote = {"num_cpus": num_cpus, **({"num_gpus": num_gpus} if num_gpus else {})}
    if show_progress is not None:
        ray.data.DataContext.get_current().enable_progress_bars = bool(show_progress)
    if isinstance(data, ray.data.Dataset):
        if output is not None or index is not None:
            raise ValueError("A Ray Dataset is embedded lazily: omit output/index and write the result with its writers "
                             "(e.g. .write_parquet(...)); resumable output needs file inputs.")
        return data.map_batches(
            RowEmbedder, fn_constructor_args=(model,), fn_constructor_kwargs={"text_column": text_column, **options},
            batch_size=block_rows, compute=ray.data.ActorPoolStrategy(size=concurrency), **remote,
        )
    if output is None:
        raise ValueError("Give an output folder for the Parquet parts (output=...).")
    if block_rows < 1 or concurrency < 1:
        raise ValueError("block_rows and concurrency must be at least 1.")
    out = Path(output).expanduser().resolve()  # the actors' working directory is not the driver's
    inputs = find_inputs(data)
    manifest, todo = _plan(out, inputs, model, text_column, id_column, block_rows, normalize, overwrite)
    if todo:
        started = _start_ray(address, init_kwargs)
        try:
            specs = [{"block": json.dumps(asdict(b))} for b in todo]
            embedder_kwargs = {
                "output": str(out), "inputs": [asdict(i) for i in inputs], "text_column": text_column,
                "id_column": id_column, "ids_as": manifest.settings["ids_as"], **options,
            }
            done = ray.data.from_items(specs, override_num_blocks=len(specs)).map_batches(
                BlockEmbedder, fn_constructor_args=(model,), fn_constructor_kwargs=embedder_kwargs, batch_size=1,
                compute=ray.data.ActorPoolStrategy(size=min(concurrency, len(todo))), **remote,
            ).take_all()
        finally:
            if started:
                ray.shutdown()
        if sorted(int(r["block"]) for r in done) != sorted(b.index for b in todo):
            raise RuntimeError("Ray finished without writing every block; run again to embed the missing ones.")
    missing = [b.index for b in manifest.blocks if not (out / part_name(b.index)).exists()]
    if missing:
        raise RuntimeError(f"Parts {missing[:5]} are missing from {out}; run again to embed them.")
    result = EmbedResult(out, sum(b.rows for b in manifest.blocks), len(manifest.blocks), len(todo), len(manifest.blocks) - len(todo),
                         busy_seconds=sum(float(r["seconds"]) for r in done) if todo else 0.0)
    if index is not None:
        result.index = _write_index(out, Path(index), manifest)
    return result


def _plan(out: Path, inputs: list[InputFile], model: ModelSource, text_column: str, id_column: str | None,
          block_rows: int, normalize: bool, overwrite: bool) -> tuple[Manifest, list[Block]]:
    """The job's manifest (read, or planned and written) and the blocks still to embed."""
    from ..storage import atomic_write_text

    settings = {"model": _model_name(model), "text_column": text_column, "id_column": id_column, "block_rows": block_rows,
                "normalize": normalize}
    if overwrite and out.exists():
        for p in [*out.glob("part-*.parquet"), out / MANIFEST_NAME]:
            p.unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    manifest = Manifest.read(out)
    if manifest is not None:
        changed = manifest.differences(inputs, settings)
        if changed:
            raise ValueError(
                f"{out} holds the output of a different job ({'; '.join(changed)}). Use another output folder, "
                "or overwrite=True (--overwrite) to start over."
            )
    else:
        blocks = plan_blocks(inputs, block_rows)
        if not blocks:
            raise ValueError("The inputs hold no rows to embed.")
        _, first_id = read_block(inputs[blocks[0].file], Block(0, blocks[0].file, 0, 1, blocks[0].offset,
                                                                         blocks[0].row_groups[:1]), text_column, id_column)
        ids_as = id_type(first_id[0]) if id_column else "int64"
        manifest = Manifest(inputs, blocks, {**settings, "ids_as": ids_as})
        atomic_write_text(out / MANIFEST_NAME, manifest.to_json())
    todo = [b for b in manifest.blocks if not (out / part_name(b.index)).exists()]
    return manifest, todo


def _write_index(out: Path, index: Path, manifest: Manifest) -> tuple[Path, Path]:
    from ..embeddings import save_embeddings

    table = read_parts(out)
    dim = table.schema.field("embedding").type.list_size
    embeddings = table.column("embedding").combine_chunks().values.to_numpy(zero_copy_only=False).reshape(-1, dim)
    records = [{"text": t, "id": i} for t, i in zip(table.column("text").to_pylist(), table.column("id").to_pylist())]
    metadata = {"model": manifest.settings["model"], "parquet": str(out)}
    return save_embeddings(index, embeddings, records, metadata=metadata)
