"""The TensorFlow model base: inputs, checkpoints, Keras training hooks and serving.

A model is a `keras.Model` whose layers are complete once constructed. It

- takes its inputs as keyword arguments, as one tensor (`input_ids`), or as a list/tuple (in the call's order) or a
  dict in the first argument — numpy arrays or tensors — and checks them with the PyTorch models' messages
  (`mintformers.validation`; values are read only when running eagerly, never while a graph is traced);
- loads the PyTorch checkpoints (safetensors, sharded, `pytorch_model.bin` weights-only) and the reference's
  `tf_model.h5`, reporting missing and unexpected weights as the PyTorch models do, and saves safetensors with the
  PyTorch key names (and, on request, a `tf_model.h5` the reference's TF classes load, or a SavedModel);
- trains with `compile(optimizer=...)` alone: without a compiled loss, `fit`/`evaluate` use the model's own loss,
  computed when the labels are in the inputs (or given as `y`, which is moved into the inputs).
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..config import PretrainedConfig, load_config
from ..hub import CheckpointError, hub_kwargs
from ..loading import LoadingInfo, align_checkpoint_keys, report_loading, shape_mismatch
from ..validation import check_id_range, check_input_shapes, check_table_range
from ._backend import keras, tf
from .checkpoint import TF_WEIGHTS_NAME, read_checkpoint, torch_key, write_h5

__all__ = ["TFPreTrainedModel", "unpack_inputs", "check_inputs", "check_table_ids", "LoadingInfo"]

logger = logging.getLogger(__name__)

# What a head passes on to its main layer (the ones its own call takes).
_BASE_INPUTS = (
    "input_ids", "attention_mask", "token_type_ids", "position_ids", "head_mask", "inputs_embeds",
    "encoder_hidden_states", "encoder_attention_mask", "past_key_values", "use_cache", "output_attentions",
    "output_hidden_states",
)


def unpack_inputs(call):
    """Let `call` take its inputs in the three documented forms: keyword arguments; one tensor (input_ids); or a
    list/tuple (in the signature's order) or dict in the first argument — what Keras' fit/predict pass."""
    names = [p for p in inspect.signature(call).parameters if p != "self"]

    @functools.wraps(call)
    def wrapper(self, *args, **kwargs):
        if args and isinstance(args[0], (Mapping, list, tuple)):
            first, args = args[0], args[1:]
            if isinstance(first, Mapping):
                packed = dict(first)
                unknown = sorted(set(packed) - set(names))
                if unknown:
                    raise ValueError(
                        f"{type(self).__name__} got unknown inputs {unknown}; it takes {names[:-1]} (and training)."
                    )
            else:
                if len(first) > len(names):
                    raise ValueError(f"{type(self).__name__} takes at most {len(names)} inputs, got {len(first)}.")
                packed = dict(zip(names, first))
            for name, value in packed.items():
                if name in kwargs and kwargs[name] is not None:
                    raise ValueError(f"{type(self).__name__} got {name!r} both in the first argument and as a keyword.")
                kwargs[name] = value
        return call(self, *args, **kwargs)

    return wrapper


def _shape(x) -> tuple | None:
    return None if x is None else tuple(x.shape.as_list() if isinstance(x, tf.Tensor) else np.shape(x))


def check_inputs(input_ids, inputs_embeds, attention_mask=None, *, vocab_size=None, max_positions=None, past_length=0):
    """The PyTorch models' input checks (validation.py) on tensors: shapes always (unknown sizes pass while tracing),
    id ranges only when running eagerly. Returns (batch, seq_len), possibly None while tracing."""
    if isinstance(past_length, tf.Tensor):
        past_length = int(past_length) if tf.executing_eagerly() else 0
    ids_are_integers = input_ids is None or not tf.as_dtype(input_ids.dtype).is_floating
    batch, seq_len = check_input_shapes(
        _shape(input_ids), _shape(inputs_embeds), _shape(attention_mask),
        ids_are_integers=ids_are_integers, max_positions=max_positions, past_length=past_length,
    )
    if input_ids is not None and vocab_size is not None and tf.executing_eagerly() and tf.size(input_ids) > 0:
        check_id_range(int(tf.reduce_min(input_ids)), int(tf.reduce_max(input_ids)), vocab_size)
    return batch, seq_len


def check_table_ids(ids, rows: int, name: str, field: str, what: str) -> None:
    """`ids` index a table of `rows` rows (config.`field` `what`); checked when running eagerly."""
    if ids is not None and tf.executing_eagerly() and tf.size(ids) > 0:
        check_table_range(int(tf.reduce_max(ids)), rows, name, field, what)


def _named_weights(layer: keras.layers.Layer, prefix: str, seen: set) -> list[tuple[str, Any]]:
    """(path, variable) for every weight below `layer`, by layer names; a layer shared by two parents (an LM head's
    tied embeddings) counts once, under the parent that holds it first."""
    out = []
    for variable in layer._trainable_variables + layer._non_trainable_variables:
        if id(variable) not in seen:
            seen.add(id(variable))
            out.append((prefix + variable.name, variable))
    for child in layer._layers:
        if id(child) not in seen:
            seen.add(id(child))
            out.extend(_named_weights(child, f"{prefix}{child.name}/", seen))
    return out


class TFPreTrainedModel(keras.Model):
    """Base of every TensorFlow model. Families set `config_class` and `base_model_prefix`; the base model class
    (`TFBertModel`) sets `is_base_model`, as its PyTorch keys carry no prefix."""

    config_class: ClassVar[type[PretrainedConfig]] = PretrainedConfig
    base_model_prefix: ClassVar[str] = ""
    is_base_model: ClassVar[bool] = False
    main_input_name: ClassVar[str] = "input_ids"
    # the call arguments that hold labels; a `y` given to fit()/evaluate() goes to the first (or by name, as a dict)
    label_names: ClassVar[tuple[str, ...]] = ("labels",)
    _keys_to_ignore_on_load_unexpected: ClassVar[tuple[str, ...]] = (r"(^|\.)position_ids$",)
    _keys_to_ignore_on_load_missing: ClassVar[tuple[str, ...]] = ()
    # weights a tf_model.h5 of the reference stores twice (its own copy of a tied weight): h5 name → our h5 name
    _h5_aliases: ClassVar[dict[str, str]] = {}

    def __init__(self, config: PretrainedConfig, *inputs: Any, **kwargs: Any):
        if not isinstance(config, self.config_class):
            raise TypeError(
                f"{type(self).__name__} needs a {self.config_class.__name__}, got {type(config).__name__}; create it "
                f"with {self.config_class.__name__}(...) or {type(self).__name__}.from_pretrained(path)."
            )
        super().__init__(*inputs, **kwargs)
        self.config = config
        self.built = True  # every layer builds itself when constructed: nothing to infer from the inputs

    def build(self, input_shape=None) -> None:
        self.built = True

    @property
    def base_model(self) -> keras.layers.Layer:
        return getattr(self, self.base_model_prefix)

    def get_input_embeddings(self) -> keras.layers.Layer:
        return self.base_model.embeddings.word_embeddings

    # ---- weights by PyTorch name --------------------------------------------------------------------------------
    def tf_weight_names(self) -> dict[str, Any]:
        """{reference TF name (a tf_model.h5 name without the model's name): variable}"""
        return dict(_named_weights(self, "", set()))

    def torch_weights(self) -> dict[str, tuple[Any, bool]]:
        """{PyTorch checkpoint key: (variable, transposed)} — the keys the PyTorch class of this model has."""
        out = {}
        for path, variable in self.tf_weight_names().items():
            key, transpose = torch_key(path)
            if self.is_base_model:
                key = key.removeprefix(f"{self.base_model_prefix}.")
            out[key] = (variable, transpose)
        return out

    def state_dict(self) -> dict[str, np.ndarray]:
        """The weights as numpy arrays in the PyTorch layout and names (what save_pretrained writes)."""
        return {k: (v.numpy().T if t else v.numpy()) for k, (v, t) in self.torch_weights().items()}

    def load_state_dict(
        self, state: dict[str, np.ndarray], ignore_mismatched_sizes: bool = False, source: str = "the state dict"
    ) -> LoadingInfo:
        """Copy PyTorch-named arrays into the weights; weights the state lacks keep their initialisation. Logs and
        returns the missing, unexpected and mismatched keys as the PyTorch models do."""
        weights = self.torch_weights()
        aligned = align_checkpoint_keys(state, weights, self.base_model_prefix, is_head=not self.is_base_model)
        state = {aligned[k]: v for k, v in state.items()}
        ignore_unexpected = [re.compile(p) for p in self._keys_to_ignore_on_load_unexpected]
        unexpected = sorted(k for k in state if k not in weights and not any(p.search(k) for p in ignore_unexpected))
        mismatched, loaded = [], set()
        for key, array in state.items():
            if key not in weights:
                continue
            variable, transpose = weights[key]
            array = np.asarray(array)
            torch_shape = tuple(variable.shape[::-1]) if transpose else tuple(variable.shape)
            if tuple(array.shape) != torch_shape:
                if not ignore_mismatched_sizes:
                    raise shape_mismatch(key, array.shape, torch_shape)
                mismatched.append((key, tuple(array.shape), torch_shape))
                continue
            variable.assign((array.T if transpose else array).astype(variable.dtype))
            loaded.add(key)
        ignore_missing = [re.compile(p) for p in self._keys_to_ignore_on_load_missing]
        missing = [k for k in weights if k not in loaded and not any(p.search(k) for p in ignore_missing)]
        report_loading(logger, type(self).__name__, source, missing, unexpected, mismatched)
        return LoadingInfo(missing_keys=missing, unexpected_keys=unexpected, mismatched_keys=mismatched, error_msgs=[])

    # ---- calling the main layer ---------------------------------------------------------------------------------
    def _run_base(self, args: dict[str, Any], training: bool):
        """Run the main layer on the inputs among `args` (a head's `locals()`): its output, with return_dict."""
        return self.base_model(**{k: args[k] for k in _BASE_INPUTS if k in args}, return_dict=True, training=training)

    def _finish(self, output, return_dict: bool | None):
        """The output, or its tuple when return_dict=False (or config.return_dict=False)."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        return output if return_dict else output.to_tuple()

    # ---- loading and saving -------------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike,
        *,
        config: PretrainedConfig | None = None,
        output_loading_info: bool = False,
        ignore_mismatched_sizes: bool = False,
        **kwargs: Any,
    ):
        """Load a checkpoint (local directory or hub id): the PyTorch files, else the reference's tf_model.h5.
        Keyword arguments accepted by the model's __init__ go there (e.g. add_pooling_layer); all others override
        config values (e.g. num_labels=3). `from_pt` / `from_tf` are accepted and unnecessary."""
        hub = hub_kwargs(kwargs)
        for ignored in ("from_pt", "from_tf"):  # the reference's TF classes need them; here every file is read
            kwargs.pop(ignored, None)
        init_params = set(inspect.signature(cls.__init__).parameters) - {"self", "config", "inputs", "kwargs"}
        model_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in init_params}
        config = load_config(cls.config_class, pretrained_model_name_or_path, config, kwargs, hub, cls.__name__)
        state, source = read_checkpoint(pretrained_model_name_or_path, **hub)
        model = cls(config, **model_kwargs)
        info = model.load_state_dict(state, ignore_mismatched_sizes, source)
        return (model, info) if output_loading_info else model

    def save_pretrained(
        self,
        save_directory: str | os.PathLike,
        *,
        max_shard_size: int | str = "5GB",
        safe_serialization: bool = True,
        save_h5: bool = False,
        saved_model: bool = False,
    ) -> None:
        """Write config.json and the weights with the PyTorch key names (what the PyTorch classes and transformers
        load; tied weights once, sharded above max_shard_size). `save_h5=True` also writes tf_model.h5 in the
        layout transformers' TF classes load; `saved_model=True` also writes saved_model/1 for serving. Atomic
        as a whole (`storage.save_folder`): a crash leaves the folder's old checkpoint or the new one."""
        import torch

        from ..loading import save_state_dict
        from ..storage import save_folder

        save_directory = Path(save_directory)
        if save_directory.is_file():
            raise CheckpointError(f"{str(save_directory)!r} is a file; save_pretrained needs a directory.")
        state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in self.state_dict().items()}
        config = self.config.copy()
        config.architectures = [type(self).__name__.removeprefix("TF")]
        config.dtype = "float32"
        with save_folder(save_directory) as save:  # every file replaces the old ones as one
            save_state_dict(state, save.path, max_shard_size=max_shard_size, safe_serialization=safe_serialization)
            if save_h5:
                weights = {name: v.numpy() for name, v in self.tf_weight_names().items()}
                for alias, name in self._h5_aliases.items():
                    weights[alias] = weights[name]
                write_h5(save.path / TF_WEIGHTS_NAME, self.name, weights)
            else:
                save.remove(TF_WEIGHTS_NAME)  # a stale one would be what transformers' TF classes read first
            if saved_model:
                old = save.target / "saved_model" / "1"
                for path in old.rglob("*") if old.is_dir() else ():
                    if path.is_file():
                        save.remove(path.relative_to(save.target))
                self.export(save.path / "saved_model" / "1")
            config.save_pretrained(save.path)

    @classmethod
    def from_config(cls, config: PretrainedConfig, **kwargs: Any):
        """A randomly initialised model for `config` (keyword arguments go to the model's __init__)."""
        return cls(config, **kwargs)

    # ---- Keras training: the model's own loss -------------------------------------------------------------------
    def _labels_into_inputs(self, data):
        """fit()/evaluate() data (x, y, sample_weight): when no loss was compiled, `y` joins the inputs as labels."""
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if self.loss is not None or y is None:
            return data
        if not isinstance(x, Mapping):
            x = {self.main_input_name: x}
        x = dict(x)
        if isinstance(y, Mapping):
            x.update(y)
        else:
            x[self.label_names[0]] = y
        return keras.utils.pack_x_y_sample_weight(x, None, sample_weight)

    def train_step(self, data):
        return super().train_step(self._labels_into_inputs(data))

    def test_step(self, data):
        return super().test_step(self._labels_into_inputs(data))

    @staticmethod
    def _prediction(y_pred):
        """What compiled Keras losses and metrics see of an output: its first tensor after the loss (logits)."""
        if not hasattr(y_pred, "keys"):
            return y_pred
        return next(y_pred[k] for k in y_pred.keys() if k != "loss")

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Without a compiled loss, the model's own loss (its mean when per example), plus any added losses; with
        one, Keras' loss of y against the model's logits."""
        if self.loss is not None:
            y_pred = self._prediction(y_pred)
            return super().compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)
        own = getattr(y_pred, "loss", None)
        if own is None:
            raise ValueError(
                f"{type(self).__name__} was compiled without a loss, so it trains on its own loss, which needs the "
                f"labels ({', '.join(self.label_names)}) in the inputs: pass them in the input dict or as y."
            )
        loss = tf.reduce_mean(own)
        for extra in self.losses:
            loss = loss + tf.cast(extra, loss.dtype)
        return loss

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Compiled metrics compare y (or, when the labels are in the inputs, those labels) with the logits."""
        if y is None and isinstance(x, Mapping) and self.label_names[0] in x:
            y = x[self.label_names[0]]
        return super().compute_metrics(x, y, self._prediction(y_pred), sample_weight=sample_weight)

    # ---- serving ------------------------------------------------------------------------------------------------
    @property
    def input_signature(self) -> dict[str, tf.TensorSpec]:
        """The serving inputs: int32 (batch, sequence) ids, mask and segments, any batch and length."""
        shape = (None,) * self.input_rank
        return {
            name: tf.TensorSpec(shape, tf.int32, name=name)
            for name in ("input_ids", "attention_mask", "token_type_ids")
        }

    input_rank: ClassVar[int] = 2

    def serving_output(self, output) -> dict[str, tf.Tensor]:
        """The tensors of an output (no loss, no per-layer tuples), as a serving signature returns them."""
        return {k: v for k, v in output.items() if isinstance(v, tf.Tensor) and k != "loss"}

    @property
    def serving(self) -> tf.types.experimental.GenericFunction:
        """A tf.function over `input_signature` returning `serving_output` (a SavedModel signature)."""
        if getattr(self, "_serving", None) is None:

            def serve(inputs):
                return self.serving_output(self(inputs, training=False, return_dict=True))

            self._serving = tf.function(serve, input_signature=[self.input_signature])
        return self._serving

    @property
    def _default_save_signature(self):
        # what tf.saved_model.save(model, path) serves by default (Keras would trace a float signature)
        return self.serving

    def export(self, filepath: str | os.PathLike, format: str = "tf_saved_model", verbose=None, input_signature=None, **kwargs):
        """Keras' export. The SavedModel format gets this model's serving endpoint (`serve`, also the default
        signature): int32 ids in, `serving_output` out — a graph TF Serving runs and the TFLite converter freezes
        (`tf.lite.TFLiteConverter.from_saved_model`). Other formats, or an explicit input_signature, go to Keras."""
        if format != "tf_saved_model" or input_signature is not None:
            return super().export(filepath, format=format, verbose=verbose, input_signature=input_signature, **kwargs)
        archive = keras.export.ExportArchive()
        archive.track(self)
        archive.add_endpoint("serve", self.serving)
        archive.write_out(str(filepath), verbose=bool(verbose))
