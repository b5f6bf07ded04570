"""storage.save_folder: a checkpoint folder is saved atomically as a whole.

The crash test has a saving process stop at the Nth point of a save (storage.save_step, MINTFORMERS_SAVE_PAUSE_AT)
and kills it there with SIGKILL, by pid, for N = 1, 2, ... until a save runs to the end: every point between two
file writes, the fsyncs, the commit, and every rename and removal. After each kill the folder must load (with our
loaders) as exactly the old or exactly the new checkpoint, and the next save must succeed and leave nothing behind.

The saving processes are forked by one helper process ("zygote") that imported torch and loaded the new checkpoint
once: forking is then cheap (milliseconds), and it happens in a single-threaded process, not in a test worker
that may run thread pools (torch, JAX) a forked child could deadlock on.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
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

ZYGOTE = r"""
import json, os, sys, traceback
from pathlib import Path
import torch
torch.set_num_threads(1)
from mintformers import AutoTokenizer, BertForMaskedLM
from mintformers.embeddings import save_embeddings

loaded = {}
for line in sys.stdin:
    cmd = json.loads(line)
    if cmd["op"] == "load":
        cls = AutoTokenizer if cmd["kind"] == "tokenizer" else BertForMaskedLM
        loaded[cmd["name"]] = cls.from_pretrained(cmd["path"])
        reply = {"ok": True}
    elif cmd["op"] == "save":
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            code = 0
            try:
                os.environ["MINTFORMERS_SAVE_PAUSE_AT"] = f"{cmd['step']}:{write_fd}"
                if cmd["name"] == "index":
                    save_embeddings(Path(cmd["folder"]) / "index", torch.ones(3, 4), ["a", "b", "c"])
                elif cmd["name"] == "convert":  # `mintformers convert SOURCE FOLDER --overwrite`
                    from mintformers.cli.checkpoints import convert_checkpoint
                    convert_checkpoint(Path(cmd["kwargs"].pop("source")), Path(cmd["folder"]), overwrite=True,
                                       **cmd["kwargs"])
                else:
                    loaded[cmd["name"]].save_pretrained(cmd["folder"], **cmd["kwargs"])
            except BaseException:
                traceback.print_exc()
                code = 1
            os._exit(code)
        os.close(write_fd)
        with os.fdopen(read_fd) as reader:
            point = reader.readline().strip()  # the child paused there, or (end of file) finished
        reply = {"pid": pid, "point": point or None}
        if not point:
            reply["status"] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    elif cmd["op"] == "reap":
        os.waitpid(cmd["pid"], 0)
        reply = {"ok": True}
    print(json.dumps(reply), flush=True)
"""


class Zygote:
    def __init__(self):
        env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
        self.process = subprocess.Popen([sys.executable, "-c", ZYGOTE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, env=env)

    def ask(self, **cmd) -> dict:
        self.process.stdin.write(json.dumps(cmd, default=str) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, "the zygote process died (its traceback is above)"
        return json.loads(line)

    def save_until_killed(self, step: int, name: str, folder: Path, **kwargs) -> str | None:
        """Save `name` into `folder` in a child that pauses at its `step`th save point; kill it there (SIGKILL, by
        pid). Returns the point's name, or None when the save finished before reaching it."""
        reply = self.ask(op="save", name=name, folder=folder, kwargs=kwargs, step=step)
        if reply["point"] is None:
            assert reply["status"] == 0, "the save failed in the child (its traceback is above)"
            return None
        os.kill(reply["pid"], signal.SIGKILL)
        self.ask(op="reap", pid=reply["pid"])
        return reply["point"]


@pytest.fixture(scope="module")
def zygote():
    z = Zygote()
    yield z
    z.process.stdin.close()
    z.process.wait(timeout=60)


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


def check_every_crash_point(tmp_path, zygote, name, old: Path, save_new: Callable[[Path], None], state, **kwargs):
    """Kill the zygote's save of `name` (what `save_new` saves here) over a copy of `old` at every save point."""
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
        point = zygote.save_until_killed(step, name, folder, **kwargs)
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


def test_crash_during_a_plain_save_leaves_old_or_new(tmp_path, models, zygote):
    old = tmp_path / "old"
    tiny_model(models, "old", 1).save_pretrained(old)
    new = tiny_model(models, "new", 2)
    new.save_pretrained(tmp_path / "new")
    zygote.ask(op="load", name="plain", kind="model", path=tmp_path / "new")
    points = check_every_crash_point(tmp_path, zygote, "plain", old, new.save_pretrained, model_state)
    assert {"wrote model.safetensors", "renamed model.safetensors", "renamed config.json"} <= set(points)


