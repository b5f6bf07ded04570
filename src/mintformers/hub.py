"""Finding checkpoint files: a local directory, or a Hugging Face Hub repo id through huggingface_hub's cache.

Everything that reads a checkpoint (configs, weights, tokenizers, sentence-transformers modules) goes through
`resolve_file`, so offline mode, revisions, tokens and error messages behave the same everywhere.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from pathlib import Path
from urllib.parse import urlparse

from .storage import CheckpointError, recover

__all__ = ["CheckpointError", "resolve_file", "is_local", "hub_kwargs", "ignore_remote_code"]

logger = logging.getLogger(__name__)

HUB_KWARGS = ("revision", "cache_dir", "token", "local_files_only", "force_download", "subfolder")
# After a failed connection the Hub counts as unreachable for this long: the next files come from the cache only,
# instead of each waiting out its own timeouts and retries (loading a model asks for up to a dozen files).
UNREACHABLE_FOR_S = 60.0
_unreachable_since: float | None = None


def hub_kwargs(kwargs: dict) -> dict:
    """Pop the hub-related keyword arguments out of `kwargs` (mutates it) and return them."""
    return {k: kwargs.pop(k) for k in HUB_KWARGS if k in kwargs}


def ignore_remote_code(trust_remote_code: object) -> None:
    """One rule for `trust_remote_code=True` everywhere (models, tokenizers, pipelines, sentence-transformers
    classes): accepted, so that scripts written for other libraries run, and ignored with a warning. mintformers
    only builds its own classes and never runs code from a model repository; a checkpoint that needs its own code
    fails on its unknown model type instead."""
    if trust_remote_code:
        logger.warning("trust_remote_code=True is ignored: mintformers never runs code from a model repository.")


def is_local(name_or_path: str | os.PathLike) -> bool:
    return Path(name_or_path).expanduser().is_dir()


def _looks_like_repo_id(name: str) -> bool:
    parts = name.split("/")
    return 1 <= len(parts) <= 2 and all(p and not p.startswith((".", "~")) for p in parts) and "\\" not in name


def resolve_file(
    name_or_path: str | os.PathLike,
    filename: str,
    *,
    required: bool = True,
    revision: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    token: str | bool | None = None,
    local_files_only: bool = False,
    force_download: bool = False,
    subfolder: str | None = None,
) -> Path | None:
    """Path of `filename` inside a local directory or a hub repo; None if absent and not `required`.

    Hub downloads honour HF_HUB_OFFLINE / `local_files_only` (then only the cache is used) and the usual cache.
    """
    name = os.fspath(name_or_path)
    local = Path(name).expanduser()
    if subfolder:
        if local.is_dir():
            recover(local)  # a save of the whole folder may hold the subfolder's files
        local = local / subfolder
    if local.is_dir():
        recover(local)  # a save that a crash interrupted after its commit is finished first (storage.py)
        path = local / filename
        if path.is_file():
            return path
        if required:
            if filename == "config.json":
                raise CheckpointError(
                    f"{str(local)!r} has no config.json, so it is not a checkpoint folder. Pass the folder that holds "
                    "config.json (the one save_pretrained wrote), or a hub id."
                )
            raise CheckpointError(
                f"{filename!r} not found in directory {str(local)!r}. Download the checkpoint again, or save it again."
            )
        return None
    if local.exists():
        raise CheckpointError(f"{name!r} is a file, not a checkpoint directory; pass the folder that contains it.")
    if not _looks_like_repo_id(name):
        raise CheckpointError(
            f"{name!r} is neither an existing local directory nor a valid Hugging Face Hub repo id "
            "('owner/name'). Check the path."
        )
    return _hub_file(name, filename, required, revision, cache_dir, token, local_files_only, force_download, subfolder)


def hub_reachable() -> bool:
    """False for a while after a connection to the Hub failed (see UNREACHABLE_FOR_S): callers use the cache only."""
    return _unreachable_since is None or time.monotonic() - _unreachable_since >= UNREACHABLE_FOR_S


def _hub_file(repo_id, filename, required, revision, cache_dir, token, local_files_only, force_download, subfolder):
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    global _unreachable_since
    recently_unreachable = _unreachable_since is not None and time.monotonic() - _unreachable_since < UNREACHABLE_FOR_S
    if not (recently_unreachable or local_files_only) and not _hub_host_resolves():
        _unreachable_since = time.monotonic()  # offline machine: the cache only, instead of ~25 s of retries
        recently_unreachable = True
    try:
        return Path(
            hf_hub_download(
                repo_id,
                filename,
                subfolder=subfolder,
                revision=revision,
                cache_dir=cache_dir,
                token=token,
                local_files_only=local_files_only or recently_unreachable,
                force_download=force_download,
                library_name="mintformers",
            )
        )
    except LocalEntryNotFoundError as e:
        # Either offline (HF_HUB_OFFLINE / local_files_only / no network) and not cached, or absent from the cache.
        offline = local_files_only or os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on")
        if not offline and not recently_unreachable:
            _unreachable_since = time.monotonic()
        if not required and not offline:
            return None
        if not required and _cached_repo_exists(repo_id, cache_dir):
            return None
        how = "offline mode is on (HF_HUB_OFFLINE=1 or local_files_only=True)" if offline else "the Hub is unreachable"
        raise CheckpointError(
            f"Cannot get {filename!r} for {repo_id!r}: {how} and it is not in the local cache. "
            "Pass a local directory, or download the model once while online."
        ) from e
    except GatedRepoError as e:
        raise CheckpointError(f"{repo_id!r} is gated: log in with `huggingface-cli login` or pass token=.") from e
    except RepositoryNotFoundError as e:
        raise CheckpointError(
            f"{repo_id!r} is not a local directory and no such model exists on the Hugging Face Hub "
            "(or it is private: pass token=)."
        ) from e
    except RevisionNotFoundError as e:
        raise CheckpointError(f"Revision {revision!r} does not exist for {repo_id!r}.") from e
    except EntryNotFoundError as e:
        if required:
            raise CheckpointError(f"{repo_id!r} has no file {filename!r}.") from e
        return None


def _hub_host_resolves() -> bool:
    """Whether the Hub's host name resolves. huggingface_hub retries a failed request 5 times with backoff (about
    25 s) even when the machine has no network at all; one name lookup (milliseconds) tells that case apart. Behind
    a proxy the lookup proves nothing, so it is skipped."""
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on"):
        return True  # huggingface_hub goes to the cache itself
    if any(os.environ.get(k) for k in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True
    from huggingface_hub import constants

    host = urlparse(constants.ENDPOINT).hostname
    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        return False
    return True


def _cached_repo_exists(repo_id: str, cache_dir) -> bool:
    from huggingface_hub import constants

    root = Path(cache_dir or constants.HF_HUB_CACHE)
    return (root / ("models--" + repo_id.replace("/", "--"))).is_dir()
