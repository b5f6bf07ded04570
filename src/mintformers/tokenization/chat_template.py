"""Chat templates: a conversation (a list of {"role", "content"} messages) → the prompt text a chat model expects.

The template is Jinja2 source that ships with the checkpoint (`chat_template.jinja`, `additional_chat_templates/
<name>.jinja`, or the "chat_template" key of tokenizer_config.json), as in the reference. It runs in Jinja2's
`ImmutableSandboxedEnvironment`: a template cannot reach Python internals (`__class__`, `__globals__`, ...) nor
change the messages, tools or documents it is given. Its globals and filters are the reference's: `raise_exception`,
`strftime_now`, `tojson` (no HTML escaping; `ensure_ascii`, `indent`, `separators`, `sort_keys`), the loop controls
(`break` / `continue`) and the `{% generation %}` block that marks assistant text for `return_assistant_tokens_mask`.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import os
import re
import types
from collections.abc import Callable
from contextlib import contextmanager
from copy import deepcopy
from datetime import datetime
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

__all__ = [
    "CHAT_TEMPLATE_DIR",
    "CHAT_TEMPLATE_FILE",
    "ChatTemplateMixin",
    "DocstringParsingException",
    "TypeHintParsingException",
    "get_json_schema",
    "render_chat",
]

logger = logging.getLogger(__name__)

CHAT_TEMPLATE_FILE = "chat_template.jinja"
CHAT_TEMPLATE_DIR = "additional_chat_templates"

# Appended to the final message for continue_final_message, then cut off the rendered text with what follows it.
_CONTINUE_TAG = "CONTINUE_FINAL_MESSAGE_TAG "
_GENERATION_BLOCK = re.compile(r"\{\%-?\s*generation\s*-?\%\}")


# ------------------------------------------------------------------------------------------------ rendering


def _tojson(x: Any, ensure_ascii: bool = False, indent: int | None = None, separators=None, sort_keys: bool = False):
    # Jinja's own tojson escapes HTML characters (<, >, &, '), which would change what the model sees.
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _strftime_now(format: str) -> str:
    return datetime.now().strftime(format)


@functools.lru_cache(maxsize=32)
def compile_template(source: str):
    """Jinja2 source → a template of the sandboxed environment (cached: a model's template compiles once)."""
    import jinja2
    import jinja2.ext
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class GenerationBlock(jinja2.ext.Extension):
        """`{% generation %}...{% endgeneration %}`: records where in the output the enclosed text lands."""

        tags = {"generation"}

        def __init__(self, environment):
            super().__init__(environment)
            environment.extend(track_generation=self.track)
            self._blocks: list[str] | None = None  # the output rendered so far, while tracking
            self._spans: list[tuple[int, int]] | None = None

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return jinja2.nodes.CallBlock(self.call_method("_mark", []), [], [], body).set_lineno(lineno)

        def _mark(self, caller) -> str:
            text = caller()
            if self._blocks is not None:
                start = sum(map(len, self._blocks))
                self._spans.append((start, start + len(text)))
            return text

        @contextmanager
        def track(self, blocks: list[str], spans: list[tuple[int, int]]):
            self._blocks, self._spans = blocks, spans
            try:
                yield
            finally:
                self._blocks = self._spans = None

    def raise_exception(message: str):
        raise jinja2.exceptions.TemplateError(message)

    environment = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[GenerationBlock, jinja2.ext.loopcontrols]
    )
    environment.filters["tojson"] = _tojson
    environment.globals["raise_exception"] = raise_exception
    environment.globals["strftime_now"] = _strftime_now
    return environment.from_string(source)