def test_crash_during_a_sharded_save_leaves_old_or_new(tmp_path, models, zygote):
    old = tmp_path / "old"
    tiny_model(models, "old", 1).save_pretrained(old, max_shard_size="40KB")  # 3 shards + index
    assert len(find_weight_files(old)) == 3
    new = tiny_model(models, "new", 2)
    new.save_pretrained(tmp_path / "new")
    zygote.ask(op="load", name="sharded", kind="model", path=tmp_path / "new")
    points = check_every_crash_point(tmp_path, zygote, "sharded", old,
                                     lambda d: new.save_pretrained(d, max_shard_size="60KB"), model_state,
                                     max_shard_size="60KB")  # 2 shards: every old shard goes
    assert "removed model-00003-of-00003.safetensors" in points and "renamed model.safetensors.index.json" in points


def test_crash_during_a_tokenizer_save_leaves_old_or_new(tmp_path, models, zygote):
    old = tmp_path / "old"
    shutil.copytree(models["mlm"], old)
    tokenizer = AutoTokenizer.from_pretrained(old)
    tokenizer.add_tokens(["zebraword"])
    tokenizer.model_max_length = 77
    tokenizer.save_pretrained(tmp_path / "new")
    zygote.ask(op="load", name="tokenizer", kind="tokenizer", path=tmp_path / "new")
    points = check_every_crash_point(tmp_path, zygote, "tokenizer", old, tokenizer.save_pretrained, tokenizer_state)
    assert {"renamed tokenizer.json", "renamed tokenizer_config.json"} <= set(points)


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_every_kind_of_save_honours_the_umask(tmp_path, models, umask):
    """Weights, configs, tokenizers, sentence-transformers folders, indexes, converted folders and the CLI's outputs
    get the modes open() and mkdir() give under the umask (0644 / 0755 under 022), as transformers writes them."""
    from mintformers.cli import main
    from mintformers.cli.checkpoints import convert_checkpoint
    from mintformers.embeddings import SentenceEncoder, save_embeddings

    out = tmp_path / "out"
    previous = os.umask(umask)
    try:
        tiny_model(models, "m", 0).save_pretrained(out / "model", max_shard_size="60KB")
        AutoTokenizer.from_pretrained(models["mlm"]).save_pretrained(out / "tokenizer")
        SentenceEncoder.from_pretrained(models["st"]).save_pretrained(out / "sentence")  # module subfolders
        save_embeddings(out / "index" / "corpus", torch.ones(2, 4), ["a", "b"])
        convert_checkpoint(Path(models["st"]), out / "converted", dtype="bfloat16")
        atomic_write_text(out / "notes.json", "{}")
        (tmp_path / "texts.txt").write_text("one\ntwo\n")
        for output in ("embedded.npy", "embedded.jsonl"):
            assert main(["embed", str(tmp_path / "texts.txt"), "-o", str(out / "cli" / output), "--model",
                         str(models["st"]), "-q"]) == 0
    finally:
        os.umask(previous)
    kinds = {p.relative_to(out).parts[0] for p in out.rglob("*")}
    assert kinds == {"model", "tokenizer", "sentence", "index", "converted", "notes.json", "cli"}
    assert (out / "sentence" / "1_Pooling" / "config.json").is_file() and (out / "converted" / "1_Pooling").is_dir()
    for p in [out, *out.rglob("*")]:
        expected = (0o777 if p.is_dir() else 0o666) & ~umask
        assert stat.S_IMODE(p.stat().st_mode) == expected, (p, oct(stat.S_IMODE(p.stat().st_mode)))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="names the fsynced files through /proc/self/fd")
