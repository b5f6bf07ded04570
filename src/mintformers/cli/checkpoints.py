"""Checkpoint commands: info (what a checkpoint holds) and convert (re-save as safetensors, cast, sharded)."""

from __future__ import annotations

import argparse
import functools
import json
import shutil
from pathlib import Path
from typing import Any

from .common import (
    DEFAULT_MODEL_NAME,
    DTYPES,
    EXIT_OK,
    CLIError,
    add_command,
    dtype,
    emit_json,
    model_name,
    show_progress,
)


def register(commands: argparse._SubParsersAction) -> None:
    p = add_command(commands, "info", cmd_info, "inspect a checkpoint: family, heads, parameters, dtype, files, tokenizer")
    p.add_argument("model_pos", nargs="?", metavar="MODEL", help=f"checkpoint folder or hub id (default: {DEFAULT_MODEL_NAME})")

    p = add_command(commands, "convert", cmd_convert,
                    "re-save a checkpoint as safetensors (from .bin too), optionally cast and sharded")
    p.add_argument("model_pos", metavar="MODEL", help="checkpoint folder or hub id")
    p.add_argument("output", metavar="OUT", help="new folder (must be empty or absent, unless --overwrite)")
    p.add_argument("--dtype", choices=sorted(DTYPES), help="cast the floating-point weights (default: unchanged)")
    p.add_argument("--max-shard-size", default="5GB", help="largest weight file, e.g. 2GB or 500MB (default 5GB)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")


def _local_dir(model: str) -> Path:
    """A local checkpoint folder for `model`: the directory itself, or the hub cache's snapshot of a repo id."""
    from ..hub import hub_reachable, resolve_file

    p = Path(model).expanduser()
    if p.is_dir():
        from ..storage import recover

        recover(p)  # finish a save that a crash interrupted after its commit
        return p
    # Not a folder: the loaders' own errors (a file, not a repo id, offline and not cached: naming the file needed),
    # and fast: one name lookup tells an offline machine, instead of huggingface_hub's retries.
    resolve_file(model, "config.json")
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(model, library_name="mintformers", local_files_only=not hub_reachable()))
    except Exception as e:  # unknown repo, gated, a download that failed midway: one clear line
        raise CLIError(f"Cannot get {model}: not a local directory, and the Hub says: {str(e).splitlines()[0]}") from e


def _human_size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def _tensor_shapes(files: list[Path]) -> dict[str, tuple[tuple[int, ...], str]]:
    """key → (shape, dtype) of every tensor in the weight files."""
    out: dict[str, tuple[tuple[int, ...], str]] = {}
    for f in files:
        st = f.stat()
        out.update(_file_shapes(str(f), st.st_mtime_ns, st.st_size))
    return out


@functools.lru_cache(maxsize=16)
def _file_shapes(path: str, mtime_ns: int, size: int) -> dict[str, tuple[tuple[int, ...], str]]:
    """One file's shapes, from its header (safetensors) or by reading it (.bin, weights only), once per version of
    the file: `info` asks for every head of the family."""
    from ..loading import load_state_dict, safetensors_header

    if path.endswith(".safetensors"):
        return safetensors_header(Path(path))
    return {key: (tuple(t.shape), str(t.dtype).replace("torch.", "")) for key, t in load_state_dict([Path(path)]).items()}


_ST_DTYPE_NAMES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "F64": "float64", "I64": "int64", "I32": "int32", "I8": "int8", "U8": "uint8", "BOOL": "bool"}
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json", "added_tokens.json",
                    "sentencepiece.bpe.model", "spiece.model", "tokenizer.model", "merges.txt", "vocab.json")


