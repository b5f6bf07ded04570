"""ErnieM's fast tokenizer. `ErnieMTokenizer` (`ernie_m.py`, where the algorithm is described) tokenizes with the
`sentencepiece` library; `ErnieMTokenizerFast` converts the same files into a
`tokenizers.Tokenizer` (ids, special tokens, truncation, padding, overflow windows, offsets and word ids come from
it), but two steps cannot be expressed with `tokenizers` components and run in a Python pre-tokenizer instead:
- step 2 re-splits the pieces the subword model chose (a piece such as "▁2019," or "東京は" is cut *after* the model
  picked it, which changes how the rest of the word is cut); no component can re-split a model's output, so the
  pre-tokenizer calls the converted `Unigram` / `BPE` model itself and re-splits its pieces;
- `normalizers.Precompiled` applies sentencepiece's rule table per grapheme cluster and drops combining marks after
  a character the table rewrites (e.g. "\u00a0\u0301"), so the table is applied here as sentencepiece does
  (`SentencePieceNormalizer`, longest match over the same trie).
The result is the slow tokenizer's ids and offsets, exactly. tokenizer.json keeps standard stand-ins for these two
steps (see `ErnieMTokenizerFast`).
"""

from __future__ import annotations

import base64
import json
import os
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from itertools import accumulate
from typing import Any

from tokenizers import Regex, Token, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from .base import FULL_TOKENIZER_FILE, AddedToken, _atomic_write_text
from .ernie_m import (
    _PUNCTUATION,
    SENTENCEPIECE_FILE,
    VOCAB_FILE,
    VOCAB_FILES_NAMES,
    ErnieMTokenizer,
    _digit_chars,
    _ErnieMFormat,
    _save_sp_files,
    _token_spans,
    ernie_m_split,
)
from .fast import PreTrainedTokenizerFast
from .sentencepiece import (
    SPIECE_UNDERLINE,
    PieceType,
    SentencePieceNormalizer,
    read_sentencepiece_model,
    subword_model,
    unsupported_features,
    write_sentencepiece_model,
)
from .slow import join_decoded
from .training import train_backend

__all__ = ["ErnieMTokenizerFast"]


# Unigram score of the vocabulary entries that are no sentencepiece piece ([CLS], <unk>, ...) in tokenizer.json; the
# exact pipeline segments with the pieces alone (`_unigram_segmenter`).
_NON_PIECE_SCORE = -1e6
# The unknown entry of that segmenter: it contains a space, which the normalized text never does, so it never matches.
_SEGMENTER_UNK = " <unk> "


def _char_class(chars: Sequence[str]) -> str:
    """Characters → the inside of an Oniguruma character class, as code point ranges."""
    points = sorted(ord(c) for c in chars)
    parts, i = [], 0
    while i < len(points):
        j = i
        while j + 1 < len(points) and points[j + 1] == points[j] + 1:
            j += 1
        parts.append(f"\\x{{{points[i]:X}}}" + (f"-\\x{{{points[j]:X}}}" if j > i else ""))
        i = j + 1
    return "".join(parts)


def _standin_pre_tokenizer(add_dummy_prefix: bool, remove_extra_whitespaces: bool) -> pre_tokenizers.PreTokenizer:
    """The standard pre-tokenizer tokenizer.json carries in place of ErnieM's re-split (see ErnieMTokenizerFast).

    It applies sentencepiece's whitespace rules and cuts *before* the subword model where ErnieM cuts after it
    (assuming "▁" joins the next digit / CJK / punctuation piece); ErnieMTokenizerFast reads the two whitespace
    settings back from it and replaces it with the exact step."""
    cut = "\\x{4E00}-\\x{9FFF}" + _char_class(sorted(_PUNCTUATION))
    digit = _char_class(_digit_chars())
    steps = [pre_tokenizers.Split(Regex(" +"), "removed")] if remove_extra_whitespaces else []
    steps += [
        pre_tokenizers.Metaspace(
            replacement=SPIECE_UNDERLINE, prepend_scheme="always" if add_dummy_prefix else "never"
        ),
        pre_tokenizers.Split(Regex(f"▁(?=[{cut}{digit}])"), "removed"),
        pre_tokenizers.Split(Regex(f"[{cut}]"), "isolated"),
        pre_tokenizers.Split(Regex(f"[{digit}]+"), "isolated"),
    ]
    return pre_tokenizers.Sequence(steps)


