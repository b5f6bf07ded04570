"""Checkpoint weights on disk: discovery, reading (safetensors, sharded, `.bin` without unpickling code) and writing.

Framework-free at import: PyTorch is imported only to read `.bin` files and to return or write torch tensors, so the
TensorFlow and Flax backends read checkpoints as numpy arrays (`load_numpy_state_dict`) without importing it.

Writing is atomic: every file goes to a temporary name in the target directory and is renamed into place only when
complete, so a crash leaves the previous checkpoint intact, never a half-written one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import re
import tempfile
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from .hub import CheckpointError, resolve_file

if TYPE_CHECKING:
    import numpy as np
    import torch

__all__ = [
    "SAFE_WEIGHTS_NAME",
    "SAFE_WEIGHTS_INDEX_NAME",
    "WEIGHTS_NAME",
    "WEIGHTS_INDEX_NAME",
    "WEIGHT_FORMATS",
    "find_weight_files",
    "load_state_dict",
    "load_numpy_state_dict",
    "LoadingInfo",
    "align_checkpoint_keys",
    "report_loading",
    "shape_mismatch",
    "save_state_dict",
    "atomic_path",
    "atomic_write_text",
    "parse_size",
]

SAFE_WEIGHTS_NAME = "model.safetensors"
SAFE_WEIGHTS_INDEX_NAME = "model.safetensors.index.json"
WEIGHTS_NAME = "pytorch_model.bin"
WEIGHTS_INDEX_NAME = "pytorch_model.bin.index.json"


# (single file, index of shards) per format, in order of preference
WEIGHT_FORMATS = ((SAFE_WEIGHTS_NAME, SAFE_WEIGHTS_INDEX_NAME), (WEIGHTS_NAME, WEIGHTS_INDEX_NAME))


def find_weight_files(
    name_or_path: str | os.PathLike, formats: tuple[tuple[str, str], ...] = WEIGHT_FORMATS, **hub
) -> list[Path]:
    """The weight files of a checkpoint, in the first of `formats` it has (safetensors before .bin); shards listed
    by their index."""
    for single, index in formats:
        path = resolve_file(name_or_path, single, required=False, **hub)
        if path is not None:
            return [path]
        index_path = resolve_file(name_or_path, index, required=False, **hub)
        if index_path is not None:
            from .config import read_json

            weight_map = read_json(index_path).get("weight_map")
            if not isinstance(weight_map, dict) or not weight_map:
                raise CheckpointError(f"{str(index_path)!r} has no 'weight_map'; the index file is corrupt.")
            shards = sorted(set(weight_map.values()))
            return [resolve_file(name_or_path, shard, **hub) for shard in shards]
    names = [name for pair in formats for name in pair]
    raise CheckpointError(
        f"No weights in {os.fspath(name_or_path)!r}: expected {', '.join(names[:-1])} or {names[-1]}. "
        "Save the model with save_pretrained() or check the path."
    )


def load_state_dict(files: list[Path] | Path) -> dict[str, torch.Tensor]:
    """Read every tensor of the given files on CPU. `.bin` files are read with weights_only=True (no code runs)."""
    state: dict[str, torch.Tensor] = {}
    for path in _paths(files):
        state.update(_read_safetensors(path, "torch") if str(path).endswith(".safetensors") else _read_bin(path))
    return state


def load_numpy_state_dict(files: list[Path] | Path) -> dict[str, np.ndarray]:
    """The same tensors as numpy arrays, for the TensorFlow and Flax backends: safetensors files are read without
    PyTorch; `.bin` files go through torch.load(weights_only=True). bfloat16 stays bfloat16 (ml_dtypes)."""
    state: dict[str, np.ndarray] = {}
    for path in _paths(files):
        if str(path).endswith(".safetensors"):
            state.update(_read_safetensors(path, "numpy"))
        else:
            state.update({k: _torch_to_numpy(v) for k, v in _read_bin(path).items()})
    return state


def _paths(files: list[Path] | Path) -> list[Path]:
    return [Path(files)] if isinstance(files, (str, Path)) else list(files)


def _torch_to_numpy(t: torch.Tensor) -> np.ndarray:
    import torch

    if t.dtype == torch.bfloat16:  # numpy has no bfloat16 of its own: reinterpret the bits as ml_dtypes'
        import ml_dtypes

        return t.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return t.numpy()


def _read_safetensors(path: Path, framework: str) -> dict:
    from safetensors import SafetensorError

    if framework == "torch":
        from safetensors.torch import load_file
    else:
        from safetensors.numpy import load_file

    size = os.path.getsize(path)
    if size < 8:
        raise CheckpointError(f"{str(path)!r} is {size} bytes: truncated or empty. Re-download or re-save it.")
    try:
        return load_file(str(path), device="cpu") if framework == "torch" else load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(
            f"{str(path)!r} is not a readable safetensors file ({e}); it is corrupt or truncated. "
            "Re-download or re-save the checkpoint."
        ) from e


def _read_bin(path: Path) -> dict[str, torch.Tensor]:
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise CheckpointError(
            f"{str(path)!r} holds more than tensors (or is corrupt) and is refused: it is never unpickled with code "
            f"execution. Convert it to safetensors with a trusted tool. ({e})"
        ) from e
    except (RuntimeError, EOFError, OSError, ValueError) as e:
        raise CheckpointError(f"{str(path)!r} is not a readable PyTorch checkpoint ({e}); it is corrupt or truncated.") from e
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{str(path)!r} does not hold a flat dict of tensors.")
    return state


# ---- matching checkpoint keys to a model -----------------------------------------------------------------------

class LoadingInfo(dict):
    """missing_keys / unexpected_keys / mismatched_keys of a from_pretrained call."""


# Old TF-converted checkpoints name LayerNorm parameters gamma/beta.
_LEGACY_RENAMES = ((re.compile(r"\.gamma$"), ".weight"), (re.compile(r"\.beta$"), ".bias"))


def align_checkpoint_keys(keys: Iterable[str], own: Collection[str], prefix: str, is_head: bool) -> dict[str, str]:
    """checkpoint key → the key the model would use: legacy gamma/beta renames, then the base-model `prefix` added
    or stripped, so a head model loads a base checkpoint and a base model loads a head checkpoint. `own` holds the
    model's keys (PyTorch names: every backend matches checkpoints by them)."""
    renamed = {}
    for key in keys:
        new = key
        for pattern, repl in _LEGACY_RENAMES:
            new = pattern.sub(repl, new)
        renamed[key] = new
    if not prefix:
        return renamed
    has_prefix = any(k.startswith(prefix + ".") for k in renamed.values())
    if is_head and not has_prefix:
        return {k: (f"{prefix}.{v}" if f"{prefix}.{v}" in own else v) for k, v in renamed.items()}
    if not is_head and has_prefix:
        return {k: (v[len(prefix) + 1 :] if v.startswith(prefix + ".") else v) for k, v in renamed.items()}
    return renamed


