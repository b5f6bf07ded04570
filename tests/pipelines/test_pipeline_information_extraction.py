"""information-extraction: the pipeline interface over mintformers.extraction.extract (which tests/test_extraction.py
checks span by span). Here: same results as calling extract() directly, for every input kind and option path."""

from __future__ import annotations

import pytest
import torch

import mintformers
from mintformers import pipeline
from mintformers.extraction import extract
from pipelines.tiny import CORPUS, write_ernie_m_checkpoint

SCHEMA = ["person", "city"]
OPTIONS = dict(stride=16, position_prob=0.45)  # the tiny model has 64 positions: windows need a small stride


@pytest.fixture(scope="module", autouse=True)
def single_threaded():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def extractor(tmp_path_factory):
    directory = write_ernie_m_checkpoint(mintformers, tmp_path_factory.mktemp("uie"), "ErnieMForInformationExtraction")
    return pipeline("information-extraction", model=directory, schema=SCHEMA, **OPTIONS)


def assert_close(expected, got):
    """Same labels and spans; probabilities within float noise of a different batch composition."""
    if isinstance(expected, dict):
        assert list(expected) == list(got)
        for key in expected:
            assert_close(expected[key], got[key])
    elif isinstance(expected, list):
        assert len(expected) == len(got)
        for a, b in zip(expected, got):
            assert_close(a, b)
    elif isinstance(expected, float):
        assert abs(expected - got) < 1e-5
    else:
        assert expected == got


def test_same_as_extract(extractor):
    direct = extract(extractor.model, extractor.tokenizer, CORPUS, SCHEMA, batch_size=16, **OPTIONS)
    assert any(direct), "the tiny model should find some spans"
    assert extractor(CORPUS) == direct  # a list goes to extract() whole (default batch_size 16)
    assert extractor(CORPUS[1]) == extract(extractor.model, extractor.tokenizer, CORPUS[1], SCHEMA, batch_size=16, **OPTIONS)
    for batch_size in (1, 3):
        assert_close(direct, extractor(CORPUS, batch_size=batch_size))
    assert_close(direct, list(extractor(text for text in CORPUS)))
    assert_close(direct, list(extractor(iter(CORPUS), batch_size=2)))


def test_options_at_call_time(extractor):
    relations = {"person": ["company"]}
    expected = extract(extractor.model, extractor.tokenizer, CORPUS[1], relations, schema_lang="en", batch_size=16, **OPTIONS)
    got = extractor(CORPUS[1], schema=relations, schema_lang="en")
    assert got == expected and any("relations" in span for spans in got.values() for span in spans)
    stricter = extractor(CORPUS[1], position_prob=0.55)
    assert sum(map(len, stricter.values())) < sum(map(len, extractor(CORPUS[1]).values()))


def test_errors(extractor):
    bare = pipeline("information-extraction", model=extractor.model, tokenizer=extractor.tokenizer)
    with pytest.raises(ValueError, match="needs schema="):
        bare("Tim Cook leads Apple.")
    with pytest.raises(ValueError, match="empty list"):
        extractor([])
    with pytest.raises(TypeError, match="does not know the option"):
        extractor("text", threshold=0.5)
    with pytest.raises(ValueError, match="stride"):
        extractor(CORPUS[1], stride=64)  # the prompt leaves no more room than the overlap
