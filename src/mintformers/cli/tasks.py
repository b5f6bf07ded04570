"""Task commands: fill-mask, classify, ner, qa, generate, extract — a pipeline on a checkpoint fine-tuned for the
task. A checkpoint whose weights lack the task's head is refused instead of run with a random head."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from .checkpoints import untrained_head
from .common import (
    EXIT_OK,
    EXIT_USAGE,
    CLIError,
    add_command,
    add_encoding_option,
    add_model_option,
    add_runtime_options,
    clip,
    device,
    display_name,
    dtype,
    emit_json,
    positive_int,
    quantize,
    read_text,
    texts,
)

# CLI command → (pipeline task, Auto class whose head the checkpoint must have)
TASKS = {
    "fill-mask": ("fill-mask", "AutoModelForMaskedLM"),
    "classify": ("text-classification", "AutoModelForSequenceClassification"),
    "ner": ("token-classification", "AutoModelForTokenClassification"),
    "qa": ("question-answering", "AutoModelForQuestionAnswering"),
    "generate": ("text-generation", "AutoModelForCausalLM"),
    "extract": ("information-extraction", "AutoModelForInformationExtraction"),
}


def register(commands: argparse._SubParsersAction) -> None:
    def add(name: str, func, help: str, head: str, batched: bool = True) -> argparse.ArgumentParser:
        p = add_command(commands, name, func, help)
        add_model_option(p, required=True, help=f"local checkpoint folder or hub id of a model with a trained {head} head")
        add_runtime_options(p, batch_size=batched)
        add_encoding_option(p)
        return p

    p = add("fill-mask", cmd_fill_mask, "predict the masked token(s) of texts", "masked-LM")
    p.add_argument("texts", nargs="+", metavar="TEXT", help="texts with the tokenizer's mask token (- reads stdin)")
    p.add_argument("--top-k", type=positive_int, default=5, help="predictions per mask (default 5)")

    p = add("classify", cmd_classify, "classify texts (sentiment, topics, ...)", "sequence-classification")
    p.add_argument("texts", nargs="+", metavar="TEXT", help="texts to classify (- reads them from stdin)")
    p.add_argument("--top-k", type=positive_int, default=1, help="labels per text, best first (default 1)")

    p = add("ner", cmd_ner, "tag named entities", "token-classification")
    p.add_argument("texts", nargs="+", metavar="TEXT", help="texts to tag (- reads them from stdin)")
    p.add_argument("--aggregation", default="simple", choices=["none", "simple", "first", "average", "max"],
                   help="how sub-word predictions merge into entities (default simple)")

    p = add("qa", cmd_qa, "answer a question from a context passage", "question-answering", batched=False)
    p.add_argument("question", metavar="QUESTION", help="the question")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--context", help="the passage holding the answer (this or --context-file is required)")
    group.add_argument("--context-file", help="file with the passage (this or --context is required)")
    p.add_argument("--top-k", type=positive_int, default=1, help="answers, best first (default 1)")

    p = add("generate", cmd_generate, "continue a prompt, streaming tokens as they are generated", "causal-LM", batched=False)
    p.add_argument("prompt", metavar="PROMPT", nargs="?",
                   help="the text to continue (with --chat: the user's message); not with --messages")
    chat = p.add_mutually_exclusive_group()
    chat.add_argument("--chat", action="store_true",
                      help="send PROMPT as a user message, formatted with the tokenizer's chat template")
    chat.add_argument("--messages", metavar="FILE",
                      help='a JSON list of {"role", "content"} messages to answer (- reads stdin)')
    p.add_argument("--system", help="a system message before the user's (with --chat)")
    p.add_argument("--chat-template", metavar="FILE",
                   help="a Jinja chat template file, for a tokenizer without one (with --chat or --messages)")
    p.add_argument("--max-new-tokens", type=positive_int, default=50, help="tokens to generate at most (default 50)")
    p.add_argument("--temperature", type=temperature, default=0.0, help="0 = greedy (default); > 0 samples")
    p.add_argument("--seed", type=int, help="random seed for sampling")

    p = add("extract", cmd_extract, "extract spans for labels from texts (ErnieM information extraction)", "UIE")
    p.add_argument("texts", nargs="+", metavar="TEXT", help="texts to extract from (- reads them from stdin)")
    p.add_argument("--schema", required=True, help="comma-separated labels to extract, e.g. person,place")


def temperature(value: str) -> float:
    """--temperature: a finite number >= 0 (0 = greedy); what sampling cannot use is a usage error."""
    try:
        t = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not math.isfinite(t) or t < 0:
        raise argparse.ArgumentTypeError(f"{value!r} must be a finite number >= 0 (0: greedy; e.g. 0.7 samples)")
    return t


def check_head(model: str, auto_name: str) -> None:
    """Refuse a checkpoint whose weights do not train the head a task needs (it would run with a random head, or
    with another task's head)."""
    from ..auto import AutoConfig, model_class_for

    name = display_name(model)
    try:
        reason = untrained_head(model, auto_name)
    except ValueError as e:
        raise CLIError(f"{name} cannot do this task: {e}") from None
    if reason:
        cls_name = model_class_for(auto_name, AutoConfig.from_pretrained(model).model_type).__name__
        raise CLIError(
            f"{name} has no trained {cls_name} head (the checkpoint {reason}); pass --model with a checkpoint "
            "fine-tuned for this task."
        )


def _pipeline(args: argparse.Namespace, command: str | None = None, **options: Any):
    """The pipeline of a task command (default: the one running), after checking that the checkpoint has a
    trained head."""
    command = command or args.command
    task, auto_name = TASKS[command]
    if not args.model:  # argparse requires it of the task commands; `serve TASK` checks here
        raise CLIError(f"`{command}` needs --model: a checkpoint with a {auto_name.removeprefix('AutoModelFor')} head.", EXIT_USAGE)
    check_head(args.model, auto_name)
    from ..pipelines import pipeline

    if getattr(args, "batch_size", None):
        options.setdefault("batch_size", args.batch_size)
    return pipeline(task, model=args.model, device=device(args), torch_dtype=dtype(args), quantize=quantize(args), **options)


def _run(args: argparse.Namespace, call: dict[str, Any], **options: Any) -> tuple[list[str], list[Any]]:
    """The texts given (TEXT ... or stdin) and the task pipeline's result for each, called with `call`."""
    given = texts(args.texts, encoding=args.encoding)
    pipe = _pipeline(args, **options)
    result = pipe(given if len(given) > 1 else given[0], **call)
    return given, [result] if len(given) == 1 else list(result)  # pipelines return one result for one input


def cmd_fill_mask(args: argparse.Namespace) -> int:
    given, results = _run(args, {"top_k": args.top_k})
    if args.json:
        emit_json([{"text": t, "predictions": r} for t, r in zip(given, results)])
        return EXIT_OK
    for n, (text, predictions) in enumerate(zip(given, results)):
        print(("\n" if n else "") + text)
        for p in predictions if isinstance(predictions, list) else [predictions]:
            print(f"  {p['score']:.4f}  {p['token_str']:<15} {p.get('sequence', '')}")
    return EXIT_OK


def cmd_classify(args: argparse.Namespace) -> int:
    given, results = _run(args, {"top_k": args.top_k})
    if args.json:
        emit_json([{"text": t, "labels": r if isinstance(r, list) else [r]} for t, r in zip(given, results)])
        return EXIT_OK
    for text, labels in zip(given, results):
        labels = labels if isinstance(labels, list) else [labels]
        print(", ".join(f"{x['label']} {x['score']:.4f}" for x in labels) + f"  {clip(text, 80)}")
    return EXIT_OK


def cmd_ner(args: argparse.Namespace) -> int:
    given, results = _run(args, {"aggregation_strategy": args.aggregation})
    if args.json:
        emit_json([{"text": t, "entities": r} for t, r in zip(given, results)])
        return EXIT_OK
    for n, (text, entities) in enumerate(zip(given, results)):
        print(("\n" if n else "") + clip(text))
        if not entities:
            print("  (no entities)")
        for e in entities:
            label = e.get("entity_group", e.get("entity"))
            print(f"  {label:<8} {e['score']:.4f}  {e['word']}  [{e.get('start')}:{e.get('end')}]")
    return EXIT_OK


def cmd_qa(args: argparse.Namespace) -> int:
    question = texts([args.question], "question", args.encoding)[0]
    if args.context_file:
        if not Path(args.context_file).is_file():
            raise CLIError(f"File not found: {args.context_file}")
        context = read_text(args.context_file, args.encoding)
    else:
        context = args.context
    if not context or not context.strip():
        raise CLIError("qa needs a non-empty --context TEXT or --context-file FILE.")
    pipe = _pipeline(args)
    answer = pipe(question=question, context=context, top_k=args.top_k)
    answers = answer if isinstance(answer, list) else [answer]
    if args.json:
        emit_json({"question": question, "answers": answers})
        return EXIT_OK
    for a in answers:
        print(f"{a['answer']}  (score {a['score']:.4f}, characters {a['start']}-{a['end']})")
    return EXIT_OK


def cmd_generate(args: argparse.Namespace) -> int:
    from .chat import chat_prompt

    prompt = chat_prompt(args)  # the text to continue, or the messages to answer (--chat, --messages)
    pipe = _pipeline(args)
    if isinstance(prompt, list):
        return _generate_reply(args, pipe, prompt)
    kwargs = _generation_options(args)
    if args.json:
        emit_json({"prompt": prompt, "generated": pipe(prompt, **kwargs)})
        return EXIT_OK
    from ..generation import TextStreamer

    sys.stdout.write(prompt)
    sys.stdout.flush()
    pipe(prompt, streamer=TextStreamer(pipe.tokenizer, skip_prompt=True), **kwargs)  # prints tokens as they come
    return EXIT_OK


def _generation_options(args: argparse.Namespace) -> dict[str, Any]:
    """Greedy unless --temperature > 0 (then seeded by --seed). Greedy passes the neutral temperature 1.0: the
    pipeline's default (0.7, the reference's) would only draw a warning that sampling options go unused."""
    if args.seed is not None:
        import torch

        torch.manual_seed(args.seed)
    sampling = args.temperature > 0
    return {"max_new_tokens": args.max_new_tokens, "do_sample": sampling, "temperature": args.temperature if sampling else 1.0}


def _generate_reply(args: argparse.Namespace, pipe, messages: list[dict]) -> int:
    """The assistant's reply to `messages`, streamed (or the whole conversation with --json)."""
    from .chat import apply_template_option

    apply_template_option(args, pipe.tokenizer)
    kwargs = _generation_options(args)
    if args.json:
        emit_json({"messages": messages, "generated": pipe(messages, **kwargs)})
        return EXIT_OK
    from ..generation import TextStreamer

    pipe(messages, streamer=TextStreamer(pipe.tokenizer, skip_prompt=True), **kwargs)
    return EXIT_OK


def cmd_extract(args: argparse.Namespace) -> int:
    schema = [s.strip() for s in args.schema.split(",") if s.strip()]
    if not schema:
        raise CLIError("extract needs --schema with at least one label, e.g. --schema person,place")
    given, results = _run(args, {}, schema=schema)
    if args.json:
        emit_json([{"text": t, "result": r} for t, r in zip(given, results)])
        return EXIT_OK
    for text, result in zip(given, results):
        print(clip(text))
        print("  " + json.dumps(result, ensure_ascii=False))
    return EXIT_OK


