"""Helpers of the server tests (fixtures live in conftest.py)."""

from __future__ import annotations

from pathlib import Path

from mintformers import CrossEncoder, pipeline

PIPELINE_TASKS = {"classify": ("cls", "text-classification"), "fill-mask": ("mlm", "fill-mask"),
                  "ner": ("ner", "token-classification"), "qa": ("qa", "question-answering"),
                  "extract": ("ie", "information-extraction"), "generate": ("gen", "text-generation"),
                  "rerank": ("rerank", "text-classification")}


def task_pipeline(tiny_models: dict[str, Path], task: str):
    """A fresh model for a server of `task`: the task's pipeline, or a CrossEncoder for "rerank" (a server takes
    over its model's forward passes: one server each)."""
    key, pipeline_task = PIPELINE_TASKS[task]
    if task == "rerank":
        return CrossEncoder(tiny_models[key])
    return pipeline(pipeline_task, model=str(tiny_models[key]))


def tracebacks(caplog) -> list[str]:
    """Log records that carry an exception (what a traceback in the server's log would come from)."""
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
