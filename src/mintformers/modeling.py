"""The model base: construction, weight init, checkpoint loading and saving, tying, resizing, pruning.

Module names equal checkpoint keys, so loading is construction plus `load_state_dict`. `from_pretrained` builds
the model on the meta device (no wasted random init), allocates it in the requested dtype, initialises only what
the checkpoint lacks, then copies the checkpoint in.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import math
import os
import re
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.utils.checkpoint
from torch import nn

from .config import PretrainedConfig, load_config
from .hub import CheckpointError, hub_kwargs, resolve_file
from .loading import (
    LoadingInfo,
    align_checkpoint_keys,
    find_weight_files,
    load_state_dict,
    report_loading,
    save_state_dict,
    shape_mismatch,
)
from .storage import save_folder
from .validation import check_id_range, check_input_shapes, check_mask_values, check_table_range

__all__ = ["PreTrainedModel", "check_inputs", "check_table_ids", "resolve_dtype", "auto_dtype", "LoadingInfo"]

logger = logging.getLogger(__name__)

def resolve_dtype(dtype: Any, config: PretrainedConfig | None = None, state: dict | None = None, device: Any = None) -> torch.dtype:
    """None → float32 (the reference's default); "auto" → the config's dtype, else the checkpoint's — except that
    a float32 checkpoint runs in bfloat16 on a CPU with native bfloat16 arithmetic (AVX512_BF16 or AMX; see
    `auto_dtype`)."""
    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype == "auto":
        stored = torch.float32
        if config is not None and config.dtype:
            stored = resolve_dtype(config.dtype)
        else:
            stored = next((t.dtype for t in (state or {}).values() if t.is_floating_point()), torch.float32)
        return auto_dtype(stored, device)
    name = str(dtype).replace("torch.", "")
    value = getattr(torch, name, None)
    if not isinstance(value, torch.dtype) or not value.is_floating_point:
        raise ValueError(f"dtype {dtype!r} is not a floating-point torch dtype (e.g. 'float32', 'bfloat16', 'auto').")
    return value


def auto_dtype(stored: torch.dtype, device: Any = None) -> torch.dtype:
    """dtype="auto": the checkpoint's dtype, but bfloat16 for a float32 checkpoint on a CPU that computes bfloat16
    natively (AVX512_BF16/AMX: about twice float32's matrix throughput, embeddings within cosine 0.999). Never on
    other CPUs, where PyTorch emulates bfloat16 several times slower than float32."""
    if stored != torch.float32 or torch.device(device if device is not None else "cpu").type != "cpu":
        return stored
    from .hardware import native_bf16

    return torch.bfloat16 if native_bf16() else stored


def check_table_ids(ids: torch.Tensor, table: nn.Embedding, name: str, field: str, rows: str) -> None:
    """`ids` index `table` (config.`field` `rows`): a clear error instead of an index error deep inside. Skipped
    while torch.compile / torch.export trace, as the check reads the data."""
    if ids.numel() and not torch.compiler.is_compiling():
        check_table_range(int(ids.max()), table.num_embeddings, name, field, rows)


def check_inputs(
    input_ids: torch.Tensor | None,
    inputs_embeds: torch.Tensor | None,
    attention_mask: torch.Tensor | None = None,
    *,
    vocab_size: int | None = None,
    max_positions: int | None = None,
    past_length: int = 0,
) -> tuple[int, int]:
    """Validate the usual inputs with messages that name the problem and the fix (validation.py, shared with the
    TensorFlow and Flax models); return (batch, seq_len)."""
    if input_ids is not None and not isinstance(input_ids, torch.Tensor):
        raise TypeError(f"input_ids must be a torch.LongTensor, got {type(input_ids).__name__}; use return_tensors='pt'.")
    if attention_mask is not None and not isinstance(attention_mask, torch.Tensor):
        raise TypeError(f"attention_mask must be a torch.Tensor, got {type(attention_mask).__name__}.")
    if input_ids is not None and input_ids.is_floating_point():
        raise TypeError(f"input_ids must hold integer token ids, got dtype {input_ids.dtype}.")
    batch, seq_len = check_input_shapes(
        None if input_ids is None else input_ids.shape,
        None if inputs_embeds is None else inputs_embeds.shape,
        None if attention_mask is None else attention_mask.shape,
        max_positions=max_positions,
        past_length=past_length,
    )
    if torch.compiler.is_compiling():  # no data-dependent checks while tracing
        return batch, seq_len
    if input_ids is not None and vocab_size is not None and input_ids.numel():
        check_id_range(int(input_ids.min()), int(input_ids.max()), vocab_size)
    if attention_mask is not None and attention_mask.dtype != torch.bool:
        check_mask_values(bool(((attention_mask != 0) & (attention_mask != 1)).any()))
    return batch, seq_len


class PreTrainedModel(nn.Module):
    """Base of every model. Families set `config_class`, `base_model_prefix` and `_init_weights`."""

    config_class: ClassVar[type[PretrainedConfig]] = PretrainedConfig
    base_model_prefix: ClassVar[str] = ""
    input_embeddings_name: ClassVar[str] = "embeddings.word_embeddings"  # the token table, within the base model
    # Keys dropped on save because they alias another saved tensor (the reference's tied weights).
    _tied_weights_keys: ClassVar[tuple[str, ...]] = ()
    # Vocabulary-sized parameters besides the embeddings, resized with them (e.g. an LM head bias).
    _vocab_sized_keys: ClassVar[tuple[str, ...]] = ()
    # Checkpoint keys that are expected not to match any parameter (regexes), e.g. stray position_ids buffers.
    _keys_to_ignore_on_load_unexpected: ClassVar[tuple[str, ...]] = (r"(^|\.)position_ids$",)
    _keys_to_ignore_on_load_missing: ClassVar[tuple[str, ...]] = ()
    supports_gradient_checkpointing: ClassVar[bool] = True
    # Whether the encoder can run rows laid end to end without padding (layers.attention.Packing): true where every
    # layer but SelfAttention works token by token and positions count from 0 in each row.
    supports_packing: ClassVar[bool] = False

    def __init__(self, config: PretrainedConfig, *args: Any, **kwargs: Any):
        super().__init__()
        if not isinstance(config, self.config_class):
            raise TypeError(
                f"{type(self).__name__} needs a {self.config_class.__name__}, got {type(config).__name__}; "
                f"create it with {self.config_class.__name__}(...) or {type(self).__name__}.from_pretrained(path)."
            )
        self.config = config

    # ---- construction -----------------------------------------------------------------------------------------
    def post_init(self) -> None:
        """Call at the end of a subclass __init__: prune heads recorded in the config, init weights, tie."""
        if self.config.pruned_heads and self.base_model is self:
            self._prune_heads({int(k): list(v) for k, v in self.config.pruned_heads.items()})
        for module in self.modules():
            if not getattr(module, "_mf_initialised", False):
                if not _all_meta(module):  # meta values are never read; from_pretrained inits what it lacks later
                    self._init_weights(module)
                module._mf_initialised = True
        self.tie_weights()

    def _init_weights(self, module: nn.Module) -> None:
        """BERT-style init: normal(0, initializer_range) weights, zero biases, unit norms, zero padding row."""
        std = getattr(self.config, "initializer_range", 0.02)
        with torch.no_grad():
            if isinstance(module, nn.Linear):
                module.weight.normal_(0.0, std)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, nn.Embedding):
                module.weight.normal_(0.0, std)
                if module.padding_idx is not None:
                    module.weight[module.padding_idx].zero_()
            elif isinstance(module, nn.LayerNorm):
                if module.weight is not None:
                    module.weight.fill_(1.0)
                if module.bias is not None:
                    module.bias.zero_()

    @property
    def base_model(self) -> nn.Module:
        return getattr(self, self.base_model_prefix, self)

    @property
    def dtype(self) -> torch.dtype:
        return next(p.dtype for p in self.parameters() if p.is_floating_point())

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def name_or_path(self) -> str:
        return self.config.name_or_path

    def set_attn_implementation(self, impl: str) -> None:
        self.config.attn_implementation = impl

    # ---- embeddings, tying, resizing --------------------------------------------------------------------------
    def _input_embeddings_owner(self) -> tuple[nn.Module, str]:
        owner, _, name = self.base_model.input_embeddings_name.rpartition(".")
        return self.base_model.get_submodule(owner), name

    def get_input_embeddings(self) -> nn.Embedding:
        owner, name = self._input_embeddings_owner()
        return getattr(owner, name)

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        owner, name = self._input_embeddings_owner()
        setattr(owner, name, value)

    def get_output_embeddings(self) -> nn.Linear | None:
        return None

    def tie_weights(self) -> None:
        """Share the output projection with the input embeddings when config.tie_word_embeddings."""
        out = self.get_output_embeddings()
        if out is not None and self.config.tie_word_embeddings:
            inp = self.get_input_embeddings()
            out.weight = inp.weight
            if hasattr(out, "weight_scale") and hasattr(inp, "weight_scale"):  # int8 (quantization.py)
                out.weight_scale = inp.weight_scale

    def resize_token_embeddings(
        self, new_num_tokens: int | None = None, pad_to_multiple_of: int | None = None, mean_resizing: bool = True
    ) -> nn.Embedding:
        """Grow or shrink the vocabulary (e.g. after tokenizer.add_tokens). New rows start at the mean of the old
        embeddings (mean_resizing, as the reference defaults to) or at the init distribution."""
        old = self.get_input_embeddings()
        n = old.num_embeddings if new_num_tokens is None else new_num_tokens
        if pad_to_multiple_of:
            n = math.ceil(n / pad_to_multiple_of) * pad_to_multiple_of
        if n == old.num_embeddings:
            return old
        new = nn.Embedding(n, old.embedding_dim, padding_idx=old.padding_idx, device=old.weight.device, dtype=old.weight.dtype)
        self._copy_rows(old.weight, new.weight, mean_resizing)
        self.set_input_embeddings(new)
        out = self.get_output_embeddings()
        if out is not None and not self.config.tie_word_embeddings:
            new_out = nn.Linear(out.in_features, n, bias=out.bias is not None, device=out.weight.device, dtype=out.weight.dtype)
            self._copy_rows(out.weight, new_out.weight, mean_resizing)
            if out.bias is not None:
                self._copy_rows(out.bias, new_out.bias, False)
            self._set_output_embeddings(new_out)
        self._resize_vocab_params(n)
        self.config.vocab_size = n
        self.tie_weights()
        return self.get_input_embeddings()

    def _set_output_embeddings(self, value: nn.Linear) -> None:
        raise NotImplementedError(f"{type(self).__name__} cannot replace its output embeddings.")

    def _resize_vocab_params(self, n: int) -> None:
        """Resize the parameters listed in `_vocab_sized_keys` along their vocabulary axis (0)."""
        for key in self._vocab_sized_keys:
            owner_name, _, attr = key.rpartition(".")
            owner = self.get_submodule(owner_name)
            old = getattr(owner, attr)
            new = nn.Parameter(torch.zeros((n,) + tuple(old.shape[1:]), dtype=old.dtype, device=old.device))
            self._copy_rows(old, new, False)
            setattr(owner, attr, new)

    def _copy_rows(self, old: torch.Tensor, new: torch.Tensor, mean_resizing: bool) -> None:
        with torch.no_grad():
            k = min(old.shape[0], new.shape[0])
            if new.shape[0] > k:
                if mean_resizing and old.dim() > 1:
                    new[k:] = old.float().mean(0).to(new.dtype)
                elif old.dim() > 1:
                    new[k:].normal_(0.0, getattr(self.config, "initializer_range", 0.02))
                else:
                    new[k:].zero_()
            new[:k] = old[:k]

    # ---- pruning, checkpointing, counting ---------------------------------------------------------------------
    def prune_heads(self, heads_to_prune: dict[int, list[int]]) -> None:
        """Remove attention heads: {layer index: [head indices]}; recorded in config.pruned_heads."""
        for layer, heads in heads_to_prune.items():
            merged = set(self.config.pruned_heads.get(layer, [])) | set(heads)
            self.config.pruned_heads[layer] = sorted(merged)
        self.base_model._prune_heads(heads_to_prune)

    def _prune_heads(self, heads_to_prune: dict[int, list[int]]) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not support head pruning.")

    def gradient_checkpointing_enable(self, gradient_checkpointing_kwargs: dict | None = None) -> None:
        """Recompute each layer's activations in backward instead of storing them (memory for compute)."""
        if not self.supports_gradient_checkpointing:
            raise ValueError(f"{type(self).__name__} does not support gradient checkpointing.")
        for module in self.modules():
            if hasattr(module, "gradient_checkpointing"):
                module.gradient_checkpointing = True

    def gradient_checkpointing_disable(self) -> None:
        for module in self.modules():
            if hasattr(module, "gradient_checkpointing"):
                module.gradient_checkpointing = False

    @property
    def is_gradient_checkpointing(self) -> bool:
        return any(getattr(m, "gradient_checkpointing", False) for m in self.modules())

    def num_parameters(self, only_trainable: bool = False, exclude_embeddings: bool = False) -> int:
        skip = set()
        if exclude_embeddings:
            skip = {id(m.weight) for m in self.modules() if isinstance(m, nn.Embedding)}
        seen: dict[int, int] = {}
        for p in self.parameters():
            if id(p) not in skip and (p.requires_grad or not only_trainable):
                seen[id(p)] = p.numel()
        return sum(seen.values())

    def warn_if_padding_and_no_attention_mask(self, input_ids: torch.Tensor | None, attention_mask) -> None:
        pad = self.config.pad_token_id
        if attention_mask is None and input_ids is not None and pad is not None and input_ids.numel():
            if not torch.compiler.is_compiling() and bool((input_ids[:, [0, -1]] == pad).any()):
                logger.warning(
                    "input_ids contain padding (pad_token_id=%s) but no attention_mask was given; pass the mask the "
                    "tokenizer returns or padded positions will be attended to.", pad
                )

    # ---- loading ----------------------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike,
        *,
        config: PretrainedConfig | None = None,
        state_dict: dict[str, torch.Tensor] | None = None,
        dtype: Any = None,
        torch_dtype: Any = None,
        device: Any = None,
        device_map: Any = None,
        attn_implementation: str | None = None,
        output_loading_info: bool = False,
        ignore_mismatched_sizes: bool = False,
        quantize: str | None = None,
        **kwargs: Any,
    ):
        """Load a checkpoint (local directory or hub id). Keyword arguments accepted by the model's __init__ go
        there (e.g. add_pooling_layer); all others override config values (e.g. num_labels=3).

        `quantize="int8"` quantizes the linear layers after loading (quantization.py: int8 activations × int8
        weights for encoders, int8 weights for MPT); a checkpoint saved from a quantized model loads quantized.
        `dtype="auto"` is the checkpoint's dtype, or bfloat16 for a float32 checkpoint on a CPU with native
        bfloat16 (AVX512_BF16/AMX)."""
        hub = hub_kwargs(kwargs)
        init_params = set(inspect.signature(cls.__init__).parameters) - {"self", "config", "args", "kwargs"}
        model_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in init_params}
        if attn_implementation is not None:
            kwargs["attn_implementation"] = attn_implementation
        config = load_config(cls.config_class, pretrained_model_name_or_path, config, kwargs, hub, cls.__name__)

        from_files = state_dict is None
        if state_dict is None:
            files = find_weight_files(pretrained_model_name_or_path, **hub)
            state_dict = load_state_dict(files)
        device = device if device is not None else _device_from_map(device_map)
        target_dtype = resolve_dtype(dtype if dtype is not None else torch_dtype, config, state_dict, device)
        qconfig = getattr(config, "quantization_config", None)
        if not qconfig and any(t.dtype == torch.int8 for t in state_dict.values()):
            raise CheckpointError(
                f"{str(pretrained_model_name_or_path)!r} holds int8 weights but its config.json has no "
                "quantization_config (written by save_pretrained of a quantized model); restore that config."
            )

        with torch.device("meta"), _no_meta_normal():
            model = cls(config, **model_kwargs)
            if qconfig:
                from .quantization import prepare_quantized

                prepare_quantized(model, qconfig, str(pretrained_model_name_or_path))
        # = model.to_empty(device="cpu"), whose empty_like on meta tensors imports sympy on first use (seconds)
        model._apply(lambda t: torch.empty(t.shape, dtype=t.dtype, device="cpu"))
        model.to(target_dtype)
        info = model._load_checkpoint(state_dict, ignore_mismatched_sizes, str(pretrained_model_name_or_path))
        del state_dict
        model.config.dtype = str(target_dtype).replace("torch.", "")
        if quantize is not None:
            from .quantization import quantize_model, resolve_scheme

            if not qconfig:
                quantize_model(model, quantize)
            elif resolve_scheme(quantize, model) != qconfig.get("scheme"):
                raise ValueError(
                    f"{str(pretrained_model_name_or_path)!r} is already quantized ({qconfig.get('scheme')}); "
                    f"quantize={quantize!r} asks for another scheme. Load the float checkpoint to re-quantize."
                )
        if device is not None:
            model.to(device)
        if from_files and hasattr(model, "load_generation_config"):  # generative models: generation_config.json
            model.load_generation_config(pretrained_model_name_or_path, **hub)
        model.eval()
        return (model, info) if output_loading_info else model

    def _load_checkpoint(self, state: dict[str, torch.Tensor], ignore_mismatched_sizes: bool, source: str) -> LoadingInfo:
        self.tie_weights()  # moving off the meta device unties parameters: tie before matching keys
        state = self._map_checkpoint_keys(state)
        own = self.state_dict(keep_vars=True)
        ignore_unexpected = [re.compile(p) for p in self._keys_to_ignore_on_load_unexpected]
        unexpected = sorted(k for k in state if k not in own and not any(p.search(k) for p in ignore_unexpected))
        mismatched = []
        for key in [k for k in state if k in own]:
            if tuple(state[key].shape) != tuple(own[key].shape):
                if not ignore_mismatched_sizes:
                    raise shape_mismatch(key, tuple(state[key].shape), tuple(own[key].shape))
                mismatched.append((key, tuple(state[key].shape), tuple(own[key].shape)))
                del state[key]
        loaded = {k: v for k, v in state.items() if k in own}
        loaded_ids = {id(own[k]) for k in loaded}
        missing = [k for k, t in own.items() if k not in loaded and id(t) not in loaded_ids]

        # Initialise what the checkpoint lacks (zeros first, so parameters _init_weights ignores are defined),
        # then copy the checkpoint over everything else.
        missing_set = set(missing)
        with torch.no_grad():
            for name, module in self.named_modules():
                prefix = f"{name}." if name else ""
                local = [n for n, _ in list(module.named_parameters(recurse=False)) + list(module.named_buffers(recurse=False))]
                if any(prefix + n in missing_set for n in local):
                    for n in local:
                        getattr(module, n).zero_()
                    self._init_weights(module)
            self.load_state_dict(loaded, strict=False)
        self.tie_weights()

        ignore_missing = [re.compile(p) for p in self._keys_to_ignore_on_load_missing]
        missing = [k for k in missing if not any(p.search(k) for p in ignore_missing)]
        report_loading(logger, type(self).__name__, source, missing, unexpected, mismatched)
        return LoadingInfo(missing_keys=missing, unexpected_keys=unexpected, mismatched_keys=mismatched, error_msgs=[])

    def _map_checkpoint_keys(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Legacy renames, then add or strip the base-model prefix so heads load base checkpoints and back."""
        own = set(self.state_dict()) if self.base_model_prefix else set()
        names = align_checkpoint_keys(state, own, self.base_model_prefix, self.base_model is not self)
        return {names[k]: v for k, v in state.items()}

    # ---- saving -----------------------------------------------------------------------------------------------
    def save_pretrained(
        self,
        save_directory: str | os.PathLike,
        *,
        max_shard_size: int | str = "5GB",
        safe_serialization: bool = True,
        state_dict: dict[str, torch.Tensor] | None = None,
        dtype: Any = None,
    ) -> None:
        """Write config.json and the weights (tied weights once, sharded above max_shard_size), atomically as a
        whole: a crash leaves the folder's old checkpoint or the new one (`storage.save_folder`)."""
        save_directory = Path(save_directory)
        if save_directory.is_file():
            raise CheckpointError(f"{str(save_directory)!r} is a file; save_pretrained needs a directory.")
        state = self.state_dict() if state_dict is None else state_dict
        quantized = bool(getattr(self.config, "quantization_config", None))
        tied = set(self._tied_weights_keys)
        metadata = None
        if quantized:  # quantization.py: int8 tensors other loaders must refuse, scales tied like their weights
            from .quantization import SAFETENSORS_FORMAT

            if not safe_serialization:
                raise ValueError("A quantized model is saved as safetensors only; drop safe_serialization=False.")
            tied |= {k + "_scale" for k in tied}
            metadata = {"format": SAFETENSORS_FORMAT}
        state = _drop_aliases(state, tied)
        if dtype is not None:
            target = resolve_dtype(dtype)
            state = {k: v.to(target) if v.is_floating_point() else v for k, v in state.items()}
        config = self.config.copy()
        config.architectures = [type(self).__name__]
        floats = [v.dtype for v in state.values() if v.is_floating_point()]
        if floats:
            config.dtype = str(floats[0]).replace("torch.", "")
        with save_folder(save_directory) as save:  # config, weights and generation config replace the old as one
            save_state_dict(state, save.path, max_shard_size=max_shard_size, safe_serialization=safe_serialization,
                            metadata=metadata)
            config.save_pretrained(save.path)
            if hasattr(self, "save_generation_config"):
                self.save_generation_config(save.path)

    @classmethod
    def from_config(cls, config: PretrainedConfig, **kwargs: Any):
        """A randomly initialised model for `config` (keyword arguments go to the model's __init__)."""
        dtype = kwargs.pop("dtype", kwargs.pop("torch_dtype", None))
        if "attn_implementation" in kwargs:
            config.attn_implementation = kwargs.pop("attn_implementation")
        model = cls(config, **kwargs)
        return model.to(resolve_dtype(dtype)) if dtype is not None else model


def _all_meta(module: nn.Module) -> bool:
    tensors = [*module.parameters(recurse=False), *module.buffers(recurse=False)]
    return bool(tensors) and all(t.is_meta for t in tensors)


@contextlib.contextmanager
def _no_meta_normal():
    """Skip nn.init.normal_ (nn.Embedding's own init) on meta tensors: it goes through torch._refs, whose first use
    imports torch._dynamo — seconds of start-up for values nobody reads. Real tensors are initialised as usual."""
    original = nn.init.normal_

    def normal_(tensor, *args, **kwargs):
        return tensor if tensor.is_meta else original(tensor, *args, **kwargs)

    nn.init.normal_ = normal_
    try:
        yield
    finally:
        nn.init.normal_ = original


def _drop_aliases(state: dict[str, torch.Tensor], tied: set[str]) -> dict[str, torch.Tensor]:
    """Store each tensor once: drop the reference's tied keys; any other alias is saved as its own copy."""
    seen: dict[tuple, str] = {}
    out: dict[str, torch.Tensor] = {}
    # keys that are not tied aliases claim their storage first
    for key in sorted(state, key=lambda k: k in tied):
        t = state[key]
        ident = (t.device, t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape)) if t.numel() else None
        if ident is not None and ident in seen:
            if key in tied:
                continue
            t = t.clone()
        elif ident is not None:
            seen[ident] = key
        out[key] = t
    return {k: out[k] for k in state if k in out}


def _device_from_map(device_map: Any) -> Any:
    if device_map is None:
        return None
    if device_map == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if isinstance(device_map, dict):
        devices = set(device_map.values())
        if len(devices) != 1:
            raise ValueError("mintformers places a model on one device; device_map must name a single device.")
        return devices.pop()
    return device_map


def run_layer(layer: nn.Module, *args: Any, checkpointing: bool = False, **kwargs: Any) -> Any:
    """Call a layer, recomputing it in backward when gradient checkpointing is active."""
    if checkpointing:
        return torch.utils.checkpoint.checkpoint(layer, *args, use_reentrant=False, **kwargs)
    return layer(*args, **kwargs)


def find_file(name_or_path: str | os.PathLike, filename: str, **hub: Any) -> Path | None:
    return resolve_file(name_or_path, filename, required=False, **hub)
