"""The training loop: DDP and FSDP (gloo, two forked processes) against one process with the same global batch, a
killed run resumed bit for bit, checkpoints read without unpickling, best checkpoint, early stopping, logging."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from safetensors.torch import load_file

from mintformers.training import Trainer, TrainingArguments
from mintformers.training.checkpoint import list_checkpoints, load_tree

WORDS = "good new house bad old car fast train slow dog big red river small cat".split()


def records(n: int, seed: int = 0, labels: bool = True) -> list[dict]:
    rng = random.Random(seed)
    out = [{"text": " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9)))} for _ in range(n)]
    if labels:
        for r in out:
            r["label"] = int("good" in r["text"])
    return out


CLASSIFY = records(32)
TEXTS = records(32, seed=1, labels=False)


def train(model, out, task="sequence-classification", data=CLASSIFY, *, batch, accumulation=1, steps=4, resume=None,
          callbacks=(), **kwargs):
    # adam_epsilon 1e-6: attention key biases have an exactly-zero true gradient, so theirs is float rounding noise,
    # which Adam divides by sqrt(v) + eps; eps ≫ the noise keeps it from being amplified into visible updates
    settings = dict(max_steps=steps, per_device_train_batch_size=batch, gradient_accumulation_steps=accumulation,
                    learning_rate=1e-3, adam_epsilon=1e-6, weight_decay=0.01, warmup_steps=1, save_steps=2,
                    logging_steps=1, report_to="jsonl")
    args = TrainingArguments(str(out), **{**settings, **kwargs})
    trainer = Trainer(str(model), args, task=task, train_dataset=data, eval_dataset=data[:10], callbacks=list(callbacks))
    return trainer.train(resume)


def weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(run / "model" / "model.safetensors")


def max_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert sorted(a) == sorted(b)
    return max((a[k] - b[k]).abs().max().item() for k in a)


def logged(run: Path, key: str = "loss") -> list[float]:
    return [line[key] for line in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if key in line]


# ---- several processes, forked from this one (no new interpreter to start) -------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank_main(target, rank: int, world_size: int, port: int, args: tuple) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world_size),
                      LOCAL_RANK=str(rank))
    if world_size > 1:  # as torchrun's workers: the group exists before the Trainer, which then uses it
        dist.init_process_group("gloo")
    try:
        target(*args)
    finally:
        if world_size > 1:
            dist.destroy_process_group()


def run_processes(target, world_size: int, *args, timeout: float = 240) -> list[int]:
    """Run target(*args) in `world_size` forked processes with torchrun's environment; their exit codes."""
    context = multiprocessing.get_context("fork")
    port = _free_port()
    processes = [context.Process(target=_rank_main, args=(target, r, world_size, port, args)) for r in range(world_size)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout)
    for p in processes:
        if p.is_alive():
            p.kill()
            pytest.fail(f"rank {processes.index(p)} did not finish within {timeout} s")
    return [p.exitcode for p in processes]


class Crash(Exception):
    pass


def crash_at(step: int):
    def callback(state):
        if state.global_step == step:
            raise Crash
    return callback


def _two_process_runs(tiny: dict, out: Path) -> None:
    train(tiny["bert"], out / "ddp", batch=4)
    train(tiny["bert"], out / "fsdp", batch=2, accumulation=2, fsdp=True)
    train(tiny["mlm"], out / "mlm-ddp", "masked-lm", TEXTS, batch=4)
    with pytest.raises(Crash):  # FSDP killed after its step-2 checkpoint, then resumed
        train(tiny["bert"], out / "fsdp-resumed", batch=2, accumulation=2, fsdp=True, callbacks=[crash_at(3)])
    train(tiny["bert"], out / "fsdp-resumed", batch=2, accumulation=2, fsdp=True, resume=True)