def inspect_checkpoint(model: str) -> dict[str, Any]:
    """Everything `info` reports about a checkpoint folder, as plain data."""
    from ..auto import AUTO_CLASSES, MODEL_TYPES
    from ..hub import resolve_file
    from ..storage import read_json

    root = _local_dir(model)
    config = read_json(resolve_file(root, "config.json"))  # none: the loaders' message, naming the fix
    model_type = config.get("model_type")
    info: dict[str, Any] = {"path": str(root), "model_type": model_type, "supported": model_type in MODEL_TYPES}
    info["architectures"] = config.get("architectures") or []
    info["heads"] = {auto: table[model_type] for auto, table in AUTO_CLASSES.items() if model_type in table}
    info["config_dtype"] = config.get("dtype") or config.get("torch_dtype")
    weight_files = _weight_files(root)
    shapes = _tensor_shapes(weight_files)
    params = {k: v for k, v in shapes.items() if not k.endswith("position_ids")}  # a stray int buffer, not a parameter
    dtypes = sorted({_ST_DTYPE_NAMES.get(d, d) for _, d in params.values()})
    info["parameters"] = sum(_numel(shape) for shape, _ in params.values())
    info["tensors"] = len(shapes)
    info["weight_dtypes"] = dtypes
    info["weight_files"] = [f.name for f in weight_files]
    info["sharded"] = len(weight_files) > 1
    info["format"] = "safetensors" if weight_files and weight_files[0].suffix == ".safetensors" else ("pytorch .bin" if weight_files else None)
    info["tokenizer_files"] = [name for name in _TOKENIZER_FILES if (root / name).is_file()]
    files = sorted(p for p in root.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts))
    info["files"] = [{"name": str(p.relative_to(root)), "bytes": p.stat().st_size} for p in files]
    info["total_bytes"] = sum(f["bytes"] for f in info["files"])
    # which of those heads the weights actually train (the others would start from random weights)
    trained = []
    if info["supported"] and weight_files:
        for auto_name, cls_name in info["heads"].items():
            if auto_name != "AutoModel" and untrained_head(str(root), auto_name) is None:
                trained.append(cls_name)
        info["trained_heads"] = sorted(set(trained))
    modules_file = root / "modules.json"
    if modules_file.is_file():
        info["sentence_transformers"] = _describe_st(root)
    return info


def _weight_files(folder: Path) -> list[Path]:
    """The folder's weight files, or none when it has no weight file or index; weights that are there but broken
    (a shard missing, a corrupt index) raise, rather than be reported or converted as none."""
    from ..loading import WEIGHT_FORMATS, find_weight_files

    if not any((folder / name).is_file() for pair in WEIGHT_FORMATS for name in pair):
        return []
    return find_weight_files(folder)


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _describe_st(root: Path) -> dict[str, Any]:
    from ..embeddings import pooling_modes_from_config
    from ..embeddings.folder import read_modules_json
    from ..storage import read_json

    modules = []
    for spec in read_modules_json(root / "modules.json"):
        kind = str(spec.get("type", "")).rsplit(".", 1)[-1]
        entry: dict[str, Any] = {"type": kind, "path": spec.get("path", "")}
        cfg = root / spec.get("path", "") / "config.json"
        if kind == "Pooling" and cfg.is_file():
            entry["modes"] = list(pooling_modes_from_config(read_json(cfg)))
        elif kind == "Dense" and cfg.is_file():
            c = read_json(cfg)
            entry["shape"] = [c.get("in_features"), c.get("out_features")]
        modules.append(entry)
    st_cfg = root / "sentence_bert_config.json"
    return {"modules": modules, "max_seq_length": read_json(st_cfg).get("max_seq_length") if st_cfg.is_file() else None}


def cmd_info(args: argparse.Namespace) -> int:
    model = args.model_pos or model_name(args)
    info = inspect_checkpoint(model)
    if args.json:
        emit_json(info)
        return EXIT_OK
    w = 14
    print(f"{'Checkpoint':<{w}}{info['path']}")
    family = info["model_type"] if info["supported"] else f"{info['model_type']} (not supported by mintformers)"
    print(f"{'Family':<{w}}{family}")
    print(f"{'Architectures':<{w}}{', '.join(info['architectures']) or '(none listed)'}")
    if info["heads"]:
        print(f"{'Classes':<{w}}{', '.join(sorted(set(info['heads'].values())))}")
    if "trained_heads" in info:
        print(f"{'Trained heads':<{w}}{', '.join(info['trained_heads']) or 'none (base model: embeddings and fine-tuning)'}")
    print(f"{'Parameters':<{w}}{info['parameters']:,} ({info['parameters'] / 1e6:.1f}M) in {info['tensors']} tensors")
    print(f"{'Dtype':<{w}}{', '.join(info['weight_dtypes']) or '?'}" + (f" (config says {info['config_dtype']})" if info["config_dtype"] else ""))
    if info["weight_files"]:
        shards = f"{len(info['weight_files'])} shards" if info["sharded"] else "1 file, not sharded"
        print(f"{'Weights':<{w}}{info['format']}, {shards}")
    else:
        print(f"{'Weights':<{w}}none found")
    print(f"{'Tokenizer':<{w}}{', '.join(info['tokenizer_files']) or 'no tokenizer files'}")
    st = info.get("sentence_transformers")
    if st:
        chain = " → ".join(
            m["type"] + (f"({', '.join(m['modes'])})" if "modes" in m else f"({m['shape'][0]}→{m['shape'][1]})" if "shape" in m else "")
            for m in st["modules"]
        )
        print(f"{'Sentence':<{w}}{chain}; max_seq_length {st['max_seq_length']}")
    print(f"Files ({_human_size(info['total_bytes'])}):")
    for f in info["files"]:
        print(f"  {_human_size(f['bytes']):>9}  {f['name']}")
    return EXIT_OK


