"""The bad-input catalogue, command line: each case is a command a careful user or an unlucky operator could type,
its exit code, and the words its one error line must contain (the problem and the fix) — never a traceback. The
Python API's catalogue is tests/test_errors.py.
"""

from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path

import pytest
import torch

from mintformers import BertForMaskedLM
from mintformers.cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE, main
from mintformers.loading import load_state_dict


@pytest.fixture(scope="module")
def work(tmp_path_factory, models) -> Path:
    """The files the catalogue's commands name."""
    w = tmp_path_factory.mktemp("cli-errors")
    shutil.copytree(models["mlm"], w / "corrupt")
    weights = w / "corrupt" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:2000])
    BertForMaskedLM.from_pretrained(models["mlm"]).save_pretrained(w / "sharded", max_shard_size="40KB")
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(models["mlm"] / name, w / "sharded" / name)
    (w / "sharded" / "model-00002-of-00003.safetensors").unlink()
    shutil.copytree(models["mlm"], w / "bad-json")
    (w / "bad-json" / "config.json").write_text("{bad")
    (w / "no-config").mkdir()
    shutil.copytree(models["cls"], w / "cls-bin")  # a classifier in the older .bin format
    torch.save(load_state_dict(w / "cls-bin" / "model.safetensors"), w / "cls-bin" / "pytorch_model.bin")
    (w / "cls-bin" / "model.safetensors").unlink()
    shutil.copytree(models["mlm"], w / "no-tokenizer", ignore=shutil.ignore_patterns("vocab.txt", "tokenizer*"))
    shutil.copytree(models["st"], w / "bad-modules")
    (w / "bad-modules" / "modules.json").write_text('[{"idx": 0')
    (w / "binary.txt").write_bytes(b"hello\nwor\xffld\x00\x01\n")
    (w / "latin.txt").write_bytes("café\nnaïve\n".encode("latin-1"))
    (w / "ok.txt").write_text("a man is eating food\n")
    (w / "some-file").write_text("x")
    (w / "a-folder.npy").mkdir()
    return w


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


@pytest.fixture
def one_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)


@pytest.fixture
def offline(monkeypatch):
    import huggingface_hub.constants as c
    from huggingface_hub.utils import reset_sessions

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True)
    yield
    reset_sessions()  # a session made while offline refuses every request, later tests' local servers included