def test_ddp_and_fsdp_equal_one_process_with_the_same_global_batch(tmp_path, tiny):
    assert run_processes(_two_process_runs, 2, tiny, tmp_path) == [0, 0]
    train(tiny["bert"], tmp_path / "one", batch=8)
    train(tiny["mlm"], tmp_path / "mlm-one", "masked-lm", TEXTS, batch=8)

    one, ddp, fsdp = weights(tmp_path / "one"), weights(tmp_path / "ddp"), weights(tmp_path / "fsdp")
    assert max_difference(ddp, one) < 1e-5  # 2 processes × 4 = 1 process × 8
    assert max_difference(fsdp, ddp) < 1e-5  # 2 processes × 2 × 2 accumulation steps, sharded
    # masked LM: the loss averages over masked tokens of all processes, not over per-process means
    assert max_difference(weights(tmp_path / "mlm-ddp"), weights(tmp_path / "mlm-one")) < 1e-5
    assert max_difference(weights(tmp_path / "fsdp-resumed"), fsdp) < 1e-6
    for run in ("ddp", "fsdp", "fsdp-resumed"):
        assert logged(tmp_path / run) == pytest.approx(logged(tmp_path / "one"), abs=1e-5)
        assert logged(tmp_path / run, "eval_accuracy") == logged(tmp_path / "one", "eval_accuracy")
    # FSDP saved one consolidated checkpoint, a normal model folder
    assert sorted(p.name for p in (tmp_path / "fsdp").glob("checkpoint-*")) == ["checkpoint-2"]
    assert not list((tmp_path / "fsdp" / "model").glob("*shard*")) and (tmp_path / "fsdp" / "model" / "config.json").is_file()


# ---- a killed run, resumed ---------------------------------------------------------------------------------------------


def _killed_run(model: Path, out: Path) -> None:
    def kill(state):
        if state.global_step == 7:  # after the step-5 checkpoint: SIGKILL, no clean-up of any kind
            os.kill(os.getpid(), signal.SIGKILL)

    train(model, out, data=CLASSIFY[:15], batch=4, steps=12, save_steps=5, logging_steps=3, callbacks=[kill])


def test_a_killed_run_resumes_exactly(tmp_path, models, monkeypatch):
    model = models["base"]  # dropout on: the saved random states matter
    assert run_processes(_killed_run, 1, model, tmp_path / "killed") == [-signal.SIGKILL]
    assert [p.name for p in list_checkpoints(tmp_path / "killed")] == ["checkpoint-5"]
    train(model, tmp_path / "full", data=CLASSIFY[:15], batch=4, steps=12, save_steps=5, logging_steps=3)

    def refuse(*args, **kwargs):
        raise AssertionError("resuming must not unpickle anything")

    monkeypatch.setattr(torch, "load", refuse)
    train(model, tmp_path / "killed", data=CLASSIFY[:15], batch=4, steps=12, save_steps=5, logging_steps=3, resume=True)
    full, resumed = weights(tmp_path / "full"), weights(tmp_path / "killed")
    assert all(torch.equal(full[k], resumed[k]) for k in full)  # bit for bit
    # the killed run's lines after step 5 were dropped and logged again, identically
    assert (tmp_path / "killed" / "metrics.jsonl").read_text() == (tmp_path / "full" / "metrics.jsonl").read_text()


def test_checkpoints_are_safetensors_and_json(tmp_path, tiny):
    train(tiny["bert"], tmp_path, batch=4, steps=3)
    checkpoint = tmp_path / "checkpoint-2"
    suffixes = {p.suffix for p in checkpoint.iterdir()}
    assert suffixes <= {".json", ".safetensors", ".txt"}, suffixes  # no pickle anywhere (.txt: the vocabulary)
    optimizer = load_tree(checkpoint, "optimizer")
    assert optimizer["param_groups"][0]["betas"] == (0.9, 0.999)
    assert {"exp_avg", "exp_avg_sq", "step"} <= set(optimizer["state"]["classifier.weight"])
    assert load_tree(checkpoint, "rng")[0]["torch"].dtype == torch.uint8
    state = json.loads((checkpoint / "trainer_state.json").read_text())
    assert (state["global_step"], state["epoch"], state["micro_in_epoch"], state["world_size"]) == (2, 0, 2, 1)


