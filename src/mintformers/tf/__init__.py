"""The TensorFlow backend: Keras 3 models that read and write the same checkpoints as the PyTorch classes.

The package mirrors `models/` and `layers/`: `modeling.py` (the base model: inputs, loading and saving, Keras
training hooks, serving), `layers.py` (building blocks), `heads.py` and `losses.py` (task heads written once),
`checkpoint.py` (weight names, `tf_model.h5`), `outputs.py`, one file per family (`bert.py`, `mobilebert.py`) and
`tokenizer.py` (TFBertTokenizer, in the graph). Importing it checks that TensorFlow and Keras 3 are there.
"""

from ._backend import keras, tf

__all__ = ["keras", "tf"]
