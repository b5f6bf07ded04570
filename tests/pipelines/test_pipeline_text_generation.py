"""text-generation beyond parity: the reference pipeline's generation defaults, streaming, batching with early
stops, and errors. Parity with the reference is in tests/reference/test_pipelines_parity.py."""

from __future__ import annotations

import threading

import pytest
import torch

import mintformers
from mintformers import TextIteratorStreamer, TextStreamer, pipeline
from pipelines.tiny import write_mpt_checkpoint

GREEDY = dict(max_new_tokens=6, do_sample=False)
PROMPTS = ["Once upon a time", "The sky", "John Smith works for Microsoft in"]


@pytest.fixture(scope="module", autouse=True)
def single_threaded():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def generator(tmp_path_factory):
    return pipeline("text-generation", model=write_mpt_checkpoint(mintformers, tmp_path_factory.mktemp("mpt")))


def test_reference_generation_defaults(generator, monkeypatch):
    seen = {}

    def fake_generate(input_ids=None, attention_mask=None, **kwargs):
        seen.clear()
        seen.update(kwargs)
        return torch.cat([input_ids, input_ids[:, :1]], dim=1)

    monkeypatch.setattr(generator.model, "generate", fake_generate)
    generator("Once upon a time")
    assert seen["max_new_tokens"] == 256 and seen["do_sample"] is True and seen["temperature"] == 0.7
    assert seen["pad_token_id"] == generator.tokenizer.eos_token_id  # no padding token: pad with eos
    generator("Once upon a time", max_new_tokens=3, do_sample=False)
    assert seen["max_new_tokens"] == 3 and seen["do_sample"] is False and seen["temperature"] == 0.7
    generator("Once upon a time", max_length=30)
    assert "max_new_tokens" not in seen and seen["max_length"] == 30
    # the model's own generation config wins over the pipeline's defaults
    monkeypatch.setattr(generator.model.generation_config, "max_new_tokens", 5)
    monkeypatch.setattr(generator.model.generation_config, "temperature", 0.3)
    generator("Once upon a time")
    assert "max_new_tokens" not in seen and "temperature" not in seen and seen["do_sample"] is True


def test_batches_equal_single_prompts_even_when_some_stop_early(generator):
    alone = [generator(p, return_tensors=True, **GREEDY)[0]["generated_token_ids"] for p in PROMPTS]
    prompt_length = len(generator.tokenizer(PROMPTS[0])["input_ids"])
    eos = alone[0][prompt_length + 1]  # the first prompt stops after two new tokens; the others may go on
    options = dict(GREEDY, eos_token_id=eos)
    for return_type in ({"return_tensors": True}, {"return_full_text": False}, {}):
        one = generator(PROMPTS, **options, **return_type)
        assert one == generator(PROMPTS, batch_size=3, **options, **return_type)
        assert one == generator(PROMPTS, batch_size=2, num_return_sequences=1, **options, **return_type)
    tokens = generator(PROMPTS, return_tensors=True, batch_size=3, **options)
    assert tokens[0][0]["generated_token_ids"] == alone[0][: prompt_length + 2]


def test_multiple_sequences_per_prompt(generator):
    results = generator(PROMPTS[:2], num_beams=3, num_return_sequences=3, batch_size=2, **GREEDY)
    assert [len(r) for r in results] == [3, 3]
    assert all(r["generated_text"].startswith(p) for p, rs in zip(PROMPTS, results) for r in rs)
    sampled = generator(PROMPTS[0], do_sample=True, seed=7, max_new_tokens=6, num_return_sequences=2)
    assert sampled == generator(PROMPTS[0], do_sample=True, seed=7, max_new_tokens=6, num_return_sequences=2)


def test_text_iterator_streamer(generator):
    streamer = TextIteratorStreamer(generator.tokenizer, skip_prompt=True)
    result = {}
    worker = threading.Thread(target=lambda: result.update(out=generator(PROMPTS[0], streamer=streamer, return_full_text=False, **GREEDY)))
    worker.start()
    pieces = list(streamer)
    worker.join()
    assert "".join(pieces) == result["out"][0]["generated_text"]


def test_text_streamer_prints(generator, capsys):
    out = generator(PROMPTS[1], streamer=TextStreamer(generator.tokenizer), **GREEDY)
    assert capsys.readouterr().out.strip() == out[0]["generated_text"].strip()


def test_empty_prompt_starts_from_bos(generator):
    assert generator("", return_tensors=True, **GREEDY)[0]["generated_token_ids"][0] == 0


def test_generation_errors(generator):
    with pytest.raises(ValueError, match="mutually exclusive"):
        generator("Once", return_full_text=True, return_text=True)
    with pytest.raises(ValueError, match="mutually exclusive"):
        generator("Once", return_full_text=True, return_tensors=True)
    with pytest.raises(ValueError, match="handle_long_generation='middle'"):
        generator("Once", handle_long_generation="middle")
    with pytest.raises(ValueError, match="tokenizer.chat_template is not set"):  # a chat needs a template
        generator([{"role": "user", "content": "Hello"}], **GREEDY)
    with pytest.raises(ValueError, match="'role' and 'content'"):
        generator([{"text": "Hello"}])
