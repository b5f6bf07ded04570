"""sentencepiece models without the protobuf library: read a `.model` file, apply its normalization with the
alignment back to the input, and turn its pieces into a `tokenizers` model (Unigram, or BPE as ranked merges).

This is the mechanism; a family's tokenizer assembles it (ErnieM: `ernie_m.py`). The names of the ErnieM module
are also served from here, the import path they had before it was split out.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from tokenizers import models

__all__ = [
    "SPIECE_UNDERLINE",
    "ModelType",
    "PieceType",
    "SentencePieceNormalizer",
    "SentencePieceSpec",
    "bpe_merges",
    "read_sentencepiece_model",
    "subword_model",
    "unsupported_features",
    "write_sentencepiece_model",
]

SPIECE_UNDERLINE = "▁"


class PieceType(IntEnum):
    """SentencePiece.Type in sentencepiece_model.proto."""

    NORMAL = 1
    UNKNOWN = 2
    CONTROL = 3
    USER_DEFINED = 4
    UNUSED = 5
    BYTE = 6


class ModelType(IntEnum):
    """TrainerSpec.ModelType in sentencepiece_model.proto (word and char models are not read here)."""

    UNIGRAM = 1
    BPE = 2


@dataclass
class SentencePieceSpec:
    """What the fast tokenizer needs from a sentencepiece ModelProto (read without protobuf)."""

    pieces: list[tuple[str, float, int]]  # (piece, score, type), in id order
    model_type: int = ModelType.UNIGRAM
    byte_fallback: bool = False
    treat_whitespace_as_suffix: bool = False
    precompiled_charsmap: bytes = b""
    add_dummy_prefix: bool = True
    remove_extra_whitespaces: bool = True
    escape_whitespaces: bool = True

    @property
    def unk_piece(self) -> str:
        return next(piece for piece, _, kind in self.pieces if kind == PieceType.UNKNOWN)

    @property
    def segment_pieces(self) -> dict[str, float]:
        """The pieces the subword model may use, with their scores."""
        return {piece: score for piece, score, kind in self.pieces if kind == PieceType.NORMAL}


def _proto_fields(buf: bytes) -> Iterator[tuple[int, Any]]:
    """(field number, value) of a serialized protobuf message: ints for varints, bytes otherwise."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, i = _varint(buf, i)
        elif wire_type == 1:
            value, i = buf[i : i + 8], i + 8
        elif wire_type == 2:
            length, i = _varint(buf, i)
            value, i = buf[i : i + length], i + length
        elif wire_type == 5:
            value, i = buf[i : i + 4], i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire_type}")
        yield number, value


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, i
        shift += 7


def read_sentencepiece_model(serialized: bytes) -> SentencePieceSpec:
    # Field numbers from sentencepiece_model.proto: ModelProto{pieces=1, trainer_spec=2, normalizer_spec=3},
    # SentencePiece{piece=1, score=2, type=3}, TrainerSpec{model_type=3, treat_whitespace_as_suffix=24,
    # byte_fallback=35}, NormalizerSpec{precompiled_charsmap=2, add_dummy_prefix=3, remove_extra_whitespaces=4,
    # escape_whitespaces=5}.
    spec = SentencePieceSpec(pieces=[])
    for number, value in _proto_fields(serialized):
        if number == 1:
            piece, score, kind = "", 0.0, PieceType.NORMAL
            for field, item in _proto_fields(value):
                if field == 1:
                    piece = item.decode("utf-8")
                elif field == 2:
                    score = struct.unpack("<f", item)[0]
                elif field == 3:
                    kind = item
            spec.pieces.append((piece, score, kind))
        elif number == 2:
            for field, item in _proto_fields(value):
                if field == 3:
                    spec.model_type = item
                elif field == 24:
                    spec.treat_whitespace_as_suffix = bool(item)
                elif field == 35:
                    spec.byte_fallback = bool(item)
        elif number == 3:
            for field, item in _proto_fields(value):
                if field == 2:
                    spec.precompiled_charsmap = bytes(item)
                elif field == 3:
                    spec.add_dummy_prefix = bool(item)
                elif field == 4:
                    spec.remove_extra_whitespaces = bool(item)
                elif field == 5:
                    spec.escape_whitespaces = bool(item)
    return spec


