"""Each task's head trains a tiny model to fit a tiny dataset; batching details (label alignment, answer spans,
masking). The in-batch-negatives loss is checked against sentence-transformers in tests/reference."""

from __future__ import annotations

import itertools
import random

import pytest
import torch

from mintformers import AutoTokenizer
from mintformers.training import Trainer, TrainingArguments
from mintformers.training.tasks import MaskedLM, QuestionAnswering, TokenClassification, task_for


def fit(tmp_path, model, task, data, steps, lr=3e-3, **kwargs):
    """(metrics before, metrics after) training on `data` and evaluating on the same records."""
    args = TrainingArguments(str(tmp_path / task), max_steps=steps, per_device_train_batch_size=4, learning_rate=lr,
                             save_steps=None, report_to="none", **kwargs)
    trainer = Trainer(str(model), args, task=task, train_dataset=data, eval_dataset=data)
    before = trainer.evaluate()
    return before, trainer.train().metrics


CLASSIFICATION = [{"text": t, "label": label} for t, label in [
    ("good new house", "pos"), ("bad old car", "neg"), ("good fast train", "pos"), ("bad slow dog", "neg")]]
REGRESSION = [{"text": t, "label": y} for t, y in [
    ("good good good", 3.0), ("good good", 2.0), ("good", 1.0), ("bad", 0.0), ("bad bad", -1.0), ("bad bad bad", -2.0),
    ("good bad", 0.5), ("house", 0.2)]]
NER = [{"tokens": t.split(), "tags": g.split()} for t, g in [
    ("ada lives in london", "B-PER O O B-LOC"), ("the girl plays in paris", "O O O O B-LOC"),
    ("bob and ada", "B-PER O B-PER"), ("london is a big city", "B-LOC O O O O")]]
QA = [
    {"question": "who plays the violin", "context": "the girl plays the violin by the river", "answers": {"text": ["the girl"], "answer_start": [0]}},
    {"question": "what does the man eat", "context": "a man is eating bread in the city", "answers": {"text": ["bread"], "answer_start": [16]}},
    {"question": "where does the cat sleep", "context": "the small cat sleeps in the tree", "answers": {"text": ["the tree"], "answer_start": [24]}},
    {"question": "what runs quickly", "context": "the big red dog runs quickly", "answers": {"text": ["the big red dog"], "answer_start": [0]}},
]
CHOICES = [{"question": q, "choices": c, "label": y} for q, c, y in [
    ("the cat", ["sleeps in the tree", "plays the violin", "drives a car"], 0),
    ("the girl", ["eats bread", "plays the violin", "runs to the river"], 1),
    ("the train", ["is fast", "is a dog", "plays music"], 0),
    ("a man is", ["blue", "red", "eating food"], 2)]]
TEXTS = [{"text": t} for t in ["the girl plays the violin", "a man is eating bread", "the small cat sleeps in the tree",
                               "the big red dog runs quickly"]]


def test_sequence_classification_fits_named_labels(tmp_path, tiny):
    before, after = fit(tmp_path, tiny["bert"], "sequence-classification", CLASSIFICATION, 20)
    assert after["eval_accuracy"] == 1.0 and after["eval_f1"] == 1.0 and after["eval_loss"] < before["eval_loss"]
    from mintformers import AutoModelForSequenceClassification

    saved = AutoModelForSequenceClassification.from_pretrained(tmp_path / "sequence-classification" / "model")
    assert saved.config.id2label == {0: "neg", 1: "pos"}  # the names, sorted, are the label ids


def test_regression_fits(tmp_path, tiny):
    before, after = fit(tmp_path, tiny["bert"], "regression", REGRESSION, 60)
    assert after["eval_spearman"] == pytest.approx(1.0) and after["eval_loss"] < 0.2 * before["eval_loss"]


def test_token_classification_fits(tmp_path, tiny):
    before, after = fit(tmp_path, tiny["bert"], "token-classification", NER, 40)
    assert before["eval_token_f1"] < 1.0 and after["eval_token_f1"] == 1.0 and after["eval_accuracy"] == 1.0


def test_question_answering_fits(tmp_path, tiny):
    before, after = fit(tmp_path, tiny["bert"], "question-answering", QA, 60)
    assert before["eval_exact_match"] == 0.0 and after["eval_exact_match"] == 1.0


def test_multiple_choice_fits(tmp_path, tiny):
    before, after = fit(tmp_path, tiny["bert"], "multiple-choice", CHOICES, 40)
    assert after["eval_accuracy"] == 1.0 and after["eval_loss"] < before["eval_loss"]


def test_masked_lm_continued_pretraining_fits(tmp_path, tiny):
    before, after = fit(tmp_path, tiny["mlm"], "masked-lm", TEXTS, 80)
    assert after["eval_loss"] < 0.6 * before["eval_loss"]


def test_causal_lm_fine_tuning_of_mpt_fits(tmp_path, tiny):
    before, after = fit(tmp_path, tiny["mpt"], "causal-lm", TEXTS, 60)
    assert after["eval_loss"] < 0.5 * before["eval_loss"]


TOPICS = {"animals": "cat dog sleeps runs tree".split(), "music": "girl plays violin music hello".split(),
          "food": "man eating food bread piece".split(), "travel": "car train fast river city".split()}


def sts_like(seed: int) -> tuple[list[dict], list[dict]]:
    """Training pairs of same-topic sentences; scored pairs (5: same topic, 0: different) to evaluate on."""
    rng = random.Random(seed)

    def sentence(topic):
        return " ".join(rng.choice(TOPICS[topic]) for _ in range(4))

    train = [{"anchor": sentence(t), "positive": sentence(t)} for t in sorted(TOPICS) for _ in range(8)]
    rng.shuffle(train)
    scored = [{"sentence1": sentence(a), "sentence2": sentence(b), "score": 5.0 if a == b else 0.0}
              for a, b in itertools.product(sorted(TOPICS), repeat=2) for _ in range(3)]
    return train, scored


