"""Model outputs: attribute, key and index access; to_tuple skips unset fields like the reference."""

import pytest
import torch

from mintformers.outputs import QuestionAnsweringModelOutput, SequenceClassifierOutput


def test_access_by_attribute_key_and_index():
    logits = torch.ones(2, 3)
    out = SequenceClassifierOutput(logits=logits)
    assert out.logits is out["logits"] is out[0]
    assert out.keys() == ["logits"] and "loss" not in out and len(out) == 1
    assert out.to_tuple() == (logits,) and list(out) == ["logits"]
    with pytest.raises(KeyError):
        out["loss"]
    out["loss"] = torch.tensor(1.0)
    assert out.keys() == ["loss", "logits"] and out[1] is logits
    with pytest.raises(KeyError, match="no field"):
        out["nonsense"] = 1


def test_slicing_and_get():
    out = QuestionAnsweringModelOutput(start_logits=torch.zeros(1, 4), end_logits=torch.ones(1, 4))
    start, end = out[:2]
    assert torch.equal(end, torch.ones(1, 4)) and out.get("loss", "absent") == "absent"
