"""Weight names and files for the TensorFlow models.

Our Keras layers carry the reference TensorFlow classes' names, so a weight's path in the layer tree
(`bert/encoder/layer_._0/attention/self/query/kernel`) is its name in a `tf_model.h5`, and one rule — the
reference's own TF → PyTorch convention — turns it into the PyTorch checkpoint key
(`bert.encoder.layer.0.attention.self.query.weight`):

- `a___b` is the layer the two frameworks name differently (`mlm___cls` is PyTorch's `cls`): keep `b`;
- `_._` separates a list index (`layer_._0` is `layer.0`);
- `kernel` is the transposed Linear `weight`; `embeddings` and `gamma` are `weight`, `beta` is `bias`.

Files: PyTorch checkpoints (safetensors, sharded, `pytorch_model.bin` weights-only) are read by `mintformers.loading`;
`tf_model.h5` (the Keras 2 layout the reference writes: one group per top-level layer, `layer_names` and
`weight_names` attributes) and TF-named safetensors (the reference's `safe_serialization=True`) are read here.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from ..hub import CheckpointError, resolve_file

__all__ = ["TF_WEIGHTS_NAME", "torch_key", "read_checkpoint", "read_h5", "write_h5"]

TF_WEIGHTS_NAME = "tf_model.h5"
_LEAF_NAMES = {"kernel": "weight", "embeddings": "weight", "gamma": "weight", "beta": "bias"}
# HDF5 attributes live in the object header (64 KiB): longer name lists are split as name0, name1, ... (as Keras does)
_ATTR_LIMIT = 64512


def torch_key(path: str) -> tuple[str, bool]:
    """A reference TF weight name (our Keras path) → (PyTorch key, whether the array is transposed)."""
    path = path.removesuffix(":0")
    path = re.sub(r"(^|/)[^/]*___", r"\1", path)
    parts = path.replace("_._", "/").split("/")
    transpose = parts[-1] == "kernel"
    parts[-1] = _LEAF_NAMES.get(parts[-1], parts[-1])
    return ".".join(parts), transpose


def _from_tf_names(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Reference TF names → PyTorch keys, kernels transposed to the PyTorch layout."""
    out = {}
    for name, array in arrays.items():
        key, transpose = torch_key(name)
        out[key] = array.T if transpose else array
    return out


def read_checkpoint(name_or_path: str | os.PathLike, **hub) -> tuple[dict[str, np.ndarray], str]:
    """The weights of a checkpoint as numpy arrays keyed by PyTorch names, and the file they came from.

    PyTorch files come first (the format every backend shares), then `tf_model.h5`."""
    from ..loading import find_weight_files, load_numpy_state_dict

    try:
        files = find_weight_files(name_or_path, **hub)
    except CheckpointError as e:
        h5 = resolve_file(name_or_path, TF_WEIGHTS_NAME, required=False, **hub)
        if h5 is None:
            raise CheckpointError(f"{e} ({TF_WEIGHTS_NAME}, the reference's TensorFlow file, is read too.)") from None
        return _from_tf_names(read_h5(h5)), str(h5)
    state = load_numpy_state_dict(files)
    if any("/" in k for k in state):  # written by the reference's TF classes with safe_serialization=True
        state = _from_tf_names(state)
    return state, str(files[0])


def read_h5(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """A reference `tf_model.h5` → {weight name without the model's name: array}."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            out = {}
            for layer in _read_attr(f, "layer_names"):
                group = f[layer]
                for name in _read_attr(group, "weight_names"):
                    out[name.split("/", 1)[-1]] = np.asarray(group[name])
            return out
    except (OSError, KeyError) as e:
        raise CheckpointError(
            f"{str(path)!r} is not a readable tf_model.h5 ({e}); it is corrupt, truncated or not the layout the "
            "reference's TensorFlow classes write. Re-download or re-save it."
        ) from e


def write_h5(path: Path, model_name: str, weights: dict[str, np.ndarray]) -> None:
    """Write `weights` ({reference TF name: array}) as the reference's TF classes save them: one group per
    top-level layer (the names' first part), datasets named `model_name/...:0`. Writes `path` as given: save_pretrained
    writes it inside its staged folder save (storage.save_folder), which puts it in place."""
    import h5py
    import keras

    groups: dict[str, dict[str, np.ndarray]] = {}
    for name, array in weights.items():
        groups.setdefault(name.split("/", 1)[0], {})[f"{model_name}/{name}:0"] = array
    with h5py.File(path, "w") as f:
        _write_attr(f, "layer_names", list(groups))
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = keras.__version__.encode()
        for layer, arrays in groups.items():
            group = f.create_group(layer)
            _write_attr(group, "weight_names", list(arrays))
            for name, array in arrays.items():
                group.create_dataset(name, data=array)


def _write_attr(group, name: str, values: list[str]) -> None:
    data = np.asarray([v.encode("utf8") for v in values])
    chunks = 1
    while data.nbytes / chunks > _ATTR_LIMIT:
        chunks += 1
    if chunks == 1:
        group.attrs[name] = data
    else:
        for i, chunk in enumerate(np.array_split(data, chunks)):
            group.attrs[f"{name}{i}"] = chunk


def _read_attr(group, name: str) -> list[str]:
    if name in group.attrs:
        data = list(group.attrs[name])
    else:
        data, i = [], 0
        while f"{name}{i}" in group.attrs:
            data.extend(group.attrs[f"{name}{i}"])
            i += 1
        if not data:
            raise KeyError(f"attribute {name!r} missing")
    return [v.decode("utf8") if hasattr(v, "decode") else str(v) for v in data]
