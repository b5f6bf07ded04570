"""TFBertTokenizer: BERT's WordPiece tokenization as a Keras layer, inside the graph (tensorflow-text).

Strings in, `input_ids` / `attention_mask` / `token_type_ids` out, so a model can be saved and served as one graph
that takes raw text. Built on tensorflow-text's FastBertTokenizer, as the reference's TFBertTokenizer is, with one
difference on purpose: the text is normalised as `BertTokenizerFast` normalises it, so the graph gives the ids the
model was trained with —

- the reference case-folds with NFKC (tensorflow-text's `lower_case_nfd_strip_accents`): "ß" becomes "ss",
  full-width "ＡＢＣ" becomes "abc", the ligature "ﬁ" becomes "fi", "①" becomes "1", "™" becomes "tm". Here, as in
  BertTokenizerFast: control characters and U+FFFD are dropped, whitespace becomes " ", accents are stripped
  (NFD, then combining marks removed) and letters lower-cased one by one (no final-sigma rule); nothing else;
- tensorflow-text limits words to 100 *bytes*, BertTokenizerFast to 100 *characters*: here a word longer than 100
  characters becomes one [UNK] and shorter ones are split into word pieces, as BertTokenizerFast does.

Everything else is the reference's: [CLS] A [SEP] (B [SEP]), truncation to max_length (pairs: the longer text
shrinks first), padding "longest" or "max_length", pad_to_multiple_of. As in the reference, special-token strings
in the text ("[MASK]") are tokenized as text.
"""

from __future__ import annotations

import os
from typing import Any

from ._backend import keras, tf

__all__ = ["TFBertTokenizer"]

try:
    import tensorflow_text as tf_text
except ImportError as e:  # pragma: no cover
    from ._backend import INSTALL

    raise ImportError(f"TFBertTokenizer needs tensorflow-text: {INSTALL}") from e

MAX_CHARS_PER_WORD = 100  # BertTokenizerFast's max_input_chars_per_word
# after normalisation: control/format characters (tab, newline, CR excepted) and U+FFFD go; whitespace becomes " "
_DROP = r"[^\P{C}\t\n\r]|\x{fffd}"
_SPACE = r"[\t\n\r\p{Zs}\x{2028}\x{2029}]"