# (argv, exit code, words of the error line, fixtures); {w} is the workspace, {st}/{mlm}/{cls}/{gen}/{rerank} tiny
# checkpoints
CASES = [
    # checkpoints that cannot be read: what is wrong and what to do, and `info` says what the others say
    ("info {w}/corrupt", EXIT_ERROR, ["model.safetensors", "not a readable safetensors file", "Re-download"], ()),
    ("similarity a b --model {w}/corrupt", EXIT_ERROR, ["not a readable safetensors file", "Re-download"], ()),
    ("info {w}/sharded", EXIT_ERROR, ["model-00002-of-00003.safetensors", "missing", "Download the checkpoint again"], ()),
    ("fill-mask --model {w}/sharded x", EXIT_ERROR, ["model-00002-of-00003.safetensors", "missing"], ()),
    ("similarity a b --model {w}/no-config", EXIT_ERROR, ["has no config.json", "Pass the folder"], ()),
    ("similarity a b --model {w}/no-tokenizer", EXIT_ERROR, ["'tokenizer.json' or 'vocab.txt' not found", "Pass the directory that holds"], ()),
    ("info {w}/no-config", EXIT_ERROR, ["has no config.json", "Pass the folder that holds config.json"], ()),
    ("info {w}/ok.txt", EXIT_ERROR, ["ok.txt' is a file", "pass the folder that contains it"], ()),
    ("info no/such/folder", EXIT_ERROR, ["neither an existing local directory nor", "Check the path"], ()),
    ("fill-mask --model {w}/bad-json x", EXIT_ERROR, ["config.json", "not valid JSON", "Re-download"], ()),
    ("info {w}/bad-modules", EXIT_ERROR, ["modules.json", "corrupt or truncated", "Re-download"], ()),
    ("similarity a b --model {w}/bad-modules", EXIT_ERROR, ["modules.json", "corrupt or truncated", "Re-download"], ()),
    # a hub id while offline: at once, naming the file it needed and what to do
    ("similarity a b --model someone/not-downloaded", EXIT_ERROR, ["Cannot get 'modules.json'", "someone/not-downloaded", "offline mode is on", "local directory"], ("offline",)),
    ("info someone/not-downloaded", EXIT_ERROR, ["Cannot get 'config.json'", "offline mode is on", "download the model once"], ("offline",)),
    ("convert someone/not-downloaded {w}/out", EXIT_ERROR, ["Cannot get 'config.json'", "offline mode is on"], ("offline",)),
    ("classify x --model someone/not-downloaded", EXIT_ERROR, ["Cannot get 'config.json'", "offline mode is on"], ("offline",)),
    # devices the machine or build does not have: a usage error naming what there is
    ("similarity a b --model {st} --device cuda", EXIT_USAGE, ["--device cuda", "available: cpu"], ("no_gpu",)),
    ("similarity a b --model {st} --device mps", EXIT_USAGE, ["--device mps", "not available", "available: cpu"], ("no_gpu",)),
    ("similarity a b --model {st} --device cuda:3", EXIT_USAGE, ["no CUDA device 3", "cpu, cuda:0"], ("one_gpu",)),
    ("classify x --model {cls} --device tpu", EXIT_USAGE, ["'tpu' is not a device"], ()),
    # input files: binary or not UTF-8 is refused with the name and the byte offset
    ("embed {w}/binary.txt -o {w}/x.npy --model {st}", EXIT_ERROR, ["binary.txt", "looks binary", "offset 12"], ()),
    ("embed {w}/latin.txt -o {w}/x.npy --model {st}", EXIT_ERROR, ["latin.txt", "byte 0xe9 at offset 3", "line 1", "--encoding"], ()),
    ("search --corpus {w}/latin.txt q --model {st}", EXIT_ERROR, ["latin.txt", "byte 0xe9", "--encoding"], ()),
    ("qa who? --context-file {w}/binary.txt --model {mlm}", EXIT_ERROR, ["binary.txt", "looks binary"], ()),
    ("rerank q --passages {w}/latin.txt --model {rerank}", EXIT_ERROR, ["latin.txt", "byte 0xe9", "--encoding"], ()),
    ("embed {w}/ok.txt -o {w}/x.npy --model {st} --encoding klingon", EXIT_USAGE, ["'klingon' is not an encoding"], ()),
    # outputs
    ("embed {w}/ok.txt -o {w}/some-file/out.npy --model {st}", EXIT_ERROR, ["some-file is a file, not a folder", "another path"], ()),
    ("embed {w}/ok.txt -o {w}/a-folder.npy --model {st}", EXIT_ERROR, ["a-folder.npy is a folder", "give a file name"], ()),
    ("search q --corpus {w}/ok.txt --index {w}/some-file/index --model {st}", EXIT_ERROR, ["some-file is a file", "another path"], ()),
    ("convert {st} {w}/some-file", EXIT_ERROR, ["is a file"], ()),
    ("convert {w}/sharded {w}/converted", EXIT_ERROR, ["model-00002-of-00003.safetensors", "missing", "Download"], ()),
    ("convert {w}/no-config {w}/converted", EXIT_ERROR, ["holds no weight files", "pass the checkpoint folder"], ()),
    # options
    ("serve --host 999.1.1.1 --model {st}", EXIT_USAGE, ["--host", "'999.1.1.1' is not a valid IP address"], ()),
    ("serve --port 70000", EXIT_USAGE, ["--port", "0-65535"], ()),
    ("serve --host nosuchhost.invalid --port 0 --model {st}", EXIT_ERROR, ["Cannot listen", "is not known", "check --host"], ()),
    ("serve --host 192.0.2.1 --port 0 --model {st}", EXIT_ERROR, ["not an address of this machine", "--host 127.0.0.1"], ()),
    ("generate x --model {gen} --temperature -1", EXIT_USAGE, ["--temperature", "finite number >= 0"], ()),
    ("generate x --model {gen} --temperature nan", EXIT_USAGE, ["--temperature", "finite number >= 0"], ()),
    ("fill-mask x", EXIT_USAGE, ["required", "--model"], ()),
    ("serve classify", EXIT_USAGE, ["needs --model"], ()),
    ("info --device cpu", EXIT_USAGE, ["unrecognized arguments: --device", "see `mintformers info --help`"], ()),
    ("convert {st} {w}/out --batch-size 2", EXIT_USAGE, ["unrecognized arguments: --batch-size 2"], ()),
    # heads: weights trained for another head are not a trained head
    ("ner x --model {cls}", EXIT_ERROR, ["no trained BertForTokenClassification head", "saved as BertForSequenceClassification", "fine-tuned for this task"], ()),
    ("ner x --model {w}/cls-bin", EXIT_ERROR, ["no trained BertForTokenClassification head", "saved as BertForSequenceClassification"], ()),
    ("classify x --model {mlm}", EXIT_ERROR, ["no trained BertForSequenceClassification head", "lacks classifier"], ()),
    ("generate x --model {mlm}", EXIT_ERROR, ["no trained BertLMHeadModel head", "saved as BertForMaskedLM"], ()),
]


