"""Planning, reading and writing corpus blocks (no Ray involved): formats, ids, the manifest, atomic parts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mintformers.distributed.blocks import Manifest, find_inputs, part_name, plan_blocks, read_block, write_part


def write_corpus(root: Path, texts: list[str]) -> Path:
    """The texts spread over a JSON-lines file (with ids and blank lines), a Parquet file (row groups of 4) and a
    text file, in a folder: a.jsonl, b.parquet, c.txt in path order."""
    corpus = root / "corpus"
    corpus.mkdir()
    a, b, c = texts[: len(texts) // 3], texts[len(texts) // 3 : 2 * len(texts) // 3], texts[2 * len(texts) // 3 :]
    lines = [json.dumps({"text": t, "doc": f"a{i}"}) for i, t in enumerate(a)]
    (corpus / "a.jsonl").write_text("\n".join(lines[:2]) + "\n\n" + "\n".join(lines[2:]) + "\n", encoding="utf-8")
    pq.write_table(pa.table({"text": b, "doc": [f"b{i}" for i in range(len(b))]}), corpus / "b.parquet", row_group_size=4)
    (corpus / "c.txt").write_text("\n".join(c) + "\n\n", encoding="utf-8")
    return corpus


TEXTS = [f"text number {i} " + "word " * (i % 7) for i in range(30)]


def test_blocks_cover_every_row_in_input_order(tmp_path):
    inputs = find_inputs(write_corpus(tmp_path, TEXTS))
    assert [Path(i.path).name for i in inputs] == ["a.jsonl", "b.parquet", "c.txt"]
    blocks = plan_blocks(inputs, block_rows=3)
    texts, ids = [], []
    for block in blocks:
        t, i = read_block(inputs[block.file], block, "text", None)
        assert len(t) == block.rows
        texts += t
        ids += i
    assert [t.strip() for t in TEXTS] == [t.strip() for t in texts] and ids == list(range(30))
    # Parquet blocks are whole row groups (4 rows each here): never split, never merged past block_rows
    assert [b.rows for b in blocks if inputs[b.file].format == "parquet"] == [4, 4, 2]
    named = [i for b in blocks for i in read_block(inputs[b.file], b, "text", "doc")[1] if inputs[b.file].format != "text"]
    assert named[:3] == ["a0", "a1", "a2"] and named[10] == "b0"


def test_manifest_tells_a_different_job(tmp_path):
    corpus = write_corpus(tmp_path, TEXTS)
    inputs = find_inputs(corpus)
    settings = {"model": "m", "block_rows": 3}
    manifest = Manifest(inputs, plan_blocks(inputs, 3), settings)
    (tmp_path / "_manifest.json").write_text(manifest.to_json())
    again = Manifest.read(tmp_path)
    assert again.blocks == manifest.blocks and again.differences(find_inputs(corpus), settings) == []
    assert again.differences(inputs, {"model": "other", "block_rows": 3}) == ["model: 'm' then, 'other' now"]
    (corpus / "c.txt").write_text("changed\n")
    assert again.differences(find_inputs(corpus), settings) == [f"{inputs[2].path} changed (size or modification time)"]


def test_a_part_appears_whole_or_not_at_all(tmp_path, monkeypatch):
    inputs = find_inputs(write_corpus(tmp_path, TEXTS))
    block = plan_blocks(inputs, 5)[0]
    vectors = np.arange(10, dtype=np.float32).reshape(5, 2)
    path = write_part(tmp_path, block, list(range(5)), TEXTS[:5], vectors, "int64")
    table = pq.read_table(path)
    assert table.column("id").to_pylist() == list(range(5)) and table.column("embedding").type.list_size == 2

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", fail)
    other = plan_blocks(inputs, 5)[1]
    with pytest.raises(OSError):
        write_part(tmp_path, other, list(range(5)), TEXTS[:5], vectors, "int64")
    assert not (tmp_path / part_name(other.index)).exists() and not list(tmp_path.glob(".*"))  # nothing left over


def test_bad_inputs_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        find_inputs(tmp_path / "missing.jsonl")
    (tmp_path / "x.csv").write_text("a\n")
    with pytest.raises(ValueError, match="cannot tell its format"):
        find_inputs(tmp_path / "x.csv")
    (tmp_path / "bad.jsonl").write_text('{"body": "no text field"}\n')
    inputs = find_inputs(tmp_path / "bad.jsonl")
    with pytest.raises(ValueError, match="input row 0 is not a JSON object with a 'text' field"):
        read_block(inputs[0], plan_blocks(inputs, 10)[0], "text", None)


def test_ray_is_imported_only_when_a_job_runs():
    import subprocess
    import sys

    code = ("import sys, mintformers, mintformers.distributed; from mintformers.cli import build_parser; build_parser(); "
            "assert 'ray' not in sys.modules and 'pyarrow' not in sys.modules, sorted(m for m in sys.modules if 'ray' in m)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
