"""TensorFlow is optional: `import mintformers` never imports it, a TF class without it says what to install, and
the backend is Keras 3 (never tf-keras), on TensorFlow."""

from __future__ import annotations

import ast
import os
import runpy
import subprocess
import sys
from pathlib import Path

import keras
import pytest

import mintformers

SRC = Path(mintformers.__file__).parent


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env},
    )


def test_import_mintformers_imports_no_tensorflow():
    code = (
        "import sys, mintformers\n"
        "from mintformers import BertConfig, BertTokenizerFast\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'imported TensorFlow'\n"
        "assert 'torch' not in sys.modules, 'a config or tokenizer imported torch'\n"
        "assert 'TFBertModel' in dir(mintformers)\n"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr


def test_without_tensorflow_a_tf_class_says_what_to_install():
    code = (
        "import sys\n"
        "sys.modules['tensorflow'] = None  # as if not installed\n"
        "try:\n"
        "    from mintformers import TFBertModel\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    result = _run(code)
    assert "pip install 'mintformers[tf]'" in result.stdout, result.stdout + result.stderr


def test_keras_2_or_another_keras_backend_is_refused_with_the_fix(monkeypatch):
    """Keras 2, or Keras set to another backend (KERAS_BACKEND=jax, or keras.json): the backend module refuses,
    naming the fix. Run in this process with Keras reporting them (a fresh interpreter would spend its time
    importing TensorFlow)."""
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(ImportError, match="KERAS_BACKEND=tensorflow.*mintformers.flax"):
        runpy.run_path(str(SRC / "tf" / "_backend.py"))
    monkeypatch.setattr(keras, "__version__", "2.15.0")
    with pytest.raises(ImportError, match="Keras 2.15.0 is installed. Install TensorFlow >= 2.16"):
        runpy.run_path(str(SRC / "tf" / "_backend.py"))


def test_the_backend_never_imports_tf_keras():
    """tf-keras is the oracle's (the reference's TF classes are Keras 2 models); ours are Keras 3."""
    for path in (SRC / "tf").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not any(n.split(".")[0] == "tf_keras" for n in names), path
    assert issubclass(mintformers.TFBertModel, keras.Model) and keras.__version__.startswith("3.")
