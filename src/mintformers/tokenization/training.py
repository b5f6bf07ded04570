"""`train_new_from_iterator`: a new vocabulary for a fast tokenizer, learnt from a corpus, with everything else kept.

The tokenizer's own pipeline is reused as it is: normalizer, pre-tokenizer and decoder unchanged, the model emptied
and retrained by the `tokenizers` trainer of its kind (WordPiece, BPE, Unigram, WordLevel) with the same special
tokens (renamed through `special_tokens_map`, plus `new_special_tokens`), then the post-processor's special-token
ids re-pointed into the new vocabulary. These are the reference's rules, so the same corpus and settings give the
same vocabulary as `transformers`. Progress is the trainer's own bar (`show_progress=False` hides it; `length`, the
number of texts, lets it show how far it is).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from tokenizers import AddedToken, Tokenizer, pre_tokenizers, trainers

__all__ = ["train_backend"]

TRAINERS = {
    "BPE": trainers.BpeTrainer,
    "Unigram": trainers.UnigramTrainer,
    "WordLevel": trainers.WordLevelTrainer,
    "WordPiece": trainers.WordPieceTrainer,
}


def train_backend(
    state: dict[str, Any],
    text_iterator: Iterable[str] | Iterable[list[str]] | Iterator[Any],
    vocab_size: int,
    length: int | None = None,
    new_special_tokens: list[str | AddedToken] | None = None,
    special_tokens_map: dict[str, str] | None = None,
    **trainer_kwargs: Any,
) -> Tokenizer:
    """Train a new `tokenizers.Tokenizer` from `state`, the JSON of an existing one (see the module docstring)."""
    state = json.loads(json.dumps(state))  # a private copy
    rename = special_tokens_map or {}
    added_tokens = state.pop("added_tokens")
    post_processor = state.pop("post_processor")  # it names token ids: re-pointed after training
    model = state["model"]
    kind = model["type"]
    if kind not in TRAINERS:
        raise ValueError(
            f"This method does not support this type of tokenizer (found {kind}) only BPE, Unigram, WordLevel and "
            "WordPiece."
        )

    unk_token = None
    if kind == "BPE":
        model["vocab"], model["merges"] = {}, []
    elif kind == "Unigram":
        if model["unk_id"] is not None:
            unk_token = model["vocab"][model["unk_id"]][0]
            unk_token = rename.get(unk_token, unk_token)
            model["unk_id"] = 0
            model["vocab"] = [[unk_token, 0.0]]
    else:
        model["vocab"] = {}
    if model.get("unk_token") in rename:
        model["unk_token"] = rename[model["unk_token"]]
    tokenizer = Tokenizer.from_str(json.dumps(state))

    # The special tokens to keep (a Unigram model keeps every added token), renamed, then the new ones.
    special_tokens: list[str | AddedToken] = []
    for token in added_tokens:
        token = dict(token)
        token.pop("id", None)
        if not token.pop("special", None) and kind != "Unigram":
            continue
        token["content"] = rename.get(token["content"], token["content"])
        special_tokens.append(AddedToken(**token))
    special_tokens += list(new_special_tokens or [])

    if kind == "BPE":
        for option in ("continuing_subword_prefix", "end_of_word_suffix"):
            if option not in trainer_kwargs and model.get(option) is not None:
                trainer_kwargs[option] = model[option]
    if kind == "Unigram" and unk_token is not None:
        trainer_kwargs["unk_token"] = unk_token
    if _is_byte_level(state.get("pre_tokenizer")):
        trainer_kwargs["initial_alphabet"] = pre_tokenizers.ByteLevel.alphabet()  # every byte, seen or not

    trainer = TRAINERS[kind](vocab_size=vocab_size, special_tokens=special_tokens, **trainer_kwargs)
    tokenizer.train_from_iterator(text_iterator, trainer=trainer, length=length)
    if post_processor is None:
        return tokenizer
    trained = json.loads(tokenizer.to_str())
    trained["post_processor"] = _repoint(post_processor, tokenizer, rename)
    return Tokenizer.from_str(json.dumps(trained))


def _is_byte_level(pre_tokenizer: dict | None) -> bool:
    if pre_tokenizer is None:
        return False
    if pre_tokenizer["type"] == "ByteLevel":
        return True
    steps = pre_tokenizer.get("pretokenizers") if pre_tokenizer["type"] == "Sequence" else None
    return bool(steps) and any(step["type"] == "ByteLevel" for step in steps)


def _repoint(post_processor: dict, tokenizer: Tokenizer, rename: dict[str, str]) -> dict:
    """The post-processor's special tokens (TemplateProcessing's table, BERT/RoBERTa's cls / sep), renamed, with
    their ids in the trained vocabulary."""

    def token_id(token: str) -> int:
        index = tokenizer.token_to_id(token)
        if index is None:
            raise ValueError("Attempted to set a token in the post processor that does not exist in the mapping")
        return index

    for entry in post_processor.get("special_tokens", {}).values():
        entry["tokens"] = [rename.get(token, token) for token in entry["tokens"]]
        entry["ids"] = [token_id(token) for token in entry["tokens"]]
    for key in ("cls", "sep"):
        if key in post_processor:
            token = rename.get(post_processor[key][0], post_processor[key][0])
            post_processor[key] = [token, token_id(token)]
    return post_processor