def convert_checkpoint(
    src: Path,
    dst: Path,
    *,
    dtype: str | None = None,
    max_shard_size: str = "5GB",
    overwrite: bool = False,
    progress: bool = False,
) -> dict[str, Any]:
    """Copy a checkpoint folder to `dst` with every weight file (root and module subfolders) re-saved as
    safetensors, optionally cast to `dtype` and sharded. Keys are kept as they are, so any library reads the
    result. The whole folder is one atomic save (`storage.save_folder`): after a crash `dst` holds what it held
    before or the complete conversion; with `overwrite`, files of the old `dst` that the conversion lacks go."""
    from ..loading import load_state_dict, parse_size, save_state_dict
    from ..modeling import resolve_dtype
    from ..progress import Progress
    from ..storage import JOURNAL_NAME, STAGING_PREFIX, atomic_write_text, read_json, save_folder

    src, dst = src.resolve(), dst.resolve()
    if dst == src or src in dst.parents:
        raise CLIError("The output folder must lie outside the checkpoint being converted.")
    if dst.exists() and not dst.is_dir():
        raise CLIError(f"{dst} is a file; give a folder for the converted checkpoint.")
    ours = (STAGING_PREFIX, JOURNAL_NAME)  # what an interrupted save leaves; the next save finishes or removes it
    if dst.exists() and any(not p.name.startswith(ours) for p in dst.iterdir()) and not overwrite:
        raise CLIError(f"{dst} already exists and is not empty; pass --overwrite to replace it.")
    target = resolve_dtype(dtype) if dtype not in (None, "auto") else None
    parse_size(max_shard_size)  # fail early on a malformed size
    summary: dict[str, Any] = {"source": str(src), "output": str(dst), "dtype": str(target).replace("torch.", "") if target else "unchanged", "weights": []}
    folders = [src] + sorted(d for d in src.rglob("*") if d.is_dir() and not _hidden(d, src))
    with save_folder(dst) as save, Progress(total=len(folders), desc="Converting", unit="folders", enabled=progress) as bar:
        for folder in folders:
            out_dir = save.path / folder.relative_to(src)
            out_dir.mkdir(parents=True, exist_ok=True)
            weight_files = _weight_files(folder)
            skip = {f.name for f in weight_files} | {"model.safetensors.index.json", "pytorch_model.bin.index.json"}
            for f in folder.iterdir():
                if f.is_file() and f.name not in skip and not f.name.startswith("."):
                    shutil.copyfile(f, out_dir / f.name)  # not copy2: new files get the usual mode (umask)
            if weight_files:
                bar.set_description(f"Converting {folder.relative_to(src) if folder != src else src.name}")
                state = load_state_dict(weight_files)
                seen: set[int] = set()
                for key, t in state.items():
                    if target is not None and t.is_floating_point():
                        t = t.to(target)
                    if t.untyped_storage().data_ptr() in seen:  # tied weights in .bin files: store each once
                        t = t.clone()
                    seen.add(t.untyped_storage().data_ptr())
                    state[key] = t
                written = save_state_dict(state, out_dir, max_shard_size=max_shard_size)
                summary["weights"] += [str(save.final(out_dir / p.name).relative_to(dst)) for p in written]
                config_path = out_dir / "config.json"
                if target is not None and config_path.is_file():
                    config = read_json(config_path)
                    if "model_type" in config:  # a transformers config: record the new dtype
                        name = str(target).replace("torch.", "")
                        config["torch_dtype"] = name
                        if "dtype" in config:
                            config["dtype"] = name
                        atomic_write_text(config_path, json.dumps(config, indent=2, sort_keys=True) + "\n")
                del state
            bar.update(1)
        if not summary["weights"]:
            raise CLIError(f"{src} holds no weight files (model.safetensors, pytorch_model.bin or their shards); "
                           "pass the checkpoint folder.")
        for old in dst.rglob("*"):  # --overwrite: the old folder's files that the conversion does not write
            if old.is_file() and not _hidden(old, dst) and not (save.path / old.relative_to(dst)).exists():
                save.remove(old.relative_to(dst))
    return summary


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def cmd_convert(args: argparse.Namespace) -> int:
    src = _local_dir(args.model_pos)
    summary = convert_checkpoint(
        src, Path(args.output), dtype=dtype(args), max_shard_size=args.max_shard_size, overwrite=args.overwrite,
        progress=show_progress(args),
    )
    if args.json:
        emit_json(summary)
    else:
        print(f"Wrote {summary['output']} ({summary['dtype']}): {', '.join(summary['weights']) or 'no weight files'}")
    return EXIT_OK


