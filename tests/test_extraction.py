"""UIE-M extraction (mintformers.extraction) with a tiny ErnieMForInformationExtraction whose weights are set by hand.

The model is made context-free so that which tokens fire is known exactly: position embeddings, attention output and
feed-forward output are zero, so every position's hidden state is LayerNorm(word embedding). Word embeddings are
+1 / -1 on chosen dimensions (mean 0), so LayerNorm maps them to known values, and the start / end heads read
dimension 0 / 1 (dimension 2: a weaker start). Ordinary tokens get probability sigmoid(-4) ≈ 0.018.
"""

from __future__ import annotations

import math

import pytest
import torch

from mintformers.extraction import _pair_spans, extract
from mintformers.models.ernie_m import ErnieMConfig, ErnieMForInformationExtraction
from mintformers.tokenization import ErnieMTokenizer, ErnieMTokenizerFast
from tokenization.test_ernie_m_tokenizer import write_ernie_m_files

HIDDEN = 8
BIAS = -4.0
WEIGHT = 5.0
WEAK_WEIGHT = 2.2  # a "weak start" token: sigmoid(2 * 2.2 - 4) ≈ 0.60

# word-embedding rows (mean 0): LayerNorm scales each to mean square 1
PLAIN = {6: 1.0, 7: -1.0}  # → 2, -2: no head reads them
START = {0: 1.0, 7: -1.0}  # → start logit 2 * 5 - 4 = 6
END = {1: 1.0, 7: -1.0}  # → end logit 6
BOTH = {0: 1.0, 1: 1.0, 7: -2.0}  # → start and end logit 5 / sqrt(0.75) - 4 ≈ 1.77
WEAK_START = {2: 1.0, 7: -1.0}  # → start logit 0.4


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


P_STRONG = sigmoid(2 * WEIGHT + BIAS)
P_BOTH = sigmoid(WEIGHT / math.sqrt(0.75) + BIAS)
P_WEAK = sigmoid(2 * WEAK_WEIGHT + BIAS)


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    return ErnieMTokenizerFast.from_pretrained(write_ernie_m_files(tmp_path_factory.mktemp("uie"), "unigram"))


def token_id(tokenizer, word: str) -> int:
    """The id of the single token `word` is, with the space before it (fails if the model splits it)."""
    ids = tokenizer(" " + word, add_special_tokens=False)["input_ids"]
    assert len(ids) == 1, (word, tokenizer.tokenize(" " + word))
    return ids[0]


def tiny_model(vocab_size: int, marks: dict[int, dict[int, float]]) -> ErnieMForInformationExtraction:
    config = ErnieMConfig(
        vocab_size=vocab_size, hidden_size=HIDDEN, num_hidden_layers=1, num_attention_heads=2, intermediate_size=8,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    )  # fmt: skip
    model = ErnieMForInformationExtraction(config)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
        embeddings = model.ernie_m.embeddings
        embeddings.layer_norm.weight.fill_(1.0)
        for row in range(vocab_size):
            for dim, value in marks.get(row, PLAIN).items():
                embeddings.word_embeddings.weight[row, dim] = value
        for layer in model.ernie_m.encoder.layers:  # attention and feed-forward add nothing: a token sees itself
            layer.norm1.weight.fill_(1.0)
            layer.norm2.weight.fill_(1.0)
        model.linear_start.weight[0, 0] = WEIGHT
        model.linear_start.weight[0, 2] = WEAK_WEIGHT
        model.linear_start.bias.fill_(BIAS)
        model.linear_end.weight[0, 1] = WEIGHT
        model.linear_end.bias.fill_(BIAS)
    return model


@pytest.fixture(scope="module")
def words(tokenizer):
    """Words that are one token each: entity boundaries and filler."""
    ids = {w: token_id(tokenizer, w) for w in ["people", "world", "state", "good", "very", "time", "the", "work"]}
    assert len(set(ids.values())) == len(ids)
    return ids


