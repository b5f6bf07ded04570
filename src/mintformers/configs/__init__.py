"""Family configurations that every backend shares (PyTorch `models/`, TensorFlow `tf/`, JAX/Flax `flax/`).

Plain data: importing a config never imports a framework.
"""
