"""Tokenizers. By mechanism: the shared API (`base`, with `batch_encoding`, `options`, `special_tokens`, `files`),
the pure-Python (`slow`) and `tokenizers`-backed (`fast`) bases, WordPiece (`wordpiece`: BERT, MobileBERT, MPNet) and
sentencepiece (`sentencepiece`: model files, normalization, conversion). By family: ErnieM (`ernie_m`,
`ernie_m_fast`); MPT uses the generic fast class. `AutoTokenizer` picks the class (`auto`)."""

from .auto import TOKENIZER_CLASSES, AutoTokenizer
from .base import (
    AddedToken,
    BatchEncoding,
    CharSpan,
    LoneSurrogateError,
    PaddingStrategy,
    PreTrainedTokenizerBase,
    TensorType,
    TokenizerInputError,
    TokenSpan,
    TruncationStrategy,
)
from .ernie_m import ErnieMTokenizer
from .ernie_m_fast import ErnieMTokenizerFast
from .fast import PreTrainedTokenizerFast
from .slow import PreTrainedTokenizer
from .wordpiece import (
    BasicTokenizer,
    BertTokenizer,
    BertTokenizerFast,
    MobileBertTokenizer,
    MobileBertTokenizerFast,
    MPNetTokenizer,
    MPNetTokenizerFast,
    WordpieceTokenizer,
)

__all__ = [
    "AddedToken",
    "AutoTokenizer",
    "BasicTokenizer",
    "BatchEncoding",
    "BertTokenizer",
    "BertTokenizerFast",
    "CharSpan",
    "ErnieMTokenizer",
    "ErnieMTokenizerFast",
    "LoneSurrogateError",
    "MPNetTokenizer",
    "MPNetTokenizerFast",
    "MobileBertTokenizer",
    "MobileBertTokenizerFast",
    "PaddingStrategy",
    "PreTrainedTokenizer",
    "PreTrainedTokenizerBase",
    "PreTrainedTokenizerFast",
    "TOKENIZER_CLASSES",
    "TensorType",
    "TokenSpan",
    "TokenizerInputError",
    "TruncationStrategy",
    "WordpieceTokenizer",
]
