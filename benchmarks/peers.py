"""The other fast ways to run the same checkpoints on a CPU, prepared once and cached under .cache/bench/:

- ONNX Runtime on a plain export (`torch.onnx.export` of the transformers model, dynamic batch and length), and
  its dynamic int8 quantization with per-channel weights (`onnxruntime.quantization.quantize_dynamic`);
- CTranslate2 (`ct2-transformers-converter`'s converter; BERT-family encoders and MPT), in float32 or int8.

All of them (the `bench` extra) are optional: a missing one is reported as skipped with the reason. Each encoder
runner takes padded (input_ids, attention_mask) numpy batches and returns the last hidden states, so that the
benchmark feeds every system the same tokens in the same length-sorted batches.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "bench"

Forward = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (ids, mask) (B, T) int64 → hidden (B, T, H) float32


class Unavailable(Exception):
    """A peer that cannot run here (not installed, or no converter for this model); the message says why."""


def _cache_dir(checkpoint: Path, what: str) -> Path:
    key = hashlib.sha1(str(Path(checkpoint).resolve()).encode()).hexdigest()[:10]
    return CACHE / f"{Path(checkpoint).name}-{key}" / what


def onnx_export(checkpoint: Path) -> Path:
    """model.onnx: the reference (transformers) model exported with dynamic batch and sequence axes."""
    out = _cache_dir(checkpoint, "onnx") / "model.onnx"
    if out.is_file():
        return out
    try:
        import onnx  # noqa: F401
        import torch
        import transformers
    except ImportError as e:
        raise Unavailable(f"needs onnx and transformers ({e.name} is missing)") from None
    model = transformers.AutoModel.from_pretrained(checkpoint, attn_implementation="eager").eval()
    ids = torch.ones(2, 16, dtype=torch.long)
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            "last_hidden_state": {0: "batch", 1: "tokens"}}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.onnx")
    with torch.no_grad():
        torch.onnx.export(model, (ids, torch.ones_like(ids)), str(tmp), input_names=["input_ids", "attention_mask"],
                          output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17, dynamo=False)
    os.replace(tmp, out)
    return out


def onnx_int8(checkpoint: Path) -> Path:
    """model.int8.onnx: dynamic int8 quantization of the export (uint8 activations, per-channel int8 weights)."""
    out = _cache_dir(checkpoint, "onnx") / "model.int8.onnx"
    if out.is_file():
        return out
    source = onnx_export(checkpoint)
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:
        raise Unavailable("needs onnxruntime") from None
    tmp = out.with_suffix(".tmp.onnx")
    quantize_dynamic(str(source), str(tmp), per_channel=True, weight_type=QuantType.QInt8)
    os.replace(tmp, out)
    return out


def onnxruntime_forward(model_file: Path, threads: int) -> Forward:
    try:
        import onnxruntime as ort
    except ImportError:
        raise Unavailable("onnxruntime is not installed (pip install 'mintformers[bench]')") from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
    return lambda ids, mask: session.run(None, {"input_ids": ids, "attention_mask": mask})[0]


def ctranslate2_model(checkpoint: Path) -> Path:
    """A CTranslate2 conversion (float32 weights; int8 is chosen when loading)."""
    out = _cache_dir(checkpoint, "ctranslate2")
    if (out / "model.bin").is_file():
        return out
    try:
        import ctranslate2
    except ImportError:
        raise Unavailable("ctranslate2 is not installed (pip install 'mintformers[bench]')") from None
    try:
        converter = ctranslate2.converters.TransformersConverter(str(checkpoint))
        converter.convert(str(out), force=True)
    except ValueError as e:  # "No conversion is registered for the model configuration ..."
        raise Unavailable(str(e).split(" (supported")[0]) from None
    return out


def ctranslate2_forward(checkpoint: Path, compute_type: str, threads: int) -> Forward:
    import ctranslate2

    encoder = ctranslate2.Encoder(str(ctranslate2_model(checkpoint)), device="cpu", compute_type=compute_type,
                                  intra_threads=threads)

    def forward(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        lengths = mask.sum(1)
        tokens = [row[:n].tolist() for row, n in zip(ids, lengths)]
        return np.asarray(encoder.forward_batch(tokens).last_hidden_state)

    return forward
