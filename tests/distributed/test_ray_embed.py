"""embed_dataset on a local Ray instance (2 CPUs, a small object store): equal to SentenceEncoder.encode row for row,
in input order, with ids; a job killed half-way resumes without recomputing or losing a row; the README's example."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from test_ray_blocks import write_corpus

from mintformers import SentenceEncoder
from mintformers.cli import main
from mintformers.distributed import embed_dataset, read_parts

ray = pytest.importorskip("ray")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cluster():
    """A local Ray instance for this module; its GCS address lets other processes join it."""
    ray.init(num_cpus=2, object_store_memory=150 * 1024**2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def vectors(table) -> np.ndarray:
    return np.stack(table.column("embedding").to_numpy(zero_copy_only=False))


def test_readme_example_equals_encode_in_input_order(cluster, tmp_path, minilm_dir, monkeypatch):
    texts = [f"Sentence {i}: " + " ".join(["trains", "bread", "cats", "music", "rivers"][: 1 + i % 5]) * (1 + i % 3) for i in range(40)]
    write_corpus(tmp_path, texts)  # corpus/a.jsonl, b.parquet, c.txt
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (example,) = [b for b in re.findall(r"```py\n(.*?)\n```", readme, re.S) if "embed_dataset" in b]
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(example.replace("sentence-transformers/all-MiniLM-L6-v2", str(minilm_dir)), "README.md", "exec"), namespace)
    result, table, saved = namespace["result"], namespace["table"], namespace["saved"]

    assert (result.rows, result.blocks, result.embedded, result.skipped) == (40, 3, 3, 0)  # one block per file
    assert table.column("id").to_pylist() == list(range(40))
    reference = SentenceEncoder.from_pretrained(minilm_dir, device="cpu").encode(table.column("text").to_pylist())
    assert cosines(vectors(table), reference).min() >= 0.99999
    assert [t.strip() for t in table.column("text").to_pylist()] == [t.strip() for t in texts]
    assert saved.texts == table.column("text").to_pylist() and [r["id"] for r in saved.records] == list(range(40))
    np.testing.assert_array_equal(saved.embeddings, vectors(table))
    again = embed_dataset("corpus/", str(minilm_dir), "corpus-embeddings", block_rows=10_000)
    assert (again.embedded, again.skipped) == (0, 3)  # nothing to do: Ray is not even asked
    with pytest.raises(ValueError, match="holds the output of a different job .*block_rows"):
        embed_dataset("corpus/", str(minilm_dir), "corpus-embeddings", block_rows=7)


# The killed job runs in its own driver process, joining the cluster by address. A worker set-up hook (Ray's own
# mechanism, applied to that job's workers only) slows each block down so the kill lands half-way.
DRIVER = """
import sys, time
from mintformers.distributed import embed_dataset

def slow_blocks():
    from mintformers.embeddings import SentenceEncoder
    encode = SentenceEncoder.encode
    def slow(self, texts, **kwargs):
        time.sleep(0.3)
        return encode(self, texts, **kwargs)
    SentenceEncoder.encode = slow

model, corpus, output, address = sys.argv[1:]
embed_dataset(corpus, model, output, block_rows=4, address=address, show_progress=False,
              init_kwargs={"runtime_env": {"worker_process_setup_hook": slow_blocks}})
"""


def test_a_killed_job_resumes_without_recomputing_or_losing_rows(cluster, tmp_path, models, capsys):
    texts = [f"passage {i} about " + "the city river " * (i % 4) for i in range(30)]
    corpus, output = write_corpus(tmp_path, texts), tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, str(models["st"]), str(corpus), str(output), cluster],
                              env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while len(list(output.glob("part-*.parquet"))) < 2:
            assert driver.poll() is None, driver.stderr.read().decode()[-3000:]
            assert time.monotonic() < deadline, "the job wrote no parts"
            time.sleep(0.05)
    finally:
        os.killpg(driver.pid, signal.SIGKILL)  # the driver and anything it started, mid-block
        driver.wait()
        driver.stderr.close()
    time.sleep(1.0)  # Ray ends the dead driver's actors
    blocks = json.loads((output / "_manifest.json").read_text())["blocks"]
    written = {p.name: p.stat().st_mtime_ns for p in output.glob("part-*.parquet")}
    assert 2 <= len(written) < len(blocks), "the kill should land half-way"
    leftover = output / ".mintformers-save-0123456789abcdef"  # as a kill mid-write leaves: a staged half part
    leftover.mkdir(exist_ok=True)
    (leftover / "part-000009.parquet").write_bytes(b"PAR1 half a file")

    # resumed from the command line (Ray is already up in this process: the address is that cluster's)
    code = main(["embed", "--ray", cluster, str(corpus), "-o", str(output), "--model", str(models["st"]), "--block-rows", "4", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["skipped"], result["embedded"], result["count"]) == (len(written), len(blocks) - len(written), 30)
    assert all((output / name).stat().st_mtime_ns == mtime for name, mtime in written.items())  # not recomputed
    assert not list(output.glob(".mintformers-save-*"))  # removed by the next save
    table = read_parts(output)
    assert table.column("id").to_pylist() == list(range(30))  # every row once, in input order
    reference = SentenceEncoder.from_pretrained(models["st"], device="cpu").encode(table.column("text").to_pylist())
    assert cosines(vectors(table), reference).min() >= 0.99999


def test_a_ray_dataset_gets_an_embedding_column(cluster, models):
    from mintformers.distributed.embed import RowEmbedder

    dataset = ray.data.from_items([{"text": t, "n": i} for i, t in enumerate(["a cat", "the train", "bread"])])
    lazy = embed_dataset(dataset, str(models["st"]), block_rows=2)
    assert isinstance(lazy, ray.data.Dataset)  # nothing ran yet; Ray's writers or iterators execute it
    # the actor's work, in this process: what map_batches hands each actor
    embedder = RowEmbedder(str(models["st"]), text_column="text", batch_size=8, normalize=False, num_cpus=1, num_gpus=0)
    batch = embedder({"text": np.array(["a cat", "the train"]), "n": np.array([0, 1])})
    reference = SentenceEncoder.from_pretrained(models["st"], device="cpu").encode(["a cat", "the train"])
    np.testing.assert_allclose(batch["embedding"], reference, atol=1e-6)
    assert batch["n"].tolist() == [0, 1]
    with pytest.raises(ValueError, match="embedded lazily"):
        embed_dataset(dataset, str(models["st"]), "out")
