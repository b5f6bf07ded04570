"""Reading and writing a sentence-transformers folder: `modules.json` lists the module chain (the Transformer, a
checkpoint with `sentence_bert_config.json`, then Pooling, Dense and Normalize, each in its own subfolder);
`config_sentence_transformers.json` holds prompts and the similarity function. Read here without
sentence-transformers, written so that sentence-transformers loads it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..config import read_json
from ..hub import CheckpointError, is_local, resolve_file
from .modules import Dense, Normalize, Pooling, default_pooling


def read_modules_json(path: str | os.PathLike) -> list[dict[str, Any]]:
    """modules.json's entries ({"idx", "name", "path", "type"}), in order."""
    try:
        with open(path, encoding="utf-8") as f:
            specs = json.load(f)
    except json.JSONDecodeError as e:
        raise CheckpointError(
            f"{str(path)!r} is not a valid modules.json ({e}); the file is corrupt or truncated. Re-download the model "
            "or save it again."
        ) from None
    if not isinstance(specs, list) or not all(isinstance(s, dict) for s in specs):
        raise CheckpointError(f"{str(path)!r} is not a valid modules.json: it must hold a list of modules.")
    return sorted(specs, key=lambda s: s.get("idx", 0))


# Bare names of plain transformers checkpoints, which sentence-transformers does not look for under its organisations.
_PLAIN_CHECKPOINT_PREFIXES = (
    "albert-", "bert-", "camembert-", "ctrl", "distilbert-", "distilgpt2", "distilroberta-", "gpt2", "openai-gpt",
    "roberta-", "t5-", "transfo-xl-", "xlm-", "xlnet-",
)


def hub_name(name: str, organisation: str) -> str:
    """sentence-transformers' short names: "all-MiniLM-L6-v2" is "sentence-transformers/all-MiniLM-L6-v2" (and a
    cross-encoder's "cross-encoder/<name>"); paths, full ids and plain transformers checkpoints stay as they are."""
    if "/" in name or is_local(name) or name.lower().startswith(_PLAIN_CHECKPOINT_PREFIXES):
        return name
    return f"{organisation}/{name}"


def _subfolder(name: str, sub: str, hub: dict) -> tuple[str, dict]:
    """A module's location: a joined path for local folders, a `subfolder` for hub repos."""
    if not sub:
        return name, hub
    if is_local(name):
        return str(Path(name).expanduser() / sub), hub
    return name, {**hub, "subfolder": "/".join(filter(None, [hub.get("subfolder"), sub]))}


def encoder_arguments(
    name: str,
    *,
    dtype: Any = None,
    pooling: str | Sequence[str] | None = None,
    normalize: bool | None = None,
    max_seq_length: int | None = None,
    truncate_dim: int | None = None,
    similarity_fn_name: str | None = None,
    attn_implementation: str | None = None,
    prompts: dict[str, str] | None = None,
    default_prompt_name: str | None = None,
    hub: dict | None = None,
    quantize: str | None = None,
) -> dict[str, Any]:
    """SentenceEncoder's constructor arguments for a folder or hub id, with the caller's overrides applied (prompts
    given here replace the saved ones of the same name; the others stay)."""
    parts = load_parts(name, dtype, attn_implementation, hub or {}, quantize)
    modules = parts["modules"]
    if pooling is not None:
        modes = (pooling,) if isinstance(pooling, str) else tuple(pooling)
        modules = [Pooling(parts["model"].config.hidden_size, modes)] + [m for m in modules if not isinstance(m, Pooling)]
    if normalize is True and not any(isinstance(m, Normalize) for m in modules):
        modules.append(Normalize())
    elif normalize is False:
        modules = [m for m in modules if not isinstance(m, Normalize)]
    parts["modules"] = modules
    parts["prompts"] = {**parts.get("prompts", {}), **(prompts or {})}
    overrides = {
        "max_seq_length": max_seq_length, "similarity_fn_name": similarity_fn_name, "truncate_dim": truncate_dim,
        "default_prompt_name": default_prompt_name,
    }
    parts.update({k: v for k, v in overrides.items() if v is not None})
    return parts


