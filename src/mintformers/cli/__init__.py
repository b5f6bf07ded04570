"""The `mintformers` command line (also `python -m mintformers`): a thin parser over one module per command group.

    mintformers demo                                    semantic search over the bundled corpus
    mintformers similarity TEXT TEXT [TEXT ...]         cosine similarity of the first text to the others
    mintformers search --corpus FILE_OR_DIR QUERY ...   index a corpus (optionally saved with --index) and search it
    mintformers embed FILE -o OUT.npy|OUT.jsonl         embed one text per line
    mintformers rerank -m RERANKER QUERY PASSAGE ...    order passages by relevance (a cross-encoder)
    mintformers info [MODEL]                            what a checkpoint holds
    mintformers convert MODEL OUT [--dtype bf16]        re-save as safetensors (sharded, atomically)
    mintformers fill-mask|classify|ner|qa|generate|extract ...   task pipelines
    mintformers serve [TASK]                            one model behind an HTTP API (TEI, TGI and OpenAI routes)
    mintformers train --task T --model M --train F -o D  fine-tune (torchrun -m mintformers train: DDP / FSDP)
    mintformers embed --ray [ADDRESS] INPUT -o DIR      embed a corpus on Ray, resumably (Parquet parts)

Adding a command: write `cli/<group>.py` with `register(commands)` (see `cli/common.py`: `add_command`,
`add_model_option`, `add_runtime_options`) and add the module's name to COMMAND_GROUPS.

Errors print one line on stderr (`--debug` shows the traceback); see EXIT_CODES. Progress bars go to stderr when it
is a terminal, or always with --progress; --quiet hides them. Global options go before or after the command.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from .common import (
    EXIT_CODES,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    CLIError,
    HelpFormatter,
    add_global_options,
    default_model_path,
)

__all__ = ["main", "build_parser", "default_model_path", "CLIError", "EXIT_CODES", "EXIT_OK", "EXIT_ERROR",
           "EXIT_USAGE", "EXIT_INTERRUPTED", "COMMAND_GROUPS"]

# The command groups, in the order `mintformers --help` lists their commands; each module's register() adds them.
COMMAND_GROUPS = (
    "embeddings",   # demo, similarity, search, embed
    "rerank",       # rerank (a cross-encoder)
    "checkpoints",  # info, convert
    "tasks",        # fill-mask, classify, ner, qa, generate, extract
    "serve",
    "train",        # train (mintformers.training; torchrun -m mintformers train for DDP / FSDP)
)


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors like every other error: one line with our prefix and exit code (the
    usage dump argparse prints first would bury the line that says what is wrong; the line names --help)."""

    def error(self, message: str):  # type: ignore[override]
        raise CLIError(f"{message} (see `{self.prog} --help`)", EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    epilog = "exit codes:\n" + "\n".join(f"  {code:<4} {meaning}" for code, meaning in EXIT_CODES.items())
    parser = _Parser(
        prog="mintformers",
        description="Fast, faithful transformers: sentence embeddings, checkpoint tools and task pipelines.",
        epilog=epilog,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"mintformers {__version__}")
    add_global_options(parser, top_level=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser,
                                     help="`mintformers COMMAND --help` shows a command's options")
    commands.required = True
    for group in COMMAND_GROUPS:
        importlib.import_module(f"{__name__}.{group}").register(commands)
    for command in commands.choices.values():
        add_global_options(command, json_output=getattr(command, "json_output", True))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script passes it to sys.exit)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args, unknown = build_parser().parse_known_args(argv)
        if unknown:  # (argparse's own message would point at `mintformers --help`, not at the command's)
            raise CLIError(f"unrecognized arguments: {' '.join(unknown)} (see `mintformers {args.command} --help`)",
                           EXIT_USAGE)
        debug = args.debug
        logging.basicConfig(level=logging.WARNING, format="mintformers: %(levelname)s: %(message)s", stream=sys.stderr)
        # huggingface_hub's retry chatter ("... thrown while requesting HEAD ..."): failures still raise. Its logger
        # takes its level from HF_HUB_VERBOSITY when first imported, after this.
        os.environ.setdefault("HF_HUB_VERBOSITY", "error")
        logging.getLogger("huggingface_hub").setLevel(logging.ERROR)
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
