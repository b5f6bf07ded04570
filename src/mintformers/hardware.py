"""What the CPU can do, read once: the instruction-set flags that decide kernels and dtypes.

Speed choices depend on the machine, never on a guess: bfloat16 arithmetic is native only with AVX512_BF16 or AMX
(elsewhere PyTorch emulates it, several times slower than float32), and int8 products accumulate exactly in one
instruction only with VNNI/AMX (without them, x86 int8 kernels sum byte pairs into saturating 16-bit lanes).
The flags come from /proc/cpuinfo (Linux); elsewhere the set is empty and the portable choices apply.
"""

from __future__ import annotations

import functools
from pathlib import Path

__all__ = ["cpu_flags", "native_bf16", "int8_dot_product", "describe_cpu"]

BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
INT8_DOT_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The `flags` of the first processor in /proc/cpuinfo (empty where there is no such file)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def native_bf16() -> bool:
    """True when the CPU computes in bfloat16 natively (AVX512_BF16 or AMX)."""
    return bool(cpu_flags() & BF16_FLAGS)


def int8_dot_product() -> bool:
    """True when the CPU has a 32-bit-accumulating int8 dot product (VNNI or AMX)."""
    return bool(cpu_flags() & INT8_DOT_FLAGS)


def describe_cpu() -> str:
    """One line for benchmark headers: model name, core count, PyTorch's vector ISA and the flags that matter here."""
    import os

    import torch

    name = ""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                name = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    flags = cpu_flags()
    shown = sorted(f for f in flags if f.startswith(("avx", "amx", "fma")))
    return (
        f"{name or 'CPU'}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.backends.cpu.get_cpu_capability()}); "
        f"flags: {' '.join(shown) or 'unknown'}; native bf16: {'yes' if native_bf16() else 'no'}, "
        f"int8 dot product (VNNI/AMX): {'yes' if int8_dot_product() else 'no'}"
    )
