"""Checkpoint weights on disk: discovery, reading (safetensors, sharded, `.bin` without unpickling code) and writing.

Framework-free at import: PyTorch is imported only to read `.bin` files and to return or write torch tensors, so the
TensorFlow and Flax backends read checkpoints as numpy arrays (`load_numpy_state_dict`) without importing it.

Writing goes through `storage.save_folder`: the weight files (and whatever else the caller saves in the same
`save_folder` block) replace the old checkpoint's as a whole, so a crash leaves the old checkpoint or the new one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import re
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from .hub import CheckpointError, is_local, resolve_file
from .storage import atomic_path, atomic_write_text, read_json, save_folder, save_step

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
    "safetensors_header",
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
            weight_map = read_json(index_path).get("weight_map")
            if not isinstance(weight_map, dict) or not weight_map:
                raise CheckpointError(f"{str(index_path)!r} has no 'weight_map': the index file is corrupt. Download the checkpoint again, or save it again.")
            shards = sorted(set(weight_map.values()))
            folder = index_path.parent
            missing = [shard for shard in shards if is_local(name_or_path) and not (folder / shard).is_file()]
            if missing:
                raise CheckpointError(
                    f"{str(index_path)!r} lists {len(shards)} weight shards but {', '.join(map(repr, missing[:3]))}"
                    f"{' and more' if len(missing) > 3 else ''} {'is' if len(missing) == 1 else 'are'} missing: the "
                    "download or save did not complete. Download the checkpoint again, or save it again."
                )
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
    if framework == "torch":
        from safetensors.torch import load_file
    else:
        from safetensors.numpy import load_file

    with _readable_safetensors(path):
        return load_file(str(path), device="cpu") if framework == "torch" else load_file(str(path))


def safetensors_header(path: Path) -> dict[str, tuple[tuple[int, ...], str]]:
    """key → (shape, dtype name as safetensors writes it, e.g. "F32") from a file's header, without reading tensors."""
    from safetensors import safe_open

    with _readable_safetensors(path), safe_open(str(path), framework="numpy") as st:
        return {key: (tuple(st.get_slice(key).get_shape()), str(st.get_slice(key).get_dtype())) for key in st.keys()}


@contextlib.contextmanager
def _readable_safetensors(path: Path) -> Iterator[None]:
    """One message for a safetensors file that cannot be read, whoever reads it."""
    from safetensors import SafetensorError

    size = os.path.getsize(path)
    if size < 8:
        raise CheckpointError(f"{str(path)!r} is {size} bytes: truncated or empty. Re-download or re-save it.")
    try:
        yield
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
    """Write `state_dict` into `directory` (sharded with an index when larger than max_shard_size), atomically
    (`storage.save_folder`): the previous save's weight files that this one does not overwrite are removed in the
    same commit, so the directory never mixes two. Returns the paths written.
    """
    import torch

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

    with save_folder(directory) as save:
        for name, shard in zip(names, shards):
            if safe_serialization:
                from safetensors.torch import save_file

                save_file({k: _own(v) for k, v in shard.items()}, save.path / name, metadata={"format": "pt", **(metadata or {})})
            else:
                torch.save(shard, save.path / name)
            save_step(f"wrote {name}")
        if len(shards) > 1:
            total = sum(v.numel() * v.element_size() for v in state.values())
            index = {"metadata": {"total_size": total}, "weight_map": {k: n for n, s in zip(names, shards) for k in s}}
            atomic_write_text(save.path / index_name, json.dumps(index, indent=2, sort_keys=True))
            names.append(index_name)
        for old in save.target.iterdir() if save.target.is_dir() else ():  # the previous save's weight files go
            if old.name not in names and _is_weight_file(old.name):
                save.remove(old.name)
    return [save.target / name for name in names]


def _own(t: torch.Tensor) -> torch.Tensor:
    # a tensor that shares storage with another (e.g. a slice) must be copied for safetensors
    return t.clone() if t.untyped_storage().nbytes() != t.numel() * t.element_size() else t


def _is_weight_file(name: str) -> bool:
    return bool(re.fullmatch(r"(model|pytorch_model)(-\d{5}-of-\d{5})?\.(safetensors|bin)(\.index\.json)?", name))
