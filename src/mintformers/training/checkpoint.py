"""Training state on disk without pickle: tensors in safetensors, everything else in JSON.

A checkpoint folder `checkpoint-<step>` is a normal model folder (what `from_pretrained` loads) plus:

    optimizer.safetensors + optimizer.json   the consolidated optimizer state (tensors | the tree around them)
    scheduler.json                           the learning-rate scheduler's state
    rng.safetensors + rng.json               every rank's torch / CUDA / numpy / Python random states
    trainer_state.json                       step, epoch, data position, best metric, gradient scaler, arguments

Reading it back runs no code: safetensors holds raw tensors, JSON holds numbers and strings. The folder is
written as one `storage.save_folder` save: a run killed while saving leaves no checkpoint-<step> that counts
(trainer_state.json arrives with everything else, at the commit), or the whole of it.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = [
    "CHECKPOINT_PATTERN",
    "save_tree",
    "load_tree",
    "rng_state",
    "set_rng_state",
    "list_checkpoints",
    "latest_checkpoint",
]

CHECKPOINT_PATTERN = re.compile(r"checkpoint-(\d+)")
STATE_NAME = "trainer_state.json"


# ---- nested state <-> (tensors, JSON) ------------------------------------------------------------------------------


def _split(obj: Any, tensors: dict[str, torch.Tensor], path: str) -> Any:
    """The JSON skeleton of `obj`; its tensors go into `tensors` under their path."""
    if isinstance(obj, torch.Tensor):
        tensors[path] = obj.detach().cpu().contiguous()
        return {"__tensor__": path}
    if isinstance(obj, np.ndarray):
        tensors[path] = torch.from_numpy(np.ascontiguousarray(obj))
        return {"__ndarray__": path}
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {k: _split(v, tensors, f"{path}/{k}") for k, v in obj.items()}
        return {"__items__": [[k, _split(v, tensors, f"{path}/{k}")] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [_split(v, tensors, f"{path}/{i}") for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_split(v, tensors, f"{path}/{i}") for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    raise TypeError(f"Cannot store a {type(obj).__name__} in a training checkpoint (at {path or 'the top'}).")


def _join(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__ndarray__" in obj:
            return tensors[obj["__ndarray__"]].numpy()
        if "__tuple__" in obj:
            return tuple(_join(v, tensors) for v in obj["__tuple__"])
        if "__items__" in obj:
            return {k: _join(v, tensors) for k, v in obj["__items__"]}
        return {k: _join(v, tensors) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_join(v, tensors) for v in obj]
    return obj


def save_tree(obj: Any, directory: Path, name: str) -> None:
    """Write a nested structure of dicts, lists, tuples, numbers, strings and tensors as `name`.safetensors
    (the tensors) and `name`.json (the rest, with references to the tensors)."""
    from safetensors.torch import save_file

    tensors: dict[str, torch.Tensor] = {}
    skeleton = _split(obj, tensors, "")
    # safetensors refuses tensors sharing memory: each gets its own storage
    save_file({k: v.clone() for k, v in tensors.items()}, str(directory / f"{name}.safetensors"))
    (directory / f"{name}.json").write_text(json.dumps(skeleton, indent=1), encoding="utf-8")


def load_tree(directory: Path, name: str) -> Any:
    """Read what `save_tree` wrote; no code runs (safetensors + JSON)."""
    from safetensors.torch import load_file

    tensors = load_file(str(directory / f"{name}.safetensors"), device="cpu")
    return _join(json.loads((directory / f"{name}.json").read_text(encoding="utf-8")), tensors)


# ---- random number generators --------------------------------------------------------------------------------------


def rng_state() -> dict[str, Any]:
    """This process's generator states: Python, numpy, torch CPU and every CUDA device."""
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": [version, list(internal), gauss],
        "numpy": [kind, keys.tolist(), pos, has_gauss, cached],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# ---- folders -------------------------------------------------------------------------------------------------------


def list_checkpoints(output_dir: Path) -> list[Path]:
    """Complete `checkpoint-<step>` folders in `output_dir`, oldest step first (a save that committed but was
    interrupted is finished first; one that never committed holds no trainer_state.json and is not listed)."""
    from ..storage import recover

    found = []
    if Path(output_dir).is_dir():
        for p in Path(output_dir).iterdir():
            m = CHECKPOINT_PATTERN.fullmatch(p.name)
            if m and p.is_dir():
                recover(p)
                if (p / STATE_NAME).is_file():
                    found.append((int(m.group(1)), p))
    return [p for _, p in sorted(found)]


def latest_checkpoint(output_dir: Path) -> Path | None:
    checkpoints = list_checkpoints(output_dir)
    return checkpoints[-1] if checkpoints else None
