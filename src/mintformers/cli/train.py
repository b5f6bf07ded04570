"""`mintformers train`: fine-tune a model with mintformers.training.Trainer (also under `torchrun -m mintformers train`)."""

from __future__ import annotations

import argparse

from .common import EXIT_OK, CLIError, add_command, emit_json, positive_int, show_progress


def register(commands: argparse._SubParsersAction) -> None:
    p = add_command(commands, "train", cmd_train,
                    "fine-tune a model on .jsonl/.csv records (or .txt for language modelling); torchrun for DDP/FSDP")
    p.add_argument("--task", required=True, help="sequence-classification, token-classification, question-answering, "
                   "multiple-choice, masked-lm, causal-lm or sentence-embedding (the README lists their record fields)")
    p.add_argument("--model", "-m", required=True, help="local checkpoint folder or hub id to start from")
    p.add_argument("--train", required=True, metavar="FILE", help=".jsonl / .csv records (.txt: one text per line)")
    p.add_argument("--eval", metavar="FILE", help="records to evaluate on (every --eval-steps and at the end)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="checkpoints, metrics.jsonl and the final model (DIR/model)")
    p.add_argument("--epochs", type=float, default=3.0, help="passes over the data (default 3)")
    p.add_argument("--max-steps", type=positive_int, help="optimizer steps, instead of --epochs")
    p.add_argument("--batch-size", type=positive_int, default=8, help="examples per process and step (default 8)")
    p.add_argument("--gradient-accumulation", type=positive_int, default=1, help="micro-batches per step (default 1)")
    p.add_argument("--lr", type=float, default=5e-5, help="peak learning rate of AdamW (default 5e-5)")
    p.add_argument("--weight-decay", type=float, default=0.0, help="AdamW's decoupled weight decay (default 0)")
    p.add_argument("--warmup-ratio", type=float, default=0.0, help="share of steps warming up linearly (default 0)")
    p.add_argument("--max-grad-norm", type=float, default=1.0, help="gradient clipping (0: none; default 1)")
    p.add_argument("--max-length", type=positive_int, help="tokens per text (default: what the model allows)")
    precision = p.add_mutually_exclusive_group()
    precision.add_argument("--bf16", action="store_true", help="autocast to bfloat16")
    precision.add_argument("--fp16", action="store_true", help="autocast to float16 with a gradient scaler (GPU)")
    p.add_argument("--seed", type=int, default=42, help="seeds the head's initialisation, shuffling, dropout, masking (default 42)")
    p.add_argument("--eval-steps", type=positive_int, help="evaluate every N steps (default: at the end only)")
    p.add_argument("--save-steps", type=positive_int, default=500, help="checkpoint every N steps (default 500)")
    p.add_argument("--save-total-limit", type=positive_int, help="keep the newest N checkpoints (and the best)")
    p.add_argument("--metric", help="the metric that picks the best checkpoint (default: the task's, e.g. accuracy)")
    p.add_argument("--load-best", action="store_true", help="end with the best evaluated checkpoint's weights")
    p.add_argument("--early-stopping", type=positive_int, metavar="N", help="stop after N evaluations without improvement")
    p.add_argument("--logging-steps", type=positive_int, default=10, help="log the loss every N steps (default 10)")
    p.add_argument("--labels", help="comma-separated label names, in id order (default: sorted)")
    p.add_argument("--fsdp", action="store_true", help="shard the model with FSDP2 (under torchrun)")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in the output folder")
    p.add_argument("--report-to", default="auto", help="jsonl, tensorboard, both (comma-separated), auto or none")
    p.add_argument("--device", help="cpu or cuda (default: cuda:LOCAL_RANK when available)")


def cmd_train(args: argparse.Namespace) -> int:
    from ..training import Trainer, TrainingArguments
    from ..training.tasks import task_for

    task_for(args.task)  # an unknown task fails before anything loads
    if args.eval_steps and not args.eval:
        raise CLIError("--eval-steps needs --eval FILE to evaluate on.")
    training_args = TrainingArguments(
        args.output, num_train_epochs=args.epochs, max_steps=args.max_steps or -1,
        per_device_train_batch_size=args.batch_size, per_device_eval_batch_size=args.batch_size,
        gradient_accumulation_steps=args.gradient_accumulation, learning_rate=args.lr, weight_decay=args.weight_decay,
        warmup_ratio=args.warmup_ratio, max_grad_norm=args.max_grad_norm or None, max_length=args.max_length,
        bf16=args.bf16, fp16=args.fp16, seed=args.seed, eval_steps=args.eval_steps, save_steps=args.save_steps,
        save_total_limit=args.save_total_limit, metric_for_best_model=args.metric, load_best_model_at_end=args.load_best,
        early_stopping_patience=args.early_stopping, logging_steps=args.logging_steps,
        report_to=args.report_to.split(","), show_progress=show_progress(args), fsdp=args.fsdp, device=args.device,
    )
    labels = [name.strip() for name in args.labels.split(",")] if args.labels else None
    trainer = Trainer(args.model, training_args, task=args.task, train_dataset=args.train, eval_dataset=args.eval, labels=labels)
    try:
        result = trainer.train(resume_from_checkpoint=args.resume)
    finally:
        trainer.close()
    if not trainer.dist.is_main:  # every process trained; one reports
        return EXIT_OK
    model_dir = trainer.output_dir / "model"
    if args.json:
        emit_json({"steps": result.global_step, "loss": result.training_loss, "metrics": result.metrics, "model": str(model_dir)})
    else:
        metrics = ", ".join(f"{k.removeprefix('eval_')} {v:.4f}" for k, v in result.metrics.items())
        print(f"Trained {result.global_step} steps (loss {result.training_loss:.4f}); model saved to {model_dir}")
        if metrics:
            print(f"Evaluation: {metrics}")
    return EXIT_OK
