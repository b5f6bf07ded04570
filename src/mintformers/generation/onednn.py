"""oneDNN matrix products for decode steps on CPU.

A decode step multiplies a few rows (batch × 1 new token) by every weight matrix, so its cost is reading the
weights. PyTorch sends float32 `F.linear` on CPU to MKL's sgemm; on the machine we benchmark (AMD EPYC, 2 threads,
AVX2) oneDNN's kernels do the same products markedly faster. All 49 linear layers of a 125M MPT, one decode step:

    rows   MKL      oneDNN   oneDNN, packed weights
    1      35 ms    25 ms    22 ms      (reading 494 MB; this machine streams ~24 GB/s: 20 ms is the floor)
    8      96 ms    51 ms    40 ms

`OneDNNLinears(model)` routes the model's float32 CPU nn.Linear layers to `torch.ops.mkldnn._linear_pointwise`
inside a `with` block by giving each layer an instance `forward`, so the swap costs nothing per operation (a
TorchFunctionMode intercepting every op cost more than it saved on small models). Plain weights are used in place;
`pack=True` reorders a copy of every weight into oneDNN's blocked layout (a second copy of the weights in memory,
0.25 s to build for 125M parameters), kept until the weights change. Results equal MKL's up to float32 rounding
(another summation order, ~1e-6 relative).
"""

from __future__ import annotations

import functools
from typing import Any

import torch
from torch import nn

__all__ = ["OneDNNLinears", "onednn_available"]


def onednn_available() -> bool:
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")


def _onednn_forward(weight: torch.Tensor, bias: torch.Tensor | None, x: torch.Tensor) -> torch.Tensor:
    return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")


class OneDNNLinears:
    """Context manager: within it, `model`'s float32 CPU nn.Linear layers compute through oneDNN (no autograd)."""

    def __init__(self, model: nn.Module, pack: bool = False, rows: int = 1):
        self.layers = [
            m for m in model.modules()
            if type(m) is nn.Linear and m.weight.device.type == "cpu" and m.weight.dtype == torch.float32
        ]
        self.forwards = [functools.partial(_onednn_forward, self._weight(m, rows) if pack else m.weight, m.bias)
                         for m in self.layers]

    @staticmethod
    def _weight(layer: nn.Linear, rows: int) -> torch.Tensor:
        """The packed copy of layer.weight, cached on the layer while the weight is unchanged."""
        key = (layer.weight.data_ptr(), layer.weight._version, rows)
        cached = layer.__dict__.get("_mf_onednn_packed")
        if cached is None or cached[0] != key:
            cached = (key, torch.ops.mkldnn._reorder_linear_weight(layer.weight.detach(), rows))
            layer.__dict__["_mf_onednn_packed"] = cached
        return cached[1]

    def __enter__(self) -> OneDNNLinears:
        for layer, forward in zip(self.layers, self.forwards):
            layer.__dict__["forward"] = forward  # an instance attribute shadows nn.Linear.forward
        return self

    def __exit__(self, *exc: Any) -> None:
        for layer in self.layers:
            layer.__dict__.pop("forward", None)
