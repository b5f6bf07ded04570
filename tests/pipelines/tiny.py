"""Tiny checkpoints for pipeline tests: small vocabularies that cover the test sentences, random perturbed weights.

The WordPiece vocabulary splits a few words into pieces ("microsoft" → micro ##soft, "amsterdam" → ams ##ter
##dam) so that word aggregation has sub-words to group, and leaves some words out ("zzz") so that [UNK] is seen.
Checkpoints are written by whichever library is passed in (`transformers` for parity tests, `mintformers` for the
tests that need no reference), in the Hugging Face format both read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import ModuleType

from parity import perturb_

WORDS = (
    "the a an is of in and to at was were be he she it who where what when did does lives live works work for "
    "john smith mary new york paris france capital city micro ##soft company ams ##ter ##dam hello world good bad "
    "movie great film this example about sports politics weather today visited met . , ? ! ' - red blue green "
    "color sky grass"
).split()
SPECIAL = {
    "bert": ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
    "mpnet": ["<s>", "<pad>", "</s>", "[UNK]", "<mask>"],
}
TOKENIZER_CONFIG = {
    "bert": {"tokenizer_class": "BertTokenizer"},
    "mpnet": {
        "tokenizer_class": "MPNetTokenizer", "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>",
        "cls_token": "<s>", "unk_token": "[UNK]", "pad_token": "<pad>", "mask_token": "<mask>",
    },
}
NER_LABELS = {0: "O", 1: "B-PER", 2: "I-PER", 3: "B-ORG", 4: "I-ORG", 5: "B-LOC", 6: "I-LOC", 7: "MISC"}
NLI_LABELS = {0: "contradiction", 1: "neutral", 2: "entailment"}
SENTIMENT_LABELS = {0: "negative", 1: "positive", 2: "neutral"}
MODEL_MAX_LENGTH = 64

# Per family: the config class, tokenizer style and a small config (dropout off so that train-mode models agree).
FAMILIES = {
    "bert": ("BertConfig", "bert", dict(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
        max_position_embeddings=MODEL_MAX_LENGTH, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    )),
    "mobilebert": ("MobileBertConfig", "bert", dict(
        hidden_size=32, embedding_size=16, intra_bottleneck_size=16, intermediate_size=24,
        num_hidden_layers=2, num_attention_heads=4, num_feedforward_networks=2, max_position_embeddings=MODEL_MAX_LENGTH,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    )),
    "mpnet": ("MPNetConfig", "mpnet", dict(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
        max_position_embeddings=MODEL_MAX_LENGTH + 2, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
        pad_token_id=1, bos_token_id=0, eos_token_id=2,
    )),
}


def vocabulary(style: str = "bert") -> list[str]:
    return SPECIAL[style] + WORDS


def write_tokenizer(directory: str | os.PathLike, style: str = "bert") -> Path:
    """vocab.txt + tokenizer_config.json: both libraries build their fast WordPiece tokenizer from these."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "vocab.txt").write_text("\n".join(vocabulary(style)) + "\n", encoding="utf-8")
    config = {**TOKENIZER_CONFIG[style], "do_lower_case": True, "model_max_length": MODEL_MAX_LENGTH}
    (directory / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return directory


def write_checkpoint(
    lib: ModuleType, directory: str | os.PathLike, class_name: str, family: str = "bert", seed: int = 0, **config
) -> Path:
    """A perturbed `lib.<class_name>` (transformers or mintformers) with its tokenizer files, saved to `directory`."""
    config_class, style, small = FAMILIES[family]
    settings = {**small, "vocab_size": len(vocabulary(style)), **config}
    if "id2label" in settings:
        settings["label2id"] = {label: i for i, label in settings["id2label"].items()}
    model = getattr(lib, class_name)(getattr(lib, config_class)(**settings)).eval()
    perturb_(model, seed)
    model.save_pretrained(directory)
    return write_tokenizer(directory, style)


CORPUS = [
    "Once upon a time there was a little red fox who lived in the green forest.",
    "John Smith works for Microsoft in New York and Mary visited Amsterdam today.",
    "The capital of France is Paris. The sky is blue and the grass is green.",
    "Hello world! This is a good movie about sports, politics and the weather.",
]


def write_bpe_tokenizer(directory: str | os.PathLike, vocab_size: int = 300) -> Path:
    """A byte-level BPE tokenizer.json (GPT-NeoX style, as MPT checkpoints ship) trained on CORPUS.

    Id 0 is <|endoftext|> (bos, eos and unk, as in MPT's tokenizer); there is no padding token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=["<|endoftext|>"], show_progress=False
    )  # only the corpus's characters: generated text stays readable
    tokenizer.train_from_iterator(CORPUS * 4, trainer)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(directory / "tokenizer.json"))
    config = {"tokenizer_class": "GPTNeoXTokenizer", "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
              "unk_token": "<|endoftext|>", "add_bos_token": False, "add_eos_token": False,
              "model_max_length": MODEL_MAX_LENGTH}
    (directory / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return directory


def write_mpt_checkpoint(lib: ModuleType, directory: str | os.PathLike, class_name: str = "MptForCausalLM", seed: int = 0, **config) -> Path:
    """A perturbed MPT (`lib` = transformers or mintformers) with a BPE tokenizer, saved to `directory`."""
    directory = write_bpe_tokenizer(directory)
    vocab_size = len(json.loads((directory / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"])
    settings = dict(d_model=32, n_heads=4, n_layers=2, max_seq_len=MODEL_MAX_LENGTH, vocab_size=vocab_size,
                    bos_token_id=0, eos_token_id=0, **config)
    if "id2label" in settings:
        settings["label2id"] = {label: i for i, label in settings["id2label"].items()}
    model = getattr(lib, class_name)(lib.MptConfig(**settings)).eval()
    perturb_(model, seed)
    model.save_pretrained(directory)
    return directory


def write_ernie_m_tokenizer(directory: str | os.PathLike) -> Path:
    """sentencepiece.bpe.model (a small unigram model trained on CORPUS) + vocab.txt, as ErnieM checkpoints ship."""
    import io

    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS * 5), model_writer=model, vocab_size=70, model_type="unigram",
        character_coverage=1.0, minloglevel=2,
    )
    processor = spm.SentencePieceProcessor(model_proto=model.getvalue())
    pieces = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
    vocab = ["[PAD]", "[CLS]", "[SEP]", "[MASK]", "[UNK]"] + [p for p in pieces if p not in ("<unk>", "<s>", "</s>")]
    vocab += [c for c in ",.?!" if c not in vocab]  # ErnieM cuts punctuation out of pieces
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sentencepiece.bpe.model").write_bytes(model.getvalue())
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    config = {"tokenizer_class": "ErnieMTokenizer", "model_max_length": MODEL_MAX_LENGTH}
    (directory / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return directory


def write_ernie_m_checkpoint(lib: ModuleType, directory: str | os.PathLike, class_name: str, seed: int = 0, **config) -> Path:
    """A perturbed ErnieM (`lib` = transformers or mintformers) with its sentencepiece tokenizer."""
    directory = write_ernie_m_tokenizer(directory)
    vocab_size = len((directory / "vocab.txt").read_text(encoding="utf-8").splitlines())
    settings = dict(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                    intermediate_size=37, max_position_embeddings=MODEL_MAX_LENGTH + 2, hidden_dropout_prob=0.0,
                    attention_probs_dropout_prob=0.0, **config)
    if "id2label" in settings:
        settings["label2id"] = {label: i for i, label in settings["id2label"].items()}
    model = getattr(lib, class_name)(lib.ErnieMConfig(**settings)).eval()
    perturb_(model, seed)
    model.save_pretrained(directory)
    return directory
