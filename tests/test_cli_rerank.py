"""`mintformers rerank` (cli/rerank.py) on the tiny one-label reranker: the order and scores CrossEncoder.rank gives,
passages as arguments, from a file or stdin, --top-k, --json, and its errors (one line, exit codes)."""

from __future__ import annotations

import io
import json

import pytest

from mintformers import CrossEncoder
from mintformers.cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE, main

QUERY = "a man is eating food"
PASSAGES = ["a man is eating a piece of bread", "the girl plays the violin", "the cat sleeps in the tree", "hello world"]


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def expected(models):
    return CrossEncoder(models["rerank"], device="cpu").rank(QUERY, PASSAGES)


def test_rerank_prints_the_passages_best_first(capsys, models, expected):
    code, out, err = run(capsys, "rerank", "--model", models["rerank"], QUERY, *PASSAGES)
    assert code == EXIT_OK, err
    lines = out.splitlines()
    assert lines[0] == f"Query: {QUERY}"
    assert lines[1:] == [f"  {i}. {float(h['score']):.4f}  {PASSAGES[h['corpus_id']]}" for i, h in enumerate(expected, start=1)]


def test_rerank_json_top_k_and_a_passages_file(capsys, models, expected, tmp_path, monkeypatch):
    (tmp_path / "passages.txt").write_text("\n".join(PASSAGES) + "\n\n")
    code, out, err = run(capsys, "rerank", "-m", models["rerank"], QUERY, "--passages", tmp_path / "passages.txt",
                         "--top-k", 2, "--json")
    assert code == EXIT_OK, err
    data = json.loads(out)
    assert data["query"] == QUERY and len(data["results"]) == 2
    assert [r["corpus_id"] for r in data["results"]] == [h["corpus_id"] for h in expected[:2]]
    assert data["results"][0]["score"] == pytest.approx(float(expected[0]["score"]), abs=1e-6)
    assert data["results"][0]["text"] == PASSAGES[expected[0]["corpus_id"]]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(PASSAGES)))
    code, out, _ = run(capsys, "rerank", "-m", models["rerank"], QUERY, "--passages", "-", "--json")
    assert code == EXIT_OK and [r["corpus_id"] for r in json.loads(out)["results"]] == [h["corpus_id"] for h in expected]


@pytest.mark.parametrize("argv, code, words", [
    (["QUERY"], EXIT_ERROR, ["No passages"]),
    (["QUERY", "p1", "--passages", "x.txt"], EXIT_ERROR, ["not both"]),
    (["QUERY", "--passages", "missing.txt"], EXIT_ERROR, ["not found"]),
    (["", "p1"], EXIT_ERROR, ["Empty query"]),
    (["QUERY", "p1", "--top-k", "0"], EXIT_USAGE, ["--top-k"]),
])
def test_rerank_errors(capsys, models, argv, code, words):
    got, out, err = run(capsys, "rerank", "--model", models["rerank"], *argv)
    assert got == code and out == ""
    errors = [line for line in err.splitlines() if line.startswith("mintformers: error:")]
    assert len(errors) == 1 and "Traceback" not in err  # one error line (usage errors print the usage first)
    for word in words:
        assert word in err


def test_rerank_needs_a_one_label_model_and_a_model(capsys, models):
    code, _, err = run(capsys, "rerank", "--model", models["cls"], QUERY, *PASSAGES)
    assert code == EXIT_ERROR and "one-label cross-encoder" in err and "2 labels" in err
    code, _, err = run(capsys, "rerank", QUERY, *PASSAGES)
    assert code == EXIT_USAGE and "--model" in err
