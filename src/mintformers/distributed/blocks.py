"""Corpus blocks: the unit of work, of output and of resumption. No Ray here (pyarrow only).

The inputs are cut into blocks before anything runs: JSON-lines and text files by rows (the planner reads each
file once to count its rows and remember the byte offset where each block starts), Parquet files by row groups
(read from the file footer). Block k holds input rows [first, first + rows), in input order, and is written as
`part-<k>.parquet` (id, text, embedding). The plan is stored in `_manifest.json` with the inputs' sizes and
modification times, so a rerun checks it is continuing the same job and skips every part already on disk.

A part is written with `storage.atomic_path`: complete under a hidden staging folder, fsynced, then renamed. A run
killed at any moment leaves complete parts and possibly a hidden leftover, which readers ignore (pyarrow and Ray
skip names starting with '.' or '_') and the next save in the folder deletes.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..storage import atomic_path

__all__ = ["Block", "InputFile", "find_inputs", "plan_blocks", "read_block", "id_type", "write_part", "part_name", "Manifest"]

FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet", ".txt": "text"}
MANIFEST_NAME = "_manifest.json"
MANIFEST_FORMAT = "mintformers-ray-embeddings"


@dataclass(frozen=True)
class InputFile:
    path: str
    format: str  # jsonl | parquet | text
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Block:
    index: int  # k of part-<k>.parquet
    file: int  # position of the input file in the plan's list
    first: int  # input position (over all files) of the block's first row
    rows: int
    offset: int = 0  # jsonl / text: byte offset of the first row in the file
    row_groups: tuple[int, ...] = ()  # parquet: the row groups it spans


def part_name(index: int) -> str:
    return f"part-{index:06d}.parquet"


def find_inputs(paths: Any) -> list[InputFile]:
    """Files to embed, in order: each path as given, a folder's supported files (.jsonl, .parquet, .txt, ...)
    recursively in path order."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in FORMATS and not f.name.startswith((".", "_")))
            if not found:
                raise FileNotFoundError(f"{str(p)!r} holds no {', '.join(sorted(FORMATS))} files.")
            files.extend(found)
        elif p.is_file():
            if p.suffix.lower() not in FORMATS:
                raise ValueError(f"{str(p)!r}: cannot tell its format; use .jsonl, .parquet or .txt (one text per line).")
            files.append(p)
        else:
            raise FileNotFoundError(f"Input {str(p)!r} does not exist.")
    out = []
    for f in files:
        stat = f.stat()
        out.append(InputFile(str(f.resolve()), FORMATS[f.suffix.lower()], stat.st_size, stat.st_mtime_ns))
    return out


def _line_rows(path: str) -> tuple[list[int], int]:
    """Byte offsets of the non-blank lines of a file (each is a row)."""
    offsets, position = [], 0
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                offsets.append(position)
            position += len(line)
    return offsets, len(offsets)


def plan_blocks(inputs: list[InputFile], block_rows: int) -> list[Block]:
    """Cut the inputs into blocks of about `block_rows` rows (Parquet: whole row groups), never across files."""
    import pyarrow.parquet as pq

    blocks: list[Block] = []
    first = 0
    for n, source in enumerate(inputs):
        if source.format == "parquet":
            meta = pq.ParquetFile(source.path).metadata
            groups: list[int] = []
            rows = 0
            for g in range(meta.num_row_groups):
                groups.append(g)
                rows += meta.row_group(g).num_rows
                if rows >= block_rows or g == meta.num_row_groups - 1:
                    blocks.append(Block(len(blocks), n, first, rows, row_groups=tuple(groups)))
                    first, groups, rows = first + rows, [], 0
        else:
            offsets, count = _line_rows(source.path)
            for start in range(0, count, block_rows):
                rows = min(block_rows, count - start)
                blocks.append(Block(len(blocks), n, first, rows, offset=offsets[start]))
                first += rows
    return [b for b in blocks if b.rows]


