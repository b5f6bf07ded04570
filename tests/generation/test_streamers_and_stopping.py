"""Streamers (text pieces, flushing rules, threads) and stopping criteria, with a real byte-level BPE tokenizer."""

from __future__ import annotations

import queue
import threading

import pytest
import torch

from mintformers.generation import (
    EosTokenCriteria,
    MaxLengthCriteria,
    StoppingCriteriaList,
    StopStringCriteria,
    TextIteratorStreamer,
    TextStreamer,
)


class Collect(TextStreamer):
    """TextStreamer that records its pieces instead of printing them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pieces: list[str] = []
        self.ended = 0

    def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
        self.pieces.append(text)
        self.ended += stream_end


def stream(streamer, prompt: list[int], new: list[int]) -> None:
    streamer.put(torch.tensor([prompt]))
    for t in new:
        streamer.put(torch.tensor([t]))
    streamer.end()


TEXTS = ["the cat sat on the mat.", "naïve café — 東京 and 大阪 🙂 too", "line one\nline two\nthe end"]


@pytest.mark.parametrize("text", TEXTS)
def test_pieces_join_to_the_decoded_text(tokenizer, text):
    ids = tokenizer.encode(text)
    s = Collect(tokenizer)
    stream(s, ids[:2], ids[2:])
    assert "".join(s.pieces) == tokenizer.decode(ids) and s.ended == 1
    s = Collect(tokenizer, skip_prompt=True)
    stream(s, ids[:2], ids[2:])
    assert "".join(s.pieces) == tokenizer.decode(ids[2:])


def test_words_are_flushed_at_spaces(tokenizer):
    ids = tokenizer.encode("the cat sat")
    s = Collect(tokenizer)
    stream(s, ids[:1], ids[1:])
    assert all(p == "" or p.endswith(" ") for p in s.pieces[:-1])  # nothing mid-word before the end
    assert s.pieces[-1] == "sat"


def test_lines_and_cjk_are_flushed_at_once(tokenizer):
    s = Collect(tokenizer)
    s.put(torch.tensor([tokenizer.encode("line one\n")]))
    assert s.pieces == ["line one\n"] and s.token_cache == []  # a finished line resets the cache
    s = Collect(tokenizer)
    s.put(torch.tensor([tokenizer.encode("東京")]))
    assert s.pieces == ["東京"]


def test_partial_characters_are_held_back(tokenizer):
    ids = tokenizer.encode("東京 🙂")
    s = Collect(tokenizer)
    for i in ids:
        s.put(torch.tensor([i]))
    s.end()
    assert not any("\ufffd" in p for p in s.pieces)
    assert "".join(s.pieces) == "東京 🙂"


def test_text_streamer_prints(tokenizer, capsys):
    ids = tokenizer.encode("the cat sat")
    stream(TextStreamer(tokenizer), ids[:1], ids[1:])
    assert capsys.readouterr().out == "the cat sat\n"


def test_text_streamer_rejects_batches(tokenizer):
    with pytest.raises(ValueError, match="one sequence"):
        TextStreamer(tokenizer).put(torch.zeros(2, 3, dtype=torch.long))


def test_iterator_streamer_across_threads(tokenizer):
    ids = tokenizer.encode("naïve café — 東京 and the cat")
    s = TextIteratorStreamer(tokenizer, timeout=10)
    worker = threading.Thread(target=stream, args=(s, ids[:1], ids[1:]))
    worker.start()
    assert "".join(s) == tokenizer.decode(ids)
    worker.join()


def test_iterator_streamer_timeout_and_error(tokenizer):
    s = TextIteratorStreamer(tokenizer, timeout=0.05)
    with pytest.raises(queue.Empty):
        next(s)
    s.on_error(KeyError("boom"))
    with pytest.raises(RuntimeError, match="generate\\(\\) failed") as info:
        next(s)
    assert isinstance(info.value.__cause__, KeyError)


# ---- stopping criteria --------------------------------------------------------------------------------------------


def test_max_length_and_eos():
    seqs = torch.tensor([[1, 2, 3], [4, 5, 7]])
    assert MaxLengthCriteria(3)(seqs).tolist() == [True, True]
    assert MaxLengthCriteria(4)(seqs).tolist() == [False, False]
    assert EosTokenCriteria([7, 9])(seqs).tolist() == [False, True]
    assert EosTokenCriteria(3)(seqs).tolist() == [True, False]
    both = StoppingCriteriaList([MaxLengthCriteria(10), EosTokenCriteria(3)])
    assert both(seqs).tolist() == [True, False] and both.max_length == 10


class PieceTokenizer:
    """Each id decodes to an arbitrary string piece (registered on first use)."""

    def __init__(self):
        self.vocab: list[str] = []

    def ids(self, *parts: str) -> torch.Tensor:
        out = []
        for p in parts:
            if p not in self.vocab:
                self.vocab.append(p)
            out.append(self.vocab.index(p))
        return torch.tensor([out])

    def decode(self, ids, skip_special_tokens: bool = False) -> str:
        return "".join(self.vocab[i] for i in ids)


@pytest.mark.parametrize(
    "parts, hit",
    [
        (("st", "op"), True),
        (("stop",), True),
        (("st", "opera"), True),
        (("sto", "pper"), True),
        (("las", "topper"), True),
        (("s", "to", "pped"), True),
        (("stop", "at"), False),  # the stop string ended before the last token
        (("st", "op", "at"), False),
        (("sto", "p"), True),
        (("go", "on"), False),
    ],
)
def test_stop_string_must_touch_the_last_token(parts, hit):
    tok = PieceTokenizer()
    assert StopStringCriteria(tok, ["stop"])(tok.ids(*parts)).tolist() == [hit]


def test_stop_strings_per_row_and_several_strings():
    tok = PieceTokenizer()
    rows = torch.cat([tok.ids("a", "b", "end"), tok.ids("x", "y", "z"), tok.ids("q", "!", "?")])
    assert StopStringCriteria(tok, ["end", "!?"])(rows).tolist() == [True, False, True]


def test_stop_strings_need_a_tokenizer():
    with pytest.raises(ValueError, match="tokenizer="):
        StopStringCriteria(None, ["x"])
