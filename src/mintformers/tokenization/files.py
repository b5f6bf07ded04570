"""The tokenizer files of a checkpoint, in the Hugging Face layout: `from_pretrained` reads tokenizer_config.json,
special_tokens_map.json, added_tokens.json, tokenizer.json and the class's vocabulary files; `save_pretrained` writes
them back so that the reference (and mintformers) loads the same tokenizer."""

from __future__ import annotations

import copy
import json
import logging
import os
from typing import Any

from tokenizers import AddedToken, Tokenizer

from mintformers.hub import CheckpointError, hub_kwargs, ignore_remote_code, is_local, resolve_file
from mintformers.storage import atomic_write_text, read_json, save_folder

from .chat_template import CHAT_TEMPLATE_FILE
from .special_tokens import SPECIAL_TOKENS_ATTRIBUTES

__all__ = [
    "ADDED_TOKENS_FILE",
    "FULL_TOKENIZER_FILE",
    "SPECIAL_TOKENS_MAP_FILE",
    "TOKENIZER_CONFIG_FILE",
    "TokenizerFilesMixin",
]

logger = logging.getLogger(__name__)

SPECIAL_TOKENS_MAP_FILE = "special_tokens_map.json"
ADDED_TOKENS_FILE = "added_tokens.json"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
FULL_TOKENIZER_FILE = "tokenizer.json"


def _atomic_write_text(path: str, text: str) -> None:
    """Write `text` to `path` atomically (within save_pretrained: as part of the folder's one atomic save)."""
    atomic_write_text(path, text)


