"""Fixtures for the generation tests (helpers live in gen_helpers.py)."""

from __future__ import annotations

import pytest
from gen_helpers import ByteTokenizer, tiny_bert, tiny_mpt

from mintformers import BertLMHeadModel, MptForCausalLM


@pytest.fixture(scope="session")
def tokenizer() -> ByteTokenizer:
    return ByteTokenizer()


@pytest.fixture(scope="module")
def mpt() -> MptForCausalLM:
    return tiny_mpt()


@pytest.fixture(scope="module")
def bert() -> BertLMHeadModel:
    return tiny_bert()
