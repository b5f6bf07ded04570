"""Float embeddings → int8 / uint8 buckets or packed sign bits, as sentence-transformers' `quantize_embeddings`."""

from __future__ import annotations

import logging
from typing import Any, Literal

import numpy as np
import torch

logger = logging.getLogger(__name__)

PRECISIONS = ("float32", "int8", "uint8", "binary", "ubinary")


def quantize_embeddings(
    embeddings: Any,
    precision: Literal["float32", "int8", "uint8", "binary", "ubinary"],
    ranges: np.ndarray | None = None,
    calibration_embeddings: np.ndarray | None = None,
) -> np.ndarray:
    """Float embeddings → a smaller numpy representation, as sentence-transformers' `quantize_embeddings`.

    int8/uint8: each dimension's [min, max] (from `ranges` (2, dim), else `calibration_embeddings`, else these
    embeddings) is cut into 256 buckets. binary/ubinary: the sign bits (> 0), packed 8 per byte (int8 is offset
    by -128).
    """
    if isinstance(embeddings, torch.Tensor):
        embeddings = embeddings.detach().float().cpu().numpy()
    elif isinstance(embeddings, list):
        embeddings = np.array([e.detach().float().cpu().numpy() if isinstance(e, torch.Tensor) else e for e in embeddings])
    embeddings = np.asarray(embeddings)
    if embeddings.dtype in (np.int8, np.uint8):
        raise ValueError("Embeddings to quantize must be floats, not int8/uint8.")
    if precision == "float32":
        return embeddings.astype(np.float32)
    if precision in ("int8", "uint8"):
        if ranges is None:
            source = embeddings if calibration_embeddings is None else np.asarray(calibration_embeddings)
            if calibration_embeddings is None and len(embeddings) < 100:
                logger.warning(
                    "Computing %s quantization ranges from %d embeddings; pass ranges or calibration_embeddings "
                    "computed on more data for stable buckets.", precision, len(embeddings),
                )
            ranges = np.vstack((source.min(axis=0), source.max(axis=0)))
        starts = ranges[0, :]
        steps = (ranges[1, :] - ranges[0, :]) / 255
        steps = np.where(steps == 0, 1, steps)
        buckets = np.clip(np.floor((embeddings - starts) / steps), 0, 255)
        return buckets.astype(np.uint8) if precision == "uint8" else (buckets - 128).astype(np.int8)
    if precision in ("binary", "ubinary"):
        packed = np.packbits(embeddings > 0, axis=-1).reshape(embeddings.shape[0], -1)
        return packed if precision == "ubinary" else (packed.astype(np.int16) - 128).astype(np.int8)
    raise ValueError(f"precision={precision!r} is not one of {PRECISIONS}.")

