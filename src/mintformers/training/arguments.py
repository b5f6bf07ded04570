"""TrainingArguments: the knobs of a fine-tuning run, named as in `transformers.TrainingArguments`."""

from __future__ import annotations

import dataclasses
import importlib.util
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TrainingArguments"]

REPORTERS = ("jsonl", "tensorboard")


@dataclass
class TrainingArguments:
    output_dir: str  # checkpoints, metrics.jsonl, runs/ (TensorBoard) and the final model (output_dir/model)
    num_train_epochs: float = 3.0
    max_steps: int = -1  # > 0: this many optimizer steps, overriding num_train_epochs
    per_device_train_batch_size: int = 8  # the global batch is this × processes × gradient_accumulation_steps
    per_device_eval_batch_size: int = 8
    gradient_accumulation_steps: int = 1
    learning_rate: float = 5e-5
    weight_decay: float = 0.0  # AdamW's decoupled decay; never on biases and norm weights (1-D parameters)
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    max_grad_norm: float | None = 1.0  # None or 0: no clipping
    warmup_steps: int = 0  # linear warm-up from 0, then linear decay to 0 at the last step
    warmup_ratio: float = 0.0  # used when warmup_steps is 0: a fraction of the total steps
    bf16: bool = False  # autocast to bfloat16 (CPU or GPU)
    fp16: bool = False  # autocast to float16 with a gradient scaler (not with fsdp)
    seed: int = 42
    max_length: int | None = None  # tokenization cut-off; default: what the model and tokenizer allow
    logging_steps: int = 10
    eval_steps: int | None = None  # evaluate every N steps (and at the end) when there is eval data
    save_steps: int | None = 500  # checkpoint every N steps; None: no intermediate checkpoints
    save_total_limit: int | None = None  # keep the newest N checkpoints (the best one is always kept)
    metric_for_best_model: str | None = None  # default: the task's main metric (e.g. accuracy, spearman)
    greater_is_better: bool | None = None  # default: True, except for losses
    load_best_model_at_end: bool = False  # the final model is the best evaluated checkpoint
    early_stopping_patience: int | None = None  # stop after N evaluations without improvement
    early_stopping_threshold: float = 0.0  # the improvement that counts
    report_to: list[str] | str = "auto"  # "jsonl", "tensorboard", "none"; auto: jsonl + TensorBoard if installed
    show_progress: bool | None = None  # the progress bar: None = on a terminal (rank 0 only)
    fsdp: bool = False  # shard parameters, gradients and optimizer state with FSDP2 (fully_shard)
    ddp_backend: str | None = None  # default: nccl on CUDA, gloo on CPU
    ddp_find_unused_parameters: bool | None = None  # default: only where the task leaves parameters unused
    device: str | None = None  # default: cuda:LOCAL_RANK when available, else cpu
    dataloader_num_workers: int = 0
    mlm_probability: float = 0.15  # masked-LM: the share of tokens to predict (80% [MASK], 10% random, 10% kept)
    embedding_scale: float = 20.0  # sentence embeddings: MultipleNegativesRankingLoss's scale (1 / temperature)
    extra: dict[str, Any] = field(default_factory=dict)  # kept in trainer_state.json, for the user's own notes

    def __post_init__(self) -> None:
        positive = ("per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps", "logging_steps")
        for name in positive:
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}.")
        for name in ("eval_steps", "save_steps", "save_total_limit", "early_stopping_patience"):
            value = getattr(self, name)
            if value is not None and int(value) < 1:
                raise ValueError(f"{name} must be at least 1 (or None), got {value}.")
        if self.max_steps <= 0 and self.num_train_epochs <= 0:
            raise ValueError("Set num_train_epochs > 0 or max_steps > 0: there is nothing to train.")
        if self.bf16 and self.fp16:
            raise ValueError("Choose one of bf16 and fp16.")
        if self.fp16 and self.fsdp:
            raise ValueError("fp16 with fsdp needs a sharded gradient scaler; use bf16 with fsdp.")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}.")
        if not 0 < self.mlm_probability < 1:
            raise ValueError(f"mlm_probability must be in (0, 1), got {self.mlm_probability}.")
        if self.load_best_model_at_end:
            if self.eval_steps is None or self.save_steps is None or self.save_steps % self.eval_steps:
                raise ValueError(
                    "load_best_model_at_end needs a checkpoint at evaluations: set eval_steps, and save_steps to a "
                    f"multiple of it (got eval_steps={self.eval_steps}, save_steps={self.save_steps})."
                )
        reporters = [self.report_to] if isinstance(self.report_to, str) else list(self.report_to)
        for r in reporters:
            if r not in (*REPORTERS, "auto", "none"):
                raise ValueError(f"report_to={r!r}: use 'jsonl', 'tensorboard', 'auto' or 'none'.")
        if "tensorboard" in reporters and importlib.util.find_spec("tensorboard") is None:
            raise ValueError("report_to='tensorboard' needs the tensorboard package: pip install tensorboard.")

    @property
    def reporters(self) -> list[str]:
        """The resolved logging targets."""
        requested = [self.report_to] if isinstance(self.report_to, str) else list(self.report_to)
        if "none" in requested:
            return []
        if "auto" in requested:
            return ["jsonl"] + (["tensorboard"] if importlib.util.find_spec("tensorboard") is not None else [])
        return [r for r in REPORTERS if r in requested]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
