"""Checkpoint files on disk, framework-free (configs, tokenizers and every backend share it): reading JSON, and
saving a folder atomically as a whole.

A checkpoint is several files (config, weights or shards and their index, tokenizer files, generation config,
sentence-transformers module folders). `save_folder` makes writing them one atomic step:

    with save_folder("my-model") as save:                    # stages in my-model/.mintformers-save-<id>/
        save_file(tensors, save.path / "model.safetensors")   # write complete files under save.path
        (save.path / "config.json").write_text(config_json)
        save.remove("pytorch_model.bin")                      # an old file the new checkpoint must not keep
    # on exit: fsync, commit, rename; after a crash at any moment the folder loads as the old or the new checkpoint

How it works:
  1. The new files are written complete in a hidden staging folder inside the target (same file system).
  2. On success they and their folders are fsynced. One file and no removal: it is renamed into place (a rename is
     atomic) and the folder fsynced; done.
  3. Otherwise a journal listing every rename and removal is written, fsynced and renamed to `.mintformers-save.json`
     in the target, and the folder fsynced: the commit point.
  4. The renames and removals run, the folders they touched are fsynced, the staging folder and the journal go.
A crash before 3 leaves the old checkpoint plus a staging folder that no load reads and the next save removes. A
crash after 3 leaves the journal; the next load (`recover`, called by `hub.resolve_file` for every local file) or
save rolls it forward (each step can be repeated), giving the new checkpoint. Files and folders are created with
the usual modes (0644 / 0755 under umask 022), whatever mode their writer gave them.

A save inside another save's folder (`model.save_pretrained(save.path)` within a pipeline's save) joins it: the
outer save commits everything at once. Saves of one folder are serialised with an flock on the folder (POSIX); a
load waits only when it finds a journal to roll forward. Out of scope: other programs (transformers, ...) reading a
folder while a save renames its files, and loads running concurrently with a save (they may read some files of
each); the guarantee is about crashes.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: no flock; saves of one folder are then not serialised between processes
    fcntl = None

__all__ = [
    "CheckpointError", "read_json", "save_folder", "FolderSave", "recover", "atomic_path", "atomic_write_text",
    "save_step",
]

JOURNAL_NAME = ".mintformers-save.json"
STAGING_PREFIX = ".mintformers-save-"
_JOURNAL_FORMAT = "mintformers-save"
# names of temporary files earlier versions left behind when killed: .<name>.<mkstemp 8 chars or uuid hex>.tmp
_LEGACY_TMP = re.compile(r"\.(?P<name>.+)\.(?:[a-z0-9_]{8}|[0-9a-f]{32})\.tmp")


class CheckpointError(OSError):
    """A checkpoint (directory, repo or file) is missing, unreadable or inconsistent."""


def read_json(path: str | os.PathLike) -> dict[str, Any]:
    """A JSON object from a checkpoint file, or a CheckpointError naming the file and what to do."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise CheckpointError(
            f"{str(path)!r} is not valid JSON ({e}); the file is corrupt or truncated. Re-download the checkpoint "
            "or save it again."
        ) from e
    except UnicodeDecodeError as e:
        raise CheckpointError(f"{str(path)!r} is not UTF-8 text ({e}); it is not a JSON file. Re-download it.") from e
    if not isinstance(data, dict):
        raise CheckpointError(f"{str(path)!r} must hold a JSON object, found {type(data).__name__}.")
    return data


# ---- saving a folder ----------------------------------------------------------------------------------------------


class FolderSave:
    """One save in progress: write the new files under `path` (it stands for `target`, subfolders included) and
    name old files to delete with `remove`; nothing in `target` changes until the save commits."""

    def __init__(self, save: _Save, path: Path, target: Path):
        self._save, self.path, self.target = save, path, target

    def remove(self, name: str | os.PathLike) -> None:
        """Delete `target/name` when the save commits (unless the save writes a file of that name)."""
        rel = (self.target / name).relative_to(self._save.given)
        self._save.removals.add(rel.as_posix())

    def final(self, staged: str | os.PathLike) -> Path:
        """Where a file written under `path` ends up."""
        return self.target / Path(staged).relative_to(self.path)


