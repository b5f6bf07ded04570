"""A tiny progress bar on stderr (no tqdm dependency), shared by embedding, conversion and the command line.

    with Progress(total=len(texts), desc="Embedding", unit="sent") as bar:
        for batch in batches:
            ...
            bar.update(len(batch))

`enabled=None` shows the bar only when the stream is a terminal, so logs and pipes stay clean; True forces it
(e.g. the CLI's --progress), False hides it (--quiet). Redraws are rate-limited, so updating per item is cheap.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress", "progress_enabled"]


def progress_enabled(requested: bool | None, stream: TextIO | None = None) -> bool:
    """True/False as requested; None → whether `stream` (default stderr) is an interactive terminal."""
    if requested is not None:
        return bool(requested)
    stream = sys.stderr if stream is None else stream
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


def _format_duration(seconds: float) -> str:
    seconds = int(seconds)
    minutes, s = divmod(seconds, 60)
    hours, m = divmod(minutes, 60)
    return f"{hours}:{m:02d}:{s:02d}" if hours else f"{m:02d}:{s:02d}"


class Progress:
    """`desc  42%|████▏     | 107/256 [00:03<00:04, 35.2 sent/s]`, redrawn in place on one line."""

    def __init__(
        self,
        total: int | None = None,
        desc: str = "",
        unit: str = "it",
        *,
        enabled: bool | None = None,
        stream: TextIO | None = None,
        width: int = 25,
        min_interval: float = 0.1,
    ):
        self.total = total
        self.desc = desc
        self.unit = unit
        self.stream = sys.stderr if stream is None else stream
        self.enabled = progress_enabled(enabled, self.stream)
        self.width = width
        self.min_interval = min_interval
        self.n = 0
        self._start = time.perf_counter()
        self._last_draw = 0.0
        self._closed = False
        if self.enabled:
            self._draw()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.enabled and time.perf_counter() - self._last_draw >= self.min_interval:
            self._draw()

    def set_description(self, desc: str) -> None:
        self.desc = desc
        if self.enabled:
            self._draw()

    def render(self) -> str:
        """The current line, without the carriage return."""
        elapsed = time.perf_counter() - self._start
        rate = self.n / elapsed if elapsed > 0 else 0.0
        prefix = f"{self.desc}: " if self.desc else ""
        stats = f"{self.n}" + (f"/{self.total}" if self.total else "")
        timing = _format_duration(elapsed)
        if self.total:
            fraction = min(1.0, self.n / self.total)
            filled = fraction * self.width
            full = int(filled)
            partial = " ▏▎▍▌▋▊▉"[int((filled - full) * 8)] if full < self.width else ""
            bar = ("█" * full + partial).ljust(self.width)
            if rate > 0 and self.n < self.total:
                timing += f"<{_format_duration((self.total - self.n) / rate)}"
            return f"{prefix}{fraction:4.0%}|{bar}| {stats} [{timing}, {rate:.1f} {self.unit}/s]"
        return f"{prefix}{stats} {self.unit} [{timing}, {rate:.1f} {self.unit}/s]"

    def _draw(self) -> None:
        self._last_draw = time.perf_counter()
        try:
            self.stream.write("\r" + self.render())
            self.stream.flush()
        except (OSError, ValueError):  # the terminal went away: stop drawing, never fail the work
            self.enabled = False

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.enabled:
            self._draw()
            try:
                self.stream.write("\n")
                self.stream.flush()
            except (OSError, ValueError):
                pass
