"""`mintformers train`: the Trainer from the command line (the README runs its masked-LM example)."""

from __future__ import annotations

import json

from mintformers.cli import EXIT_ERROR, EXIT_OK, main


def test_train_command_with_evaluation_and_named_labels(tmp_path, tiny, capsys):
    rows = ["text,label", "good new house,pos", "bad old car,neg", "good fast train,pos", "bad slow dog,neg"]
    (tmp_path / "train.csv").write_text("\n".join(rows) + "\n")
    code = main(["train", "--task", "sequence-classification", "--model", str(tiny["bert"]), "--train", str(tmp_path / "train.csv"),
                 "--eval", str(tmp_path / "train.csv"), "-o", str(tmp_path / "out"), "--max-steps", "20", "--batch-size", "4",
                 "--lr", "3e-3", "--labels", "pos,neg", "--report-to", "none", "--json"])
    assert code == EXIT_OK
    result = json.loads(capsys.readouterr().out)
    assert result["steps"] == 20 and result["metrics"]["eval_accuracy"] == 1.0
    config = json.loads((tmp_path / "out" / "model" / "config.json").read_text())
    assert config["id2label"] == {"0": "pos", "1": "neg"}  # --labels fixes the order


def test_train_command_errors_are_one_line(tmp_path, tiny, capsys):
    args = ["train", "--model", str(tiny["bert"]), "--train", "x.jsonl", "-o", str(tmp_path)]
    assert main([*args, "--task", "summarization"]) == EXIT_ERROR
    assert "Unknown task 'summarization'; choose one of" in capsys.readouterr().err
    assert main([*args, "--task", "masked-lm", "--eval-steps", "5"]) == EXIT_ERROR
    assert "--eval-steps needs --eval FILE" in capsys.readouterr().err
    assert main([*args, "--task", "masked-lm"]) == EXIT_ERROR
    assert "Training data 'x.jsonl' does not exist" in capsys.readouterr().err
