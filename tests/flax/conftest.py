"""Fixtures for the Flax tests: tiny perturbed reference checkpoints, built once per worker.

JAX compiles once per distinct program and input shape, so the tests share a few configs and shapes: every class is
loaded from these folders, and inputs come from `flax_parity.batch()`.
"""

from __future__ import annotations

import pytest

pytest.importorskip("jax", reason="the Flax backend needs JAX: pip install mintformers[flax]")

from flax_parity import CLASSES, reference_folder  # noqa: E402


@pytest.fixture(scope="session")
def reference_dirs(tmp_path_factory) -> dict[str, object]:
    """Reference PyTorch class name → a folder holding its perturbed tiny checkpoint (transformers 4.57.6)."""
    root = tmp_path_factory.mktemp("flax-reference")
    return {name: reference_folder(root / name, name) for name in CLASSES}