class _Save:
    def __init__(self, target: Path, staging: Path, given: Path):
        self.target, self.staging, self.thread = target, staging, threading.get_ident()
        self.given = given  # the folder as the caller named it (FolderSave.target)
        self.removals: set[str] = set()

    def check(self) -> None:
        """Refuse, before anything changes, new files that cannot take their place (a journal committed anyway
        could never be rolled forward). Folders come before their files, so a file standing where a folder goes
        is found too."""
        for staged in self.staging.rglob("*"):
            rel = staged.relative_to(self.staging)
            dest = self.target / rel
            if staged.is_file() and dest.is_dir():
                problem = "a folder of that name is in the way"
            elif staged.is_dir() and dest.exists() and not dest.is_dir():
                problem = "a file of that name is in the way, where a folder goes"
            else:
                continue
            raise CheckpointError(f"Cannot save {str(self.given / rel)!r}: {problem}. Move it away, or choose another path.")

    def commit(self) -> None:
        entries = sorted(self.staging.rglob("*"))
        files = [p.relative_to(self.staging).as_posix() for p in entries if p.is_file()]
        folders = [p.relative_to(self.staging).as_posix() for p in entries if p.is_dir() and not any(p.iterdir())]
        removals = sorted(self.removals.difference(files))
        if len(files) + len(removals) + len(folders) > 1:
            _sync_tree(self.staging)
            save_step("files synced")
            journal = {"format": _JOURNAL_FORMAT, "version": 1, "staging": self.staging.name, "files": files,
                       "folders": folders, "remove": removals}
            tmp = self.staging / JOURNAL_NAME  # a name no saver writes; renamed out of staging to commit
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(journal, f, indent=1)
                f.flush()
                os.fsync(f.fileno())
            save_step("journal written")
            os.replace(tmp, self.target / JOURNAL_NAME)
            _sync_dir(self.target)
            save_step("committed")
            _roll_forward(self.target)
        elif files:  # one file: its rename is the whole commit
            _sync_file(self.staging / files[0], _file_mode())
            save_step("file synced")
            _move(self.staging, self.target, files[0])
            _sync_dir((self.target / files[0]).parent)
            save_step("renamed")
            shutil.rmtree(self.staging, ignore_errors=True)
        else:  # one removal or one empty folder, or nothing
            for rel in removals:
                (self.target / rel).unlink(missing_ok=True)
            for rel in folders:
                (self.target / rel).mkdir(parents=True, exist_ok=True)
            _sync_dir(self.target)
            shutil.rmtree(self.staging, ignore_errors=True)


_active: list[_Save] = []  # saves in progress in this process (a save into one of them joins it)
_active_lock = threading.Lock()


@contextlib.contextmanager
def save_folder(directory: str | os.PathLike) -> Iterator[FolderSave]:
    """Save files into `directory` atomically as a whole (see the module's docstring). Yields a FolderSave; write
    into its `path`. If the block raises, nothing changes and the staged files are deleted."""
    directory = Path(directory)
    joined = _joining(directory)
    if joined is not None:
        save, rel = joined
        path = save.staging / rel
        path.mkdir(parents=True, exist_ok=True)
        yield FolderSave(save, path, save.given / rel)
        return
    created = not directory.exists()
    target = _make_folder(directory).resolve()
    with _locked(target):
        _roll_forward(target)
        _remove_leftovers(target)
        staging = target / f"{STAGING_PREFIX}{secrets.token_hex(8)}"
        staging.mkdir()
        save = _Save(target, staging, directory)
        with _active_lock:
            _active.append(save)
        try:
            save_step("staging created")
            yield FolderSave(save, staging, directory)
            save.check()
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            if created:
                with contextlib.suppress(OSError):
                    target.rmdir()  # the folder this save made, if still empty: a failed save changes nothing
            raise
        finally:
            with _active_lock:
                _active.remove(save)
        save.commit()


def recover(directory: str | os.PathLike) -> None:
    """Finish a committed save that a crash interrupted (a journal in `directory`), so that a load reads the new
    checkpoint, never a mix. Cheap when there is nothing to do (one stat); every loader calls it."""
    directory = Path(directory)
    if not (directory / JOURNAL_NAME).is_file():
        return
    try:
        with _locked(directory):
            _roll_forward(directory)
    except CheckpointError:
        raise
    except OSError as e:
        raise CheckpointError(
            f"{str(directory)!r} holds a save that was interrupted after it committed, and finishing it failed "
            f"({e.strerror or e}). Load or save it once with write access: that completes the save."
        ) from e


def _joining(directory: Path) -> tuple[_Save, Path] | None:
    """The save in progress that `directory` belongs to: inside its staging folder, or (same thread) its target."""
    where = directory.resolve()
    with _active_lock:
        saves = list(_active)
    for save in reversed(saves):
        for root, same_thread_only in ((save.staging, False), (save.target, True)):
            if same_thread_only and save.thread != threading.get_ident():
                continue
            if where == root or root in where.parents:
                rel = where.relative_to(root)
                if rel.parts and rel.parts[0].startswith(STAGING_PREFIX):
                    continue
                return save, rel
    return None


def _make_folder(directory: Path) -> Path:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocking = next((p for p in [directory, *directory.parents] if p.exists() and not p.is_dir()), directory)
        raise CheckpointError(
            f"Cannot save into {str(directory)!r}: {str(blocking)!r} is a file, not a folder. Choose another path."
        ) from None
    return directory


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    if fcntl is None:
        yield
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock (a killed process releases it too)


