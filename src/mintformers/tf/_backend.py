"""TensorFlow and Keras 3, or a clear message saying what to install or configure."""

from __future__ import annotations

INSTALL = "pip install 'mintformers[tf]'"

try:
    import tensorflow as tf
except ImportError as e:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        f"mintformers' TensorFlow models need TensorFlow (with Keras 3) and tensorflow-text: {INSTALL}"
    ) from e

try:
    import keras
except ImportError as e:  # pragma: no cover
    raise ImportError(f"mintformers' TensorFlow models need Keras 3 (TensorFlow >= 2.16 brings it): {INSTALL}") from e

if int(keras.__version__.split(".")[0]) < 3:
    raise ImportError(
        f"mintformers' TensorFlow models are Keras 3 models, but Keras {keras.__version__} is installed. Install "
        f"TensorFlow >= 2.16, which brings Keras 3: {INSTALL}. (tf-keras / Keras 2 is not used.)"
    )
if keras.backend.backend() != "tensorflow":
    raise ImportError(
        f"Keras is set to the {keras.backend.backend()!r} backend, but mintformers' TensorFlow models run on "
        "TensorFlow. Set KERAS_BACKEND=tensorflow before starting Python (or \"backend\": \"tensorflow\" in "
        "~/.keras/keras.json); for JAX use the mintformers.flax models instead."
    )

__all__ = ["tf", "keras", "INSTALL"]
