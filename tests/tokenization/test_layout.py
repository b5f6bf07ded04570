"""The tokenization package was split into modules by job; the import paths that existed before keep working."""

import importlib

import pytest

import mintformers.tokenization as tokenization

OLD_PATHS = {
    "mintformers.tokenization.base": [
        "AddedToken", "BatchEncoding", "CharSpan", "TokenSpan", "PaddingStrategy", "TruncationStrategy", "TensorType",
        "TokenizerInputError", "PreTrainedTokenizerBase", "SPECIAL_TOKENS_ATTRIBUTES", "FULL_TOKENIZER_FILE",
        "TOKENIZER_CONFIG_FILE", "SPECIAL_TOKENS_MAP_FILE", "ADDED_TOKENS_FILE", "VERY_LARGE_INTEGER",
        "_atomic_write_text", "_EncodeOptions", "_to_py_obj",
    ],
    "mintformers.tokenization.sentencepiece": [
        "ErnieMTokenizer", "ErnieMTokenizerFast", "ernie_m_split", "SPIECE_UNDERLINE", "VOCAB_FILES_NAMES",
        "_read_sentencepiece_proto", "_SentencePieceNormalizer",
    ],
}  # fmt: skip


@pytest.mark.parametrize("module_name", sorted(OLD_PATHS))
def test_old_import_paths_still_work(module_name):
    module = importlib.import_module(module_name)
    for name in OLD_PATHS[module_name]:
        value = getattr(module, name)
        public = getattr(tokenization, name, None)
        assert public is None or public is value, name  # the same object, not a copy


def test_unknown_name_is_an_attribute_error():
    from mintformers.tokenization import sentencepiece

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        sentencepiece.Nope  # noqa: B018
