"""Tokenizers: the shared API (`base`), pure-Python (`slow`) and `tokenizers`-backed (`fast`) bases, the WordPiece
families (BERT, MobileBERT, MPNet) and `AutoTokenizer`."""

from .auto import TOKENIZER_CLASSES, AutoTokenizer
from .base import (
    AddedToken,
    BatchEncoding,
    CharSpan,
    PaddingStrategy,
    PreTrainedTokenizerBase,
    TensorType,
    TokenizerInputError,
    TokenSpan,
    TruncationStrategy,
)
from .fast import PreTrainedTokenizerFast
from .sentencepiece import ErnieMTokenizer, ErnieMTokenizerFast
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
