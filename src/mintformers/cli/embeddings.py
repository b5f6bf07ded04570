"""Sentence-embedding commands: demo, similarity, search, embed (default model: the bundled all-MiniLM-L6-v2)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from .common import (
    EXIT_OK,
    CLIError,
    add_command,
    add_encoding_option,
    add_model_option,
    add_runtime_options,
    check_outputs,
    clip,
    display_name,
    emit_json,
    load_encoder,
    model_name,
    note_truncated,
    positive_int,
    read_lines,
    read_text,
    show_progress,
    texts,
)
from .ray_embed import add_ray_options, cmd_embed_ray

DEMO_QUERIES = (
    "How do plants make their food?",
    "What should I eat for dinner tonight?",
    "How do computers understand language?",
)
DEMO_PAIR = ("A man is eating food.", "A man is eating a piece of bread.")


def register(commands: argparse._SubParsersAction) -> None:
    p = add_command(commands, "demo", cmd_demo, "semantic search over the bundled demo corpus, plus one similarity score")
    add_model_option(p)
    add_runtime_options(p)
    p.add_argument("--top-k", type=positive_int, default=3, help="results per query (default 3)")

    p = add_command(commands, "similarity", cmd_similarity, "similarity of the first text to each of the others")
    add_model_option(p)
    add_runtime_options(p)
    add_encoding_option(p)
    p.add_argument("texts", nargs="+", metavar="TEXT", help="two or more texts (- reads them from stdin, one per line)")
    p.add_argument("--matrix", action="store_true", help="print the full matrix of all pairs")

    p = add_command(commands, "search", cmd_search,
                    "semantic search over a text file (one passage per line) or a folder of .txt/.md files")
    add_model_option(p)
    add_runtime_options(p)
    add_encoding_option(p)
    p.add_argument("queries", nargs="+", metavar="QUERY", help="one or more queries (- reads them from stdin)")
    p.add_argument("--corpus", required=True, help="text file (one passage per line) or folder (one passage per paragraph)")
    p.add_argument("--index", help="save the corpus embeddings here (PATH.npy + PATH.jsonl) and reuse them while they match")
    p.add_argument("--rebuild", action="store_true", help="re-embed the corpus even if --index matches")
    p.add_argument("--top-k", type=positive_int, default=5, help="results per query (default 5)")

    p = add_command(commands, "embed", cmd_embed, "embed a text file, one text per line (--ray: a corpus, on Ray)")
    add_model_option(p)
    add_runtime_options(p)
    add_encoding_option(p)
    p.add_argument("file", nargs="*", metavar="FILE", help="text file, or - for stdin (--ray: .jsonl/.parquet/.txt files or folders)")
    p.add_argument("-o", "--output", required=True, help="OUT.npy (+ OUT.jsonl with the texts) or OUT.jsonl (vectors inline)")
    p.add_argument("--normalize", action="store_true", help="scale embeddings to unit length")
    add_ray_options(p)


def read_corpus(path: str, encoding: str | None = None) -> list[dict[str, Any]]:
    """Passages with their origin: a text file gives one passage per line; a folder gives one per paragraph
    (blank-line separated) of every .txt / .md file in it, recursively, in path order."""
    p = Path(path)
    if not p.exists():
        raise CLIError(f"Corpus not found: {path}")
    if p.is_file():
        records = [{"text": text, "source": p.name, "line": n} for n, text in read_lines(path, encoding)]
    else:
        records = []
        files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in (".txt", ".md"))
        if not files:
            raise CLIError(f"No .txt or .md files in {path}")
        for f in files:
            paragraph: list[str] = []
            start = 0
            lines = read_text(f, encoding).splitlines() + [""]
            for n, line in enumerate(lines, start=1):
                if line.strip():
                    if not paragraph:
                        start = n
                    paragraph.append(line.strip())
                elif paragraph:
                    records.append({"text": " ".join(paragraph), "source": str(f.relative_to(p)), "line": start})
                    paragraph = []
    if not records:
        raise CLIError(f"The corpus {path} holds no text.")
    return records


def cmd_demo(args: argparse.Namespace) -> int:
    from importlib import resources

    from ..embeddings import semantic_search

    start = time.perf_counter()
    encoder = load_encoder(args)
    corpus_file = resources.files("mintformers") / "data" / "demo_corpus.txt"
    passages = [line.strip() for line in corpus_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    loaded = time.perf_counter()
    show = show_progress(args)
    corpus = encoder.encode(passages, batch_size=args.batch_size, convert_to_tensor=True, show_progress_bar=show)
    queries = encoder.encode(list(DEMO_QUERIES), batch_size=args.batch_size, convert_to_tensor=True)
    pair = encoder.encode(list(DEMO_PAIR), convert_to_tensor=True)
    hits = semantic_search(queries, corpus, top_k=args.top_k, score_function=encoder.similarity)
    score = float(encoder.similarity(pair[0], pair[1])[0, 0])
    done = time.perf_counter()
    model = display_name(model_name(args))
    if args.json:
        emit_json({
            "model": model,
            "corpus_size": len(passages),
            "results": [
                {"query": q, "hits": [{"corpus_id": h["corpus_id"], "score": h["score"], "text": passages[h["corpus_id"]]} for h in qh]}
                for q, qh in zip(DEMO_QUERIES, hits)
            ],
            "similarity": {"a": DEMO_PAIR[0], "b": DEMO_PAIR[1], "score": score, "function": encoder.similarity_fn_name},
            "seconds": {"load": loaded - start, "encode_and_search": done - loaded},
        })
        return EXIT_OK
    print(f"Semantic search over {len(passages)} passages with {model} ({encoder.device.type}, {str(encoder.dtype).replace('torch.', '')})")
    for query, query_hits in zip(DEMO_QUERIES, hits):
        print(f"\nQuery: {query}")
        for rank, hit in enumerate(query_hits, start=1):
            print(f"  {rank}. {hit['score']:.4f}  {clip(passages[hit['corpus_id']], 110)}")
    print(f"\n{encoder.similarity_fn_name.capitalize()} similarity of \"{DEMO_PAIR[0]}\" and \"{DEMO_PAIR[1]}\": {score:.4f}")
    print(f"Loaded in {loaded - start:.2f} s; embedded {len(passages) + len(DEMO_QUERIES) + 2} texts and searched in {done - loaded:.2f} s.")
    return EXIT_OK


def cmd_similarity(args: argparse.Namespace) -> int:
    given = texts(args.texts, encoding=args.encoding)
    if len(given) < 2:
        raise CLIError("similarity needs at least two texts.")
    encoder = load_encoder(args)
    emb = encoder.encode(given, batch_size=args.batch_size, convert_to_tensor=True, show_progress_bar=show_progress(args))
    note_truncated(encoder, given, args)
    if args.matrix:
        matrix = encoder.similarity(emb, emb).tolist()
        if args.json:
            emit_json({"model": display_name(model_name(args)), "function": encoder.similarity_fn_name, "texts": given, "matrix": matrix})
        else:
            for i, row in enumerate(matrix):
                print("  ".join(f"{v:7.4f}" for v in row) + f"   [{i}] {clip(given[i], 60)}")
        return EXIT_OK
    scores = encoder.similarity(emb[:1], emb[1:])[0].tolist()
    if args.json:
        emit_json({
            "model": display_name(model_name(args)),
            "function": encoder.similarity_fn_name,
            "text": given[0],
            "scores": [{"text": t, "score": s} for t, s in zip(given[1:], scores)],
        })
    else:
        for text, score in zip(given[1:], scores):
            print(f"{score:7.4f}  {clip(text)}")
    return EXIT_OK


def cmd_search(args: argparse.Namespace) -> int:
    from ..embeddings import load_embeddings, save_embeddings, semantic_search, texts_fingerprint

    queries = texts(args.queries, "query", args.encoding)
    if args.index:
        from ..embeddings.index import _index_paths

        check_outputs(*_index_paths(args.index))
    model = model_name(args)
    records = read_corpus(args.corpus, args.encoding)
    passages = [r["text"] for r in records]
    encoder = load_encoder(args)
    wanted = {"model": display_name(model), "max_seq_length": encoder.max_seq_length}
    corpus = None
    if args.index and not args.rebuild:
        try:
            saved = load_embeddings(args.index)
        except FileNotFoundError:
            saved = None
        except OSError as e:
            print(f"mintformers: the index {args.index} is unreadable ({e}); rebuilding it.", file=sys.stderr)
            saved = None
        if saved is not None:
            same = texts_fingerprint(saved.texts) == texts_fingerprint(passages) and all(
                saved.metadata.get(k) == v for k, v in wanted.items()
            )
            if same:
                corpus = saved.embeddings
                if not args.quiet:
                    print(f"mintformers: using the saved index {args.index} ({len(passages)} passages).", file=sys.stderr)
            elif not args.quiet:
                print(f"mintformers: the index {args.index} does not match this corpus or model; rebuilding it.", file=sys.stderr)
    if corpus is None:
        corpus = encoder.encode(passages, batch_size=args.batch_size, show_progress_bar=show_progress(args))
        note_truncated(encoder, passages, args)
        if args.index:
            npy, jsonl = save_embeddings(args.index, corpus, records, metadata=wanted)
            if not args.quiet:
                print(f"mintformers: saved the index to {npy} and {jsonl}.", file=sys.stderr)
    query_emb = encoder.encode(queries, batch_size=args.batch_size)
    hits = semantic_search(query_emb, corpus, top_k=args.top_k, score_function=encoder.similarity)
    if args.json:
        emit_json({
            "model": display_name(model),
            "corpus_size": len(passages),
            "results": [
                {"query": q, "hits": [{"corpus_id": h["corpus_id"], "score": h["score"], **records[h["corpus_id"]]} for h in qh]}
                for q, qh in zip(queries, hits)
            ],
        })
        return EXIT_OK
    for n, (query, query_hits) in enumerate(zip(queries, hits)):
        print(("\n" if n else "") + f"Query: {query}")
        for rank, hit in enumerate(query_hits, start=1):
            r = records[hit["corpus_id"]]
            print(f"  {rank}. {hit['score']:.4f}  {clip(r['text'])}  ({r['source']}:{r['line']})")
    return EXIT_OK


def cmd_embed(args: argparse.Namespace) -> int:
    import numpy as np

    from ..embeddings import save_embeddings
    from ..storage import atomic_path

    if args.ray is not None:
        return cmd_embed_ray(args)
    if len(args.file) != 1:
        raise CLIError("Give one text file to embed (several inputs and folders need --ray).")
    args.file = args.file[0]
    out = Path(args.output)
    if out.suffix not in (".npy", ".jsonl"):
        raise CLIError(f"Output {args.output} must end in .npy (array + .jsonl sidecar) or .jsonl (one JSON per text).")
    check_outputs(out, out.with_suffix(".jsonl"))
    lines = read_lines(args.file, args.encoding)
    if not lines:
        raise CLIError(f"{'Standard input' if args.file == '-' else args.file} holds no text to embed.")
    given = [t for _, t in lines]
    encoder = load_encoder(args)
    emb = encoder.encode(
        given, batch_size=args.batch_size, normalize_embeddings=args.normalize, show_progress_bar=show_progress(args)
    )
    note_truncated(encoder, given, args)
    if out.suffix == ".npy":
        records = [{"text": t, "line": n} for n, t in lines]
        files = [str(p) for p in save_embeddings(out, emb, records, metadata={"model": display_name(model_name(args))})]
    else:
        with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8") as f:
            for (n, text), vector in zip(lines, emb.astype(np.float64).tolist()):
                f.write(json.dumps({"line": n, "text": text, "embedding": vector}, ensure_ascii=False) + "\n")
        files = [str(out)]
    if args.json:
        emit_json({"count": len(given), "dim": int(emb.shape[1]), "files": files})
    else:
        print(f"Embedded {len(given)} texts ({emb.shape[1]} dimensions) into {' and '.join(files)}")
    return EXIT_OK
