"""`mintformers serve`: one model behind a JSON API over HTTP (embeddings, or a task command's pipeline)."""

from __future__ import annotations

import argparse
import errno
import ipaddress
import re
import socket
import sys

from .common import (
    EXIT_OK,
    CLIError,
    add_command,
    add_model_option,
    add_runtime_options,
    display_name,
    load_encoder,
    model_name,
)
from .tasks import TASKS, _pipeline


def register(commands: argparse._SubParsersAction) -> None:
    p = add_command(commands, "serve", cmd_serve, "serve a model over HTTP: embeddings or a task's pipeline, JSON in and out",
                    json_output=False)
    add_model_option(p, help="local checkpoint folder or hub id (embed: default all-MiniLM-L6-v2; tasks: required)")
    add_runtime_options(p)
    p.add_argument("task", nargs="?", default="embed", choices=["embed", *TASKS],
                   help="embed (default: sentence embeddings) or a task command's name")
    p.add_argument("--host", type=host_address, default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0: every interface)")
    p.add_argument("--port", type=port_number, default=8000, help="port (default 8000; 0 picks a free one)")


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
    from ..server import Service, make_server

    runner = load_encoder(args) if args.task == "embed" else _pipeline(args, args.task)
    service = Service(args.task, display_name(model_name(args)), runner, batch_size=args.batch_size)
    try:
        server = make_server(service, args.host, args.port)
    except OSError as e:
        raise bind_error(args.host, args.port, e) from None
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
