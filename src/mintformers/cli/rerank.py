"""`mintformers rerank`: order passages by relevance to a query with a cross-encoder (a reranker checkpoint)."""

from __future__ import annotations

import argparse

from .common import (
    EXIT_OK,
    CLIError,
    add_command,
    add_encoding_option,
    add_model_option,
    add_runtime_options,
    clip,
    device,
    dtype,
    emit_json,
    positive_int,
    quantize,
    read_lines,
    show_progress,
    texts,
)


def register(commands: argparse._SubParsersAction) -> None:
    p = add_command(commands, "rerank", cmd_rerank,
                    "order passages by relevance to a query with a cross-encoder (e.g. an ms-marco reranker)")
    add_model_option(p, required=True, help="a cross-encoder: sequence-classification checkpoint with one label (folder or hub id)")
    add_runtime_options(p)
    add_encoding_option(p)
    p.add_argument("query", metavar="QUERY", help="the question or search text")
    p.add_argument("passages", nargs="*", metavar="PASSAGE", help="passages to rank (or --passages FILE)")
    p.add_argument("--passages", dest="passages_file", metavar="FILE",
                   help="a text file with one passage per line (- reads them from stdin)")
    p.add_argument("--top-k", type=positive_int, help="show only the best K (default: all)")
    p.add_argument("--max-length", type=positive_int, help="tokens per query + passage pair (default: the model's limit)")


def cmd_rerank(args: argparse.Namespace) -> int:
    from ..embeddings import CrossEncoder

    (query,) = texts([args.query], "query", args.encoding)
    if args.passages and args.passages_file:
        raise CLIError("Give the passages either as arguments or with --passages FILE, not both.")
    if args.passages_file:
        passages = [text for _, text in read_lines(args.passages_file, args.encoding)]
        if not passages:
            raise CLIError(f"{args.passages_file} holds no passages.")
    elif args.passages:
        passages = texts(args.passages, "passage", args.encoding)
    else:
        raise CLIError("No passages to rank: give them after the query or with --passages FILE.")
    model_kwargs = {"torch_dtype": dtype(args), "quantize": quantize(args)}
    model = CrossEncoder(args.model, device=device(args), max_length=args.max_length, model_kwargs=model_kwargs)
    if model.num_labels != 1:
        raise CLIError(
            f"{args.model} classifies pairs into {model.num_labels} labels; rerank needs a one-label cross-encoder "
            "(a relevance score), such as cross-encoder/ms-marco-MiniLM-L6-v2."
        )
    hits = model.rank(query, passages, top_k=args.top_k, batch_size=args.batch_size, show_progress_bar=show_progress(args))
    if args.json:
        emit_json({
            "model": args.model, "query": query,
            "results": [{"corpus_id": h["corpus_id"], "score": float(h["score"]), "text": passages[h["corpus_id"]]} for h in hits],
        })
        return EXIT_OK
    print(f"Query: {query}")
    for rank, hit in enumerate(hits, start=1):
        print(f"  {rank}. {float(hit['score']):.4f}  {clip(passages[hit['corpus_id']], 110)}")
    return EXIT_OK
