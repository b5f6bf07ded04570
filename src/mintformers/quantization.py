"""int8 models: `quantize_model(model, "int8")` and the on-disk format of quantized checkpoints.

`from_pretrained(path, quantize="int8")` loads a float checkpoint and quantizes it; a checkpoint saved from a
quantized model loads as one, without quantizing again. "int8" picks the family's scheme (layers/quantized.py):
encoders get "int8-dynamic" (int8 activations × int8 weights, for throughput), decoder-only models (MPT) get
"int8-weight-only" (float activations, int8 weights, for memory-bound decoding); either may be named directly.

Which layers: every `nn.Linear` of the base model (attention, feed-forward, pooler); task heads outside it stay
float (classifier outputs keep their precision, and their cost is small). The weight-only scheme also quantizes
the output projection (an LM head reads the whole vocabulary every step); when it is tied to the input embeddings,
the table becomes one shared `Int8Embedding`.

On disk (format version 1): the usual `config.json` + `model.safetensors`, where
- `config.json` gains `"quantization_config": {"quant_method": "mintformers", "format_version": 1,
  "scheme": ..., "weight_bits": ..., "modules": [names of the quantized modules]}`;
- each quantized module stores `<name>.weight` as int8 (out, in) or (vocab, dim), `<name>.weight_scale` as
  float (one per row: W ≈ weight_scale[:, None] · weight) and, for linears with one, a float `<name>.bias`;
- the safetensors files carry `"format": "mintformers-int8"` in their metadata, so other loaders (transformers,
  sentence-transformers) refuse them with an error instead of reading int8 numbers as float weights.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .hub import CheckpointError
from .layers.quantized import SCHEMES, Int8Embedding, Int8Linear

__all__ = [
    "quantize_model",
    "prepare_quantized",
    "resolve_scheme",
    "is_quantized",
    "QUANT_METHOD",
    "FORMAT_VERSION",
    "SAFETENSORS_FORMAT",
    "QUANTIZE_CHOICES",
]

QUANT_METHOD = "mintformers"
FORMAT_VERSION = 1
SAFETENSORS_FORMAT = "mintformers-int8"
QUANTIZE_CHOICES = ("int8",) + SCHEMES


def resolve_scheme(quantize: str, model_or_config: Any) -> str:
    """"int8" → the family's scheme; a scheme name is returned as is."""
    if quantize not in QUANTIZE_CHOICES:
        raise ValueError(f"quantize={quantize!r} is not supported; use one of {QUANTIZE_CHOICES} (or None).")
    if quantize != "int8":
        return quantize
    config = getattr(model_or_config, "config", model_or_config)
    decoder_only = getattr(config, "model_type", "") == "mpt"
    return "int8-weight-only" if decoder_only else "int8-dynamic"


def is_quantized(model: nn.Module) -> bool:
    return bool(getattr(getattr(model, "config", None), "quantization_config", None))


def _targets(model: nn.Module, scheme: str) -> list[str]:
    """Names of the modules `scheme` quantizes (see the module docstring)."""
    base = model.base_model if hasattr(model, "base_model") else model
    prefix = next((n for n, m in model.named_modules() if m is base), "")
    names = [n for n, m in model.named_modules() if type(m) is nn.Linear and (n == prefix or n.startswith(prefix + "." if prefix else ""))]
    if scheme == "int8-weight-only" and hasattr(model, "get_output_embeddings"):
        out = model.get_output_embeddings()
        if type(out) is nn.Linear:
            names += [n for n, m in model.named_modules() if m is out and n not in names]
    return names


def _tied_input_embedding(model: nn.Module, names: list[str]) -> str | None:
    """The input embedding's name when a quantized output projection shares its weight."""
    if not hasattr(model, "get_output_embeddings"):
        return None
    out, inp = model.get_output_embeddings(), model.get_input_embeddings()
    if type(out) is not nn.Linear or type(inp) is not nn.Embedding or out.weight is not inp.weight:
        return None
    if not any(model.get_submodule(n) is out for n in names):
        return None
    return next(n for n, m in model.named_modules() if m is inp)


def _swap(model: nn.Module, name: str, new: nn.Module) -> None:
    owner, _, attr = name.rpartition(".")
    setattr(model.get_submodule(owner) if owner else model, attr, new)


