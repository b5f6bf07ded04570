"""The Flax model base: the wrapper Flax users know, around a `flax.linen` module.

`model.module` is the linen module and `model.params` a plain pytree (nested dicts) with the reference's Flax layout,
so `model.module.apply({"params": model.params}, ...)` and `model(..., params=...)` both work inside `jax.jit` and
`jax.grad`. Calls outside a trace check their inputs first (the PyTorch models' messages, validation.py) and run a
compiled apply; inside a trace only shapes are checked, so a jitted step never depends on the batch's values.

Checkpoints are the PyTorch classes' (safetensors, sharded, `pytorch_model.bin` read weights-only) or the reference's
`flax_model.msgpack` (restored by flax.serialization's msgpack reader: no pickling). Every format is matched through
PyTorch key names, with the one mapping `pytorch_key` between the two layouts.
"""

from __future__ import annotations

import inspect
import logging
import os
import re
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax.core import FrozenDict, unfreeze
from flax.serialization import msgpack_restore, msgpack_serialize
from flax.traverse_util import flatten_dict, unflatten_dict

from ..config import PretrainedConfig, load_config
from ..hub import CheckpointError, hub_kwargs
from ..loading import (
    SAFE_WEIGHTS_INDEX_NAME,
    SAFE_WEIGHTS_NAME,
    WEIGHTS_INDEX_NAME,
    WEIGHTS_NAME,
    LoadingInfo,
    align_checkpoint_keys,
    find_weight_files,
    load_numpy_state_dict,
    report_loading,
    save_state_dict,
    shape_mismatch,
)
from ..storage import save_folder
from ..validation import check_id_range, check_input_shapes, check_table_range

__all__ = [
    "FlaxPreTrainedModel",
    "FLAX_WEIGHTS_NAME",
    "FLAX_WEIGHTS_INDEX_NAME",
    "pytorch_key",
    "pytorch_state",
    "read_msgpack",
]

logger = logging.getLogger(__name__)

FLAX_WEIGHTS_NAME = "flax_model.msgpack"
FLAX_WEIGHTS_INDEX_NAME = "flax_model.msgpack.index.json"
# safetensors first (the PyTorch classes' files), then the reference's Flax files, then .bin (needs PyTorch to read)
FLAX_WEIGHT_FORMATS = (
    (SAFE_WEIGHTS_NAME, SAFE_WEIGHTS_INDEX_NAME),
    (FLAX_WEIGHTS_NAME, FLAX_WEIGHTS_INDEX_NAME),
    (WEIGHTS_NAME, WEIGHTS_INDEX_NAME),
)

# ---- the one mapping between the Flax and PyTorch layouts -----------------------------------------------------------

_LEAF_TO_PYTORCH = {"kernel": ("weight", True), "embedding": ("weight", False), "scale": ("weight", False)}


def pytorch_key(path: tuple[str, ...]) -> tuple[str, bool]:
    """A Flax parameter path → (its PyTorch checkpoint key, whether the array is transposed between the two).

    nn.Dense `kernel` (in, out) is nn.Linear `weight` (out, in) transposed; nn.Embed `embedding` and nn.LayerNorm
    `scale` are `weight`; biases and plain parameters (e.g. `cls/predictions/bias`) keep their names.
    """
    *modules, leaf = path
    name, transposed = _LEAF_TO_PYTORCH.get(leaf, (leaf, False))
    return ".".join([*modules, name]), transposed


def pytorch_state(params: Any) -> dict[str, np.ndarray]:
    """A Flax parameter tree → PyTorch-named numpy arrays (kernels transposed back)."""
    state = {}
    for path, value in flatten_dict(unfreeze(params)).items():
        key, transposed = pytorch_key(path)
        value = np.asarray(value)
        state[key] = np.ascontiguousarray(value.T) if transposed else value
    return state


def read_msgpack(files: list[Path]) -> dict[str, np.ndarray]:
    """The reference's `flax_model.msgpack` (or its shards) as PyTorch-named numpy arrays."""
    tree: dict = {}
    for path in files:
        try:
            tree.update(flatten_dict(msgpack_restore(Path(path).read_bytes())))
        except Exception as e:  # msgpack raises several unrelated types for a damaged file
            raise CheckpointError(
                f"{str(path)!r} is not a readable Flax msgpack checkpoint ({type(e).__name__}: {e}); it is corrupt "
                "or truncated. Re-download or re-save it."
            ) from e
    return pytorch_state(unflatten_dict(tree))


