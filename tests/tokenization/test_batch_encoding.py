"""BatchEncoding: a dict with attribute access, tensor conversion and (fast tokenizers) alignment helpers."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch

from mintformers.tokenization import BatchEncoding, BertTokenizer, BertTokenizerFast, CharSpan, TokenSpan


@pytest.fixture(scope="module")
def fast(bert_dir):
    return BertTokenizerFast.from_pretrained(bert_dir)


@pytest.fixture(scope="module")
def slow(bert_dir):
    return BertTokenizer.from_pretrained(bert_dir)


def test_is_a_dict_with_attribute_access():
    enc = BatchEncoding({"input_ids": [[1, 2]], "attention_mask": [[1, 1]]})
    assert isinstance(enc, dict)
    assert enc.input_ids == enc["input_ids"] == [[1, 2]]
    assert dict(**enc) == {"input_ids": [[1, 2]], "attention_mask": [[1, 1]]}
    assert enc[:1] == {"input_ids": [[1, 2]], "attention_mask": [[1, 1]]}
    with pytest.raises(AttributeError, match="no attribute or key 'token_type_ids'"):
        _ = enc.token_type_ids
    with pytest.raises(KeyError):
        enc[0]  # no backend encodings: integers are not keys


def test_tensor_conversion_pt_and_np():
    enc = BatchEncoding({"input_ids": [[1, 2], [3, 4]], "length": [2, 2]}, tensor_type="pt")
    assert enc.input_ids.dtype == torch.int64 and enc.input_ids.shape == (2, 2)
    enc = BatchEncoding({"input_ids": [1, 2, 3]}, tensor_type="np", prepend_batch_axis=True)
    assert isinstance(enc.input_ids, np.ndarray) and enc.input_ids.shape == (1, 3)
    empty = BatchEncoding({"input_ids": []}, tensor_type="pt")
    assert empty.input_ids.dtype == torch.int64
    ragged = BatchEncoding({"input_ids": [[1, 2], [3]]}, tensor_type="np")
    assert ragged.input_ids.dtype == object and ragged.input_ids[1].tolist() == [3]


def test_ragged_torch_conversion_explains_the_fix():
    with pytest.raises(ValueError, match="activate truncation and/or padding"):
        BatchEncoding({"input_ids": [[1, 2], [3]]}, tensor_type="pt")
    with pytest.raises(ValueError, match="overflowing tokens of different lengths"):
        BatchEncoding({"overflowing_tokens": [[1, 2], [3]]}, tensor_type="pt")


def test_unknown_tensor_type_lists_valid_ones():
    with pytest.raises(ValueError, match=r"'mlx' is not a valid TensorType, please select one of \['pt', 'tf', 'np', 'jax'\]"):
        BatchEncoding({"input_ids": [[1]]}, tensor_type="mlx")


def test_to_moves_tensors_only():
    enc = BatchEncoding({"input_ids": [[1, 2]], "names": ["x"]})
    enc["input_ids"] = torch.tensor([[1, 2]])
    assert enc.to("cpu") is enc
    assert enc.to(torch.device("cpu")).input_ids.device.type == "cpu"
    assert enc.names == ["x"]


def test_alignment_helpers_of_fast_encodings(fast):
    enc = fast(["hello world", "unaffable dog"], ["the fox", "a"])
    assert enc.is_fast and enc.n_sequences == 2 and len(enc.encodings) == 2
    assert enc.tokens(1) == ["[CLS]", "un", "##aff", "##able", "dog", "[SEP]", "a", "[SEP]"]
    assert enc.word_ids(1) == [None, 0, 0, 0, 1, None, 0, None]
    assert enc.sequence_ids(0) == [None, 0, 0, None, 1, 1, None]
    assert enc.token_to_chars(1, 2) == CharSpan(2, 5)
    assert enc.char_to_token(1, 3) == 2
    assert enc.word_to_tokens(1, 0) == TokenSpan(1, 4)
    assert enc.word_to_chars(1, 1) == CharSpan(10, 13)
    assert enc.token_to_word(1, 3) == 0 and enc.token_to_sequence(0, 5) == 1
    assert enc.token_to_sequence(0, -2) == 1  # negative indices count from the end
    assert enc.char_to_word(0, 7, sequence_index=0) == 1
    assert enc[0].ids == enc.input_ids[0]  # an int index gives the backend Encoding


def test_alignment_helpers_need_a_fast_tokenizer(slow):
    enc = slow("hello world")
    assert not enc.is_fast
    with pytest.raises(ValueError, match="not available when using non-fast tokenizers"):
        enc.word_ids()
    with pytest.raises(ValueError, match="not available"):
        enc.char_to_token(0)


def test_pickle_and_deepcopy_keep_encodings(fast):
    enc = fast(["hello world"], return_tensors="pt")
    for clone in (pickle.loads(pickle.dumps(enc)), copy.deepcopy(enc)):
        assert torch.equal(clone.input_ids, enc.input_ids)
        assert clone.word_ids(0) == enc.word_ids(0)
        assert clone.n_sequences == 1