def render_chat(
    conversations: list[list[dict[str, Any]]],
    chat_template: str,
    tools: list[dict | Callable] | None = None,
    documents: list[dict[str, str]] | None = None,
    add_generation_prompt: bool = False,
    continue_final_message: bool = False,
    return_assistant_tokens_mask: bool = False,
    **template_kwargs: Any,
) -> tuple[list[str], list[list[tuple[int, int]]]]:
    """Render each conversation; returns (texts, per text the character spans of its `{% generation %}` blocks)."""
    if return_assistant_tokens_mask and not _GENERATION_BLOCK.search(chat_template):
        logger.warning("return_assistant_tokens_mask==True but chat template does not contain `{% generation %}` keyword.")
    template = compile_template(chat_template)
    tool_schemas = None
    if tools is not None:
        tool_schemas = []
        for tool in tools:
            if isinstance(tool, dict):
                tool_schemas.append(tool)
            elif inspect.isfunction(tool):
                tool_schemas.append(get_json_schema(tool))
            else:
                raise ValueError(
                    "Tools should either be a JSON schema, or a callable function with type hints "
                    "and a docstring suitable for auto-conversion to a schema."
                )
    if documents is not None and not all(isinstance(document, dict) for document in documents):
        raise TypeError("Documents should be a list of dicts with 'title' and 'text' keys!")

    texts, all_spans = [], []
    for chat in conversations:
        chat = getattr(chat, "messages", chat)  # a Conversation-like object
        final_text = None
        if continue_final_message:
            chat = deepcopy(chat)
            chat, final_text = _tag_final_message(chat)
        variables = dict(
            messages=chat, tools=tool_schemas, documents=documents, add_generation_prompt=add_generation_prompt,
            **template_kwargs,
        )  # fmt: skip
        spans: list[tuple[int, int]] = []
        if return_assistant_tokens_mask:
            blocks: list[str] = []
            with template.environment.track_generation(blocks, spans):
                for block in template.generate(**variables):
                    blocks.append(block)
            text = "".join(blocks)
            all_spans.append(spans)
        else:
            text = template.render(**variables)
        if continue_final_message:
            text = _cut_at_tag(text, final_text)
        texts.append(text)
    return texts, all_spans


def _tag_final_message(chat: list[dict]) -> tuple[list[dict], str]:
    """Mark the end of the last message's (last) text, so that everything the template adds after it can be cut."""
    content = chat[-1]["content"]
    if isinstance(content, (list, tuple)):
        for block in reversed(content):
            if "text" in block:
                final_text = block["text"]
                block["text"] = block["text"] + _CONTINUE_TAG
                return chat, final_text
        raise ValueError("continue_final_message is set but we could not find any text to continue in the final message!")
    chat[-1]["content"] = content + _CONTINUE_TAG
    return chat, content


def _cut_at_tag(text: str, final_text: str) -> str:
    if final_text.strip() not in text or _CONTINUE_TAG.strip() not in text:
        raise ValueError(
            "continue_final_message is set but the final message does not appear in the chat after applying the chat "
            "template! This can happen if the chat template deletes portions of the final message. Please verify the "
            "chat template and final message in your chat to ensure they are compatible."
        )
    at = text.rindex(_CONTINUE_TAG.strip())
    if text[at : at + len(_CONTINUE_TAG)] == _CONTINUE_TAG:
        return text[:at]
    return text[:at].rstrip()  # the template trimmed the tag's trailing space: trim the message's too


def _check_messages(conversations: list, is_batched: bool) -> None:
    from .options import check_surrogates

    for c, chat in enumerate(conversations):
        for m, message in enumerate(getattr(chat, "messages", chat)):
            where = (f"conversation {c}, " if is_batched else "") + f"message {m}"
            content = message.get("content") if isinstance(message, dict) else None
            if isinstance(content, str):
                check_surrogates(content, f"The content of {where}")
            elif isinstance(content, (list, tuple)):
                for b, block in enumerate(content):
                    if isinstance(block, dict) and isinstance(block.get("text"), str):
                        check_surrogates(block["text"], f"The text of block {b} of {where}")


# ------------------------------------------------------------------------------------ tools given as functions


class TypeHintParsingException(ValueError):
    """A tool function's type hint has no JSON schema equivalent."""


class DocstringParsingException(ValueError):
    """A tool function's docstring lacks what its JSON schema needs (a description of the function and each argument)."""