@pytest.fixture(scope="module")
def model(tokenizer, words):
    # "people" starts an entity, "world" ends one, "state" is a one-token entity, "good" a weak start.
    marks = {words["people"]: START, words["world"]: END, words["state"]: BOTH, words["good"]: WEAK_START}
    return tiny_model(len(tokenizer), marks)


def test_pair_spans_follows_uie():
    # Each end takes the closest start before it; a start is used once unless it is also the end.
    assert _pair_spans([(1, 0.9), (3, 0.8)], [(5, 0.7)]) == [(3, 5, 0.8 * 0.7)]
    assert _pair_spans([(1, 0.9), (6, 0.8)], [(2, 0.5), (7, 0.6)]) == [(1, 2, 0.9 * 0.5), (6, 7, 0.8 * 0.6)]
    assert _pair_spans([(4, 0.9)], [(4, 0.9)]) == [(4, 4, 0.81)]
    assert _pair_spans([(4, 0.9)], [(2, 0.9)]) == []  # an end before any start
    assert _pair_spans([(1, 0.9)], []) == []
    assert _pair_spans([(1, 0.9)], [(3, 0.5), (5, 0.6)]) == [(1, 3, 0.45)]  # the start is used up


def test_entities_with_offsets_in_the_original_text(tokenizer, model):
    text = "the  people   work\twith world, and the state is very good"  # double spaces and a tab
    result = extract(model, tokenizer, text, ["thing"])
    spans = result["thing"]
    assert [(s["text"], s["start"], s["end"]) for s in spans] == [
        ("people   work\twith world", 5, 29),
        ("state", 39, 44),
    ]
    assert all(text[s["start"] : s["end"]] == s["text"] for s in spans)
    assert spans[0]["probability"] == pytest.approx(P_STRONG * P_STRONG, abs=1e-4)
    assert spans[1]["probability"] == pytest.approx(P_BOTH * P_BOTH, abs=1e-4)


def test_normalized_text_maps_back(tokenizer, model):
    # Full-width letters and extra spaces: sentencepiece normalizes them, the spans still point into the input.
    text = "ｔｈｅ  people world\u3000Ｘ"
    (span,) = extract(model, tokenizer, text, "thing")["thing"]
    assert (span["text"], span["start"], span["end"]) == ("people world", 5, 17)


def test_threshold(tokenizer, model):
    text = "very good time for the world"  # weak start ("good", ≈0.60) … end ("world")
    found = extract(model, tokenizer, text, ["x"], position_prob=0.5)["x"]
    assert [s["text"] for s in found] == ["good time for the world"]
    assert found[0]["probability"] == pytest.approx(P_WEAK * P_STRONG, abs=1e-4)
    assert extract(model, tokenizer, text, ["x"], position_prob=0.7) == {}
    # A start with no end after it, an end with no start before it: nothing.
    assert extract(model, tokenizer, "world the people", ["x"]) == {}


def test_prompt_tokens_never_become_spans(tokenizer, model):
    # The label itself contains a start and an end token; only the text's tokens are read.
    assert extract(model, tokenizer, "the time", ["people world"]) == {}
    assert extract(model, tokenizer, "", ["people"]) == {}


def test_windows_cover_long_texts(tokenizer, model):
    filler = "the time very work "
    text = (filler * 6 + "people work world " + filler * 3 + "state " + filler * 5 + "people world") * 2
    whole = extract(model, tokenizer, text, ["x"], max_seq_len=512)
    assert len(whole["x"]) == 6
    for max_seq_len, stride in [(16, 4), (20, 8), (12, 2), (33, 10)]:
        windowed = extract(model, tokenizer, text, ["x"], max_seq_len=max_seq_len, stride=stride, batch_size=3)
        assert windowed == whole, (max_seq_len, stride)
    # The default stride fits small windows (a quarter of the window, at most 64).
    assert extract(model, tokenizer, text, ["x"], max_seq_len=16) == whole