def quantize_model(model: nn.Module, quantize: str = "int8") -> nn.Module:
    """Replace the model's linear layers by int8 ones, in place (see the module docstring); returns the model.

    The config records what was done (`config.quantization_config`), so `save_pretrained` writes a checkpoint
    that `from_pretrained` loads as int8. Quantizing a quantized model is an error (its float weights are gone)."""
    if is_quantized(model):
        raise ValueError("This model is already quantized; load the float checkpoint to quantize it another way.")
    scheme = resolve_scheme(quantize, model)
    names = _targets(model, scheme)
    if not names:
        raise ValueError(f"{type(model).__name__} has no linear layers to quantize.")
    with torch.inference_mode(False):  # plain tensors, even when called inside inference_mode
        _quantize_modules(model, names, scheme)
    return model


def _quantize_modules(model: nn.Module, names: list[str], scheme: str) -> None:
    tied = _tied_input_embedding(model, names)
    for name in names:
        layer = model.get_submodule(name)
        _swap(model, name, Int8Linear.from_linear(layer, scheme))
    modules = list(names)
    if tied is not None:
        _swap(model, tied, Int8Embedding.from_embedding(model.get_submodule(tied)))
        modules.append(tied)
        model.tie_weights()  # the output projection shares the int8 table and its scales
    bits = sorted({model.get_submodule(n).weight_bits for n in names})
    model.config.update({"quantization_config": {
        "quant_method": QUANT_METHOD,
        "format_version": FORMAT_VERSION,
        "scheme": scheme,
        "weight_bits": bits[0] if len(bits) == 1 else bits,
        "modules": sorted(modules),
    }})


def prepare_quantized(model: nn.Module, qconfig: dict, source: str) -> None:
    """Before loading a quantized checkpoint: put empty int8 modules where the checkpoint has them (the model is
    still on the meta device, so nothing is allocated twice)."""
    if not isinstance(qconfig, dict) or qconfig.get("quant_method") != QUANT_METHOD:
        method = qconfig.get("quant_method") if isinstance(qconfig, dict) else qconfig
        raise CheckpointError(
            f"{source!r} was quantized with {method!r}; mintformers loads only its own int8 checkpoints "
            f"(quant_method {QUANT_METHOD!r}). Load the float checkpoint instead, optionally with quantize='int8'."
        )
    if qconfig.get("format_version") != FORMAT_VERSION or qconfig.get("scheme") not in SCHEMES:
        raise CheckpointError(
            f"{source!r} holds a mintformers int8 checkpoint of format {qconfig.get('format_version')!r} / scheme "
            f"{qconfig.get('scheme')!r}, which this version does not read (format {FORMAT_VERSION}, schemes "
            f"{SCHEMES}); upgrade mintformers or re-quantize from the float checkpoint."
        )
    scheme = qconfig["scheme"]
    bits = qconfig.get("weight_bits")
    for saved in qconfig.get("modules", []):
        name = _module_name(model, saved)
        if name is None:
            raise CheckpointError(f"{source!r}: the quantized module {saved!r} does not exist in {type(model).__name__}.")
        layer = model.get_submodule(name)
        device, dtype = layer.weight.device, layer.weight.dtype
        if type(layer) is nn.Linear:
            new = Int8Linear(layer.in_features, layer.out_features, layer.bias is not None, scheme=scheme,
                             weight_bits=bits if isinstance(bits, int) else None, device=device, dtype=dtype)
        elif type(layer) is nn.Embedding:
            new = Int8Embedding(layer.num_embeddings, layer.embedding_dim, layer.padding_idx, device=device, dtype=dtype)
        else:
            raise CheckpointError(f"{source!r}: cannot quantize {name!r} ({type(layer).__name__}).")
        _swap(model, name, new)


def _module_name(model: nn.Module, saved: str) -> str | None:
    """A module name from a saved quantization_config in this model: as saved, or with the base-model prefix
    added or removed (a base model's checkpoint loads into a head class and back, as the weights do)."""
    prefix = getattr(model, "base_model_prefix", "")
    candidates = [saved]
    if prefix:
        candidates += [f"{prefix}.{saved}", saved.removeprefix(prefix + ".")]
    for name in candidates:
        try:
            model.get_submodule(name)
            return name
        except AttributeError:
            continue
    return None
