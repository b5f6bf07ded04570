"""`mintformers serve`: one model behind an HTTP API (mintformers.server): embeddings, or a task command's pipeline.

The socket is bound first (a taken port fails at once), then the model loads in the background while /health
answers 503; SIGTERM or Ctrl-C stops gracefully (in-flight requests finish) with exit status 0.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import os
import re
import socket
import sys

from ..server.limits import Limits
from .common import (
    EXIT_OK,
    EXIT_USAGE,
    CLIError,
    add_command,
    add_model_option,
    add_runtime_options,
    device,
    display_name,
    dtype,
    load_encoder,
    model_name,
    positive_int,
    quantize,
)
from .tasks import TASKS, _pipeline, check_head

API_KEY_VARIABLE = "MINTFORMERS_API_KEY"
LIMIT_OPTIONS = ("max_concurrent_requests", "max_batch_tokens", "max_batch_requests", "max_client_batch_size",
                 "max_payload_bytes", "max_new_tokens")


def register(commands: argparse._SubParsersAction) -> None:
    p = add_command(commands, "serve", cmd_serve, "serve a model over HTTP: TEI-, TGI- and OpenAI-compatible routes, "
                    "dynamic batching, metrics, a playground page", json_output=False)
    add_model_option(p, help="local checkpoint folder or hub id (embed: default all-MiniLM-L6-v2; tasks: required)")
    add_runtime_options(p, batch_size=False)  # the server batches: --max-batch-requests / --max-batch-tokens
    p.add_argument("task", nargs="?", default="embed", choices=["embed", "rerank", *TASKS],
                   help="embed (default: sentence embeddings), rerank (a cross-encoder) or a task command's name")
    p.add_argument("--host", type=host_address, default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0: every interface)")
    p.add_argument("--port", type=port_number, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--api-key", default=os.environ.get(API_KEY_VARIABLE),
                   help=f"require `Authorization: Bearer KEY` (default: ${API_KEY_VARIABLE}, else no key; the variable "
                        "keeps the key out of the process list)")
    defaults = Limits()
    limits = p.add_argument_group("limits")
    for option, help in (
        ("max_concurrent_requests", "requests served at once; beyond: 429 with Retry-After"),
        ("max_batch_tokens", "padded tokens per forward pass (rows x longest row)"),
        ("max_batch_requests", "rows (texts, pairs, prompts) per forward pass"),
        ("max_client_batch_size", "inputs in one request; beyond: 413"),
        ("max_payload_bytes", "request body size; beyond: 413"),
        ("max_new_tokens", "generate: tokens per completion at most"),
    ):
        limits.add_argument("--" + option.replace("_", "-"), type=positive_int, default=getattr(defaults, option),
                            help=f"{help} (default {getattr(defaults, option)})")
    limits.add_argument("--max-input-length", type=positive_int,
                        help="tokens per input (default: what the model takes); longer: 413 unless truncated")
    limits.add_argument("--auto-truncate", action="store_true",
                        help="cut over-long inputs when a request does not say (TEI's `truncate`)")
    p.add_argument("--access-log", action="store_true", help="log every request on stderr")
    p.add_argument("--in-process", action="store_true",
                   help="embed on a CPU: run the forward passes in the server's process (default: a process of their "
                        "own, holding a second copy of the weights, so that HTTP work and passes never wait for "
                        "each other)")


def host_address(value: str) -> str:
    """A host name or IP address; four dot-separated numbers must be a valid IPv4 address."""
    if re.fullmatch(r"\d+(\.\d+){3}", value) or ":" in value:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{value!r} is not a valid IP address (IPv4 parts are 0-255); e.g. 127.0.0.1 or 0.0.0.0"
            ) from None
    elif not value:
        raise argparse.ArgumentTypeError("the host is empty; e.g. 127.0.0.1 or 0.0.0.0")
    return value


def port_number(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number (0-65535; 0 picks a free one)")
    return port


def bind_error(host: str, port: int, e: OSError) -> CLIError:
    """What went wrong when listening on host:port, and what to change."""
    where = f"{host}:{port}"
    if isinstance(e, socket.gaierror):
        return CLIError(f"Cannot listen on {where}: the host {host!r} is not known ({e.strerror}); check --host.")
    if e.errno == errno.EADDRINUSE:
        return CLIError(f"Cannot listen on {where}: the port is in use; pick another --port (0 picks a free one).")
    if e.errno == errno.EADDRNOTAVAIL:
        return CLIError(f"Cannot listen on {where}: {host} is not an address of this machine; use --host 127.0.0.1 "
                        "(this machine only) or 0.0.0.0 (every interface).")
    if e.errno == errno.EACCES:
        return CLIError(f"Cannot listen on {where}: permission denied (ports below 1024 need privileges); "
                        "pick a --port of 1024 or more.")
    return CLIError(f"Cannot listen on {where} ({e.strerror or e}); check --host and --port.")


def cmd_serve(args: argparse.Namespace) -> int:
    from ..server import bind, create_app, serve

    name = display_name(model_name(args))
    if args.task == "embed":
        def load():
            return load_encoder(args)
    else:
        if not args.model:
            raise CLIError(f"`serve {args.task}` needs --model: a checkpoint fine-tuned for the task.", EXIT_USAGE)
        head = "AutoModelForSequenceClassification" if args.task == "rerank" else TASKS[args.task][1]
        check_head(args.model, head)  # before listening: a wrong checkpoint fails at once

        def load():
            if args.task == "rerank":
                from ..embeddings import CrossEncoder

                return CrossEncoder(args.model, device=device(args),
                                    model_kwargs={"torch_dtype": dtype(args), "quantize": quantize(args)})
            return _pipeline(args, args.task)

    limits = Limits(**{name: getattr(args, name) for name in LIMIT_OPTIONS}, max_input_length=args.max_input_length,
                    auto_truncate=args.auto_truncate)
    try:
        sock = bind(args.host, args.port)
    except OSError as e:
        raise bind_error(args.host, args.port, e) from None
    app = create_app(args.task, load=load, model_name=name, limits=limits, api_key=args.api_key,
                     model_process=not args.in_process)
    host, port = sock.getsockname()[:2]
    routes = [r.path for r in app.routes if "POST" in getattr(r, "methods", ()) and r.path != "/"]
    print(f"Serving {name} ({args.task}) on http://{host}:{port}: POST {', '.join(routes)}; GET /health, /info, "
          f"/metrics; the playground at /, the API at /docs. Loading the model (GET /health answers 503 until it is "
          f"ready){'; API key required' if args.api_key else ''}. Ctrl-C or SIGTERM stops.", file=sys.stderr, flush=True)
    try:
        serve(app, sock, access_log=args.access_log)  # returns after a graceful stop
    except RuntimeError as e:  # the model failed to load
        raise CLIError(str(e)) from None
    print("mintformers: server stopped", file=sys.stderr)
    return EXIT_OK
