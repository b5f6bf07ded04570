"""storage.save_folder: a checkpoint folder is saved atomically as a whole.

The crash test forks a process that saves a new checkpoint over an old one and makes it stop at the Nth point of
the save (storage.save_step, MINTFORMERS_SAVE_PAUSE_AT), then kills it with SIGKILL, for N = 1, 2, ... until a
save runs to the end: every point between two file writes, fsyncs, the commit, and every rename and removal. After
each kill the folder must load (with our loaders) as exactly the old or exactly the new checkpoint, and the next
save must succeed and leave nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import stat
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from mintformers import AutoConfig, AutoTokenizer, BertForMaskedLM
from mintformers.hub import CheckpointError
from mintformers.loading import find_weight_files, load_state_dict
from mintformers.storage import JOURNAL_NAME, atomic_write_text, recover, save_folder

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the crash test forks the saving process")

MAX_STEPS = 60  # a save of these checkpoints has 10 to 25 points; the loop stops at the first uninterrupted save


def save_until_killed(step: int, save: Callable[[], None]) -> str | None:
    """Run `save` in a child process that pauses at its `step`th save point; kill it there (SIGKILL, by pid).
    Returns the point's name, or None when the save finished before reaching it."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: save, then leave without running the parent's cleanup
        os.close(read_fd)
        code = 0
        try:
            os.environ["MINTFORMERS_SAVE_PAUSE_AT"] = f"{step}:{write_fd}"
            save()
        except BaseException:
            traceback.print_exc()
            code = 1
        os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd) as reader:
        point = reader.readline().strip()  # blocks until the child pauses, or exits (end of file)
    if point:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if not point:
        assert os.waitstatus_to_exitcode(status) == 0, "the save failed in the child (its traceback is above)"
    return point or None


def weights_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    state = load_state_dict(find_weight_files(folder))
    for key in sorted(state):
        digest.update(key.encode())
        digest.update(state[key].numpy().tobytes())
    return digest.hexdigest()


def model_state(folder: Path) -> tuple:
    return AutoConfig.from_pretrained(folder).save_marker, weights_digest(folder)


def tokenizer_state(folder: Path) -> tuple:
    tok = AutoTokenizer.from_pretrained(folder)
    return tok.model_max_length, len(tok), tuple(tok("zebraword the cat")["input_ids"])


def leftovers(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.name.startswith("."))


def tiny_model(models, marker: str, seed: int) -> BertForMaskedLM:
    model = BertForMaskedLM.from_pretrained(models["mlm"])
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_()
    model.config.update({"save_marker": marker})
    return model


def check_every_crash_point(tmp_path: Path, old: Path, save_new: Callable[[Path], None], state: Callable[[Path], tuple]):
    old_state = state(old)
    reference = tmp_path / "reference"
    shutil.copytree(old, reference)
    save_new(reference)
    new_state = state(reference)
    assert new_state != old_state
    outcomes, points = set(), []
    for step in range(1, MAX_STEPS + 1):
        folder = tmp_path / f"crash-{step}"
        shutil.copytree(old, folder)
        point = save_until_killed(step, lambda folder=folder: save_new(folder))
        got = state(folder)
        assert got in (old_state, new_state), f"killed at {point!r}: the folder mixes two checkpoints"
        outcomes.add("old" if got == old_state else "new")
        assert not (folder / JOURNAL_NAME).exists()  # the load rolled a committed save forward
        save_new(folder)  # the next save cleans up whatever the killed one left
        assert state(folder) == new_state and leftovers(folder) == [], point
        shutil.rmtree(folder)
        if point is None:
            break
        points.append(point)
    else:
        pytest.fail(f"the save still paused after {MAX_STEPS} points")
    assert outcomes == {"old", "new"} and "committed" in points, points
    return points


def test_crash_during_a_plain_save_leaves_old_or_new(tmp_path, models):
    old = tmp_path / "old"
    tiny_model(models, "old", 1).save_pretrained(old)
    new = tiny_model(models, "new", 2)
    points = check_every_crash_point(tmp_path, old, new.save_pretrained, model_state)
    assert {"wrote model.safetensors", "renamed model.safetensors", "renamed config.json"} <= set(points)


def test_crash_during_a_sharded_save_leaves_old_or_new(tmp_path, models):
    old = tmp_path / "old"
    tiny_model(models, "old", 1).save_pretrained(old, max_shard_size="40KB")  # 3 shards + index
    new = tiny_model(models, "new", 2)
    points = check_every_crash_point(tmp_path, old, lambda d: new.save_pretrained(d, max_shard_size="60KB"), model_state)
    assert len(find_weight_files(old)) == 3
    assert "removed model-00003-of-00003.safetensors" in points and "renamed model.safetensors.index.json" in points


