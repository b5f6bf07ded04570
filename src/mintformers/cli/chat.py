"""`generate --chat` / `--messages`: a conversation for a chat model, formatted by its tokenizer's chat template."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .common import EXIT_USAGE, CLIError, display_name, texts


def chat_prompt(args: argparse.Namespace) -> str | list[dict]:
    """The prompt `generate` continues: PROMPT as it is, or the messages to answer (--chat, --messages)."""
    if args.messages is not None:
        if args.prompt is not None or args.system is not None:
            raise CLIError("--messages holds the whole conversation: give no PROMPT and no --system with it.", EXIT_USAGE)
        return read_messages(args.messages)
    if args.prompt is None:
        raise CLIError("generate needs a PROMPT (or --messages FILE with a conversation).", EXIT_USAGE)
    prompt = texts([args.prompt], "prompt", args.encoding)[0]
    if not args.chat:
        if args.system is not None or args.chat_template is not None:
            raise CLIError("--system and --chat-template format a chat: add --chat (or use --messages).", EXIT_USAGE)
        return prompt
    system = [{"role": "system", "content": args.system}] if args.system else []
    return [*system, {"role": "user", "content": prompt}]


def read_messages(path: str) -> list[dict]:
    source = "standard input" if path == "-" else path
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CLIError(f"File not found: {path}") from None
    except (IsADirectoryError, UnicodeDecodeError) as e:
        raise CLIError(f"Cannot read the messages in {source}: {e}") from None
    try:
        messages = json.loads(text)
    except json.JSONDecodeError as e:
        raise CLIError(f"{source} is not JSON ({e.msg} at line {e.lineno}, column {e.colno}).") from None
    if not (
        isinstance(messages, list)
        and messages
        and all(isinstance(m, dict) and isinstance(m.get("role"), str) and "content" in m for m in messages)
    ):
        raise CLIError(
            f'{source} must hold a non-empty JSON list of messages, e.g. [{{"role": "user", "content": "Hi"}}].'
        )
    return messages


def apply_template_option(args: argparse.Namespace, tokenizer) -> None:
    """--chat-template FILE replaces the tokenizer's template; without it the tokenizer must have one."""
    if args.chat_template is not None:
        try:
            tokenizer.chat_template = Path(args.chat_template).read_text(encoding="utf-8")
        except OSError as e:
            raise CLIError(f"Cannot read the chat template {args.chat_template}: {e.strerror or e}") from None
    elif tokenizer.chat_template is None:
        raise CLIError(
            f"The tokenizer of {display_name(args.model)} has no chat template (chat_template.jinja, or "
            "chat_template in tokenizer_config.json): pass --chat-template FILE, or give a plain PROMPT without --chat."
        )
