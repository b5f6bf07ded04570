"""TensorFlow is optional: `import mintformers` never imports it, a TF class without it says what to install, and
the backend is Keras 3 (never tf-keras), on TensorFlow."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

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


def test_another_keras_backend_is_refused_with_the_fix():
    result = _run("import mintformers.tf", KERAS_BACKEND="numpy")
    assert result.returncode != 0 and "KERAS_BACKEND=tensorflow" in result.stderr, result.stderr[-2000:]


def test_the_backend_never_imports_tf_keras():
    """tf-keras is the oracle's (the reference's TF classes are Keras 2 models); ours are Keras 3."""
    for path in (SRC / "tf").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not any(n.split(".")[0] == "tf_keras" for n in names), path
    import keras

    assert issubclass(mintformers.TFBertModel, keras.Model) and keras.__version__.startswith("3.")