class TFBertTokenizer(keras.layers.Layer):
    """An in-graph BERT tokenizer: a Keras layer from strings (batch,) — or pairs, (batch, 2) or `text_pair` — to
    {"input_ids", "attention_mask", "token_type_ids"} (batch, length) int64.

    Initialise it with `from_pretrained(path)` or `from_tokenizer(tokenizer)`; the options are the reference's
    (call-time overrides for padding, truncation, max_length, pad_to_multiple_of and the two return flags).
    `use_fast_bert_tokenizer=False` uses tensorflow-text's BertTokenizer (slower, not TFLite-convertible), as the
    reference does; only the fast one applies the character limit above.
    """

    def __init__(
        self,
        vocab_list: list[str],
        do_lower_case: bool = True,
        cls_token_id: int | None = None,
        sep_token_id: int | None = None,
        pad_token_id: int | None = None,
        padding: str = "longest",
        truncation: bool = True,
        max_length: int = 512,
        pad_to_multiple_of: int | None = None,
        return_token_type_ids: bool = True,
        return_attention_mask: bool = True,
        use_fast_bert_tokenizer: bool = True,
        strip_accents: bool | None = None,
        **tokenizer_kwargs: Any,
    ):
        super().__init__(name=tokenizer_kwargs.pop("name", None))
        if padding not in ("longest", "max_length"):
            raise ValueError(f"padding must be 'longest' or 'max_length', got {padding!r}.")
        self.vocab_list = list(vocab_list)
        self.do_lower_case = do_lower_case
        self.strip_accents = do_lower_case if strip_accents is None else strip_accents
        self.cls_token_id = self._token_id(cls_token_id, "[CLS]")
        self.sep_token_id = self._token_id(sep_token_id, "[SEP]")
        self.pad_token_id = self._token_id(pad_token_id, "[PAD]")
        self.padding = padding
        self.truncation = truncation
        self.max_length = max_length
        self.pad_to_multiple_of = pad_to_multiple_of
        self.return_token_type_ids = return_token_type_ids
        self.return_attention_mask = return_attention_mask
        self.use_fast_bert_tokenizer = use_fast_bert_tokenizer
        self.tokenizer_kwargs = dict(tokenizer_kwargs)
        unk = tokenizer_kwargs.pop("unknown_token", "[UNK]")
        self.unk_token_id = self.vocab_list.index(unk) if unk in self.vocab_list else 0
        self._is_continuation = tf.constant([token.startswith("##") for token in self.vocab_list])
        if use_fast_bert_tokenizer:
            # 4 bytes per character at most: no word of up to MAX_CHARS_PER_WORD characters hits the byte limit
            tokenizer_kwargs.setdefault("max_bytes_per_word", 4 * MAX_CHARS_PER_WORD)
            self.tf_tokenizer = tf_text.FastBertTokenizer(
                self.vocab_list, token_out_type=tf.int64, unknown_token=unk, **tokenizer_kwargs
            )
        else:
            table = tf.lookup.StaticVocabularyTable(
                tf.lookup.KeyValueTensorInitializer(
                    keys=self.vocab_list, values=tf.range(len(self.vocab_list), dtype=tf.int64),
                    key_dtype=tf.string, value_dtype=tf.int64,
                ),
                num_oov_buckets=1,
            )
            self.tf_tokenizer = tf_text.BertTokenizer(table, token_out_type=tf.int64, unknown_token=unk, **tokenizer_kwargs)
        self.built = True

    def _token_id(self, given: int | None, token: str) -> int:
        if given is not None:
            return given
        if token not in self.vocab_list:
            raise ValueError(f"The vocabulary has no {token}; pass its id as {token[1:-1].lower()}_token_id.")
        return self.vocab_list.index(token)

    @classmethod
    def from_tokenizer(cls, tokenizer: Any, **kwargs: Any) -> TFBertTokenizer:
        """From an existing BERT-style tokenizer (mintformers' or transformers'): its vocabulary, casing and special
        tokens; keyword arguments override them and set the other options."""
        init = getattr(tokenizer, "init_kwargs", {}) or {}
        for name, value in (
            ("do_lower_case", getattr(tokenizer, "do_lower_case", init.get("do_lower_case", True))),
            ("strip_accents", init.get("strip_accents")),
            ("cls_token_id", tokenizer.cls_token_id),
            ("sep_token_id", tokenizer.sep_token_id),
            ("pad_token_id", tokenizer.pad_token_id),
        ):
            kwargs.setdefault(name, value)
        vocab = sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
        kwargs.setdefault("unknown_token", tokenizer.unk_token)
        return cls(vocab_list=[token for token, _ in vocab], **kwargs)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, *init_inputs: Any, **kwargs: Any):
        """From a tokenizer folder or hub id (vocab.txt / tokenizer.json and tokenizer_config.json)."""
        from ..hub import hub_kwargs
        from ..tokenization import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(pretrained_model_name_or_path, *init_inputs, **hub_kwargs(kwargs))
        return cls.from_tokenizer(tokenizer, **kwargs)

    # ---- tokenization -------------------------------------------------------------------------------------------
    def __call__(self, text, text_pair=None, **kwargs: Any) -> dict[str, tf.Tensor]:
        # Keras takes only tensors positionally: accept Python strings and lists too
        text = tf.convert_to_tensor(text)
        if text_pair is not None:
            kwargs["text_pair"] = tf.convert_to_tensor(text_pair)
        return super().__call__(text, **kwargs)

    def _normalize(self, texts: tf.Tensor) -> tf.Tensor:
        """BertTokenizerFast's normaliser: clean the text, strip accents, lower-case (see the module docstring)."""
        texts = tf.strings.regex_replace(texts, _DROP, "")
        texts = tf.strings.regex_replace(texts, _SPACE, " ")
        if self.strip_accents:
            texts = tf.strings.regex_replace(tf_text.normalize_utf8(texts, "NFD"), r"\p{Mn}", "")
        if self.do_lower_case:
            # letter by letter, as BertTokenizerFast: no final-sigma rule (ICU lower-cases a final Σ to ς)
            texts = tf.strings.lower(tf.strings.regex_replace(texts, "Σ", "σ"), encoding="utf-8")
        return texts

    def unpaired_tokenize(self, texts: tf.Tensor) -> tf.RaggedTensor:
        """(batch,) strings → (batch, None) word-piece ids, without special tokens."""
        texts = self._normalize(texts)
        if not self.use_fast_bert_tokenizer:
            return self.tf_tokenizer.tokenize(texts).merge_dims(1, -1)
        tokens, starts, ends = self.tf_tokenizer.tokenize_with_offsets(texts)  # (B, pieces), byte offsets
        return self._unk_long_words(texts, tokens, starts, ends)

    def _unk_long_words(self, texts, tokens, starts, ends) -> tf.RaggedTensor:
        """Words of more than MAX_CHARS_PER_WORD characters → a single [UNK]. tokens, starts, ends: (B, pieces)
        ids and byte offsets; a word starts at every piece that is not a `##` continuation."""
        ids, row = tokens.flat_values, tokens.value_rowids()
        word_starts = tf.logical_not(tf.gather(self._is_continuation, ids))  # (pieces,)
        word = tf.cumsum(tf.cast(word_starts, tf.int64)) - 1  # the word of each piece
        first = tf.math.segment_min(starts.flat_values, word)  # (words,) byte spans
        last = tf.math.segment_max(ends.flat_values, word)
        text = tf.strings.substr(tf.gather(texts, tf.math.segment_min(row, word)), first, last - first)
        too_long = tf.gather(tf.strings.length(text, unit="UTF8_CHAR") > MAX_CHARS_PER_WORD, word)  # (pieces,)
        ids = tf.where(too_long, tf.constant(self.unk_token_id, tf.int64), ids)
        keep = tf.logical_or(word_starts, tf.logical_not(too_long))
        nrows = tf.shape(texts, out_type=tf.int64)[0]
        return tf.RaggedTensor.from_value_rowids(tf.boolean_mask(ids, keep), tf.boolean_mask(row, keep), nrows=nrows)

    def call(
        self,
        text,
        text_pair=None,
        padding: str | None = None,
        truncation: bool | None = None,
        max_length: int | None = None,
        pad_to_multiple_of: int | None = None,
        return_token_type_ids: bool | None = None,
        return_attention_mask: bool | None = None,
    ) -> dict[str, tf.Tensor]:
        """text: (batch,) strings, or (batch, 2) pairs; text_pair: (batch,) second texts."""
        padding = self.padding if padding is None else padding
        if padding not in ("longest", "max_length"):
            raise ValueError(f"padding must be 'longest' or 'max_length', got {padding!r}.")
        if max_length is not None and text_pair is not None:
            raise ValueError("max_length cannot be overridden at call time for text pairs (the trimmer is built once).")
        max_length = self.max_length if max_length is None else max_length
        truncation = self.truncation if truncation is None else truncation
        pad_to_multiple_of = self.pad_to_multiple_of if pad_to_multiple_of is None else pad_to_multiple_of
        return_token_type_ids = self.return_token_type_ids if return_token_type_ids is None else return_token_type_ids
        return_attention_mask = self.return_attention_mask if return_attention_mask is None else return_attention_mask

        text = tf.convert_to_tensor(text)
        if text_pair is not None:
            text_pair = tf.convert_to_tensor(text_pair)
            if text.shape.rank != 1 or text_pair.shape.rank != 1:
                raise ValueError("With text_pair, text and text_pair must both be 1-D (batch,) string tensors.")
        elif text.shape.rank == 2:
            text, text_pair = text[:, 0], text[:, 1]
        segments = [self.unpaired_tokenize(text)]
        if text_pair is not None:
            segments.append(self.unpaired_tokenize(text_pair))
        if truncation:
            if len(segments) == 1:
                segments = [segments[0][:, : max_length - 2]]  # room for [CLS] and [SEP]
            else:
                segments = _truncate_longest_first(*segments, max_length - 3)
        input_ids, token_type_ids = tf_text.combine_segments(
            segments, start_of_sequence_id=self.cls_token_id, end_of_segment_id=self.sep_token_id
        )
        if padding == "longest":
            pad_length = input_ids.bounding_shape(axis=1)
            if pad_to_multiple_of is not None:
                pad_length = pad_to_multiple_of * -tf.math.floordiv(-pad_length, pad_to_multiple_of)
        else:
            pad_length = max_length
        input_ids, attention_mask = tf_text.pad_model_inputs(input_ids, max_seq_length=pad_length, pad_value=self.pad_token_id)
        output = {"input_ids": input_ids}
        if return_attention_mask:
            output["attention_mask"] = attention_mask
        if return_token_type_ids:
            # segment 0 at padding (the reference pads token types with pad_token_id, 0 for BERT vocabularies)
            output["token_type_ids"] = tf_text.pad_model_inputs(token_type_ids, max_seq_length=pad_length, pad_value=0)[0]
        return output

    def get_config(self) -> dict[str, Any]:
        return {
            "vocab_list": self.vocab_list,
            "do_lower_case": self.do_lower_case,
            "cls_token_id": self.cls_token_id,
            "sep_token_id": self.sep_token_id,
            "pad_token_id": self.pad_token_id,
            "padding": self.padding,
            "truncation": self.truncation,
            "max_length": self.max_length,
            "pad_to_multiple_of": self.pad_to_multiple_of,
            "return_token_type_ids": self.return_token_type_ids,
            "return_attention_mask": self.return_attention_mask,
            "use_fast_bert_tokenizer": self.use_fast_bert_tokenizer,
            "strip_accents": self.strip_accents,
            **self.tokenizer_kwargs,
        }


def _truncate_longest_first(first: tf.RaggedTensor, second: tf.RaggedTensor, budget: int):
    """BertTokenizerFast's "longest_first" for pairs of (B, None) ids, row by row: the shorter text keeps its
    length and the longer one takes the rest of `budget`, unless the shorter alone needs more than half, when they
    split it (the longer gets the odd token). (The `tokenizers` rule; transformers' slow tokenizers differ.)"""
    n1, n2 = first.row_lengths(), second.row_lengths()
    short = tf.minimum(n1, n2)
    keep_long = tf.where(short > budget, short, tf.maximum(short, budget - short))
    split = short + keep_long > budget
    keep_short = tf.where(split, budget // 2, short)
    keep_long = tf.where(split, budget // 2 + budget % 2, keep_long)
    first_longer = n1 > n2
    keep1 = tf.where(first_longer, keep_long, keep_short)
    keep2 = tf.where(first_longer, keep_short, keep_long)

    def cut(segment, n):
        return tf.ragged.boolean_mask(segment, tf.ragged.range(segment.row_lengths()) < n[:, None])

    fits = n1 + n2 <= budget
    return [cut(first, tf.where(fits, n1, keep1)), cut(second, tf.where(fits, n2, keep2))]