def _read_standin(state: dict) -> tuple[bool, bool]:
    """(add_dummy_prefix, remove_extra_whitespaces) from a tokenizer.json pre-tokenizer written by
    `_standin_pre_tokenizer`; ValueError for anything else."""
    steps = state.get("pretokenizers", []) if state.get("type") == "Sequence" else []
    metaspace = [step for step in steps if step.get("type") == "Metaspace"]
    if not metaspace:
        raise ValueError(
            "This tokenizer.json was not written by ErnieMTokenizerFast (its pre-tokenizer has no Metaspace step); "
            "load ErnieM from its sentencepiece.bpe.model (+ vocab.txt) instead."
        )
    first = steps[0]
    removes_spaces = first.get("type") == "Split" and first.get("pattern", {}).get("Regex") == " +"
    return metaspace[0].get("prepend_scheme") == "always", removes_spaces


def _normalizer_steps(state: dict | None) -> list[dict]:
    """The steps of a tokenizer.json normalizer (a Sequence's, or the one)."""
    if not state:
        return []
    return state.get("normalizers", []) if state.get("type") == "Sequence" else [state]


def _convert_sentencepiece(
    sp_proto: bytes, vocab: dict[str, int], unk_token: str, cls: tuple[str, int], sep: tuple[str, int]
) -> Tokenizer:
    """sentencepiece model + ErnieM vocabulary → the `tokenizers.Tokenizer` written to tokenizer.json."""
    spec = read_sentencepiece_model(sp_proto)
    unsupported = unsupported_features(spec)
    if unsupported:
        raise NotImplementedError(
            f"ErnieMTokenizerFast cannot convert a sentencepiece model with {', '.join(unsupported)}; use "
            "ErnieMTokenizer."
        )
    if sorted(vocab.values()) != list(range(len(vocab))):
        raise ValueError("ErnieMTokenizerFast needs a vocabulary whose ids are 0..n-1 (vocab.txt has repeated lines).")
    backend = Tokenizer(subword_model(spec, vocab, unk_token, _NON_PIECE_SCORE))
    if spec.precompiled_charsmap:
        backend.normalizer = normalizers.Precompiled(spec.precompiled_charsmap)
    backend.pre_tokenizer = _standin_pre_tokenizer(spec.add_dummy_prefix, spec.remove_extra_whitespaces)
    backend.post_processor = processors.TemplateProcessing(
        single=f"{cls[0]}:0 $A:0 {sep[0]}:0",
        pair=f"{cls[0]}:0 $A:0 {sep[0]}:1 {sep[0]}:1 $B:1 {sep[0]}:1",  # token types as the slow tokenizer's
        special_tokens=[cls, sep],
    )
    backend.decoder = decoders.Metaspace(replacement=SPIECE_UNDERLINE, prepend_scheme="always")
    return backend


def _lowered(token: AddedToken) -> AddedToken:
    if token.special or not token.normalized:
        return token
    state = token.__getstate__()
    return AddedToken(**{**state, "content": state["content"].lower()})


def _unigram_segmenter(backend: Tokenizer) -> models.Unigram:
    """The sentencepiece pieces of tokenizer.json's Unigram model, alone: sentencepiece never matches its control
    and unknown pieces or ErnieM's special tokens, and their low scores would make unknown characters look costlier
    (the unknown score is the lowest score minus 10, as in sentencepiece)."""
    state = json.loads(backend.model.__getstate__())
    pieces = [(piece, score) for piece, score in state["vocab"] if score != _NON_PIECE_SCORE]
    return models.Unigram(pieces + [(_SEGMENTER_UNK, 0.0)], len(pieces), False)