def read_block(source: InputFile, block: Block, text_column: str, id_column: str | None) -> tuple[list[str], list[Any]]:
    """The texts of a block and their ids (the `id_column` values, else input positions)."""
    ids: list[Any]
    if source.format == "parquet":
        import pyarrow.parquet as pq

        columns = [text_column] + ([id_column] if id_column else [])
        try:
            table = pq.ParquetFile(source.path).read_row_groups(list(block.row_groups), columns=columns)
        except KeyError as e:
            raise ValueError(f"{source.path}: no column {e.args[0]!r} (text_column / id_column).") from None
        texts = table.column(text_column).to_pylist()
        ids = table.column(id_column).to_pylist() if id_column else list(range(block.first, block.first + block.rows))
    else:
        texts, ids = [], []
        with open(source.path, "rb") as f:
            f.seek(block.offset)
            while len(texts) < block.rows:
                line = f.readline()
                if not line:
                    raise ValueError(f"{source.path} is shorter than when the job was planned; it changed during the run.")
                if not line.strip():
                    continue
                text = line.decode("utf-8", errors="replace")
                if source.format == "text":
                    texts.append(text.strip())
                    continue
                try:
                    record = json.loads(text)
                    texts.append(record[text_column])
                    if id_column:
                        ids.append(record[id_column])
                except (json.JSONDecodeError, KeyError, TypeError) as e:
                    row = block.first + len(texts)
                    raise ValueError(f"{source.path}: input row {row} is not a JSON object with a {text_column!r} field ({e}).") from None
        if not id_column:
            ids = list(range(block.first, block.first + block.rows))
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise ValueError(f"{source.path}: input row {block.first + i} has a {type(t).__name__} as text, not a string.")
    return texts, ids


def id_type(value: Any) -> str:
    """The Parquet type of an id column, from its first value: every part uses it (int64 or string)."""
    return "int64" if isinstance(value, int) and not isinstance(value, bool) else "string"


def write_part(directory: Path, block: Block, ids: list[Any], texts: list[str], embeddings: np.ndarray, ids_as: str) -> Path:
    """Write part-<k>.parquet (id, text, embedding) atomically; see the module docstring."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    dim = embeddings.shape[1]
    vectors = pa.FixedSizeListArray.from_arrays(pa.array(np.ascontiguousarray(embeddings, dtype=np.float32).reshape(-1)), dim)
    if ids_as == "string":
        id_array = pa.array([str(i) for i in ids], pa.string())
    else:
        try:
            id_array = pa.array(ids, pa.int64())
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
            raise ValueError(f"Block {block.index}: every id must be an integer, like the first one (got e.g. {ids[:3]}).") from None
    table = pa.table({"id": id_array, "text": pa.array(texts, pa.string()), "embedding": vectors})
    final = directory / part_name(block.index)
    with atomic_path(final) as staged:  # written whole under a hidden name, fsynced, renamed
        pq.write_table(table, staged)
    return final


@dataclass
class Manifest:
    """What a job embeds and how; stored as `_manifest.json` in the output folder."""

    inputs: list[InputFile]
    blocks: list[Block]
    settings: dict[str, Any]  # model, text / id columns, block size, normalisation

    def to_json(self) -> str:
        return json.dumps({"format": MANIFEST_FORMAT, "version": 1, "settings": self.settings,
                           "inputs": [asdict(i) for i in self.inputs], "blocks": [asdict(b) for b in self.blocks]}, indent=1)

    @classmethod
    def read(cls, directory: Path) -> Manifest | None:
        path = directory / MANIFEST_NAME
        if not path.is_file():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"{path} was not written by mintformers.distributed.embed_dataset.")
        blocks = [Block(**{**b, "row_groups": tuple(b["row_groups"])}) for b in data["blocks"]]
        return cls([InputFile(**i) for i in data["inputs"]], blocks, data["settings"])

    def differences(self, inputs: list[InputFile], settings: dict[str, Any]) -> list[str]:
        """Why this manifest does not describe the job (`inputs`, `settings`); empty when it does."""
        found = [f"{k}: {self.settings.get(k)!r} then, {v!r} now" for k, v in settings.items() if self.settings.get(k) != v]
        if [i.path for i in self.inputs] != [i.path for i in inputs]:
            found.append("the list of input files differs")
        else:
            found += [f"{new.path} changed (size or modification time)" for old, new in zip(self.inputs, inputs) if old != new]
        return found
