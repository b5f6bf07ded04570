"""Where training metrics go (rank 0 only): `metrics.jsonl` (one JSON object per log), TensorBoard event files in
`runs/` when the tensorboard package is installed, and the progress bar."""

from __future__ import annotations

import json
import math
import sys
import time
import types
from pathlib import Path
from typing import Any

from ..storage import atomic_write_text

__all__ = ["MetricsLog"]

JSONL_NAME = "metrics.jsonl"


class _TensorBoard:
    """Scalars through tensorboard's own event writer. torch.utils.tensorboard would import TensorFlow when it is
    installed (20 s here); `tensorboard.compat.notf` is tensorboard's switch to its TF-free stub."""

    def __init__(self, directory: Path, purge_step: int | None):
        if "tensorflow" not in sys.modules:
            sys.modules.setdefault("tensorboard.compat.notf", types.ModuleType("tensorboard.compat.notf"))
        from tensorboard.compat.proto.event_pb2 import Event, SessionLog
        from tensorboard.compat.proto.summary_pb2 import Summary
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        self._event, self._summary = Event, Summary
        self.writer = EventFileWriter(str(directory))
        if purge_step is not None:  # a resumed run: TensorBoard drops what the killed run logged after this step
            self.writer.add_event(Event(step=purge_step, wall_time=time.time(), session_log=SessionLog(status=SessionLog.START)))

    def add(self, values: dict[str, float], step: int) -> None:
        summary = self._summary(value=[self._summary.Value(tag=k, simple_value=v) for k, v in values.items()])
        self.writer.add_event(self._event(wall_time=time.time(), step=step, summary=summary))

    def close(self) -> None:
        self.writer.close()


class MetricsLog:
    def __init__(self, output_dir: Path, reporters: list[str], *, resume_step: int | None = None, enabled: bool = True):
        self.enabled = enabled
        self.path = Path(output_dir) / JSONL_NAME
        self.jsonl = enabled and "jsonl" in reporters
        self.tensorboard = _TensorBoard(Path(output_dir) / "runs", resume_step) if enabled and "tensorboard" in reporters else None
        if self.jsonl and self.path.exists():
            self._truncate(resume_step or 0)

    def _truncate(self, step: int) -> None:
        """Keep only the lines up to `step`: what a killed run logged after its checkpoint is logged again."""
        kept = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                if json.loads(line).get("step", 0) <= step:
                    kept.append(line)
            except json.JSONDecodeError:  # a line cut short by the kill
                break
        atomic_write_text(self.path, "".join(f"{line}\n" for line in kept))

    def log(self, values: dict[str, Any], step: int) -> None:
        if not self.enabled:
            return
        if self.jsonl:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps({"step": step, **values}) + "\n")
        if self.tensorboard is not None:
            scalars = {k: float(v) for k, v in values.items() if isinstance(v, (int, float)) and math.isfinite(v)}
            self.tensorboard.add(scalars, step)

    def close(self) -> None:
        if self.tensorboard is not None:
            self.tensorboard.close()
