"""Checkpoint files on disk, framework-free (configs, tokenizers and every backend share it): reading JSON, and
writing files atomically.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .hub import CheckpointError

__all__ = ["read_json", "atomic_path", "atomic_write_text"]


def read_json(path: str | os.PathLike) -> dict[str, Any]:
    """A JSON object from a checkpoint file, or a CheckpointError naming the file and what to do."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{str(path)!r} is not valid JSON ({e}); the file is corrupt or truncated.") from e
    if not isinstance(data, dict):
        raise CheckpointError(f"{str(path)!r} must hold a JSON object, found {type(data).__name__}.")
    return data


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success rename it over `path`, on failure remove it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
