"""Training data: records from JSON lines / CSV (or any map-style dataset), the batch order, and padding.

A record is a dict (`{"text": ..., "label": ...}`); what fields a task reads is listed in `tasks.py`. Records are
tokenized batch by batch (in the collate step), so a large file starts training at once.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset, DistributedSampler

__all__ = ["read_records", "as_dataset", "RecordDataset", "BatchOrder", "pad_rows"]


def _cell(value: str) -> Any:
    """A CSV cell as the JSON value it spells (numbers, lists, objects), else the string itself."""
    text = value.strip()
    if text[:1] in "[{-0123456789" or text in ("true", "false", "null"):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass
    return value


def read_records(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Records of a `.jsonl` file (one JSON object per line, blank lines skipped), a `.csv` / `.tsv` file with a
    header (cells holding numbers or JSON lists become those values) or a `.txt` file ({"text": line} per line)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Training data {str(path)!r} does not exist.")
    suffix = path.suffix.lower()
    records: list[dict[str, Any]] = []
    if suffix in (".jsonl", ".json", ".ndjson"):
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as e:
                    raise ValueError(f"{path}:{n} is not valid JSON ({e.msg}); expected one JSON object per line.") from None
                if not isinstance(record, dict):
                    raise ValueError(f"{path}:{n} holds a {type(record).__name__}; each line must be a JSON object.")
                records.append(record)
    elif suffix == ".txt":  # one text per non-blank line: for the language-modelling tasks
        with open(path, encoding="utf-8") as f:
            records = [{"text": line.strip()} for line in f if line.strip()]
    elif suffix in (".csv", ".tsv"):
        with open(path, encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f, delimiter="\t" if suffix == ".tsv" else ",")
            records = [{k: _cell(v) for k, v in row.items() if k is not None} for row in reader]
    else:
        raise ValueError(f"{str(path)!r}: training data must be .jsonl, .csv or .txt (got {suffix or 'no extension'}).")
    if not records:
        raise ValueError(f"{str(path)!r} holds no records.")
    return records


class RecordDataset(Dataset):
    """A list of dicts as a map-style dataset."""

    def __init__(self, records: Sequence[dict[str, Any]]):
        self.records = records

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.records[index]


def as_dataset(data: Any) -> Any:
    """A path (JSONL / CSV), a list of dicts, or any map-style dataset (`len` and `[i]` giving dicts)."""
    if data is None:
        return None
    if isinstance(data, (str, os.PathLike)):
        return RecordDataset(read_records(data))
    if isinstance(data, list):
        return RecordDataset(data)
    if hasattr(data, "__len__") and hasattr(data, "__getitem__"):
        return data
    raise TypeError(
        f"Training data must be a .jsonl/.csv path, a list of dicts or a map-style dataset; got {type(data).__name__}."
    )


class BatchOrder:
    """The micro-batches of one epoch on this rank: DistributedSampler's share (shuffled by seed + epoch), cut into
    batches, starting after the `skip` batches a resumed run has already trained on."""

    def __init__(self, size: int, batch_size: int, rank: int, world_size: int, *, shuffle: bool, seed: int):
        self.sampler = DistributedSampler(
            range(size), num_replicas=world_size, rank=rank, shuffle=shuffle, seed=seed, drop_last=False
        )
        self.batch_size = batch_size

    def __len__(self) -> int:
        return math.ceil(len(self.sampler) / self.batch_size)

    def batches(self, epoch: int, skip: int = 0) -> Iterator[list[int]]:
        self.sampler.set_epoch(epoch)
        indices = list(self.sampler)
        for start in range(skip * self.batch_size, len(indices), self.batch_size):
            yield indices[start : start + self.batch_size]

    def padded(self, size: int) -> list[bool]:
        """For evaluation: which of this rank's positions repeat an example only to even out the ranks."""
        rank, world = self.sampler.rank, self.sampler.num_replicas
        return [rank + i * world >= size for i in range(len(self.sampler))]


def pad_rows(rows: Sequence[Sequence[int]], value: int, width: int | None = None) -> torch.Tensor:
    """Right-pad lists of ints to the longest (or `width`) → (B, T) int64."""
    width = max((len(r) for r in rows), default=0) if width is None else width
    out = torch.full((len(rows), max(width, 1)), value, dtype=torch.long)
    for i, row in enumerate(rows):
        if row:
            out[i, : len(row)] = torch.as_tensor(row, dtype=torch.long)
    return out