# Google-style docstrings: the description, the Args: block (one "name: description" per argument), Returns:.
_DESCRIPTION = re.compile(r"^(.*?)[\n\s]*(Args:|Returns:|Raises:|\Z)", re.DOTALL)
_ARGS_BLOCK = re.compile(r"\n\s*Args:\n\s*(.*?)[\n\s]*(Returns:|Raises:|\Z)", re.DOTALL)
_ONE_ARG = re.compile(r"(?:^|\n)\s*(\w+):\s*(.*?)\s*(?=\n\s*\w+:|\Z)", re.DOTALL)
_RETURNS_BLOCK = re.compile(r"\n\s*Returns:\n\s*(.*?)[\n\s]*(Raises:|\Z)", re.DOTALL)
_CHOICES = re.compile(r"\(choices:\s*(.*?)\)\s*$", re.IGNORECASE)


def _basic_schema(hint: Any) -> dict:
    mapping = {int: {"type": "integer"}, float: {"type": "number"}, str: {"type": "string"},
               bool: {"type": "boolean"}, type(None): {"type": "null"}, Any: {}}  # fmt: skip
    if hint in mapping:
        return dict(mapping[hint])
    if getattr(hint, "__module__", "").startswith("PIL.") and getattr(hint, "__name__", "") == "Image":
        return {"type": "image"}
    if getattr(hint, "__module__", "") == "torch" and getattr(hint, "__name__", "") == "Tensor":
        return {"type": "audio"}
    return {"type": "object"}


def _hint_schema(hint: Any) -> dict:
    origin, args = get_origin(hint), get_args(hint)
    if origin is None:
        return _basic_schema(hint)
    if origin is Union or origin is types.UnionType:
        subtypes = [_hint_schema(t) for t in args if t is not type(None)]
        if len(subtypes) == 1:
            schema = subtypes[0]
        elif all(isinstance(s.get("type"), str) for s in subtypes):
            schema = {"type": sorted(s["type"] for s in subtypes)}
        else:
            schema = {"anyOf": subtypes}
        if type(None) in args:
            schema["nullable"] = True
        return schema
    if origin is Literal and args:
        kinds = []
        for arg in args:
            if type(arg) not in (int, float, str, bool, type(None)):
                raise TypeHintParsingException("Only the valid python literals can be listed in typing.Literal.")
            kind = _basic_schema(type(arg)).get("type")
            if kind is not None and kind not in kinds:
                kinds.append(kind)
        return {"type": kinds.pop() if len(kinds) == 1 else kinds, "enum": list(args)}
    if origin is list:
        return {"type": "array", "items": _hint_schema(args[0])} if args else {"type": "array"}
    if origin is tuple:
        if not args:
            return {"type": "array"}
        if len(args) == 1 or ... in args:
            raise TypeHintParsingException(
                f"The type hint {str(hint).replace('typing.', '')} has no JSON schema form here: use list[...] for a "
                "variable number of items, or the item type itself for one."
            )
        return {"type": "array", "prefixItems": [_hint_schema(t) for t in args]}
    if origin is dict:
        return {"type": "object", "additionalProperties": _hint_schema(args[1])} if len(args) == 2 else {"type": "object"}
    raise TypeHintParsingException(f"Couldn't parse this type hint, likely due to a custom class or object: {hint}")


def get_json_schema(func: Callable) -> dict:
    """The JSON schema of a tool function, from its type hints and Google-style docstring (as the reference's
    `transformers.utils.get_json_schema`): {"type": "function", "function": {"name", "description", "parameters"}}.
    An argument's description may end with `(choices: ["a", "b"])`, which becomes an "enum"."""
    doc = inspect.getdoc(func)
    if not doc:
        raise DocstringParsingException(f"Cannot generate JSON schema for {func.__name__} because it has no docstring!")
    doc = doc.strip()
    description = _DESCRIPTION.search(doc)
    args_block = _ARGS_BLOCK.search(doc)
    returns_block = _RETURNS_BLOCK.search(doc)
    arg_docs = {}
    if args_block is not None:
        lines = "\n".join(line for line in args_block.group(1).strip().split("\n") if line.strip())
        arg_docs = {name: re.sub(r"\s*\n+\s*", " ", text.strip()) for name, text in _ONE_ARG.findall(lines)}

    signature = inspect.signature(func)
    required = []
    for name, param in signature.parameters.items():
        if param.annotation == inspect.Parameter.empty:
            raise TypeHintParsingException(f"Argument {param.name} is missing a type hint in function {func.__name__}")
        if param.default == inspect.Parameter.empty:
            required.append(name)
    properties = {name: _hint_schema(hint) for name, hint in get_type_hints(func).items()}
    returns = properties.pop("return", None)
    if returns is not None and returns_block is not None:
        returns["description"] = returns_block.group(1).strip()
    for name, schema in properties.items():
        if name not in arg_docs:
            raise DocstringParsingException(
                f"Cannot generate JSON schema for {func.__name__} because the docstring has no description for the "
                f"argument '{name}'"
            )
        text = arg_docs[name]
        choices = _CHOICES.search(text)
        if choices:
            schema["enum"] = [c.strip() for c in json.loads(choices.group(1))]
            text = text[: choices.start()].strip()
        schema["description"] = text
    parameters = {"type": "object", "properties": properties}
    if required:
        parameters["required"] = required
    function = {"name": func.__name__, "description": description.group(1).strip() if description else None,
                "parameters": parameters}  # fmt: skip
    if returns is not None:
        function["return"] = returns
    return {"type": "function", "function": function}