def _field(number: int, value: int | float | bytes | str) -> bytes:
    """One serialized protobuf field: a varint (int), a 32-bit float, or length-delimited bytes / text."""
    if isinstance(value, bool) or isinstance(value, int):
        return _encode_varint(number << 3) + _encode_varint(int(value))
    if isinstance(value, float):
        return _encode_varint(number << 3 | 5) + struct.pack("<f", value)
    data = value.encode("utf-8") if isinstance(value, str) else value
    return _encode_varint(number << 3 | 2) + _encode_varint(len(data)) + data


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def write_sentencepiece_model(
    pieces: list[tuple[str, float, int]],
    template: bytes | None = None,
    precompiled_charsmap: bytes = b"",
    add_dummy_prefix: bool = True,
    remove_extra_whitespaces: bool = True,
) -> bytes:
    """A serialized unigram ModelProto with these (piece, score, type) entries, in id order. With `template` (another
    model) its trainer and normalizer settings are kept as they are; without, the normalization is built from the
    rule table and the two whitespace options (the other settings: sentencepiece's defaults)."""
    out = b"".join(
        _field(1, _field(1, piece) + _field(2, float(score)) + (_field(3, int(kind)) if kind != PieceType.NORMAL else b""))
        for piece, score, kind in pieces
    )
    if template is not None:
        return out + b"".join(_field(number, value) for number, value in _proto_fields(template) if number != 1)
    normalizer = _field(1, "nmt_nfkc" if precompiled_charsmap else "identity")
    if precompiled_charsmap:
        normalizer += _field(2, precompiled_charsmap)
    normalizer += _field(3, add_dummy_prefix) + _field(4, remove_extra_whitespaces) + _field(5, True)
    return out + _field(2, _field(3, int(ModelType.UNIGRAM))) + _field(3, normalizer)


def unsupported_features(spec: SentencePieceSpec) -> list[str]:
    """What `subword_model` + `SentencePieceNormalizer` cannot reproduce of this model (empty: everything works)."""
    return [
        name
        for name, bad in (
            ("byte_fallback", spec.byte_fallback),
            ("treat_whitespace_as_suffix", spec.treat_whitespace_as_suffix),
            ("escape_whitespaces=False", not spec.escape_whitespaces),
            ("user-defined pieces", any(kind == PieceType.USER_DEFINED for _, _, kind in spec.pieces)),
            ("a model type other than unigram or BPE", spec.model_type not in (ModelType.UNIGRAM, ModelType.BPE)),
        )
        if bad
    ]


def subword_model(
    spec: SentencePieceSpec, vocab: dict[str, int], unk_token: str, missing_score: float
) -> models.Unigram | models.BPE:
    """The model's segmentation as a `tokenizers` model over `vocab`'s ids (ids 0..n-1; a vocabulary that may hold
    entries that are no piece of the model, scored `missing_score` in a Unigram model)."""
    pieces = spec.segment_pieces
    if spec.model_type == ModelType.UNIGRAM:
        by_id = sorted(vocab.items(), key=lambda item: item[1])
        entries = [(token, pieces.get(token, missing_score)) for token, _ in by_id]
        return models.Unigram(entries, vocab[unk_token], False)
    return models.BPE(vocab, bpe_merges(pieces), unk_token=unk_token, fuse_unk=True)


def bpe_merges(pieces: dict[str, float]) -> list[tuple[str, str]]:
    """sentencepiece BPE merges any two adjacent symbols that spell a piece, best-scored piece first; as ranked
    merges: every split of every piece into two pieces, ordered by the piece's score."""
    merges = []
    for piece, score in pieces.items():
        for k in range(1, len(piece)):
            if piece[:k] in pieces and piece[k:] in pieces:
                merges.append((-score, k, piece[:k], piece[k:]))
    merges.sort(key=lambda m: (m[0], m[1]))
    return [(a, b) for _, _, a, b in merges]


_SPACE_RUNS = re.compile(" +")


