"""The README's Trainer example under torchrun, as its console line says (tests/test_cli.py runs it in one process)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_training_script() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "$ torchrun --nproc_per_node 2 train.py" in text
    blocks = [b for b in re.findall(r"```python\n(.*?)\n```", text, re.S) if "mintformers.training" in b]
    assert len(blocks) == 1, "the README should have one Trainer example (the train.py its torchrun line runs)"
    return blocks[0]


def test_readme_trainer_example_under_torchrun(tmp_path, minilm_dir):
    script = readme_training_script().replace("sentence-transformers/all-MiniLM-L6-v2", str(minilm_dir))
    (tmp_path / "train.py").write_text(script, encoding="utf-8")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(port), "train.py"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("'eval_accuracy'") == 2  # both processes print the same gathered metrics
    lines = [json.loads(line) for line in (tmp_path / "sentiment" / "metrics.jsonl").read_text().splitlines()]
    # 4 records / (2 processes × 2) = 1 step per epoch, 3 epochs: the last step logs and evaluates, on rank 0 only
    assert [(line["step"], "eval_accuracy" in line) for line in lines] == [(3, False), (3, True)]
    assert (tmp_path / "sentiment" / "model" / "model.safetensors").is_file()