def test_sentence_embedding_training_raises_spearman(tmp_path, tiny):
    train, scored = sts_like(0)
    args = TrainingArguments(str(tmp_path / "st"), num_train_epochs=4, per_device_train_batch_size=8, learning_rate=2e-3,
                             save_steps=None, report_to="none")
    trainer = Trainer(str(tiny["st"]), args, task="sentence-embedding", train_dataset=train, eval_dataset=scored)
    before = trainer.evaluate()["eval_spearman"]
    after = trainer.train().metrics["eval_spearman"]
    assert after > before + 0.3, (before, after)
    from mintformers import SentenceEncoder

    saved = SentenceEncoder.from_pretrained(tmp_path / "st" / "model", device="cpu")  # a sentence-transformers folder
    texts = [r["sentence1"] for r in scored[:5]]
    torch.testing.assert_close(torch.from_numpy(saved.encode(texts)), torch.from_numpy(trainer.model.encode(texts)))


# ---- batching --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tokenizer(tiny):
    return AutoTokenizer.from_pretrained(tiny["bert"])


def test_token_labels_go_to_the_first_piece_of_each_word(tokenizer):
    task = TokenClassification(tokenizer, max_length=32)
    task.prepare([{"tokens": ["zebra", "cat"], "tags": ["B-X", "O"]}], None)
    inputs, _ = task.collate([{"tokens": ["zebra", "cat"], "tags": ["B-X", "O"]}], [0], 0, True)
    pieces = tokenizer.convert_ids_to_tokens(inputs["input_ids"][0].tolist())
    labels = inputs["labels"][0].tolist()
    assert pieces[0] == "[CLS]" and labels[0] == -100
    assert pieces[1] == "z" and labels[1] == task.label2id["B-X"]  # "zebra" splits into letter pieces
    assert all(label == -100 for piece, label in zip(pieces, labels) if piece.startswith("##"))
    assert labels[pieces.index("cat")] == task.label2id["O"] == 0  # the outside tag is label 0


def test_answer_spans_map_to_tokens_and_a_cut_answer_is_no_answer(tokenizer):
    task = QuestionAnswering(tokenizer, max_length=64)
    inputs, _ = task.collate(QA[:2], [0, 1], 0, True)
    for b, record in enumerate(QA[:2]):
        span = inputs["input_ids"][b, inputs["start_positions"][b] : inputs["end_positions"][b] + 1]
        assert tokenizer.decode(span) == record["answers"]["text"][0]
    short = QuestionAnswering(tokenizer, max_length=7)  # [CLS] man [SEP] a man is [SEP]: "bread" is cut off
    record = {"question": "man", "context": "a man is eating bread", "answers": {"text": ["bread"], "answer_start": [16]}}
    inputs, _ = short.collate([record], [0], 0, True)
    assert inputs["start_positions"].tolist() == [0] and inputs["end_positions"].tolist() == [0]


def test_masks_depend_on_the_example_not_on_its_batch(tokenizer):
    task = MaskedLM(tokenizer, max_length=32, seed=3, mlm_probability=0.3)
    alone, _ = task.collate(TEXTS[2:3], [2], epoch=1, train=True)
    together, _ = task.collate(TEXTS, [0, 1, 2, 3], epoch=1, train=True)
    width = alone["labels"].shape[1]
    assert torch.equal(alone["labels"][0], together["labels"][2, :width])
    assert torch.equal(alone["input_ids"][0], together["input_ids"][2, :width])
    other_epoch, _ = task.collate(TEXTS[2:3], [2], epoch=2, train=True)
    assert not torch.equal(alone["labels"], other_epoch["labels"])  # a new epoch draws new masks
    assert ((together["labels"] != -100).sum(1) >= 1).all()  # every example has something to predict


def test_unknown_task_and_missing_fields_are_clear_errors(tmp_path, tiny):
    with pytest.raises(ValueError, match="Unknown task 'summarization'"):
        task_for("summarization")
    args = TrainingArguments(str(tmp_path / "x"), max_steps=1, report_to="none")
    trainer = Trainer(str(tiny["bert"]), args, task="multiple-choice", train_dataset=[{"question": "q", "label": 0}])
    with pytest.raises(ValueError, match="Record 0 has no 'choices' / 'endings' field"):
        trainer.train()


def test_a_model_instance_keeps_its_label_names_or_takes_the_datas(tmp_path, tiny):
    from mintformers import AutoModelForSequenceClassification

    args = TrainingArguments(str(tmp_path), max_steps=1, per_device_train_batch_size=4, save_steps=None, report_to="none")
    unnamed = AutoModelForSequenceClassification.from_pretrained(tiny["bert"], num_labels=2)  # LABEL_0, LABEL_1
    trainer = Trainer(unnamed, args, train_dataset=CLASSIFICATION)  # the task comes from the class
    assert trainer.task.name == "sequence-classification" and trainer.task.label2id == {"neg": 0, "pos": 1}
    named = AutoModelForSequenceClassification.from_pretrained(tiny["bert"], id2label={0: "pos", 1: "neg"}, label2id={"pos": 0, "neg": 1})
    trainer = Trainer(named, args, train_dataset=CLASSIFICATION)
    assert trainer.task.label2id == {"pos": 0, "neg": 1}
    inputs, _ = trainer.task.collate(CLASSIFICATION[:2], [0, 1], 0, True)
    assert inputs["labels"].tolist() == [0, 1]  # "pos", "neg" by the model's names
