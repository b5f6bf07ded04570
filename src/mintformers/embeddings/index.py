"""A reusable corpus index: embeddings saved beside their texts (`save_embeddings` / `load_embeddings`).

`path`.npy holds the (n, dim) array; `path`.jsonl a header line (format, count, dim, a fingerprint of the texts)
then one record per text. Loading checks that both files belong together.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

from ..hub import CheckpointError

_INDEX_FORMAT = "mintformers-embeddings"


class SavedEmbeddings(NamedTuple):
    embeddings: np.ndarray  # (n, dim)
    texts: list[str]
    records: list[dict[str, Any]]  # one per text: {"text": ..., plus any fields saved with it}
    metadata: dict[str, Any]


def _index_paths(path: str | os.PathLike) -> tuple[Path, Path]:
    path = Path(path)
    base = path.with_suffix("") if path.suffix in (".npy", ".jsonl") else path
    return base.with_name(base.name + ".npy"), base.with_name(base.name + ".jsonl")


def texts_fingerprint(texts: Iterable[str]) -> str:
    """sha256 over the texts (order matters): tells whether a saved index still matches a corpus."""
    digest = hashlib.sha256()
    for text in texts:
        data = text.encode("utf-8")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def save_embeddings(
    path: str | os.PathLike,
    embeddings: Any,
    texts: Sequence[str | dict[str, Any]],
    metadata: dict[str, Any] | None = None,
) -> tuple[Path, Path]:
    """Write `path`.npy (the (n, dim) array) and `path`.jsonl (a header line, then one record per text).

    `texts` are strings or dicts with a "text" key and any other JSON fields (e.g. where the text came from).
    Both files replace an earlier pair as one atomic save (`storage.save_folder`); the header records the row count and
    a fingerprint of the texts, which `load_embeddings` checks. Returns the two paths.
    """
    from ..storage import save_folder, save_step

    array = embeddings.detach().cpu().numpy() if isinstance(embeddings, torch.Tensor) else np.asarray(embeddings)
    if array.ndim != 2:
        raise ValueError(f"embeddings must be a 2-D array (n, dim), got shape {array.shape}.")
    records = [{"text": t} if isinstance(t, str) else dict(t) for t in texts]
    if any(not isinstance(r.get("text"), str) for r in records):
        raise ValueError("Every record needs a string 'text'.")
    if len(records) != len(array):
        raise ValueError(f"{len(array)} embeddings but {len(records)} texts: they must match one to one.")
    npy_path, jsonl_path = _index_paths(path)
    header = {
        "format": _INDEX_FORMAT,
        "version": 1,
        "count": len(array),
        "dim": int(array.shape[1]),
        "dtype": str(array.dtype),
        "texts_sha256": texts_fingerprint(r["text"] for r in records),
        "metadata": metadata or {},
    }
    with save_folder(npy_path.parent) as save:  # the pair replaces the old pair as one atomic save
        with open(save.path / npy_path.name, "wb") as f:
            np.save(f, array, allow_pickle=False)
        save_step(f"wrote {npy_path.name}")
        with open(save.path / jsonl_path.name, "w", encoding="utf-8") as f:
            f.write(json.dumps(header, ensure_ascii=False) + "\n")
            for record in records:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return npy_path, jsonl_path


def load_embeddings(path: str | os.PathLike) -> SavedEmbeddings:
    """Read what `save_embeddings` wrote (`path` with or without .npy); checks that both files agree."""
    from ..storage import recover

    npy_path, jsonl_path = _index_paths(path)
    if npy_path.parent.is_dir():
        recover(npy_path.parent)  # a save of the pair that a crash interrupted after its commit
    for p in (npy_path, jsonl_path):
        if not p.is_file():
            raise FileNotFoundError(f"Saved embeddings incomplete: {str(p)!r} does not exist.")
    try:
        array = np.load(npy_path, allow_pickle=False)
    except (ValueError, OSError) as e:
        raise CheckpointError(f"{str(npy_path)!r} is not a readable .npy file ({e}).") from None
    try:
        with open(jsonl_path, encoding="utf-8") as f:
            header = json.loads(f.readline())
            records = [json.loads(line) for line in f if line.strip()]
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{str(jsonl_path)!r} is not valid JSON lines ({e}).") from None
    if not isinstance(header, dict) or header.get("format") != _INDEX_FORMAT:
        raise CheckpointError(f"{str(jsonl_path)!r} was not written by save_embeddings (no {_INDEX_FORMAT} header).")
    texts = [r.get("text", "") for r in records]
    if len(records) != header.get("count") or array.shape[0] != len(records):
        raise CheckpointError(
            f"{str(npy_path)!r} holds {array.shape[0]} rows but {str(jsonl_path)!r} lists {len(records)} texts "
            f"(header says {header.get('count')}): the files do not belong together. Rebuild the index."
        )
    if header.get("texts_sha256") not in (None, texts_fingerprint(texts)):
        raise CheckpointError(f"{str(jsonl_path)!r}: texts do not match their fingerprint. Rebuild the index.")
    return SavedEmbeddings(array, texts, records, header.get("metadata", {}))
