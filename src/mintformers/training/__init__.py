"""Fine-tuning: a Trainer for the task heads and sentence embeddings, in one process or under torchrun (DDP / FSDP2).

    from mintformers.training import Trainer, TrainingArguments

    args = TrainingArguments("out", num_train_epochs=3, per_device_train_batch_size=16, eval_steps=100)
    Trainer("path/to/model", args, task="sequence-classification",
            train_dataset="train.jsonl", eval_dataset="dev.jsonl").train(resume_from_checkpoint=True)

The same script under `torchrun --nproc_per_node N` trains with DDP (`fsdp=True`: FSDP2); see trainer.py.
"""

from .arguments import TrainingArguments
from .data import read_records
from .tasks import TASKS
from .trainer import Trainer, TrainOutput, TrainState

__all__ = ["Trainer", "TrainingArguments", "TrainState", "TrainOutput", "TASKS", "read_records"]