@pytest.mark.parametrize("command, code, words, fixtures", CASES, ids=[c[0].split(" --model")[0][:60] for c in CASES])
def test_cli_error_catalogue(request, capsys, models, work, command, code, words, fixtures):
    for name in fixtures:
        request.getfixturevalue(name)
    names = {"w": work, **{k: models[k] for k in ("st", "mlm", "cls", "gen", "rerank")}}
    argv = [part.format(**names) for part in command.split()]
    got = main(argv)
    out, err = capsys.readouterr()
    assert got == code, err
    assert "Traceback" not in err and out == ""
    assert err.count("\n") == 1 and err.startswith("mintformers: error: "), err  # one line, usage errors too
    for word in words:
        assert word in err, err
    assert not (work / "converted").exists()  # a failed convert leaves no folder behind


def test_stdin_that_is_not_utf8(capsys, monkeypatch, models, work):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"fine\nnot \xff fine\n")))
    assert main(["embed", "-", "-o", str(work / "s.npy"), "--model", str(models["st"])]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert err == "mintformers: error: standard input is not utf-8 text: byte 0xff at offset 9 (line 2); pass " \
                  "--encoding with the file's encoding (e.g. --encoding latin-1).\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("café\n".encode("latin-1"))))
    assert main(["similarity", "-", "--model", str(models["st"]), "--encoding", "latin-1"]) == EXIT_ERROR
    assert "at least two texts" in capsys.readouterr().err  # decoded, then judged


def test_encoding_option_decodes(capsys, models, work):
    assert main(["embed", str(work / "latin.txt"), "-o", str(work / "latin.jsonl"), "--model", str(models["st"]),
                 "--encoding", "latin-1"]) == EXIT_OK
    rows = [json.loads(line) for line in (work / "latin.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["text"] for r in rows] == ["café", "naïve"]
    capsys.readouterr()
    assert main(["rerank", "q", "--passages", str(work / "latin.txt"), "--model", str(models["rerank"]), "--json",
                 "--encoding", "latin-1"]) == EXIT_OK
    assert sorted(r["text"] for r in json.loads(capsys.readouterr().out)["results"]) == ["café", "naïve"]


def test_truncated_texts_are_counted_in_a_note(capsys, models, work):
    (work / "long.txt").write_text("word " * 200 + "\nshort\n" + "more " * 300 + "\n")
    assert main(["embed", str(work / "long.txt"), "-o", str(work / "long.npy"), "--model", str(models["st"])]) == EXIT_OK
    err = capsys.readouterr().err
    assert "note: 2 of 3 texts are longer than" in err and "max_seq_length" in err
    assert main(["embed", str(work / "long.txt"), "-o", str(work / "long.npy"), "--model", str(models["st"]), "-q"]) == EXIT_OK
    assert capsys.readouterr().err == ""


def test_generate_streams_a_whole_line_and_warns_about_nothing(capsys, models):
    assert main(["generate", "the cat", "--model", str(models["gen"]), "--max-new-tokens", "4"]) == EXIT_OK
    out, err = capsys.readouterr()
    assert out.startswith("the cat") and out.endswith("\n") and err == ""
    assert main(["generate", "the cat", "--model", str(models["gen"]), "--max-new-tokens", "4", "--temperature", "0.7",
                 "--seed", "0"]) == EXIT_OK
    out, err = capsys.readouterr()
    assert out.endswith("\n") and err == ""


def test_info_lists_only_heads_the_weights_train(capsys, models, work):
    expected = {
        models["cls"]: ["BertForSequenceClassification"],
        work / "cls-bin": ["BertForSequenceClassification"],  # .bin weights too
        models["ner"]: ["BertForTokenClassification"],
        models["qa"]: ["BertForQuestionAnswering"],
        models["mlm"]: ["BertForMaskedLM"],
        models["st"]: [],
    }
    for path, heads in expected.items():
        assert main(["info", str(path), "--json"]) == EXIT_OK
        assert json.loads(capsys.readouterr().out)["trained_heads"] == heads, path