def load_parts(name: str, dtype: Any, attn_implementation: str | None, hub: dict, quantize: str | None = None) -> dict[str, Any]:
    """Read a sentence-transformers folder (or plain checkpoint) into SentenceEncoder's constructor arguments."""
    from ..auto import AutoModel
    from ..tokenization import AutoTokenizer

    modules_file = resolve_file(name, "modules.json", required=False, **hub)
    specs = [{"path": "", "type": "Transformer"}] if modules_file is None else read_modules_json(modules_file)
    if not specs or not str(specs[0].get("type", "")).endswith("Transformer"):
        raise CheckpointError(f"{name!r}: modules.json must start with a Transformer module.")

    parts: dict[str, Any] = {"modules": []}
    for spec in specs:
        kind = str(spec.get("type", "")).rsplit(".", 1)[-1]
        where, where_hub = _subfolder(name, spec.get("path", ""), hub)
        if kind == "Transformer" and "model" not in parts:
            model_kwargs: dict[str, Any] = {"dtype": dtype, "quantize": quantize}
            if attn_implementation is not None:
                model_kwargs["attn_implementation"] = attn_implementation
            resolve_file(where, "config.json", **where_hub)  # not a checkpoint folder: say that, before anything loads
            parts["tokenizer"] = AutoTokenizer.from_pretrained(where, **where_hub)  # cheap: fails fast, before the model
            parts["model"] = AutoModel.from_pretrained(where, **where_hub, **model_kwargs)
            st_file = resolve_file(where, "sentence_bert_config.json", required=False, **where_hub)
            st_config = read_json(st_file) if st_file is not None else {}
            if st_config.get("max_seq_length") is not None:
                parts["max_seq_length"] = int(st_config["max_seq_length"])
            parts["do_lower_case"] = bool(st_config.get("do_lower_case", False))
        elif kind == "Pooling":
            parts["modules"].append(Pooling.from_config(read_json(resolve_file(where, "config.json", **where_hub))))
        elif kind == "Dense":
            parts["modules"].append(Dense.load(where, **where_hub).to(parts["model"].dtype))
        elif kind == "Normalize":
            parts["modules"].append(Normalize())
        else:
            raise CheckpointError(
                f"{name!r} uses a sentence-transformers module {spec.get('type')!r} that mintformers does not "
                "implement (supported: Transformer, Pooling, Dense, Normalize)."
            )
    if modules_file is None or not any(isinstance(m, Pooling) for m in parts["modules"]):
        parts["modules"].insert(0, default_pooling(parts["model"].config))

    extra_file = resolve_file(name, "config_sentence_transformers.json", required=False, **hub)
    if extra_file is not None:
        extra = read_json(extra_file)
        parts["prompts"] = {k: v for k, v in (extra.get("prompts") or {}).items() if v is not None}
        parts["default_prompt_name"] = extra.get("default_prompt_name")
        if extra.get("similarity_fn_name"):
            parts["similarity_fn_name"] = extra["similarity_fn_name"]
        if extra.get("truncate_dim") is not None:
            parts["truncate_dim"] = int(extra["truncate_dim"])
    return parts


def write_folder(encoder: Any, path: str | os.PathLike) -> None:
    """Write a SentenceEncoder as a sentence-transformers folder: the checkpoint and tokenizer at the root, then one
    subfolder per module, `modules.json`, `sentence_bert_config.json` and `config_sentence_transformers.json`."""
    from ..storage import save_folder

    with save_folder(path) as save:  # every file of the folder replaces the old ones as one atomic save
        _write_folder(encoder, save.path)


def _write_folder(encoder: Any, root: Path) -> None:
    from .. import __version__
    from ..loading import atomic_write_text, save_state_dict

    encoder.model.save_pretrained(root)
    encoder.tokenizer.save_pretrained(root)
    entries = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}]
    for i, module in enumerate(encoder.layers, start=1):
        kind = type(module).__name__
        sub = f"{i}_{kind}"
        entries.append({"idx": i, "name": str(i), "path": sub, "type": f"sentence_transformers.models.{kind}"})
        if isinstance(module, (Pooling, Dense)):
            atomic_write_text(root / sub / "config.json", json.dumps(module.get_config_dict(), indent=4) + "\n")
        else:
            (root / sub).mkdir(exist_ok=True)
        if isinstance(module, Dense):
            save_state_dict(module.state_dict(), root / sub)
    atomic_write_text(root / "modules.json", json.dumps(entries, indent=2) + "\n")
    st_config = {"max_seq_length": encoder.max_seq_length, "do_lower_case": encoder.do_lower_case}
    atomic_write_text(root / "sentence_bert_config.json", json.dumps(st_config, indent=2) + "\n")
    extra = {
        "model_type": "SentenceTransformer",
        "__version__": {"mintformers": __version__},
        "prompts": encoder.prompts,
        "default_prompt_name": encoder.default_prompt_name,
        "similarity_fn_name": encoder.similarity_fn_name,
    }
    if encoder.truncate_dim is not None:
        extra["truncate_dim"] = encoder.truncate_dim
    atomic_write_text(root / "config_sentence_transformers.json", json.dumps(extra, indent=2) + "\n")