class _ErnieMPieces:
    """The runtime pre-tokenizer of ErnieMTokenizerFast: sentencepiece's normalization, the subword model (the
    backend's own `Unigram` / `BPE`), ErnieM's re-split and the ids. Each text stretch between added tokens
    becomes one split per word, already tokenized, so the backend's model never runs on its own."""

    def __init__(self, owner: ErnieMTokenizerFast, model: models.Model, normalizer: SentencePieceNormalizer):
        import weakref

        self._owner = weakref.ref(owner)  # the backend holds this object: no strong reference cycle through it
        self._model = model
        self._normalizer = normalizer

    def pre_tokenize(self, pretok) -> None:
        owner = self._owner()
        if owner is None:
            raise RuntimeError("The ErnieMTokenizerFast that owns this backend tokenizer no longer exists.")
        words_tokens: list[list[Token]] = []

        def split(_index: int, stretch):
            words = self._words(stretch, owner)
            words_tokens.extend(tokens for _, tokens in words)
            return [word for word, _ in words]

        pretok.split(split)
        pending = iter(words_tokens)
        pretok.tokenize(lambda _text: next(pending))

    def _words(self, stretch, owner: ErnieMTokenizerFast) -> list[tuple[Any, list[Token]]]:
        text = stretch.normalized  # lower-cased when do_lower_case (the backend's only normalizer)
        seen, positions = self._normalizer.normalize(text)
        if not seen:
            return []
        # The model reports UTF-8 byte offsets; an unknown stretch keeps its text, as sentencepiece's pieces do.
        data = seen.encode("utf-8")
        pieces = [data[t.offsets[0] : t.offsets[1]].decode("utf-8") for t in self._model.tokenize(seen)]
        piece_starts = list(accumulate(map(len, pieces), initial=0))
        word_of_piece = list(accumulate(piece[0] == SPIECE_UNDERLINE for piece in pieces))  # "▁" starts a word
        splits = ernie_m_split(pieces)
        grouped: dict[int, list[tuple[str, int, int]]] = {}
        for (token, start, end), (_, s, _) in zip(_token_spans(pieces, positions, splits), splits):
            grouped.setdefault(word_of_piece[bisect_right(piece_starts, s) - 1], []).append((token, start, end))
        vocab, unk_id = owner._token_ids()
        out = []
        for tokens in grouped.values():
            first, last = tokens[0][1], max(end for _, _, end in tokens)
            encoded = []
            for token, start, end in tokens:  # offsets: UTF-8 bytes into the word's text
                begin = len(text[first:start].encode("utf-8"))
                encoded.append(
                    Token(vocab.get(token, unk_id), token, (begin, begin + len(text[start:end].encode("utf-8"))))
                )
            out.append((stretch[first:last], encoded))
        return out


