"""The JAX/Flax backend: `flax.linen` modules with the reference's parameter tree, wrapped in the API Flax users know
(`model.params`, `model.module`, `model(..., params=..., dropout_rng=..., train=...)`), loading and writing the same
checkpoints as the PyTorch classes.

JAX and Flax are an optional extra; `import mintformers` never imports them.
"""

try:
    import flax.linen  # noqa: F401
    import jax  # noqa: F401
except ImportError as e:  # pragma: no cover - exercised in a subprocess without jax
    raise ImportError(
        f"mintformers' Flax classes need JAX and Flax, which are not installed ({e}). Install them with: "
        "pip install mintformers[flax]"
    ) from e