def read_tokenizer_file(path: str | os.PathLike) -> Tokenizer:
    """A `tokenizers.Tokenizer` from tokenizer.json, or a CheckpointError that names the file, what is wrong with it
    (unreadable, not JSON / truncated, a schema this tokenizers version rejects) and what to do."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError as e:
        raise CheckpointError(
            f"{path!r} is not UTF-8 text (byte {e.start}), so it is not a tokenizer.json. Re-download the checkpoint, "
            "or save the tokenizer again with save_pretrained()."
        ) from None
    except OSError as e:
        raise CheckpointError(
            f"Cannot read the tokenizer file {path!r} ({e.strerror or e}). Check that it is a readable file, or "
            "re-download the checkpoint."
        ) from None
    try:
        return Tokenizer.from_str(text)
    except Exception as e:  # tokenizers raises a bare Exception for every problem: tell them apart
        try:
            json.loads(text)
        except json.JSONDecodeError as bad:
            ends_early = not text.rstrip().endswith("}")  # a tokenizer.json is one JSON object
            raise CheckpointError(
                f"{path!r} is not valid JSON ({bad.msg} at line {bad.lineno}, column {bad.colno})"
                + ("; it ends early: the file is truncated (an interrupted download or copy)" if ends_early else "")
                + ". Re-download the checkpoint, or save the tokenizer again with save_pretrained()."
            ) from None
        import tokenizers

        raise CheckpointError(
            f"tokenizers {tokenizers.__version__} cannot read {path!r}: {e}. The file is valid JSON but not a "
            "tokenizer this version understands (written by a newer tokenizers, or edited by hand): upgrade "
            "tokenizers (pip install -U tokenizers), or save the tokenizer again with this version."
        ) from None


def _json_text(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class TokenizerFilesMixin:
    """The checkpoint I/O half of `PreTrainedTokenizerBase`. Subclasses provide `vocab_files_names`,
    `save_vocabulary` and, where they write more than the vocabulary files, `_save_pretrained`."""

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, *init_inputs, **kwargs):
        """Load from a local directory or a Hugging Face Hub repo id (HF file layout).

        Reads tokenizer_config.json, special_tokens_map.json, added_tokens.json, tokenizer.json and the class's
        vocabulary files; keyword arguments override what the files say (e.g. `model_max_length=256`).
        Hub options: revision, cache_dir, token, local_files_only, force_download, subfolder.
        """
        hub = hub_kwargs(kwargs)
        if "use_auth_token" in kwargs:
            hub.setdefault("token", kwargs.pop("use_auth_token"))
        ignore_remote_code(kwargs.pop("trust_remote_code", None))
        for ignored in ("proxies", "resume_download", "_from_auto", "_commit_hash"):
            kwargs.pop(ignored, None)
        name = os.fspath(pretrained_model_name_or_path)
        wanted = {
            **cls.vocab_files_names,
            "added_tokens_file": ADDED_TOKENS_FILE,
            "special_tokens_map_file": SPECIAL_TOKENS_MAP_FILE,
            "tokenizer_config_file": TOKENIZER_CONFIG_FILE,
            "tokenizer_file": FULL_TOKENIZER_FILE,
            "chat_template_file": CHAT_TEMPLATE_FILE,
        }
        if is_local(name):
            wanted.update(cls._template_files_of(os.path.join(name, hub.get("subfolder") or "")))
        files = {file_id: resolve_file(name, filename, required=False, **hub) for file_id, filename in wanted.items()}
        if not is_local(name):  # a Hub repo's named templates: listed on the Hub, or found in the cache offline
            for file_id, filename in cls._hub_template_files(name, hub, files).items():
                files[file_id] = resolve_file(name, filename, required=False, **hub)
        problem = cls._missing_files(files)
        if problem is not None:
            where = (
                f"the directory {name!r} has no such file"
                if os.path.isdir(os.path.join(name, hub.get("subfolder") or ""))
                else f"{name!r} is not a local directory and the Hub has no such file (or cannot be reached)"
            )
            raise CheckpointError(
                f"Can't load {cls.__name__}: {problem} ({where}). Pass the directory that holds the tokenizer files "
                "(save_pretrained() writes them), or the Hub id of a model that has them."
            )
        return cls._from_pretrained(files, name, *init_inputs, **kwargs)

    @classmethod
    def _missing_files(cls, files: dict[str, Any]) -> str | None:
        """What is missing for this class to load, or None. Slow classes need all their vocabulary files."""
        for file_id, filename in cls.vocab_files_names.items():
            if files.get(file_id) is None:
                return f"{filename!r} not found"
        return None

    @classmethod
    def _from_pretrained(cls, files: dict[str, Any], name: str, *init_inputs, **kwargs):
        files = dict(files)
        config_file = files.pop("tokenizer_config_file", None)
        template_files = {k: files.pop(k) for k in list(files) if k.startswith("chat_template_")}
        has_tokenizer_file = files.get("tokenizer_file") is not None
        init_kwargs: dict[str, Any] = {}
        if config_file is not None:
            init_kwargs = read_json(config_file)
            config_class = init_kwargs.pop("tokenizer_class", None)
            if not has_tokenizer_file:
                init_kwargs.pop("tokenizer_file", None)
            saved_inputs = init_kwargs.pop("init_inputs", ())
            init_inputs = init_inputs or tuple(saved_inputs)
            generic = cls.__name__ == "PreTrainedTokenizerFast"  # loads any tokenizer.json: no mismatch to report
            if config_class and not generic and cls.__name__.removesuffix("Fast") != config_class.removesuffix("Fast"):
                logger.warning(
                    "The tokenizer class you load from this checkpoint is not the same type as the class this "
                    "function is called from. It may result in unexpected tokenization. \nThe tokenizer class you "
                    f"load from this checkpoint is '{config_class}'. \nThe class this function is called from is "
                    f"'{cls.__name__}'."
                )
        chat_template = cls._read_chat_templates(template_files)
        if chat_template is not None:
            init_kwargs["chat_template"] = chat_template  # the .jinja files win over tokenizer_config.json
        init_kwargs.update(kwargs)

        added_tokens_file = files.pop("added_tokens_file", None)
        special_tokens_map_file = files.pop("special_tokens_map_file", None)
        for file_id, path in files.items():
            init_kwargs.setdefault(file_id, os.fspath(path) if path is not None else None)
        tokenizer_file = files.get("tokenizer_file")
        init_kwargs["name_or_path"] = name

        # Added tokens with their flags: tokenizer_config.json (recent saves) or the legacy files.
        added_decoder: dict[int, AddedToken] = {}
        by_content: dict[str, AddedToken] = {}
        if "added_tokens_decoder" in init_kwargs:
            for index, token in init_kwargs["added_tokens_decoder"].items():
                if isinstance(token, dict):
                    token = AddedToken(**token)
                if not isinstance(token, AddedToken):
                    raise TypeError(f"Found a {type(token)} in the saved `added_tokens_decoder`, expected a dict")
                added_decoder[int(index)] = token
                by_content[str(token)] = token
        else:
            if special_tokens_map_file is not None:
                for key, value in read_json(special_tokens_map_file).items():
                    if key in kwargs and kwargs[key]:
                        continue
                    if isinstance(value, dict):
                        value = AddedToken(**{**value, "special": True})
                    elif key == "additional_special_tokens" and isinstance(value, list):
                        merged = init_kwargs.pop("additional_special_tokens", []) or []
                        for token in value:
                            if isinstance(token, dict):
                                token = AddedToken(**{**token, "special": True})
                            if token not in merged:
                                merged.append(token)
                        value = merged
                    init_kwargs[key] = value
            if added_tokens_file is not None:
                special = set()
                for key in SPECIAL_TOKENS_ATTRIBUTES:
                    value = init_kwargs.get(key)
                    if value is not None:
                        special |= {str(t) for t in value} if key == "additional_special_tokens" else {str(value)}
                for content, index in read_json(added_tokens_file).items():
                    is_special = content in special
                    token = AddedToken(content, rstrip=False, lstrip=False, normalized=not is_special, special=is_special)
                    added_decoder[index] = token
                    by_content[content] = token
            if tokenizer_file is not None:
                for entry in read_json(tokenizer_file).get("added_tokens", []):
                    entry = dict(entry)
                    index = entry.pop("id")
                    added_decoder[index] = AddedToken(**entry)
                    by_content[str(added_decoder[index])] = added_decoder[index]

        init_kwargs["added_tokens_decoder"] = added_decoder
        init_kwargs = cls.convert_added_tokens(init_kwargs, save=False)
        for key in SPECIAL_TOKENS_ATTRIBUTES[:-1]:
            value = init_kwargs.get(key)
            if value is not None and by_content:
                init_kwargs[key] = by_content.get(str(value), value)
        return cls(*init_inputs, **init_kwargs)

    @classmethod
    def convert_added_tokens(cls, obj: Any, save: bool = False, add_type_field: bool = True) -> Any:
        """AddedToken ↔ JSON dicts ({"__type": "AddedToken", ...}), recursively through lists and dicts."""
        if isinstance(obj, dict) and obj.get("__type") == "AddedToken":
            state = {k: v for k, v in obj.items() if k != "__type"}
            return AddedToken(**state)
        if isinstance(obj, AddedToken) and save:
            state = obj.__getstate__()
            if add_type_field:
                state["__type"] = "AddedToken"
            else:
                state.pop("special")
            return state
        if isinstance(obj, (list, tuple)):
            return [cls.convert_added_tokens(o, save=save, add_type_field=add_type_field) for o in obj]
        if isinstance(obj, dict):
            return {k: cls.convert_added_tokens(v, save=save, add_type_field=add_type_field) for k, v in obj.items()}
        return obj

    # ------------------------------------------------------------------ saving

    def save_pretrained(
        self,
        save_directory: str | os.PathLike,
        legacy_format: bool | None = None,
        filename_prefix: str | None = None,
        push_to_hub: bool = False,
        **kwargs,
    ) -> tuple[str, ...]:
        """Write tokenizer_config.json, special_tokens_map.json, the chat templates and the vocabulary files (HF layout;
        `save_jinja_files=False` keeps the chat templates in tokenizer_config.json, as older readers expect).

        The files replace the folder's old ones as one atomic save (`mintformers.storage.save_folder`): after a
        crash the folder holds the old tokenizer or the new one. Returns the paths written.
        """
        if push_to_hub:
            raise NotImplementedError("push_to_hub is not supported; upload the saved folder with huggingface_hub.")
        save_directory = os.fspath(save_directory)
        if os.path.isfile(save_directory):
            raise ValueError(f"Provided path ({save_directory}) should be a directory, not a file")
        save_jinja_files = kwargs.get("save_jinja_files", True)
        with save_folder(save_directory) as save:  # every tokenizer file replaces the old ones as one atomic save
            written = self._save_files(str(save.path), legacy_format, filename_prefix, save_jinja_files)
            # Template files of an earlier save would win over this save's tokenizer_config.json: they go.
            for stale in self._template_files_to_replace(save_directory, filename_prefix, written, save.final):
                save.remove(stale)
        return tuple(str(save.final(path)) for path in written)

    def _save_files(
        self, save_directory: str, legacy_format: bool | None, filename_prefix: str | None, save_jinja_files: bool
    ) -> tuple[str, ...]:
        prefix = f"{filename_prefix}-" if filename_prefix else ""

        config_file = os.path.join(save_directory, prefix + TOKENIZER_CONFIG_FILE)
        config, template_files = self.save_chat_templates(
            save_directory, self._tokenizer_config(), filename_prefix, save_jinja_files
        )
        _atomic_write_text(config_file, _json_text(config))
        special_file = os.path.join(save_directory, prefix + SPECIAL_TOKENS_MAP_FILE)
        special = self.convert_added_tokens(self.special_tokens_map_extended, save=True, add_type_field=False)
        _atomic_write_text(special_file, _json_text(special))
        written = (config_file, special_file, *template_files)
        return written + self._save_pretrained(save_directory, legacy_format, filename_prefix)

    def _tokenizer_config(self) -> dict[str, Any]:
        """tokenizer_config.json: the init arguments (current values where they are attributes) + added tokens."""
        config = copy.deepcopy(self.init_kwargs)
        for key in set(self.init_kwargs) | {"model_max_length", "clean_up_tokenization_spaces"}:
            value = getattr(self, key, _MISSING)
            if value is not _MISSING and not callable(value):
                config[key] = value
        config.update(self.special_tokens_map)
        if "extra_special_tokens" not in self.init_kwargs:
            config["extra_special_tokens"] = self.extra_special_tokens
            config.update(self.extra_special_tokens)
        if self.init_inputs:
            config["init_inputs"] = copy.deepcopy(self.init_inputs)
        for file_id in self.vocab_files_names:
            config.pop(file_id, None)
        config = self.convert_added_tokens(config, add_type_field=True, save=True)
        config["added_tokens_decoder"] = {index: t.__getstate__() for index, t in self.added_tokens_decoder.items()}
        tokenizer_class = type(self).__name__
        if tokenizer_class.endswith("Fast") and getattr(self, "can_save_slow_tokenizer", False):
            tokenizer_class = tokenizer_class[:-4]
        config["tokenizer_class"] = self.__dict__.get("saved_tokenizer_class") or tokenizer_class
        if self._processor_class is not None:
            config["processor_class"] = self._processor_class
        for key in ("name_or_path", "special_tokens_map_file", "tokenizer_file", "device_map"):
            config.pop(key, None)
        return config

    def _save_pretrained(
        self, save_directory: str, legacy_format: bool | None = None, filename_prefix: str | None = None
    ) -> tuple[str, ...]:
        if legacy_format is False:
            raise ValueError(
                "Only fast tokenizers (instances of PreTrainedTokenizerFast) can be saved in non legacy format."
            )
        return self._save_added_tokens_and_vocab(save_directory, filename_prefix)

    def _save_added_tokens_and_vocab(self, save_directory: str, filename_prefix: str | None) -> tuple[str, ...]:
        """added_tokens.json (tokens beyond the base vocabulary, for old readers) and the vocabulary files."""
        written: tuple[str, ...] = ()
        added = {tok: index for tok, index in self.added_tokens_encoder.items() if index >= self.vocab_size}
        if added:
            path = os.path.join(save_directory, (f"{filename_prefix}-" if filename_prefix else "") + ADDED_TOKENS_FILE)
            _atomic_write_text(path, _json_text(added))
            written = (path,)
        return written + tuple(self.save_vocabulary(save_directory, filename_prefix=filename_prefix))


_MISSING = object()
