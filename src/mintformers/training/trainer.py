"""The Trainer: fine-tune a head (or a SentenceEncoder) on records, in one process or under torchrun.

    trainer = Trainer("path/to/model", TrainingArguments("out", num_train_epochs=3), task="sequence-classification",
                      train_dataset="train.jsonl", eval_dataset="dev.jsonl")
    trainer.train(resume_from_checkpoint=True)      # continues a killed run, or starts when there is none

One optimizer step = `gradient_accumulation_steps` micro-batches on each of the world's processes. Each
micro-batch's loss is weighted by its share of the step's items (examples, or labelled tokens for token-level
tasks, summed over all processes), so a step's gradient is the same whatever the number of processes and the
split into micro-batches: 2 processes × 4 examples equal 1 process × 8.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import logging
import math
import os
import random
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..progress import Progress
from ..storage import save_folder
from .arguments import TrainingArguments
from .checkpoint import (
    STATE_NAME,
    latest_checkpoint,
    list_checkpoints,
    load_tree,
    rng_state,
    save_tree,
    set_rng_state,
)
from .data import BatchOrder, as_dataset
from .parallel import full_model_state, full_optimizer_state, load_optimizer_state, setup, unwrap, wrap
from .reporting import MetricsLog
from .tasks import Task, infer_task, task_for

__all__ = ["Trainer", "TrainState", "TrainOutput"]

logger = logging.getLogger(__name__)
FINAL_MODEL_DIR = "model"


@dataclass
class TrainState:
    """Where a run is: saved in every checkpoint's trainer_state.json."""

    global_step: int = 0
    epoch: int = 0
    micro_in_epoch: int = 0  # micro-batches of this epoch already trained on (the data position)
    best_metric: float | None = None
    best_step: int | None = None  # the step of the best evaluation so far
    evals_without_improvement: int = 0
    last_eval: dict[str, float] = field(default_factory=dict)
    loss_total: float = 0.0  # item-weighted loss over the whole run, all processes (for the final average)
    items_total: float = 0.0
    window: list[float] = field(default_factory=lambda: [0.0, 0.0])  # loss × items, items since the last log
    should_stop: bool = False  # a callback may set it to end training after this step


class TrainOutput(NamedTuple):
    global_step: int
    training_loss: float
    metrics: dict[str, float]


class _Indexed(Dataset):
    def __init__(self, data: Any):
        self.data = data

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[int, Any]:
        return index, self.data[index]


def _collate(task: Task, epoch: int, train: bool, items: list[tuple[int, Any]]):
    return task.collate([record for _, record in items], [i for i, _ in items], epoch, train)


def linear_schedule(warmup: int, total: int) -> Callable[[int], float]:
    """The learning-rate factor: 0 → 1 over `warmup` steps, then 1 → 0 at step `total`."""

    def factor(step: int) -> float:
        if step < warmup:
            return step / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    return factor