def shape_mismatch(key: str, checkpoint_shape: tuple, model_shape: tuple) -> CheckpointError:
    return CheckpointError(
        f"Shape mismatch for {key!r}: checkpoint has {tuple(checkpoint_shape)}, the model expects "
        f"{tuple(model_shape)}. The config does not match the checkpoint; to re-initialise such "
        "layers (e.g. a classifier with a different num_labels) pass ignore_mismatched_sizes=True."
    )


def report_loading(
    logger: logging.Logger, model_name: str, source: str, missing: list, unexpected: list, mismatched: list
) -> None:
    """The warnings every backend gives after loading a checkpoint into a model."""
    if missing:
        logger.warning(
            "Some weights of %s were not in the checkpoint at %s and are newly initialised: %s. "
            "Train the model on a downstream task before using it for predictions.",
            model_name, source, missing,
        )
    if unexpected:
        logger.warning(
            "Some weights of the checkpoint at %s were not used by %s: %s. This is expected when loading a "
            "checkpoint of another architecture (e.g. a pretraining head into a classifier).",
            source, model_name, unexpected,
        )
    if mismatched:
        logger.warning("Re-initialised because of shape mismatches: %s", mismatched)


# ---- writing ----------------------------------------------------------------------------------------------------


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


def parse_size(size: int | str) -> int:
    """'5GB' / '500MB' / '10KiB' / an int → bytes."""
    if isinstance(size, int):
        return size
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(i?)B?\s*", size.upper().replace("IB", "iB"), re.IGNORECASE)
    if not m:
        raise ValueError(f"Cannot parse size {size!r}; use e.g. 5GB, 500MB or a number of bytes.")
    number, unit, binary = float(m.group(1)), m.group(2), m.group(3)
    base = 1024 if binary else 1000
    return int(number * base ** " KMGT".index(unit or " "))