class ErnieMTokenizerFast(_ErnieMFormat, PreTrainedTokenizerFast):
    """ErnieM's tokenizer on `tokenizers`: the ids and offsets of `ErnieMTokenizer`, plus word ids and Rust-side
    truncation / padding / overflow windows (see the module docstring for how).

    Built from the same files (sentencepiece.bpe.model + vocab.txt, or the model alone; every piece of the model
    must be in vocab.txt) or from a tokenizer.json it wrote. Word ids number the whitespace-separated words; offsets
    leave out the space a "▁" stands for.

    tokenizer.json holds only standard components: the normalization table as `Precompiled`, the model as `Unigram`
    or `BPE` over vocab.txt's ids, and, for ErnieM's re-split, a pre-tokenizer that cuts *before* the model. A
    `tokenizers.Tokenizer.from_file()` of it alone therefore differs from ErnieM where a sentencepiece piece spans one
    of ErnieM's cut points ("▁2019,", "東京は"), where a text starts with a lone "▁" piece, and around the combining
    marks `Precompiled` drops; this class replaces the two stand-ins when it loads the file.

    The Python step makes this class slower than `ErnieMTokenizer` (1,000 short multilingual sentences: 0.44 s
    against 0.05 s on 2 cores): it is for word ids and Rust-side windows, not for speed. `TOKENIZERS_PARALLELISM=false`
    cuts that to 0.28 s: tokenizers' worker threads otherwise contend for the GIL the Python step needs.

    Because of the Python step, `backend_tokenizer` cannot be serialized itself (`save_pretrained` and pickling
    write the stand-ins).

    What this class does not do: subword sampling (`sp_model_kwargs`), models with byte fallback, user-defined
    pieces or other non-default whitespace options. Pair truncation and overflow follow the backend, as in every fast
    tokenizer. BPE models only: two merges that make the same piece at overlapping positions may be applied in
    another order than sentencepiece's (leftmost first).

    `model_input_names == ["input_ids"]`, as in the reference (ErnieM has no token types): calls return no
    attention_mask unless `return_attention_mask=True`. ErnieM models derive the mask from `input_ids ==
    pad_token_id` when none is passed, so padded batches work either way.
    """

    vocab_files_names = {**VOCAB_FILES_NAMES, "tokenizer_file": FULL_TOKENIZER_FILE}
    model_input_names = ["input_ids"]
    slow_tokenizer_class = ErnieMTokenizer

    def __init__(
        self,
        sentencepiece_model_ckpt: str | os.PathLike | None = None,
        vocab_file: str | os.PathLike | None = None,
        tokenizer_file: str | os.PathLike | None = None,
        do_lower_case: bool = False,
        encoding: str = "utf8",
        unk_token: str | AddedToken = "[UNK]",
        sep_token: str | AddedToken = "[SEP]",
        pad_token: str | AddedToken = "[PAD]",
        cls_token: str | AddedToken = "[CLS]",
        mask_token: str | AddedToken = "[MASK]",
        sp_model_kwargs: dict[str, Any] | None = None,
        **kwargs,
    ):
        building = ("tokenizer_object", "__slow_tokenizer")
        if tokenizer_file is None and sentencepiece_model_ckpt is None and not any(k in kwargs for k in building):
            raise ValueError(
                f"{type(self).__name__} needs a sentencepiece model ({SENTENCEPIECE_FILE}, with or without "
                f"{VOCAB_FILE}) or a tokenizer_file ({FULL_TOKENIZER_FILE})."
            )
        self._sp_proto: bytes | None = None
        if sentencepiece_model_ckpt is not None and os.path.isfile(sentencepiece_model_ckpt):
            with open(sentencepiece_model_ckpt, "rb") as f:
                self._sp_proto = f.read()  # kept so that save_pretrained can write the slow tokenizer's files
        super().__init__(
            sentencepiece_model_ckpt,
            vocab_file,
            tokenizer_file=tokenizer_file,
            do_lower_case=do_lower_case,
            encoding=encoding,
            unk_token=unk_token,
            sep_token=sep_token,
            pad_token=pad_token,
            cls_token=cls_token,
            mask_token=mask_token,
            sp_model_kwargs=sp_model_kwargs,
            **kwargs,
        )
        self.do_lower_case = do_lower_case
        self._has_vocab_file = self.init_kwargs.get("vocab_file") is not None
        self._install_runtime()

    @classmethod
    def _missing_files(cls, files: dict[str, Any]) -> str | None:
        if files.get("tokenizer_file") is None and files.get("sentencepiece_model_ckpt") is None:
            return f"{FULL_TOKENIZER_FILE!r} or {SENTENCEPIECE_FILE!r} not found"
        return None

    def _convert_slow_tokenizer(self, slow_tokenizer: ErnieMTokenizer) -> Tokenizer:
        if slow_tokenizer.sp_model_kwargs.get("enable_sampling"):
            raise ValueError("Subword sampling (sp_model_kwargs enable_sampling) is only available in ErnieMTokenizer.")
        if slow_tokenizer.missing_pieces:
            raise ValueError(
                f"ErnieMTokenizerFast needs every piece of the sentencepiece model in the vocab file; "
                f"{len(slow_tokenizer.missing_pieces)} are missing (e.g. {slow_tokenizer.missing_pieces[:5]}). "
                "ErnieMTokenizer maps them to the unk_token."
            )
        self._sp_proto = slow_tokenizer.sp_model.serialized_model_proto()
        has_vocab = slow_tokenizer.init_kwargs.get("vocab_file") is not None
        unk = str(slow_tokenizer.unk_token) if has_vocab else read_sentencepiece_model(self._sp_proto).unk_piece
        cls, sep = str(slow_tokenizer.cls_token), str(slow_tokenizer.sep_token)
        return _convert_sentencepiece(
            self._sp_proto,
            slow_tokenizer.vocab if has_vocab else {**slow_tokenizer.vocab},
            unk,
            (cls, slow_tokenizer.cls_token_id),
            (sep, slow_tokenizer.sep_token_id),
        )

    def _install_runtime(self) -> None:
        """Replace tokenizer.json's stand-in steps by the exact ones: sentencepiece's normalization (read from its
        `Precompiled` table) and ErnieM's re-split move into the pre-tokenizer; do_lower_case (an init argument,
        which wins over the file) stays the only normalizer."""
        backend = self._tokenizer
        if not isinstance(backend.model, (models.Unigram, models.BPE)):
            raise ValueError(
                f"An ErnieM tokenizer.json has a Unigram or BPE model, not {type(backend.model).__name__}."
            )
        add_dummy_prefix, remove_extra = _read_standin(json.loads(backend.pre_tokenizer.__getstate__()))
        state = json.loads(backend.normalizer.__getstate__()) if backend.normalizer is not None else None
        charsmap = b""
        for step in _normalizer_steps(state):
            if step.get("type") == "Precompiled":
                charsmap = base64.b64decode(step["precompiled_charsmap"])
            elif step.get("type") != "Lowercase":
                raise ValueError(f"Unexpected normalizer {step.get('type')!r} in an ErnieM tokenizer.json.")
        lower = [normalizers.Lowercase()] if self.do_lower_case else []
        table = [normalizers.Precompiled(charsmap)] if charsmap else []
        self._standin = (normalizers.Sequence(lower + table) if lower + table else None, backend.pre_tokenizer)
        normalizer = SentencePieceNormalizer(charsmap, add_dummy_prefix, remove_extra)
        backend.normalizer = normalizers.Lowercase() if self.do_lower_case else None
        segmenter = _unigram_segmenter(backend) if isinstance(backend.model, models.Unigram) else backend.model
        backend.pre_tokenizer = pre_tokenizers.PreTokenizer.custom(_ErnieMPieces(self, segmenter, normalizer))

    def _token_ids(self) -> tuple[dict[str, int], int | None]:
        """(token → id with added tokens first, unk id), cached until the added or special tokens change."""
        cache = self.__dict__.get("_ids_cache")
        if cache is None:
            vocab = {**self._tokenizer.get_vocab(with_added_tokens=False), **self.added_tokens_encoder}
            cache = self._ids_cache = (vocab, self.unk_token_id)
        return cache

    def _add_tokens(self, new_tokens: list[str | AddedToken], special_tokens: bool = False) -> int:
        self.__dict__.pop("_ids_cache", None)
        if getattr(self, "do_lower_case", False) and not special_tokens:
            # As the slow tokenizer: a normalized added token is stored lower-cased (so it decodes that way too).
            special = set(self.all_special_tokens)
            new_tokens = [(t if t in special else t.lower()) if isinstance(t, str) else _lowered(t) for t in new_tokens]
        return super()._add_tokens(new_tokens, special_tokens)

    def _set_special_token(self, name: str, value: Any) -> None:
        self.__dict__.pop("_ids_cache", None)
        super()._set_special_token(name, value)

    # ------------------------------------------------------------------ saving and pickling

    def _portable_json(self) -> str:
        """tokenizer.json: the backend with the standard stand-ins (custom steps do not serialize), without the
        truncation / padding the last call configured on it."""
        with self._backend_lock:
            runtime = self._tokenizer.normalizer, self._tokenizer.pre_tokenizer
            self._tokenizer.normalizer, self._tokenizer.pre_tokenizer = self._standin
            try:
                state = json.loads(self._tokenizer.to_str())
            finally:
                self._tokenizer.normalizer, self._tokenizer.pre_tokenizer = runtime
        state["truncation"] = state["padding"] = None
        return json.dumps(state, indent=2, ensure_ascii=False)

    @property
    def can_save_slow_tokenizer(self) -> bool:
        return self._sp_proto is not None

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        """Write sentencepiece.bpe.model and (when the tokenizer has one) vocab.txt, as ErnieMTokenizer does."""
        if self._sp_proto is None:
            raise ValueError(
                "This tokenizer was loaded from tokenizer.json alone: it has no sentencepiece model to save."
            )
        vocab = self._tokenizer.get_vocab(with_added_tokens=False) if self._has_vocab_file else None
        return _save_sp_files(save_directory, filename_prefix, self._sp_proto, vocab)

    def _save_pretrained(
        self, save_directory: str, legacy_format: bool | None = None, filename_prefix: str | None = None
    ) -> tuple[str, ...]:
        if legacy_format is True and not self.can_save_slow_tokenizer:
            raise ValueError("Saving in the legacy format needs the sentencepiece model, which this tokenizer lacks.")
        written: tuple[str, ...] = ()
        if legacy_format in (None, True) and self.can_save_slow_tokenizer:
            written += self._save_added_tokens_and_vocab(save_directory, filename_prefix)
        if legacy_format in (None, False):
            path = os.path.join(
                save_directory, (f"{filename_prefix}-" if filename_prefix else "") + FULL_TOKENIZER_FILE
            )
            _atomic_write_text(path, self._portable_json())
            written += (path,)
        return written

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state["_tokenizer"] = self._portable_json()
        state.pop("_standin", None)
        return state

    def __setstate__(self, state: dict) -> None:
        state["_tokenizer"] = Tokenizer.from_str(state["_tokenizer"])
        super().__setstate__(state)
        self._install_runtime()

    # ------------------------------------------------------------------ training

    def train_new_from_iterator(
        self,
        text_iterator: Iterable[str] | Iterable[list[str]],
        vocab_size: int,
        length: int | None = None,
        new_special_tokens: list[str | AddedToken] | None = None,
        special_tokens_map: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> ErnieMTokenizerFast:
        """A new unigram vocabulary learnt from `text_iterator` (see `PreTrainedTokenizerFast`), as a sentencepiece
        model + vocab.txt pair, so that `save_pretrained` also writes what `ErnieMTokenizer` loads.

        The trainer sees the text through tokenizer.json's pipeline: the same normalization table and whitespace
        rules, and the stand-in pre-tokenizer (which cuts where ErnieM's re-split will). The sentencepiece model
        keeps this one's settings and control pieces; its other pieces are the trained ones, with their scores.
        vocab.txt lists the special tokens, then the pieces, in the trained order.
        """
        trained = train_backend(
            json.loads(self._portable_json()), text_iterator, vocab_size, length, new_special_tokens,
            special_tokens_map, **kwargs,
        )  # fmt: skip
        state = json.loads(trained.to_str())
        special = {token["content"] for token in state["added_tokens"]}
        vocab = {token: index for index, (token, _) in enumerate(state["model"]["vocab"])}
        learnt = [(piece, score, PieceType.NORMAL) for piece, score in state["model"]["vocab"] if piece not in special]
        if self._sp_proto is not None:
            original = read_sentencepiece_model(self._sp_proto)
            kept = [entry for entry in original.pieces if entry[2] != PieceType.NORMAL]
            proto = write_sentencepiece_model(kept + learnt, template=self._sp_proto)
        else:  # loaded from tokenizer.json alone: the settings its stand-ins carry
            add_dummy_prefix, remove_extra = _read_standin(state["pre_tokenizer"])
            charsmap = b""
            for step in _normalizer_steps(state.get("normalizer")):
                if step.get("type") == "Precompiled":
                    charsmap = base64.b64decode(step["precompiled_charsmap"])
            kept = [("<unk>", 0.0, PieceType.UNKNOWN), ("<s>", 0.0, PieceType.CONTROL), ("</s>", 0.0, PieceType.CONTROL)]
            proto = write_sentencepiece_model(kept + learnt, None, charsmap, add_dummy_prefix, remove_extra)
        rename = special_tokens_map or {}
        name = lambda token: rename.get(str(token), str(token))  # noqa: E731
        backend = _convert_sentencepiece(
            proto,
            vocab,
            name(self.unk_token),
            (name(self.cls_token), vocab[name(self.cls_token)]),
            (name(self.sep_token), vocab[name(self.sep_token)]),
        )
        tokenizer = self._from_trained(
            backend, new_special_tokens, special_tokens_map, sentencepiece_model_ckpt=None, vocab_file=None
        )
        tokenizer._sp_proto, tokenizer._has_vocab_file = proto, True
        return tokenizer

    # ------------------------------------------------------------------ decoding (as the slow tokenizer)

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return "".join(tokens).replace(SPIECE_UNDERLINE, " ").strip()

    def _decode(
        self,
        token_ids: int | list[int],
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
        spaces_between_special_tokens: bool = True,
        **kwargs,
    ) -> str:
        ids = [token_ids] if isinstance(token_ids, int) else token_ids
        tokens = [str(self.unk_token) if t is None else t for t in self.convert_ids_to_tokens(ids, skip_special_tokens)]
        special = set(self.all_special_tokens)
        # Added tokens that are not special are emitted as they are, between spaces (the slow tokenizer's rule).
        verbatim = (set(self.added_tokens_encoder) - special) | {
            t for t in self.additional_special_tokens or [] if self.convert_tokens_to_ids(t) >= self.vocab_size
        }
        text = join_decoded(tokens, verbatim, self.convert_tokens_to_string, spaces_between_special_tokens)
        return self._maybe_clean_up(text, clean_up_tokenization_spaces)
