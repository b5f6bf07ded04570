"""oneDNN matrix products for decode steps on CPU.

A decode step multiplies a few rows (batch × 1 new token) by every weight matrix, so its cost is reading the
weights. PyTorch sends float32 `F.linear` on CPU to MKL's sgemm; on the machine we benchmark (AMD EPYC, 2 threads)
oneDNN's kernels do the same products markedly faster — all linear layers of a 125M MPT: 26 ms against 40 ms at 1
row, 55 ms against 104 ms at 8 rows (benchmarks/bench_mpt_generate.py has the end-to-end figures) — on the same
weights in place: nothing is copied or repacked, so memory does not grow.

`onednn_linear()` routes F.linear to `torch.ops.mkldnn._linear_pointwise` inside a `with` block, for CPU float32
tensors outside autograd; anything else runs as usual. It is a TorchFunctionMode, so it is thread-local and
leaves the model untouched. Results equal MKL's up to float32 rounding (another summation order, ~1e-6 relative).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

__all__ = ["onednn_linear", "onednn_available"]


def onednn_available() -> bool:
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")


class onednn_linear(TorchFunctionMode):  # noqa: N801 - used like a function: `with onednn_linear(): ...`
    """Within the block, float32 CPU F.linear calls (no grad) run through oneDNN."""

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        if func is F.linear:
            x, weight = args[0], args[1] if len(args) > 1 else kwargs["weight"]
            bias = args[2] if len(args) > 2 else kwargs.get("bias")
            if (
                x.device.type == "cpu"
                and x.dtype == weight.dtype == torch.float32
                and not (torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad))
            ):
                return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")
        return func(*args, **kwargs)