def test_crash_during_a_tokenizer_save_leaves_old_or_new(tmp_path, models):
    old = tmp_path / "old"
    shutil.copytree(models["mlm"], old)
    tokenizer = AutoTokenizer.from_pretrained(old)
    tokenizer.add_tokens(["zebraword"])
    tokenizer.model_max_length = 77
    points = check_every_crash_point(tmp_path, old, tokenizer.save_pretrained, tokenizer_state)
    assert {"renamed tokenizer.json", "renamed tokenizer_config.json"} <= set(points)


def test_modes_follow_the_umask(tmp_path, models):
    previous = os.umask(0o022)
    try:
        tiny_model(models, "m", 0).save_pretrained(tmp_path / "out" / "model", max_shard_size="60KB")
        atomic_write_text(tmp_path / "out" / "notes.json", "{}")
    finally:
        os.umask(previous)
    for p in (tmp_path / "out").rglob("*"):
        assert stat.S_IMODE(p.stat().st_mode) == (0o755 if p.is_dir() else 0o644), p


def test_a_save_inside_a_save_joins_it(tmp_path, models):
    target = tmp_path / "pipeline"
    model = tiny_model(models, "m", 0)
    tokenizer = AutoTokenizer.from_pretrained(models["mlm"])
    with save_folder(target) as save:
        model.save_pretrained(save.path)
        tokenizer.save_pretrained(save.path)
        atomic_write_text(save.path / "sub" / "extra.json", "{}")
        assert not (target / "config.json").exists()  # nothing is visible before the commit
    assert (target / "config.json").is_file() and (target / "tokenizer.json").is_file()
    assert (target / "sub" / "extra.json").read_text() == "{}" and leftovers(target) == []


def test_a_failed_save_changes_nothing(tmp_path, models):
    target = tmp_path / "m"
    tiny_model(models, "old", 1).save_pretrained(target)
    before = model_state(target)
    with pytest.raises(RuntimeError, match="boom"), save_folder(target) as save:
        tiny_model(models, "new", 2).save_pretrained(save.path)
        raise RuntimeError("boom")
    assert model_state(target) == before and leftovers(target) == []


def test_the_next_save_removes_what_older_versions_left(tmp_path, models):
    target = tmp_path / "m"
    tiny_model(models, "old", 1).save_pretrained(target)
    (target / ".model.safetensors.k2j4h5l1.tmp").write_bytes(b"half a file")  # an old mkstemp leftover
    (target / ".mintformers-save-0123abcd").mkdir()
    (target / ".mintformers-save-0123abcd" / "model.safetensors").write_bytes(b"staged, never committed")
    (target / ".keep-me.tmp").write_text("not ours")
    tiny_model(models, "new", 2).save_pretrained(target)
    assert leftovers(target) == [".keep-me.tmp"]


def test_a_journal_pointing_outside_the_folder_is_refused(tmp_path):
    (tmp_path / "outside.txt").write_text("keep")
    folder = tmp_path / "m"
    folder.mkdir()
    journal = {"format": "mintformers-save", "version": 1, "staging": ".mintformers-save-00", "files": [],
               "remove": ["../outside.txt"]}
    (folder / JOURNAL_NAME).write_text(json.dumps(journal))
    with pytest.raises(CheckpointError, match="outside the checkpoint folder"):
        recover(folder)
    assert (tmp_path / "outside.txt").read_text() == "keep"


def test_saving_under_a_file_names_the_file(tmp_path, models):
    (tmp_path / "some-file").write_text("x")
    with pytest.raises(CheckpointError, match=r"some-file' is a file, not a folder"):
        tiny_model(models, "m", 0).save_pretrained(tmp_path / "some-file" / "model")


def test_crash_during_an_embeddings_index_save_leaves_old_or_new(tmp_path):
    from mintformers.embeddings import load_embeddings, save_embeddings

    def index_state(folder: Path) -> tuple:
        saved = load_embeddings(folder / "index")
        return tuple(saved.texts), saved.embeddings.tobytes()

    old = tmp_path / "old"
    old.mkdir()
    save_embeddings(old / "index", torch.zeros(2, 4), ["a", "b"])
    points = check_every_crash_point(
        tmp_path, old, lambda d: save_embeddings(d / "index", torch.ones(3, 4), ["a", "b", "c"]), index_state
    )
    assert {"renamed index.npy", "renamed index.jsonl"} <= set(points)