def test_window_boundary_needs_stride(tokenizer, model):
    # 16 tokens - 4 special - 1 prompt token = 11 text tokens per window; the entity spans tokens 9-12.
    text = "the " * 9 + "people work very world" + " the" * 20
    (expected,) = extract(model, tokenizer, text, ["x"])["x"]
    assert extract(model, tokenizer, text, ["x"], max_seq_len=16, stride=0) == {}  # cut by the boundary
    (found,) = extract(model, tokenizer, text, ["x"], max_seq_len=16, stride=4)["x"]  # whole in the second window
    assert found == expected


def test_batches_and_several_texts(tokenizer, model):
    texts = ["people world", "the state", "nothing here", "", "very people time world state"]
    results = [extract(model, tokenizer, texts, ["a", "b"], batch_size=size) for size in (1, 2, 64)]
    assert results[0] == results[1] == results[2]
    assert [sorted(r) for r in results[0]] == [["a", "b"], ["a", "b"], [], [], ["a", "b"]]
    assert results[0][0]["a"] == results[0][0]["b"]  # this model ignores the label
    assert [s["text"] for s in results[0][4]["a"]] == ["people time world", "state"]
    assert results[0][1] == extract(model, tokenizer, "the state", ["a", "b"])


def test_slow_tokenizer_gives_the_same_spans(tokenizer, model):
    slow = ErnieMTokenizer.from_pretrained(tokenizer.name_or_path)
    texts = ["the  people   work\twith world, and the state", "ｔｈｅ  people world\u3000Ｘ"]
    assert extract(model, slow, texts, ["x"]) == extract(model, tokenizer, texts, ["x"])


class PromptSpy(torch.nn.Module):
    """Wraps the model and records the prompts it is asked (decoded from its inputs)."""

    def __init__(self, model, tokenizer):
        super().__init__()
        self.model, self.tokenizer, self.prompts = model, tokenizer, []

    def forward(self, input_ids, attention_mask):
        sep = self.tokenizer.sep_token_id
        for row in input_ids.tolist():
            self.prompts.append(self.tokenizer.decode(row[1 : row.index(sep)]))
        return self.model(input_ids=input_ids, attention_mask=attention_mask)


@pytest.mark.parametrize(
    "lang, prompt", [("ch", "people work world的employer"), ("en", "employer of people work world")]
)
def test_relations(tokenizer, model, lang, prompt):
    spy = PromptSpy(model, tokenizer)
    result = extract(spy, tokenizer, "people work world", {"person": ["employer", "place"]}, schema_lang=lang)
    (person,) = result["person"]
    assert person["text"] == "people work world"
    # This model ignores prompts, so every relation finds the same span again, nested under the entity.
    assert set(person["relations"]) == {"employer", "place"}
    assert person["relations"]["employer"][0]["text"] == "people work world"
    assert spy.prompts[0] == "person" and prompt in spy.prompts


def test_relations_of_nothing_are_left_out(tokenizer, model):
    result = extract(model, tokenizer, ["people world", "the time"], [{"person": ["employer"]}, "other"])
    assert result[1] == {}
    assert "relations" in result[0]["person"][0] and set(result[0]) == {"person", "other"}


def test_model_mode_is_restored(tokenizer, model):
    model.train()
    extract(model, tokenizer, "people world", ["x"])
    assert model.training
    model.eval()


def test_bad_arguments(tokenizer, model):
    with pytest.raises(ValueError, match="no label"):
        extract(model, tokenizer, "x", [])
    with pytest.raises(ValueError, match="non-empty"):
        extract(model, tokenizer, "x", {"": ["a"]})
    with pytest.raises(TypeError, match="schema"):
        extract(model, tokenizer, "x", 5)
    with pytest.raises(ValueError, match="position_prob"):
        extract(model, tokenizer, "x", ["a"], position_prob=1.5)
    with pytest.raises(ValueError, match="stride"):
        extract(model, tokenizer, "x", ["a"], max_seq_len=10, stride=8)
    with pytest.raises(ValueError, match="schema_lang"):
        extract(model, tokenizer, "x", ["a"], schema_lang="fr")
    with pytest.raises(TypeError, match="texts"):
        extract(model, tokenizer, [1, 2], ["a"])