def save_state_dict(
    state_dict: dict[str, torch.Tensor],
    directory: Path,
    *,
    max_shard_size: int | str = "5GB",
    safe_serialization: bool = True,
    metadata: dict[str, str] | None = None,
) -> list[Path]:
    """Write `state_dict` into `directory` (sharded with an index when larger than max_shard_size), atomically.

    All new files are completed under temporary names before any is renamed into place; weight files of an
    earlier save that the new one does not overwrite are removed afterwards, so the directory never mixes two.
    """
    import torch

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    limit = parse_size(max_shard_size)
    # contiguous, owning copies: safetensors refuses views and shared storage
    state = {k: v.detach().contiguous() for k, v in state_dict.items()}
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for key, tensor in state.items():
        nbytes = tensor.numel() * tensor.element_size()
        if shards[-1] and size + nbytes > limit:
            shards.append({})
            size = 0
        shards[-1][key] = tensor
        size += nbytes

    single, index_name = (SAFE_WEIGHTS_NAME, SAFE_WEIGHTS_INDEX_NAME) if safe_serialization else (WEIGHTS_NAME, WEIGHTS_INDEX_NAME)
    stem, ext = single.rsplit(".", 1)
    names = [single] if len(shards) == 1 else [f"{stem}-{i + 1:05d}-of-{len(shards):05d}.{ext}" for i in range(len(shards))]

    staged: list[tuple[Path, Path]] = []
    try:
        for name, shard in zip(names, shards):
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
            os.close(fd)
            staged.append((Path(tmp), directory / name))
            if safe_serialization:
                from safetensors.torch import save_file

                save_file({k: _own(v) for k, v in shard.items()}, tmp, metadata={"format": "pt", **(metadata or {})})
            else:
                torch.save(shard, tmp)
        if len(shards) > 1:
            total = sum(v.numel() * v.element_size() for v in state.values())
            index = {"metadata": {"total_size": total}, "weight_map": {k: n for n, s in zip(names, shards) for k in s}}
            fd, tmp = tempfile.mkstemp(prefix=f".{index_name}.", suffix=".tmp", dir=directory)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(index, f, indent=2, sort_keys=True)
            staged.append((Path(tmp), directory / index_name))
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, final in staged:
        os.replace(tmp, final)
    written = {final.name for _, final in staged}
    for old in directory.iterdir():
        if old.name not in written and _is_weight_file(old.name):
            old.unlink()
    return [final for _, final in staged]


def _own(t: torch.Tensor) -> torch.Tensor:
    # a tensor that shares storage with another (e.g. a slice) must be copied for safetensors
    return t.clone() if t.untyped_storage().nbytes() != t.numel() * t.element_size() else t


def _is_weight_file(name: str) -> bool:
    return bool(re.fullmatch(r"(model|pytorch_model)(-\d{5}-of-\d{5})?\.(safetensors|bin)(\.index\.json)?", name))
