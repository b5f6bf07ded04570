"""Streamers: generate() calls `put(token_ids)` with the prompt, then with each new token, and `end()` at the end.

`TextStreamer` prints text as soon as whole words are formed; `TextIteratorStreamer` hands the same pieces to
another thread through a queue. Joined, the pieces equal `tokenizer.decode(all_ids)` of what was streamed.

Differences from the reference, on purpose:
- text that ends in U+FFFD (a multi-byte character whose bytes are split across byte-level BPE tokens) is held
  back until the character is complete, instead of printing a replacement character that never goes away;
- if generate() fails, it calls `on_error(exc)`: `TextIteratorStreamer` re-raises the exception in the
  consuming thread instead of leaving it blocked until its timeout.
"""

from __future__ import annotations

from queue import Queue
from typing import Any

import torch

from ..tokenization.wordpiece import is_chinese_char

__all__ = ["BaseStreamer", "TextStreamer", "TextIteratorStreamer"]


class BaseStreamer:
    """The protocol generate() uses."""

    def put(self, value: torch.Tensor) -> None:
        raise NotImplementedError

    def end(self) -> None:
        raise NotImplementedError

    def on_error(self, error: BaseException) -> None:
        """generate() raised; by default just close the stream."""
        self.end()


class TextStreamer(BaseStreamer):
    """Prints decoded text to stdout word by word (batch size 1).

    skip_prompt: do not print the prompt. decode_kwargs go to `tokenizer.decode` (e.g. skip_special_tokens=True).
    """

    def __init__(self, tokenizer: Any, skip_prompt: bool = False, **decode_kwargs: Any):
        self.tokenizer = tokenizer
        self.skip_prompt = skip_prompt
        self.decode_kwargs = decode_kwargs
        self.token_cache: list[int] = []  # ids since the last line break
        self.print_len = 0  # characters of their text already emitted
        self.next_tokens_are_prompt = True

    def put(self, value: torch.Tensor) -> None:
        if value.dim() > 1:
            if value.shape[0] > 1:
                raise ValueError(
                    f"{type(self).__name__} streams one sequence; got a batch of {value.shape[0]}. Generate the prompts "
                    "one at a time, or collect the returned sequences instead."
                )
            value = value[0]
        if self.skip_prompt and self.next_tokens_are_prompt:
            self.next_tokens_are_prompt = False
            return
        self.next_tokens_are_prompt = False
        self.token_cache.extend(value.tolist())
        text = self.tokenizer.decode(self.token_cache, **self.decode_kwargs)
        if text.endswith("\n"):  # a line is complete: emit it and start afresh
            printable = text[self.print_len :]
            self.token_cache, self.print_len = [], 0
        elif text.endswith("\ufffd"):  # an unfinished multi-byte character: wait for its other bytes
            printable = ""
        elif text and is_chinese_char(ord(text[-1])):  # CJK has no spaces: flush each ideograph
            printable = text[self.print_len :]
            self.print_len += len(printable)
        else:  # up to the last space: the last word may still grow
            printable = text[self.print_len : text.rfind(" ") + 1]
            self.print_len += len(printable)
        self.on_finalized_text(printable)

    def end(self) -> None:
        printable = ""
        if self.token_cache:
            printable = self.tokenizer.decode(self.token_cache, **self.decode_kwargs)[self.print_len :]
        self.token_cache, self.print_len = [], 0
        self.next_tokens_are_prompt = True
        self.on_finalized_text(printable, stream_end=True)

    def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
        print(text, flush=True, end=None if stream_end else "")


class TextIteratorStreamer(TextStreamer):
    """Iterate over text pieces while generate() runs in another thread:

        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True)
        Thread(target=model.generate, kwargs=dict(**inputs, streamer=streamer, max_new_tokens=50)).start()
        for piece in streamer:
            print(piece, end="")

    timeout: seconds to wait for each piece (None: forever); a queue.Empty error is raised when it passes.
    """

    _END = object()

    def __init__(self, tokenizer: Any, skip_prompt: bool = False, timeout: float | None = None, **decode_kwargs: Any):
        super().__init__(tokenizer, skip_prompt, **decode_kwargs)
        self.text_queue: Queue = Queue()
        self.timeout = timeout

    def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
        if text:
            self.text_queue.put(text, timeout=self.timeout)
        if stream_end:
            self.text_queue.put(self._END, timeout=self.timeout)

    def on_error(self, error: BaseException) -> None:
        self.text_queue.put(error, timeout=self.timeout)

    def __iter__(self) -> TextIteratorStreamer:
        return self

    def __next__(self) -> str:
        value = self.text_queue.get(timeout=self.timeout)
        if value is self._END:
            raise StopIteration
        if isinstance(value, BaseException):
            raise RuntimeError("generate() failed while streaming") from value
        return value