def test_data_is_flushed_before_the_commit_and_the_renames_after(tmp_path, models, monkeypatch):
    """The order that makes a power cut safe too: every new file is fsynced, then the journal (fsynced) is renamed
    into the folder and the folder fsynced (the commit), then the files are renamed and their folder fsynced."""
    target = tmp_path / "m"
    tiny_model(models, "old", 1).save_pretrained(target, max_shard_size="40KB")
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst):
        events.append(("rename", str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    tiny_model(models, "new", 2).save_pretrained(target, max_shard_size="60KB")
    monkeypatch.undo()

    root = str(target.resolve())
    commit = events.index(("rename", f"{root}/{JOURNAL_NAME}"))
    renamed = [path for what, path in events[commit + 1 :] if what == "rename"]
    assert sorted(Path(p).name for p in renamed) == sorted(p.name for p in target.iterdir())  # every new file
    flushed_before = {Path(path).name for what, path in events[:commit] if what == "fsync"}
    assert {Path(p).name for p in renamed} | {JOURNAL_NAME} <= flushed_before  # (the journal as staged)
    assert events[commit + 1] == ("fsync", root)  # the commit is durable before any file moves
    last_rename = max(i for i, (what, _) in enumerate(events) if what == "rename")
    assert ("fsync", root) in events[last_rename + 1 :]  # and so are the renames
    assert model_state(target)[0] == "new"


def test_leftovers_of_an_interrupted_save_are_never_read(tmp_path, models, capsys):
    """A staging folder holding a complete other checkpoint, and an older version's temporary file: loads, `info`
    and the tokenizer read the committed checkpoint only."""
    from mintformers.cli import main

    target = tmp_path / "m"
    tiny_model(models, "old", 1).save_pretrained(target)
    shutil.copy(models["mlm"] / "vocab.txt", target / "vocab.txt")
    before = model_state(target)
    staged = target / ".mintformers-save-0123abcd"
    tiny_model(models, "new", 2).save_pretrained(tmp_path / "other", max_shard_size="60KB")
    shutil.copytree(tmp_path / "other", staged)
    (staged / "vocab.txt").write_text("[PAD]\n[UNK]\n")
    shutil.copy(target / "model.safetensors", target / ".model.safetensors.k2j4h5l1.tmp")
    assert model_state(target) == before
    assert len(AutoTokenizer.from_pretrained(target)) == len(AutoTokenizer.from_pretrained(models["mlm"]))
    assert main(["info", str(target), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["weight_files"] == ["model.safetensors"] and not info["sharded"]
    assert [f["name"] for f in info["files"]] == ["config.json", "model.safetensors", "vocab.txt"]
    tiny_model(models, "newer", 3).save_pretrained(target)  # and the next save removes them
    assert leftovers(target) == []


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
    with pytest.raises(RuntimeError, match="boom"), save_folder(tmp_path / "new") as save:
        tiny_model(models, "new", 2).save_pretrained(save.path)
        raise RuntimeError("boom")
    assert not (tmp_path / "new").exists()  # nor a folder the failed save made


def test_the_next_save_removes_what_older_versions_left(tmp_path, models):
    target = tmp_path / "m"
    tiny_model(models, "old", 1).save_pretrained(target)
    (target / ".model.safetensors.k2j4h5l1.tmp").write_bytes(b"half a file")  # an old mkstemp leftover
    (target / ".mintformers-save-0123abcd").mkdir()
    (target / ".mintformers-save-0123abcd" / "model.safetensors").write_bytes(b"staged, never committed")
    (target / ".keep-me.tmp").write_text("not ours")
    tiny_model(models, "new", 2).save_pretrained(target)
    assert leftovers(target) == [".keep-me.tmp"]


def test_something_in_the_way_fails_the_save_before_anything_changes(tmp_path, models):
    """A folder where a new file goes, or a file where a new folder goes: refused before the commit (a journal
    committed anyway could never be rolled forward, and every later load would fail on it)."""
    target = tmp_path / "m"
    tiny_model(models, "old", 1).save_pretrained(target)
    before = model_state(target)
    (target / "tokenizer.json").mkdir()
    (target / "1_Pooling").write_text("not a folder")
    with pytest.raises(CheckpointError, match=r"tokenizer.json': a folder of that name is in the way\. Move it away"):
        with save_folder(target) as save:
            tiny_model(models, "new", 2).save_pretrained(save.path)
            AutoTokenizer.from_pretrained(models["mlm"]).save_pretrained(save.path)
    with pytest.raises(CheckpointError, match=r"1_Pooling': a file of that name is in the way, where a folder goes"):
        with save_folder(target) as save:
            tiny_model(models, "new", 2).save_pretrained(save.path)
            atomic_write_text(save.path / "1_Pooling" / "config.json", "{}")
    assert model_state(target) == before and leftovers(target) == []


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


def test_crash_during_an_embeddings_index_save_leaves_old_or_new(tmp_path, zygote):
    from mintformers.embeddings import load_embeddings, save_embeddings

    def index_state(folder: Path) -> tuple:
        saved = load_embeddings(folder / "index")
        return tuple(saved.texts), saved.embeddings.tobytes()

    old = tmp_path / "old"
    old.mkdir()
    save_embeddings(old / "index", torch.zeros(2, 4), ["a", "b"])
    points = check_every_crash_point(  # the zygote's "index" save writes what this one does
        tmp_path, zygote, "index", old, lambda d: save_embeddings(d / "index", torch.ones(3, 4), ["a", "b", "c"]),
        index_state,
    )
    assert {"renamed index.npy", "renamed index.jsonl"} <= set(points)


def test_crash_during_a_convert_leaves_old_or_new(tmp_path, models, zygote):
    from mintformers.cli.checkpoints import convert_checkpoint

    old = tmp_path / "old"
    tiny_model(models, "old", 1).save_pretrained(old, max_shard_size="40KB")  # 3 shards + index
    source = tmp_path / "source"  # a .bin checkpoint: convert re-saves its weights as safetensors
    new = tiny_model(models, "new", 2)
    new.save_pretrained(source)
    torch.save(load_state_dict(source / "model.safetensors"), source / "pytorch_model.bin")
    (source / "model.safetensors").unlink()
    shutil.copy(models["mlm"] / "vocab.txt", source / "vocab.txt")

    def convert(folder: Path) -> None:
        convert_checkpoint(source, folder, overwrite=True, max_shard_size="60KB")

    points = check_every_crash_point(tmp_path, zygote, "convert", old, convert, model_state, source=source,
                                     max_shard_size="60KB")  # fmt: skip
    assert {"renamed vocab.txt", "removed model-00003-of-00003.safetensors"} <= set(points)