# -------------------------------------------------------------------------------------------- the tokenizer API


class ChatTemplateMixin:
    """`apply_chat_template` and the template files of a checkpoint, for every tokenizer."""

    chat_template: str | dict[str, str] | None

    def get_chat_template(self, chat_template: str | None = None, tools: list | None = None) -> str:
        """The template source to use: `chat_template` (source, or the name of one of the tokenizer's templates),
        else the tokenizer's (with several: "tool_use" when tools are given and it exists, else "default")."""
        if isinstance(self.chat_template, dict):
            templates = self.chat_template
            if chat_template is not None and chat_template in templates:
                return templates[chat_template]
            if chat_template is None:
                if tools is not None and "tool_use" in templates:
                    return templates["tool_use"]
                if "default" in templates:
                    return templates["default"]
                raise ValueError(
                    "This model has multiple chat templates with no default specified! Please either pass a chat "
                    "template or the name of the template you wish to use to the `chat_template` argument. Available "
                    f"template names are {sorted(templates)}."
                )
        elif chat_template is None:
            if self.chat_template is None:
                raise ValueError(
                    "Cannot use chat template functions because tokenizer.chat_template is not set and no template "
                    "argument was passed! Set tokenizer.chat_template to a Jinja template (see "
                    "https://huggingface.co/docs/transformers/main/en/chat_templating) or pass chat_template=."
                )
            return self.chat_template
        return chat_template

    def apply_chat_template(
        self,
        conversation: list[dict[str, Any]] | list[list[dict[str, Any]]],
        tools: list[dict | Callable] | None = None,
        documents: list[dict[str, str]] | None = None,
        chat_template: str | None = None,
        add_generation_prompt: bool = False,
        continue_final_message: bool = False,
        tokenize: bool = True,
        padding: bool | str = False,
        truncation: bool = False,
        max_length: int | None = None,
        return_tensors: str | None = None,
        return_dict: bool = False,
        return_assistant_tokens_mask: bool = False,
        tokenizer_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ):
        """Render a conversation (or a batch of them) with the chat template, and tokenize it unless `tokenize=False`.

        Returns the text(s) (`tokenize=False`), the ids (default), or the whole BatchEncoding (`return_dict=True`,
        plus "assistant_masks" with `return_assistant_tokens_mask=True`). `add_generation_prompt` appends the header
        of a new assistant message; `continue_final_message` leaves the last message open for the model to continue.
        The special tokens (`bos_token`, ...) and any extra keyword argument are visible to the template. The text is
        tokenized without adding special tokens: the template writes them.
        """
        if return_dict and not tokenize:
            raise ValueError(
                "`return_dict=True` is incompatible with `tokenize=False`, because there is no dict of tokenizer "
                "outputs to return."
            )
        if return_assistant_tokens_mask and not return_dict:
            raise ValueError("`return_assistant_tokens_mask=True` is incompatible with `return_dict=False`")
        if continue_final_message and add_generation_prompt:
            raise ValueError(
                "continue_final_message and add_generation_prompt are not compatible. Use continue_final_message when "
                "you want the model to continue the final message, and add_generation_prompt when you want to add a "
                "header that will prompt it to start a new assistant message instead."
            )
        if continue_final_message and return_assistant_tokens_mask:
            raise ValueError("continue_final_message is not compatible with return_assistant_tokens_mask.")
        template = self.get_chat_template(chat_template, tools)
        is_batched = isinstance(conversation, (list, tuple)) and bool(conversation) and (
            isinstance(conversation[0], (list, tuple)) or hasattr(conversation[0], "messages")
        )
        conversations = conversation if is_batched else [conversation]
        if tokenize:  # name the message, not a position in the rendered text
            _check_messages(conversations, is_batched)
        texts, spans = render_chat(
            conversations,
            template,
            tools=tools,
            documents=documents,
            add_generation_prompt=add_generation_prompt,
            continue_final_message=continue_final_message,
            return_assistant_tokens_mask=return_assistant_tokens_mask,
            **{**self.special_tokens_map, **kwargs},  # the caller's variables win over the special tokens
        )
        rendered = texts if is_batched else texts[0]
        if not tokenize:
            return rendered
        out = self(
            rendered,
            padding=padding,
            truncation=truncation,
            max_length=max_length,
            add_special_tokens=False,
            return_tensors=return_tensors,
            **(tokenizer_kwargs or {}),
        )
        if not return_dict:
            return out["input_ids"]
        if return_assistant_tokens_mask:
            self._add_assistant_masks(out, spans, is_batched, return_tensors)
        return out

    def _add_assistant_masks(self, out, spans, is_batched: bool, return_tensors: str | None) -> None:
        """out["assistant_masks"]: 1 on the tokens of `{% generation %}` text (needs offsets: fast tokenizers)."""
        rows = out["input_ids"] if is_batched or return_tensors else [out["input_ids"]]
        masks = []
        for i, row_spans in enumerate(spans):
            mask = [0] * len(rows[i])
            for start_char, end_char in row_spans:
                start = out.char_to_token(i, start_char)
                end = out.char_to_token(i, end_char - 1)
                if start is None:
                    break  # truncated away
                for token in range(start, end + 1 if end else len(rows[i])):
                    mask[token] = 1
            masks.append(mask)
        out["assistant_masks"] = masks if is_batched or return_tensors else masks[0]
        if return_tensors:
            out.convert_to_tensors(tensor_type=return_tensors)

    def encode_message_with_chat_template(
        self, message: dict[str, Any], conversation_history: list[dict[str, Any]] | None = None, **kwargs: Any
    ) -> list[int]:
        """The ids one message adds to a conversation (for streaming chats message by message): the ids of history +
        message from the first position where they differ from the ids of the history alone."""
        if "add_generation_prompt" in kwargs:
            raise ValueError(
                "`encode_message_with_chat_template` does not support `add_generation_prompt`. Please add the "
                "generation prompt separately."
            )
        if not conversation_history:
            return self.apply_chat_template([message], add_generation_prompt=False, tokenize=True, **kwargs)
        ids = self.apply_chat_template([*conversation_history, message], add_generation_prompt=False, **kwargs)
        prefix = self.apply_chat_template(conversation_history, add_generation_prompt=False, **kwargs)
        for i in range(min(len(prefix), len(ids))):
            if prefix[i] != ids[i]:
                return ids[i:]
        return ids[min(len(prefix), len(ids)) :]

    # ------------------------------------------------------------------ files

    @staticmethod
    def _read_chat_templates(files: dict[str, Any]) -> str | dict[str, str] | None:
        """The templates of `chat_template.jinja` ("default") and `additional_chat_templates/*.jinja`; these files
        take priority over tokenizer_config.json's "chat_template"."""
        templates = {}
        for file_id, path in files.items():
            if path is None or not (file_id == "chat_template_file" or file_id.startswith("chat_template_")):
                continue
            name = "default" if file_id == "chat_template_file" else file_id.removeprefix("chat_template_")
            with open(path, encoding="utf-8") as f:
                templates[name] = f.read()
        if not templates:
            return None
        return templates["default"] if list(templates) == ["default"] else templates

    @staticmethod
    def _template_files_of(directory: str) -> dict[str, str]:
        """{file id: relative path} of the named templates a local checkpoint folder holds."""
        folder = os.path.join(directory, CHAT_TEMPLATE_DIR)
        if not os.path.isdir(folder):
            return {}
        return {
            f"chat_template_{name.removesuffix('.jinja')}": f"{CHAT_TEMPLATE_DIR}/{name}"
            for name in sorted(os.listdir(folder))
            if name.endswith(".jinja")
        }

    @staticmethod
    def _hub_template_files(repo_id: str, hub: dict[str, Any], resolved: dict[str, Any]) -> dict[str, str]:
        """{file id: path in the repo} of a Hub repo's `additional_chat_templates/*.jinja`: listed on the Hub when
        it can be reached, else those in the cache (beside the files just resolved), as the reference does."""
        from mintformers.hub import hub_reachable

        folder = "/".join(p for p in (hub.get("subfolder"), CHAT_TEMPLATE_DIR) if p)
        offline = hub.get("local_files_only") or os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on")
        names: list[str] | None = None
        if not offline and hub_reachable():
            from huggingface_hub import list_repo_tree

            try:
                entries = list_repo_tree(repo_id, path_in_repo=folder, revision=hub.get("revision"),
                                         token=hub.get("token"), recursive=False)  # fmt: skip
                names = [entry.path.rsplit("/", 1)[-1] for entry in entries]
            except Exception:  # no such folder (404), no network, ...: what the cache holds
                names = None
        if names is None:
            snapshot = next((os.path.dirname(p) for p in resolved.values() if p is not None), None)
            local = os.path.join(snapshot, CHAT_TEMPLATE_DIR) if snapshot else None
            names = sorted(os.listdir(local)) if local and os.path.isdir(local) else []
        return {f"chat_template_{n.removesuffix('.jinja')}": f"{CHAT_TEMPLATE_DIR}/{n}" for n in names if n.endswith(".jinja")}

    @staticmethod
    def _template_files_to_replace(directory: str, filename_prefix: str | None, written, final) -> list[str]:
        """The template files already in `directory` that this save does not rewrite (names relative to it):
        left behind, they would be read instead of the templates just saved."""
        prefix = f"{filename_prefix}-" if filename_prefix else ""
        present = [prefix + CHAT_TEMPLATE_FILE] if os.path.isfile(os.path.join(directory, prefix + CHAT_TEMPLATE_FILE)) else []
        folder = os.path.join(directory, prefix + CHAT_TEMPLATE_DIR)
        if os.path.isdir(folder):
            present += [f"{prefix}{CHAT_TEMPLATE_DIR}/{name}" for name in sorted(os.listdir(folder)) if name.endswith(".jinja")]
        rewritten = {os.path.relpath(final(path), directory).replace(os.sep, "/") for path in written}
        return [name for name in present if name not in rewritten]

    def save_chat_templates(
        self, save_directory: str, tokenizer_config: dict, filename_prefix: str | None, save_jinja_files: bool
    ) -> tuple[dict, list[str]]:
        """Write the templates as the reference does: with `save_jinja_files` (the default) the template goes to
        chat_template.jinja and named ones to additional_chat_templates/<name>.jinja (and none stays in the config);
        without, into tokenizer_config.json ("chat_template": the source, or a list of {"name", "template"})."""
        from .files import _atomic_write_text

        prefix = f"{filename_prefix}-" if filename_prefix else ""
        template_file = os.path.join(save_directory, prefix + CHAT_TEMPLATE_FILE)
        template_dir = os.path.join(save_directory, prefix + CHAT_TEMPLATE_DIR)
        written: list[str] = []
        templates = self.chat_template
        if save_jinja_files and templates is not None:
            for name, source in ({"default": templates} if isinstance(templates, str) else templates).items():
                if name == "default":
                    path = template_file
                else:
                    os.makedirs(template_dir, exist_ok=True)
                    path = os.path.join(template_dir, f"{name}.jinja")
                _atomic_write_text(path, source)
                written.append(path)
            tokenizer_config.pop("chat_template", None)
        elif isinstance(templates, dict):
            tokenizer_config["chat_template"] = [{"name": k, "template": v} for k, v in templates.items()]
        elif templates is not None:
            tokenizer_config["chat_template"] = templates
        return tokenizer_config, written
