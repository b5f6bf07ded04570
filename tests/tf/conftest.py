"""TensorFlow tests: TensorFlow (and the reference's tf-keras classes, where a test needs them) load once per worker.

One intra-op thread per worker, as the root conftest does for torch: two workers share two cores.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(2)


@pytest.fixture(scope="session")
def ref():
    """transformers 4.57.6, whose TF classes (tf-keras models) are the oracle."""
    import transformers

    return transformers