def _roll_forward(target: Path) -> None:
    """Apply a committed journal (every step may already be done: a missing staged file was already moved)."""
    journal_path = target / JOURNAL_NAME
    if not journal_path.is_file():
        return
    journal = read_json(journal_path)
    staging_name = journal.get("staging")
    if (journal.get("format") != _JOURNAL_FORMAT or not isinstance(staging_name, str)
            or not re.fullmatch(re.escape(STAGING_PREFIX) + r"[0-9a-f]+", staging_name)):
        raise CheckpointError(f"{str(journal_path)!r} is not a mintformers save journal; remove it if you put it there.")
    staging = target / staging_name
    touched = {target}
    for rel in journal.get("files", []):
        dest = _inside(target, rel, journal_path)
        if (staging / rel).is_file():
            _move(staging, target, rel)
            save_step(f"renamed {rel}")
        touched.add(dest.parent)
    for rel in journal.get("folders", []):  # empty folders of the new checkpoint (e.g. 2_Normalize/)
        _inside(target, rel, journal_path).mkdir(parents=True, exist_ok=True)
    for rel in journal.get("remove", []):
        dest = _inside(target, rel, journal_path)
        dest.unlink(missing_ok=True)
        save_step(f"removed {rel}")
        touched.add(dest.parent)
    for folder in touched:
        _sync_dir(folder)
    shutil.rmtree(staging, ignore_errors=True)
    save_step("staging removed")
    journal_path.unlink(missing_ok=True)
    _sync_dir(target)


def _inside(target: Path, rel: Any, journal_path: Path) -> Path:
    """target/rel, refusing a journal entry that points outside the folder (a journal is data read from disk)."""
    path = target / str(rel)
    if not isinstance(rel, str) or Path(rel).is_absolute() or ".." in Path(rel).parts:
        raise CheckpointError(f"{str(journal_path)!r} names {rel!r}, outside the checkpoint folder; refusing it.")
    if path.parent.exists() and target.resolve() not in [path.parent.resolve(), *path.parent.resolve().parents]:
        raise CheckpointError(f"{str(journal_path)!r} names {rel!r}, outside the checkpoint folder; refusing it.")
    return path


def _move(staging: Path, target: Path, rel: str) -> None:
    dest = target / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging / rel, dest)


def _remove_leftovers(target: Path) -> None:
    """Staging folders of saves that never committed, and the temporary files older versions left behind."""
    for folder in (target, *(p for p in target.iterdir() if p.is_dir() and not p.name.startswith("."))):
        names = {p.name for p in folder.iterdir()}
        for entry in folder.iterdir():
            if entry.name.startswith(STAGING_PREFIX) and entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            elif entry.is_file() and (m := _LEGACY_TMP.fullmatch(entry.name)) and m["name"] in names:
                entry.unlink(missing_ok=True)


def _sync_file(path: Path, mode: int) -> None:
    """Give the file the usual mode (some writers, e.g. safetensors, create 0600 files) and flush it to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) != mode:
            os.chmod(path, mode)
        os.fsync(fd)
    finally:
        os.close(fd)


def _file_mode() -> int:
    """0o666 less the umask: the mode open() gives a new file (0644 under umask 022)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:  # Linux: read without changing it
            for line in f:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _sync_dir(path: Path) -> None:
    """Make the renames in a folder durable (POSIX; Windows cannot open a folder and needs no such step)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on folders
        pass
    finally:
        os.close(fd)


def _sync_tree(root: Path) -> None:
    folders, mode = [root], _file_mode()
    for p in root.rglob("*"):
        if p.is_dir():
            folders.append(p)
        elif p.is_file():
            _sync_file(p, mode)
    for folder in folders:
        _sync_dir(folder)


def save_step(what: str) -> None:
    """Marks a point of a save, for the crash tests: with MINTFORMERS_SAVE_PAUSE_AT="N:FD" the Nth point writes its
    name to file descriptor FD and waits there to be killed. Does nothing otherwise."""
    spec = os.environ.get("MINTFORMERS_SAVE_PAUSE_AT")
    if not spec:
        return
    global _steps
    _steps += 1
    at, fd = (int(v) for v in spec.split(":"))
    if _steps == at:
        os.write(fd, f"{what}\n".encode())
        threading.Event().wait()  # until the test kills this process


_steps = 0


# ---- single files -------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A path to write one file to; when the block ends it replaces `path` at once (inside a `save_folder` block it
    is part of that save). A crash leaves the old file or the new one."""
    path = Path(path)
    with save_folder(path.parent) as save:
        yield save.path / path.name


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as staged:
        with open(staged, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        save_step(f"wrote {staged.name}")
