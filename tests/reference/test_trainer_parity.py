"""Training against the oracles: the in-batch-negatives loss equals sentence-transformers', and a Trainer's final
model folder loads in transformers with the same outputs."""

from __future__ import annotations

import pytest
import torch

from mintformers import AutoModelForSequenceClassification, AutoTokenizer
from mintformers.layers.losses import multiple_negatives_ranking_loss
from mintformers.training import Trainer, TrainingArguments

transformers = pytest.importorskip("transformers")


@pytest.mark.parametrize("negatives", [False, True])
def test_multiple_negatives_ranking_loss_equals_sentence_transformers(negatives):
    losses = pytest.importorskip("sentence_transformers.sentence_transformer.losses")
    g = torch.Generator().manual_seed(0)
    columns = [torch.randn(6, 16, generator=g) for _ in range(3 if negatives else 2)]  # anchors, positives, negatives
    reference = losses.MultipleNegativesRankingLoss(model=None, scale=20.0).compute_loss_from_embeddings(columns, None)
    ours = multiple_negatives_ranking_loss(columns[0], torch.cat(columns[1:]), scale=20.0)
    torch.testing.assert_close(ours, reference, rtol=1e-6, atol=1e-6)


def test_trained_model_folder_loads_in_transformers(tmp_path, models):
    data = [{"text": t, "label": y} for t, y in [("good new house", 1), ("bad old car", 0), ("good fast train", 1)]]
    args = TrainingArguments(str(tmp_path), max_steps=3, per_device_train_batch_size=2, save_steps=None, report_to="none")
    Trainer(str(models["base"]), args, task="sequence-classification", train_dataset=data).train()
    folder = tmp_path / "model"
    batch = AutoTokenizer.from_pretrained(folder)(["good old train", "bad"], padding=True, return_tensors="pt")
    ours = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    reference = transformers.AutoModelForSequenceClassification.from_pretrained(folder).eval()
    with torch.no_grad():
        torch.testing.assert_close(ours(**batch).logits, reference(**batch).logits, rtol=0, atol=1e-5)