def test_resuming_with_other_batch_settings_is_refused(tmp_path, tiny):
    train(tiny["bert"], tmp_path, batch=4, steps=3)
    with pytest.raises(ValueError, match="per_device_train_batch_size was 4, now 2"):
        train(tiny["bert"], tmp_path, batch=2, steps=3, resume=True)


def test_a_checkpoint_that_failed_half_way_does_not_count(tmp_path, tiny, monkeypatch):
    import mintformers.training.trainer as trainer_module

    original = trainer_module.save_tree

    def fail_on_rng(obj, directory, name):
        if name == "rng":  # the model and optimizer are written by now
            raise OSError("disk full")
        original(obj, directory, name)

    monkeypatch.setattr(trainer_module, "save_tree", fail_on_rng)
    with pytest.raises(OSError, match="disk full"):
        train(tiny["bert"], tmp_path, batch=4, steps=3)
    assert list_checkpoints(tmp_path) == [] and not (tmp_path / "checkpoint-2").exists()  # (the failed save's folder goes)


# ---- evaluation, best checkpoint, early stopping, logging ------------------------------------------------------------


def test_best_checkpoint_kept_and_loaded_and_early_stopping(tmp_path, tiny):
    # "best" = the highest eval loss, i.e. the first evaluation, so everything after it counts as no improvement
    out = train(tiny["bert"], tmp_path, batch=4, steps=20, eval_steps=2, save_steps=2, save_total_limit=1,
                metric_for_best_model="loss", greater_is_better=True, early_stopping_patience=2, load_best_model_at_end=True)
    assert out.global_step == 6  # evaluations at 2, 4, 6; the last two did not improve
    assert [p.name for p in list_checkpoints(tmp_path)] == ["checkpoint-2", "checkpoint-6"]  # the best and the newest
    best = load_file(tmp_path / "checkpoint-2" / "model.safetensors")
    assert max_difference(weights(tmp_path), best) == 0.0


def test_tensorboard_events_and_progress_bar(tmp_path, tiny, capsys):
    train(tiny["bert"], tmp_path, batch=4, steps=2, eval_steps=2, report_to=["jsonl", "tensorboard"], show_progress=True)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "runs"))
    events.Reload()
    assert {"loss", "learning_rate", "eval_accuracy"} <= set(events.Tags()["scalars"])
    assert [e.step for e in events.Scalars("loss")] == [1, 2]
    assert "Training (loss" in capsys.readouterr().err


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_autocast_trains_and_resumes(tmp_path, tiny, precision):
    out = train(tiny["bert"], tmp_path, batch=4, steps=3, **{precision: True})
    assert torch.isfinite(torch.tensor(out.training_loss))
    assert next(iter(weights(tmp_path).values())).dtype == torch.float32  # master weights stay in float32
    scaler = json.loads((tmp_path / "checkpoint-2" / "trainer_state.json").read_text())["scaler"]
    assert (scaler.get("scale", 0) > 0) == (precision == "fp16")  # fp16's loss scale is part of the checkpoint


def test_records_from_jsonl_and_csv_files(tmp_path, tiny):
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in CLASSIFY[:8]) + "\n")
    rows = ["text,label"] + [f"{r['text']},{r['label']}" for r in CLASSIFY[:8]]
    (tmp_path / "dev.csv").write_text("\n".join(rows) + "\n")
    args = TrainingArguments(str(tmp_path / "out"), max_steps=2, per_device_train_batch_size=4, report_to="none", save_steps=None)
    trainer = Trainer(str(tiny["bert"]), args, task="sequence-classification", train_dataset=tmp_path / "train.jsonl",
                      eval_dataset=tmp_path / "dev.csv")
    assert trainer.eval_dataset[0] == CLASSIFY[0]  # CSV cells holding numbers are numbers
    assert trainer.train().metrics["eval_accuracy"] >= 0.0
    (tmp_path / "bad.jsonl").write_text('{"text": "a", "label": 1}\n{"text": \n')
    with pytest.raises(ValueError, match=r"bad.jsonl:2 is not valid JSON"):
        Trainer(str(tiny["bert"]), args, task="sequence-classification", train_dataset=tmp_path / "bad.jsonl")