# A head trained for the key's task also serves these (pretraining trains the masked-LM and next-sentence heads).
HEAD_SERVES = {"AutoModelForPreTraining": ("AutoModelForMaskedLM", "AutoModelForNextSentencePrediction")}


def untrained_head(model: str, auto_name: str) -> str | None:
    """Why this checkpoint's weights do not train `auto_name`'s head (a sentence for an error), or None when they do.

    A head is trained when its weights are there and were trained for it: heads of different tasks share parameter
    names (BERT's sequence and token classifiers are both `classifier`), so weights saved from a head listed in
    `architectures` count only for that head and the tasks it also serves. Raises ValueError when the family has
    no such head at all. Models are built on the meta device: no memory.
    """
    from ..auto import AUTO_CLASSES, AutoConfig, model_class_for
    from ..loading import find_weight_files

    config = AutoConfig.from_pretrained(model)
    cls = model_class_for(auto_name, config.model_type)
    files = find_weight_files(model)
    head = _head_parameters(cls, config)
    mapped = _instance(cls, config)._map_checkpoint_keys(dict.fromkeys(_tensor_shapes(files)))
    missing = [k for k in head if k not in mapped]
    if missing:
        return f"lacks {', '.join(missing[:2])}{', ...' if len(missing) > 2 else ''}"
    architectures = config.architectures or []
    if cls.__name__ in architectures:
        return None
    for arch in architectures:
        arch_autos = [a for a, table in AUTO_CLASSES.items() if table.get(config.model_type) == arch]
        if not arch_autos or any(auto_name in HEAD_SERVES.get(a, ()) for a in arch_autos):
            continue
        shared = sorted(set(head) & set(_head_parameters(model_class_for(arch_autos[0], config.model_type), config)))
        if shared:
            return f"was saved as {arch}: its {', '.join(shared[:2])} weights were trained for that head"
    return None


_INSTANCES: dict[tuple[type, str], Any] = {}


def _instance(cls: type, config: Any) -> Any:
    """`cls(config)` on the meta device (as from_pretrained builds it: no init work, no memory), cached."""
    import warnings

    import torch

    from ..modeling import _no_meta_normal

    key = (cls, config.to_json_string())
    if key not in _INSTANCES:
        with warnings.catch_warnings(), torch.device("meta"), _no_meta_normal():
            warnings.simplefilter("ignore")  # e.g. "BertLMHeadModel is meant to be used with is_decoder=True"
            _INSTANCES[key] = cls(config)
    return _INSTANCES[key]


def _head_parameters(cls: type, config: Any) -> list[str]:
    """The parameters of `cls` outside its base model (the head), tied ones left out."""
    model = _instance(cls, config)
    prefix = model.base_model_prefix + "."
    tied = set(model._tied_weights_keys)
    return [k for k, _ in model.named_parameters() if not k.startswith(prefix) and k not in tied]