def _to_torch(array: np.ndarray):
    import torch

    array = np.array(array)  # a writable copy: arrays from JAX are read-only
    if array.dtype.name == "bfloat16":  # ml_dtypes' bfloat16: hand torch the bits
        return torch.from_numpy(array.view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(array)


def _is_tracer(x: Any) -> bool:
    return isinstance(x, jax.core.Tracer)


def _find_leaf(tree: Any, name: str) -> Any:
    for path, value in flatten_dict(unfreeze(tree)).items():
        if path[-1] == name:
            return value
    return None


_COMPILED: dict[tuple, tuple[Callable, Callable]] = {}
_COMPILED_MAX = 32


def _compiled(module: nn.Module, config: PretrainedConfig, options: tuple) -> tuple[Callable, Callable]:
    """Compiled init and apply, shared by the models of one class, config and dtype (each compiles once per input
    shape). Flags that change the traced program are static."""
    key = (type(module), config.to_json_string(), str(module.dtype), repr(options))
    if key not in _COMPILED:
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.pop(next(iter(_COMPILED)))
        static = ("init_cache", "deterministic", "output_attentions", "output_hidden_states", "mutable")
        _COMPILED[key] = (jax.jit(module.init), jax.jit(module.apply, static_argnames=static))
    return _COMPILED[key]


# ---- the wrapper ----------------------------------------------------------------------------------------------------


class FlaxPreTrainedModel:
    """Base of every Flax model. Families set `config_class`, `base_model_prefix` and `module_class`.

    Constructor (the reference's): `config`, `input_shape` of the dummy batch that creates the parameters, `seed`,
    `dtype` of the computation (jnp.bfloat16 computes in bf16 with float32 parameters), `_do_init=False` to skip
    creating parameters, `gradient_checkpointing` to recompute each layer in the backward pass.
    """

    config_class: ClassVar[type[PretrainedConfig]] = PretrainedConfig
    base_model_prefix: ClassVar[str] = ""
    module_class: ClassVar[type[nn.Module]]
    # Checkpoint keys (PyTorch names, regexes) that are expected not to match any parameter.
    _keys_to_ignore_on_load_unexpected: ClassVar[tuple[str, ...]] = (r"(^|\.)position_ids$",)
    _keys_to_ignore_on_load_missing: ClassVar[tuple[str, ...]] = ()
    # inputs are (batch, sequence); multiple choice takes (batch, choices, sequence)
    input_rank: ClassVar[int] = 2
    framework: ClassVar[str] = "flax"

    def __init__(
        self,
        config: PretrainedConfig,
        input_shape: tuple[int, ...] = (1, 1),
        seed: int = 0,
        dtype: Any = jnp.float32,
        _do_init: bool = True,
        gradient_checkpointing: bool = False,
        **kwargs: Any,
    ):
        if not isinstance(config, self.config_class):
            raise TypeError(
                f"{type(self).__name__} needs a {self.config_class.__name__}, got {type(config).__name__}; "
                f"create it with {self.config_class.__name__}(...) or {type(self).__name__}.from_pretrained(path)."
            )
        self.config = config
        self.dtype = jnp.dtype(dtype)
        self.input_shape = tuple(input_shape)
        self.key = jax.random.PRNGKey(seed)
        self._module_kwargs = kwargs
        self._set_module(gradient_checkpointing)
        self._is_initialized = _do_init
        self._params = None
        if _do_init:
            self._params = self.init_weights(self.key, self.input_shape)
            self.params_shape_tree = jax.eval_shape(lambda p: p, self._params)
        else:
            self.params_shape_tree = jax.eval_shape(partial(self.init_weights, input_shape=self.input_shape), self.key)

    def _set_module(self, gradient_checkpointing: bool) -> None:
        self._module = self.module_class(
            config=self.config, dtype=self.dtype, gradient_checkpointing=gradient_checkpointing, **self._module_kwargs
        )
        self._init, self._apply = _compiled(self._module, self.config, (gradient_checkpointing, self._module_kwargs))

    def enable_gradient_checkpointing(self) -> None:
        """Recompute each layer's activations in the backward pass instead of keeping them (memory for compute)."""
        self._set_module(True)

    @property
    def module(self) -> nn.Module:
        return self._module

    @property
    def params(self) -> dict:
        if not self._is_initialized:
            raise ValueError(
                "This model was created with _do_init=False and holds no parameters: keep the params that "
                "from_pretrained returned (or call init_weights) and pass them as model(..., params=params)."
            )
        return self._params

    @params.setter
    def params(self, params: dict) -> None:
        if not self._is_initialized:
            raise ValueError("This model was created with _do_init=False; keep its params outside the model.")
        params = unfreeze(params) if isinstance(params, FrozenDict) else params
        missing = self.required_params - set(flatten_dict(params))
        if missing:
            raise ValueError(f"Some parameters are missing: {sorted('/'.join(k) for k in missing)}.")
        self._params = params

    @property
    def required_params(self) -> set[tuple[str, ...]]:
        return set(flatten_dict(unfreeze(self.params_shape_tree)))

    @property
    def is_head(self) -> bool:
        return bool(self.base_model_prefix) and self.base_model_prefix in self.params_shape_tree

    def num_parameters(self, params: dict | None = None) -> int:
        return sum(int(np.prod(x.shape)) for x in jax.tree_util.tree_leaves(params if params is not None else self.params))

    # ---- parameters ---------------------------------------------------------------------------------------------
    def _dummy_inputs(self, input_shape: tuple[int, ...]) -> dict[str, jax.Array]:
        input_ids = jnp.zeros(input_shape, dtype=jnp.int32)
        inputs = {"input_ids": input_ids, "attention_mask": jnp.ones_like(input_ids)}
        if getattr(self.config, "add_cross_attention", False):  # creates the cross-attention parameters
            inputs["encoder_hidden_states"] = jnp.zeros(input_shape + (self.config.hidden_size,), dtype=self.dtype)
            inputs["encoder_attention_mask"] = inputs["attention_mask"]
        return inputs

    def init_weights(self, rng: jax.Array, input_shape: tuple[int, ...], params: dict | None = None) -> dict:
        """Random parameters (BERT-style init); with `params`, only those missing from it are drawn."""
        random = self._random_params(self._init, rng, input_shape)
        if params is None:
            return random
        flat = flatten_dict(unfreeze(params))
        for key, value in flatten_dict(random).items():
            flat.setdefault(key, value)
        return unflatten_dict(flat)

    def _random_params(self, init: Callable, rng: jax.Array, input_shape: tuple[int, ...]) -> dict:
        params_rng, dropout_rng = jax.random.split(rng)
        return unfreeze(init({"params": params_rng, "dropout": dropout_rng}, **self._dummy_inputs(input_shape))["params"])

    def _draw(self, paths: list[tuple[str, ...]]) -> dict[tuple[str, ...], jax.Array]:
        """init_weights' values of just these parameters, compiled on their own: the rest of the init program is
        dead code that XLA drops, so a new head on a large checkpoint costs only the head."""

        def draw(rng):
            flat = flatten_dict(self._random_params(self.module.init, rng, self.input_shape))
            return [flat[path] for path in paths]

        return dict(zip(paths, jax.jit(draw)(self.key)))

    def _cast_floating(self, params: Any, dtype: jnp.dtype, mask: Any = None) -> Any:
        def cast(x, keep=True):
            return x.astype(dtype) if keep and jnp.issubdtype(x.dtype, jnp.floating) else x

        if mask is None:
            return jax.tree_util.tree_map(cast, params)
        return jax.tree_util.tree_map(cast, params, mask)

    def to_bf16(self, params: Any, mask: Any = None) -> Any:
        """The floating parameters in bfloat16 (`mask`: a pytree of bools, True = cast). Returns a new tree."""
        return self._cast_floating(params, jnp.bfloat16, mask)

    def to_fp16(self, params: Any, mask: Any = None) -> Any:
        return self._cast_floating(params, jnp.float16, mask)

    def to_fp32(self, params: Any, mask: Any = None) -> Any:
        return self._cast_floating(params, jnp.float32, mask)

    # ---- calling ------------------------------------------------------------------------------------------------
    def __call__(
        self,
        input_ids: Any,
        attention_mask: Any = None,
        token_type_ids: Any = None,
        position_ids: Any = None,
        head_mask: Any = None,
        encoder_hidden_states: Any = None,
        encoder_attention_mask: Any = None,
        params: dict | None = None,
        dropout_rng: jax.Array | None = None,
        train: bool = False,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        past_key_values: dict | None = None,
    ):
        """Run the model. `params` replaces model.params (training loops pass their own); `train=True` applies
        dropout with `dropout_rng`; `past_key_values` (from init_cache, then from the previous output) decodes
        step by step. Works eagerly and inside jax.jit / jax.grad."""
        config = self.config
        output_attentions = config.output_attentions if output_attentions is None else output_attentions
        output_hidden_states = config.output_hidden_states if output_hidden_states is None else output_hidden_states
        return_dict = config.return_dict if return_dict is None else return_dict
        if train and dropout_rng is None:
            raise ValueError("train=True applies dropout and needs a key: pass dropout_rng=jax.random.PRNGKey(...).")
        inputs = {
            "input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids,
            "position_ids": position_ids, "head_mask": head_mask,
            "encoder_hidden_states": encoder_hidden_states, "encoder_attention_mask": encoder_attention_mask,
        }
        inputs = {k: (v if v is None or _is_tracer(v) else jnp.asarray(v)) for k, v in inputs.items()}
        for name in ("input_ids", "token_type_ids", "position_ids"):
            if inputs[name] is not None and jnp.issubdtype(inputs[name].dtype, jnp.integer):
                inputs[name] = inputs[name].astype(jnp.int32)
        self._check_inputs(inputs, past_key_values)

        variables = {"params": params if params is not None else self.params}
        mutable: Any = False
        if past_key_values is not None:
            variables["cache"] = past_key_values
            mutable = ("cache",)
        rngs = {"dropout": dropout_rng} if dropout_rng is not None else {}
        out = self._apply(
            variables, **inputs, deterministic=not train, output_attentions=output_attentions,
            output_hidden_states=output_hidden_states, rngs=rngs, mutable=mutable,
        )
        if mutable:
            out, updated = out
            out = out.replace(past_key_values=unfreeze(updated["cache"]))
        return out if return_dict else out.to_tuple()

    def _check_inputs(self, inputs: dict[str, Any], cache: dict | None) -> None:
        """Shapes always (they are static under jit); values only when concrete (outside a trace)."""
        config = self.config
        ids, mask = inputs["input_ids"], inputs["attention_mask"]
        if ids is None:
            raise ValueError("You have to specify input_ids.")
        if ids.ndim != self.input_rank and self.input_rank == 3:
            raise ValueError(
                f"Multiple-choice input_ids must have shape (batch, num_choices, sequence_length), got {ids.shape}."
            )
        ids_shape = ids.shape
        mask_shape = None if mask is None else mask.shape
        if self.input_rank == 3:  # choices are checked as rows of one (batch · choices, sequence) batch
            ids_shape = (ids.shape[0] * ids.shape[1], ids.shape[2])
            if mask is not None and mask.ndim == 3:
                mask_shape = (mask.shape[0] * mask.shape[1], mask.shape[2])
        integer = jnp.issubdtype(ids.dtype, jnp.integer)
        if cache is None:
            check_input_shapes(
                ids_shape, None, mask_shape, ids_are_integers=integer,
                max_positions=config.max_position_embeddings if inputs["position_ids"] is None else None,
            )
        else:
            self._check_cache_inputs(ids_shape, mask_shape, integer, cache)
        for name in ("token_type_ids", "position_ids"):
            value = inputs[name]
            if value is not None and np.broadcast_shapes(value.shape, ids.shape) != ids.shape:
                raise ValueError(f"{name} has shape {value.shape} but input_ids have shape {ids.shape}; pass one per token.")
        if inputs["encoder_hidden_states"] is not None and config.is_decoder and not config.add_cross_attention:
            raise ValueError(
                "encoder_hidden_states were passed but the model has no cross-attention layers; "
                "create it with is_decoder=True and add_cross_attention=True."
            )
        if ids.size and not _is_tracer(ids):
            values = np.asarray(ids)
            check_id_range(int(values.min()), int(values.max()), config.vocab_size)
        for name, field, what in (
            ("token_type_ids", "type_vocab_size", "segments"),
            ("position_ids", "max_position_embeddings", "positions"),
        ):
            value = inputs[name]
            if value is not None and value.size and not _is_tracer(value):
                check_table_range(int(np.asarray(value).max()), getattr(config, field), name, field, what)

    def _check_cache_inputs(self, ids_shape: tuple, mask_shape: tuple | None, integer: bool, cache: dict) -> None:
        if not self.config.is_decoder:
            raise ValueError(
                "past_key_values were passed to a model that is not a decoder; caches need config.is_decoder=True."
            )
        cached_key, index = _find_leaf(cache, "cached_key"), _find_leaf(cache, "cache_index")
        if cached_key is None or index is None:
            raise ValueError("past_key_values is not a cache of this model; create one with model.init_cache(batch_size, max_length).")
        batch, max_length = cached_key.shape[:2]
        check_input_shapes(ids_shape, None, None, ids_are_integers=integer)
        if ids_shape[0] != batch:
            raise ValueError(f"input_ids hold {ids_shape[0]} rows but the cache was made for batch_size={batch}.")
        if mask_shape is not None and tuple(mask_shape) not in ((batch, max_length), (batch, ids_shape[1], max_length)):
            raise ValueError(
                f"attention_mask has shape {tuple(mask_shape)}; with a cache it covers every cache position: "
                f"expected ({batch}, {max_length}) (1 for real tokens, past and future, 0 for padding)."
            )
        if not _is_tracer(index) and int(index) + ids_shape[1] > max_length:
            raise ValueError(
                f"The cache holds {max_length} positions, {int(index)} are used and {ids_shape[1]} more were "
                f"passed. Create a longer one with model.init_cache(batch_size, max_length)."
            )

    def init_cache(self, batch_size: int, max_length: int) -> dict:
        """An empty key/value cache for decoding up to `max_length` positions, to pass as past_key_values."""
        if not self.config.is_decoder:
            raise ValueError("init_cache needs a decoder: create the model with is_decoder=True.")
        if max_length > self.config.max_position_embeddings:
            raise ValueError(
                f"max_length={max_length} exceeds the model's maximum of {self.config.max_position_embeddings} "
                "positions (max_position_embeddings)."
            )
        inputs = self._dummy_inputs((batch_size, max_length))
        shapes = jax.eval_shape(
            partial(self.module.init, init_cache=True), jax.random.PRNGKey(0), **inputs
        )["cache"]
        return jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), unfreeze(shapes))

    # ---- loading ------------------------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike,
        *,
        config: PretrainedConfig | None = None,
        dtype: Any = jnp.float32,
        input_shape: tuple[int, ...] = (1, 1),
        seed: int = 0,
        _do_init: bool = True,
        ignore_mismatched_sizes: bool = False,
        output_loading_info: bool = False,
        from_pt: bool | None = None,
        **kwargs: Any,
    ):
        """Load a checkpoint (local directory or hub id): the PyTorch classes' safetensors (sharded too) or
        pytorch_model.bin (weights only), or the reference's flax_model.msgpack; `from_pt` is accepted and not
        needed. Keyword arguments the model's constructor takes go there; all others override config values.

        Returns the model; with `_do_init=False`, (model, params); with `output_loading_info`, also the
        missing / unexpected / mismatched keys (PyTorch names)."""
        hub = hub_kwargs(kwargs)
        model_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in cls._module_fields() | {"gradient_checkpointing"}}
        config = load_config(cls.config_class, pretrained_model_name_or_path, config, kwargs, hub, cls.__name__)
        files = find_weight_files(pretrained_model_name_or_path, FLAX_WEIGHT_FORMATS, **hub)
        if files[0].name.startswith("flax_model"):
            state = read_msgpack(files)
        else:
            state = load_numpy_state_dict(files)
        model = cls(config, input_shape=input_shape, seed=seed, dtype=dtype, _do_init=False, **model_kwargs)
        params, info = model._params_from_state(state, ignore_mismatched_sizes, str(pretrained_model_name_or_path))
        if _do_init:
            model._is_initialized = True
            model.params = params
            return (model, info) if output_loading_info else model
        return (model, params, info) if output_loading_info else (model, params)

    @classmethod
    def _module_fields(cls) -> set[str]:
        return set(inspect.signature(cls.module_class).parameters) - {"config", "dtype", "parent", "name"}

    def _params_from_state(self, state: dict[str, np.ndarray], ignore_mismatched_sizes: bool, source: str) -> tuple[dict, LoadingInfo]:
        """Match PyTorch-named arrays to this model's parameters; draw what is missing."""
        shapes = flatten_dict(unfreeze(self.params_shape_tree))
        own = {pytorch_key(path)[0]: path for path in shapes}
        names = align_checkpoint_keys(state, own, self.base_model_prefix, self.is_head)
        ignore_unexpected = [re.compile(p) for p in self._keys_to_ignore_on_load_unexpected]
        flat, unexpected, mismatched = {}, [], []
        for key, array in state.items():
            name = names[key]
            if name not in own:
                if not any(p.search(name) for p in ignore_unexpected):
                    unexpected.append(key)
                continue
            path = own[name]
            transposed = pytorch_key(path)[1]
            want = tuple(shapes[path].shape)[::-1] if transposed else tuple(shapes[path].shape)  # PyTorch's layout
            if tuple(array.shape) != want:
                if not ignore_mismatched_sizes:
                    raise shape_mismatch(name, array.shape, want)
                mismatched.append((name, tuple(array.shape), want))
                continue
            array = array.T if transposed else array
            # parameters are kept in float32 (or what the model was built with); `dtype` sets the computation
            flat[path] = jnp.asarray(array, dtype=shapes[path].dtype)
        missing_paths = [path for path in shapes if path not in flat]
        if missing_paths:
            flat.update(self._draw(missing_paths))
        ignore_missing = [re.compile(p) for p in self._keys_to_ignore_on_load_missing]
        missing = [pytorch_key(p)[0] for p in missing_paths]
        missing = [k for k in missing if not any(p.search(k) for p in ignore_missing)]
        report_loading(logger, type(self).__name__, source, missing, sorted(unexpected), mismatched)
        info = LoadingInfo(missing_keys=missing, unexpected_keys=sorted(unexpected), mismatched_keys=mismatched, error_msgs=[])
        return unflatten_dict(flat), info

    # ---- saving -------------------------------------------------------------------------------------------------
    def save_pretrained(
        self,
        save_directory: str | os.PathLike,
        params: dict | None = None,
        *,
        max_shard_size: int | str = "5GB",
        safe_serialization: bool = True,
        msgpack: bool = False,
    ) -> None:
        """Write config.json and the weights under PyTorch key names (model.safetensors, sharded above
        max_shard_size; pytorch_model.bin with safe_serialization=False), which the PyTorch classes, transformers
        and from_pretrained here all load; with `msgpack=True` also the reference's flax_model.msgpack, which
        transformers' Flax classes load. The folder is saved atomically as a whole (storage.save_folder): a crash
        leaves the old checkpoint or the new one."""
        directory = Path(save_directory)
        if directory.is_file():
            raise CheckpointError(f"{str(directory)!r} is a file; save_pretrained needs a directory.")
        params = unfreeze(params if params is not None else self.params)
        state = pytorch_state(params)
        flax_bytes = msgpack_serialize(jax.tree_util.tree_map(np.asarray, params)) if msgpack else None
        config = self.config.copy()
        config.architectures = [type(self).__name__.removeprefix("Flax")]  # the PyTorch class, as the reference
        floats = [v.dtype for v in state.values() if np.issubdtype(v.dtype, np.floating) or v.dtype.name == "bfloat16"]
        if floats:
            config.dtype = floats[0].name
        with save_folder(directory) as save:  # config and weights replace the old checkpoint as one
            save_state_dict(
                {k: _to_torch(v) for k, v in state.items()}, save.path,
                max_shard_size=max_shard_size, safe_serialization=safe_serialization,
            )
            if flax_bytes is not None:
                (save.path / FLAX_WEIGHTS_NAME).write_bytes(flax_bytes)
            for old in save.target.iterdir() if save.target.is_dir() else ():
                if old.name.startswith("flax_model"):  # an earlier save's Flax files no longer match (unless rewritten)
                    save.remove(old.name)
            config.save_pretrained(save.path)