class SentencePieceNormalizer:
    """sentencepiece's normalization, from its precompiled rule table: at each position the longest matching rule
    (a double-array trie over UTF-8), then its whitespace rules (leading / repeated / trailing spaces dropped, "▁"
    for spaces and before the text). Returns the text with, per character, where in the input it comes from.

    `tokenizers.normalizers.Precompiled` reads the same table but applies it per grapheme cluster, which loses the
    combining marks that follow a character the table rewrites (a no-break space, a full-width letter, ...)."""

    def __init__(self, charsmap: bytes, add_dummy_prefix: bool, remove_extra_whitespaces: bool):
        self.add_dummy_prefix = add_dummy_prefix
        self.remove_extra_whitespaces = remove_extra_whitespaces
        self._units: tuple[int, ...] = ()
        self._targets = b""
        if charsmap:
            (trie_size,) = struct.unpack_from("<I", charsmap)
            self._units = struct.unpack_from(f"<{trie_size // 4}I", charsmap, 4)
            self._targets = charsmap[4 + trie_size :]
        self._pairs: dict[str, bool | int] = {}  # see _units_of
        self._decoded: dict[int, str] = {}

    def _longest_rule(self, text: str, start: int) -> tuple[int, int]:
        """(length in characters, target offset) of the longest rule matching `text` at `start`; (0, 0) if none.
        Rules are keyed by UTF-8 bytes and always end at a character boundary."""
        units = self._units
        unit = units[0]
        node = (unit >> 10) << ((unit & 512) >> 6)
        best = (0, 0)
        for j in range(start, len(text)):
            for byte in text[j].encode("utf-8"):
                node ^= byte
                unit = units[node]
                if unit & 0x800000FF != byte:
                    return best
                node ^= (unit >> 10) << ((unit & 512) >> 6)
            if (unit >> 8) & 1:
                best = (j + 1 - start, units[node] & 0x7FFFFFFF)
        return best

    def _target(self, offset: int) -> str:
        text = self._decoded.get(offset)
        if text is None:
            text = self._targets[offset : self._targets.index(b"\0", offset)].decode("utf-8")
            self._decoded[offset] = text
        return text

    def _walks(self, data: bytes) -> bool:
        """Whether the trie has a path through all of `data` (some rule starts with it)."""
        units = self._units
        unit = units[0]
        node = (unit >> 10) << ((unit & 512) >> 6)
        for byte in data:
            node ^= byte
            unit = units[node]
            if unit & 0x800000FF != byte:
                return False
            node ^= (unit >> 10) << ((unit & 512) >> 6)
        return True

    def _units_of(self, text: str) -> list[tuple[int, str, int]]:
        """(position, normalized form, length) of each stretch the table rewrites; other characters are copied."""
        rewritten = []
        if not self._units:
            return rewritten
        # Cached per two characters: whether a rule may span both (then walk the trie), else the rule of the first
        # character alone (or None): most pairs of letters start no rule.
        pairs = self._pairs
        if len(pairs) > 200_000:
            pairs.clear()
        i, n = 0, len(text)
        while i < n:
            pair = text[i : i + 2]
            known = pairs.get(pair)
            if known is None:
                known = pairs[pair] = self._classify(pair)
            if known is True:
                length, target = self._longest_rule(text, i)
            else:
                length, target = (1, known) if known is not False else (0, 0)
            if length:
                rewritten.append((i, self._target(target), length))
                i += length
            else:
                i += 1
        return rewritten

    def _classify(self, pair: str) -> bool | int:
        """True if the trie has a path through both characters of `pair`; else the target of a rule for its first
        character alone, or False."""
        if len(pair) == 2 and self._walks(pair.encode("utf-8")):
            return True
        length, target = self._longest_rule(pair[0], 0)
        return target if length else False

    def normalize(self, text: str) -> tuple[str, list[int]]:
        rewritten = self._units_of(text)
        if not rewritten and self.remove_extra_whitespaces and not text.rstrip(" ").endswith(SPIECE_UNDERLINE):
            return self._spaces_only(text)
        if rewritten:
            # Every unit: a rewritten stretch as found, any other character as itself.
            units: list[tuple[int, str, int]] = []
            position = 0
            for start, normalized, length in rewritten:
                units.extend((i, text[i], 1) for i in range(position, start))
                units.append((start, normalized, length))
                position = start + length
            units.extend((i, text[i], 1) for i in range(position, len(text)))
        else:
            units = [(i, char, 1) for i, char in enumerate(text)]
        first = 0
        if self.remove_extra_whitespaces:
            while first < len(units) and units[first][1] == " ":
                first += 1
        if first == len(units):
            return "", [0]
        chars: list[str] = []
        where: list[int] = []
        if self.add_dummy_prefix:
            chars.append(SPIECE_UNDERLINE)
            where.append(units[first][0])
        remove_extra = self.remove_extra_whitespaces
        previous_is_space = remove_extra
        for position, normalized, _ in units[first:] if first else units:
            if previous_is_space:
                normalized = normalized.lstrip(" ")
            if normalized:
                if len(normalized) == 1:
                    chars.append(SPIECE_UNDERLINE if normalized == " " else normalized)
                    where.append(position)
                else:
                    chars.extend(SPIECE_UNDERLINE if c == " " else c for c in normalized)
                    where.extend([position] * len(normalized))
                previous_is_space = normalized[-1] == " "
            if not remove_extra:
                previous_is_space = False
        last = units[-1]
        consumed = last[0] + last[2]
        while remove_extra and chars and chars[-1] == SPIECE_UNDERLINE:
            chars.pop()
            consumed = where.pop()
        return "".join(chars), where + [consumed]

    def _spaces_only(self, text: str) -> tuple[str, list[int]]:
        """`normalize` for a text the table leaves alone: only the whitespace rules (what most texts need)."""
        start, end = len(text) - len(text.lstrip(" ")), len(text.rstrip(" "))
        if start >= end:
            return "", [0]
        where = [start] if self.add_dummy_prefix else []
        previous = start
        for run in _SPACE_RUNS.finditer(text, start, end):
            where.extend(range(previous, run.start() + 1))  # a run becomes one "▁", placed at its first space
            previous = run.end()
        where.extend(range(previous, end))
        where.append(end)
        body = _SPACE_RUNS.sub(SPIECE_UNDERLINE, text[start:end])
        return (SPIECE_UNDERLINE + body if self.add_dummy_prefix else body), where


# The names the module had before ErnieM's tokenizers moved to `ernie_m.py`.
_SentencePieceSpec = SentencePieceSpec
_read_sentencepiece_proto = read_sentencepiece_model
_SentencePieceNormalizer = SentencePieceNormalizer


def __getattr__(name: str) -> Any:
    # `from mintformers.tokenization.sentencepiece import ErnieMTokenizer` (the old path): served lazily, as the
    # ErnieM modules import this one. Dunder names (`__path__`, asked by the import system) are never ErnieM's.
    if name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from . import ernie_m, ernie_m_fast

    for module in (ernie_m_fast, ernie_m):
        if hasattr(module, name):
            return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