class Trainer:
    def __init__(
        self,
        model: nn.Module | str | os.PathLike,
        args: TrainingArguments,
        *,
        task: str | None = None,
        train_dataset: Any = None,
        eval_dataset: Any = None,
        tokenizer: Any = None,
        labels: list[Any] | None = None,
        callbacks: list[Callable[[TrainState], None]] | None = None,
    ):
        """`model`: a checkpoint path or hub id (the task's head is built on it), or a model / SentenceEncoder.
        Datasets: a .jsonl / .csv path, a list of dicts, or any map-style dataset of dicts (see `tasks` for
        each task's fields). `labels` fixes the label names' order (default: sorted). `callbacks` run after
        every optimizer step with the TrainState (set `state.should_stop` to end the run)."""
        self.args = args
        self.dist = setup(args.device, args.ddp_backend, need_group=args.fsdp)
        self._seed(args.seed)
        self.train_dataset = as_dataset(train_dataset)
        self.eval_dataset = as_dataset(eval_dataset)
        self.callbacks = list(callbacks or [])
        source = model if isinstance(model, (str, os.PathLike)) else None
        if task is None:
            if source is not None:
                raise ValueError("Pass task=... when the model is a path (e.g. task='sequence-classification').")
            task = infer_task(model)
        task_class = task_for(task)
        if tokenizer is None:
            tokenizer = getattr(model, "tokenizer", None)
        if tokenizer is None:
            from ..tokenization import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(source if source is not None else model.config.name_or_path)
        self.task = task_class(
            tokenizer, max_length=args.max_length, seed=args.seed, mlm_probability=args.mlm_probability,
            embedding_scale=args.embedding_scale, labels=labels,
        )
        if self.train_dataset is not None:
            self.task.prepare(self.train_dataset, self.eval_dataset)
        if source is not None:
            model = self.task.load(source)
        self.task.tokenizer = getattr(model, "tokenizer", None) or tokenizer
        self.task.adopt(model)
        self.model = model.to(self.dist.device)
        self.wrapped: nn.Module | None = None
        self._skeleton: nn.Module | None = None
        self.output_dir = Path(args.output_dir)
        self.state = TrainState()

    @staticmethod
    def _seed(seed: int) -> None:
        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)

    # ---- the model under DDP / FSDP ----------------------------------------------------------------------------------
    def _prepare(self) -> nn.Module:
        if self.wrapped is None:
            if self.args.fsdp and self.dist.is_main:
                self._skeleton = _meta_copy(self.model)  # unsharded shape, no memory: receives the gathered weights
            find_unused = self.args.ddp_find_unused_parameters
            if find_unused is None:
                find_unused = self.task.find_unused_parameters
            self.wrapped = wrap(self.model, self.dist, fsdp=self.args.fsdp, find_unused_parameters=find_unused)
        return self.wrapped

    def _autocast(self):
        if self.args.bf16 or self.args.fp16:
            dtype = torch.bfloat16 if self.args.bf16 else torch.float16
            return torch.autocast(self.dist.device.type, dtype=dtype)
        return contextlib.nullcontext()

    def _sync(self, model: nn.Module, last: bool):
        """Gradients are exchanged on the last micro-batch of a step only."""
        if self.args.fsdp:
            model.set_requires_gradient_sync(last)
        elif not last and hasattr(model, "no_sync"):
            return model.no_sync()
        return contextlib.nullcontext()

    def _loader(self, data: Any, batches: list[list[int]], epoch: int, train: bool) -> DataLoader:
        collate = functools.partial(_collate, self.task, epoch, train)
        # its own generator: a DataLoader iterator otherwise draws its seed from the global RNG, which dropout uses
        generator = torch.Generator().manual_seed(self.args.seed + epoch)
        return DataLoader(
            _Indexed(data), batch_sampler=batches, collate_fn=collate, num_workers=self.args.dataloader_num_workers,
            generator=generator,
        )

    def _to_device(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: v.to(self.dist.device) for k, v in inputs.items()}

    # ---- training ----------------------------------------------------------------------------------------------------
    def train(self, resume_from_checkpoint: bool | str | os.PathLike | None = None) -> TrainOutput:
        """Train; `resume_from_checkpoint=True` continues from the newest checkpoint in output_dir (if any), a path
        from that checkpoint. Returns (steps, average training loss, last evaluation)."""
        args, d = self.args, self.dist
        if self.train_dataset is None:
            raise ValueError("No train_dataset was given to the Trainer.")
        checkpoint = self._resolve_checkpoint(resume_from_checkpoint)
        if checkpoint is not None:
            self.state = self._read_state(checkpoint)
            self.model.load_state_dict(self.task.load(checkpoint).state_dict())
        model = self._prepare()
        decay = [p for _, p in model.named_parameters() if p.requires_grad and p.ndim >= 2]
        no_decay = [p for _, p in model.named_parameters() if p.requires_grad and p.ndim < 2]  # biases, norm weights
        optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=args.learning_rate, betas=(args.adam_beta1, args.adam_beta2), eps=args.adam_epsilon,
        )
        order = BatchOrder(len(self.train_dataset), args.per_device_train_batch_size, d.rank, d.world_size, shuffle=True, seed=args.seed)
        steps_per_epoch = math.ceil(len(order) / args.gradient_accumulation_steps)
        total = args.max_steps if args.max_steps > 0 else math.ceil(args.num_train_epochs * steps_per_epoch)
        warmup = args.warmup_steps or math.ceil(args.warmup_ratio * total)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, linear_schedule(warmup, total))
        scaler = torch.amp.GradScaler(d.device.type, enabled=args.fp16)
        if checkpoint is not None:
            self._restore(checkpoint, model, optimizer, scheduler, scaler)
        state = self.state
        log = MetricsLog(self.output_dir, args.reporters, resume_step=state.global_step if checkpoint else None, enabled=d.is_main)
        model.train()
        show = args.show_progress if d.is_main else False
        try:
            with Progress(total=total, desc="Training", unit="step", enabled=show) as bar:
                bar.update(state.global_step)
                while state.global_step < total and not state.should_stop:
                    batches = list(order.batches(state.epoch, skip=state.micro_in_epoch))
                    loader = iter(self._loader(self.train_dataset, batches, state.epoch, train=True))
                    remaining = len(batches)
                    while remaining:
                        group = [next(loader) for _ in range(min(args.gradient_accumulation_steps, remaining))]
                        remaining -= len(group)
                        loss_sum, items, grad_norm = self._step(model, optimizer, scaler, group)
                        scheduler.step()
                        state.global_step += 1
                        state.micro_in_epoch += len(group)
                        state.window = [state.window[0] + loss_sum, state.window[1] + items]
                        bar.update()
                        if state.global_step % args.logging_steps == 0 or state.global_step == total:
                            self._log_training(log, bar, scheduler, grad_norm, len(order))
                        self._after_step(model, optimizer, scheduler, scaler, log, total)
                        for callback in self.callbacks:
                            callback(state)
                        if state.global_step >= total or state.should_stop:
                            break
                    else:
                        state.epoch, state.micro_in_epoch = state.epoch + 1, 0
            if self.eval_dataset is not None and state.last_eval.get("step") != state.global_step:
                self._evaluate_and_track(log)
            if args.load_best_model_at_end and state.best_step not in (None, state.global_step):
                self._load_best(model)
            self.save_model()
        finally:
            log.close()
        average = state.loss_total / state.items_total if state.items_total else float("nan")
        return TrainOutput(state.global_step, average, {k: v for k, v in state.last_eval.items() if k != "step"})

    def _step(self, model: nn.Module, optimizer, scaler, group: list) -> tuple[float, float, float | None]:
        """One optimizer step over the micro-batches in `group`. Returns (loss × items, items, grad norm)."""
        counts = [self.task.count(inputs) for inputs, _ in group]
        total = self.dist.all_sum([float(sum(counts))])[0]
        if total == 0:
            raise ValueError("A training step has no targets (every label is -100): check the data or max_length.")
        loss_sum = 0.0
        for k, ((inputs, meta), count) in enumerate(zip(group, counts)):
            with self._sync(model, k == len(group) - 1), self._autocast():
                if count:
                    loss = self.task.loss(model, self._to_device(inputs), meta)
                    weighted = loss * (count * self.dist.world_size / total)  # DDP averages over processes
                    loss_sum += loss.item() * count
                else:  # nothing to learn here, but every parameter must still take part in the exchange
                    weighted = sum(p.sum() for p in model.parameters()) * 0.0
                scaler.scale(weighted).backward()
        scaler.unscale_(optimizer)
        grad_norm = None
        if self.args.max_grad_norm:
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), self.args.max_grad_norm)
            grad_norm = float(norm.full_tensor() if hasattr(norm, "full_tensor") else norm)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        return loss_sum, float(sum(counts)), grad_norm

    def _log_training(self, log: MetricsLog, bar: Progress, scheduler, grad_norm, batches_per_epoch) -> None:
        state = self.state
        loss_sum, items = self.dist.all_sum(state.window)
        state.loss_total, state.items_total, state.window = state.loss_total + loss_sum, state.items_total + items, [0.0, 0.0]
        values = {
            "loss": loss_sum / items if items else float("nan"),
            "learning_rate": scheduler.get_last_lr()[0],
            "epoch": state.epoch + state.micro_in_epoch / max(1, batches_per_epoch),
        }
        if grad_norm is not None:
            values["grad_norm"] = grad_norm
        log.log(values, state.global_step)
        bar.set_description(f"Training (loss {values['loss']:.4f})")

    def _after_step(self, model, optimizer, scheduler, scaler, log: MetricsLog, total: int) -> None:
        args, state = self.args, self.state
        if self.eval_dataset is not None and args.eval_steps and state.global_step % args.eval_steps == 0:
            self._evaluate_and_track(log)
        if args.save_steps and state.global_step % args.save_steps == 0 and state.global_step < total:
            self._save_checkpoint(model, optimizer, scheduler, scaler)

    # ---- evaluation ----------------------------------------------------------------------------------------------------
    def evaluate(self, eval_dataset: Any = None) -> dict[str, float]:
        """Metrics on `eval_dataset` (default: the Trainer's), named eval_<metric>. Every process evaluates its
        share; the predictions are gathered, so all processes return the same numbers."""
        data = as_dataset(eval_dataset) if eval_dataset is not None else self.eval_dataset
        if data is None:
            raise ValueError("No eval_dataset to evaluate on.")
        model = unwrap(self._prepare())
        d = self.dist
        order = BatchOrder(len(data), self.args.per_device_eval_batch_size, d.rank, d.world_size, shuffle=False, seed=0)
        padding = order.padded(len(data))
        batches = list(order.batches(0))
        results, position = [], 0
        was_training = model.training
        model.eval()
        with torch.no_grad(), self._autocast():
            for idx, (inputs, meta) in zip(batches, self._loader(data, batches, 0, train=False)):
                for i, result in zip(idx, self.task.evaluate_batch(model, self._to_device(inputs), meta)):
                    if not padding[position]:  # the sampler repeats a few examples to even out the processes
                        results.append((i, result))
                    position += 1
        model.train(was_training)
        gathered = sorted((pair for part in d.all_gather(results) for pair in part), key=lambda pair: pair[0])
        return {f"eval_{k}": v for k, v in self.task.metrics([r for _, r in gathered]).items()}

    def _evaluate_and_track(self, log: MetricsLog) -> None:
        args, state = self.args, self.state
        metrics = self.evaluate()
        state.last_eval = {**metrics, "step": state.global_step}
        log.log(metrics, state.global_step)
        name = args.metric_for_best_model or self.task.main_metric
        key = name if name.startswith("eval_") else f"eval_{name}"
        if key not in metrics:
            raise ValueError(f"metric_for_best_model={name!r} is not one of the reported {sorted(metrics)}.")
        greater = args.greater_is_better if args.greater_is_better is not None else not key.endswith("loss")
        value = metrics[key]
        improved = state.best_metric is None or (
            value - state.best_metric > args.early_stopping_threshold if greater else state.best_metric - value > args.early_stopping_threshold
        )
        if improved:
            state.best_metric, state.best_step, state.evals_without_improvement = value, state.global_step, 0
        else:
            state.evals_without_improvement += 1
            if args.early_stopping_patience and state.evals_without_improvement >= args.early_stopping_patience:
                logger.info("Early stopping at step %d: %s did not improve for %d evaluations.", state.global_step, key, state.evals_without_improvement)
                state.should_stop = True

    # ---- checkpoints -----------------------------------------------------------------------------------------------------
    def _save_weights(self, directory: Path, state: dict[str, torch.Tensor]) -> None:
        """Write the model folder (rank 0) from the consolidated weights."""
        target = self.model
        if self._skeleton is not None:  # FSDP: the local module holds shards; fill the unsharded copy
            self._skeleton.load_state_dict(state, assign=True)
            for module in self._skeleton.modules():  # assign= gives tied weights separate tensors: share them again
                if hasattr(module, "tie_weights") and hasattr(module, "get_output_embeddings"):
                    module.tie_weights()
            target = self._skeleton
        self.task.save(target, directory)

    def _save_checkpoint(self, model, optimizer, scheduler, scaler) -> None:
        d, state = self.dist, self.state
        weights = full_model_state(model)  # collectives: every rank takes part
        optimizer_state = full_optimizer_state(model, optimizer)
        rngs = d.all_gather(rng_state())
        window = d.all_sum(state.window)  # the losses since the last log, summed over processes (resumed on rank 0)
        if d.is_main:
            path = self.output_dir / f"checkpoint-{state.global_step}"
            trainer_state = {
                **asdict(state), "window": window, "world_size": d.world_size, "scaler": scaler.state_dict(),
                "per_device_train_batch_size": self.args.per_device_train_batch_size,
                "gradient_accumulation_steps": self.args.gradient_accumulation_steps,
                "train_examples": len(self.train_dataset), "args": self.args.to_dict(),
            }

            with save_folder(path) as save:  # one atomic save: the model folder and the training state
                self._save_weights(save.path, weights)
                save_tree(optimizer_state, save.path, "optimizer")
                save_tree(rngs, save.path, "rng")
                (save.path / "scheduler.json").write_text(json.dumps(scheduler.state_dict()), encoding="utf-8")
                (save.path / STATE_NAME).write_text(json.dumps(trainer_state, indent=1), encoding="utf-8")
            self._rotate_checkpoints()
        d.barrier()

    def _rotate_checkpoints(self) -> None:
        limit = self.args.save_total_limit
        if not limit:
            return
        checkpoints = list_checkpoints(self.output_dir)
        best = f"checkpoint-{self.state.best_step}"
        removable = [c for c in checkpoints[:-1] if c.name != best]  # the newest and the best stay
        for old in removable[: max(0, len(checkpoints) - limit)]:
            shutil.rmtree(old, ignore_errors=True)

    def _resolve_checkpoint(self, resume: bool | str | os.PathLike | None) -> Path | None:
        if not resume:
            return None
        if resume is True:
            found = latest_checkpoint(self.output_dir)
            if found is None:
                logger.info("No checkpoint in %s: starting from the beginning.", self.output_dir)
            return found
        path = Path(resume)
        if not (path / STATE_NAME).is_file():
            raise FileNotFoundError(f"{str(path)!r} is not a training checkpoint (no {STATE_NAME}).")
        return path

    def _read_state(self, checkpoint: Path) -> TrainState:
        saved = json.loads((checkpoint / STATE_NAME).read_text(encoding="utf-8"))
        expected = {"world_size": self.dist.world_size, "per_device_train_batch_size": self.args.per_device_train_batch_size,
                    "gradient_accumulation_steps": self.args.gradient_accumulation_steps,
                    "train_examples": len(self.train_dataset)}
        changed = {k: (saved.get(k), v) for k, v in expected.items() if saved.get(k) != v}
        if changed:
            detail = ", ".join(f"{k} was {old}, now {new}" for k, (old, new) in changed.items())
            raise ValueError(f"Cannot resume from {checkpoint}: {detail}. The data position depends on them; resume with the "
                             "same data and settings.")
        names = {f.name for f in TrainState.__dataclass_fields__.values()}
        state = TrainState(**{k: v for k, v in saved.items() if k in names})
        if not self.dist.is_main:
            state.window = [0.0, 0.0]
        return state

    def _restore(self, checkpoint: Path, model, optimizer, scheduler, scaler) -> None:
        logger.info("Resuming from %s (step %d).", checkpoint, self.state.global_step)
        load_optimizer_state(model, optimizer, load_tree(checkpoint, "optimizer"))
        scheduler.load_state_dict(json.loads((checkpoint / "scheduler.json").read_text(encoding="utf-8")))
        saved = json.loads((checkpoint / STATE_NAME).read_text(encoding="utf-8"))
        if saved.get("scaler"):
            scaler.load_state_dict(saved["scaler"])
        set_rng_state(load_tree(checkpoint, "rng")[self.dist.rank])

    def _load_best(self, model: nn.Module) -> None:
        from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict

        best = self.output_dir / f"checkpoint-{self.state.best_step}"
        if not (best / STATE_NAME).is_file():
            raise FileNotFoundError(f"The best checkpoint {best} is missing; it was removed or never written.")
        logger.info("Loading the best checkpoint %s (%s).", best, self.state.best_metric)
        set_model_state_dict(model, self.task.load(best).state_dict(), options=StateDictOptions(full_state_dict=True))

    def save_model(self, path: str | os.PathLike | None = None) -> Path:
        """Write the model as a normal checkpoint folder (default output_dir/model), atomically; collective."""
        target = Path(path) if path is not None else self.output_dir / FINAL_MODEL_DIR
        model = self._prepare()
        weights = full_model_state(model)
        if self.dist.is_main:
            with save_folder(target) as save:
                self._save_weights(save.path, weights)
        self.dist.barrier()
        return target

    def close(self) -> None:
        """Leave the process group if this Trainer created it."""
        self.dist.close()


def _meta_copy(module: nn.Module) -> nn.Module:
    """A deep copy of `module` whose parameters and buffers are on the meta device (no memory)."""
    memo: dict[int, Any] = {}
    for p in module.parameters():
        memo[id(p)] = nn.Parameter(torch.empty_like(p, device="meta"), requires_grad=p.requires_grad)
    for b in module.buffers():
        memo[id(b)] = torch.empty_like(b, device="meta")
    return copy.deepcopy(module, memo)
