"""Special-token plumbing shared by every tokenizer: the `cls_token` / `cls_token_id` style attributes, the
model-specific `extra_special_tokens`, `special_tokens_map` and friends, `add_special_tokens` and `add_tokens`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tokenizers import AddedToken

__all__ = ["SPECIAL_TOKENS_ATTRIBUTES", "SpecialTokenError", "SpecialTokensMixin"]

SPECIAL_TOKENS_ATTRIBUTES = [
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
    "additional_special_tokens",
]


class SpecialTokenError(TypeError, ValueError, AssertionError):
    """A special token given in a form the tokenizer cannot use. Also an AssertionError (the reference checks these
    with `assert`) and a TypeError / ValueError (what it raises for the other malformed values)."""


class _SpecialToken:
    """`tokenizer.cls_token`: the token as a str (None when unset); assign a str or an AddedToken to change it."""

    def __set_name__(self, owner, name: str):
        self.name = name

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        value = obj.__dict__["_special_tokens_map"][self.name]
        if value is None:  # unset (additional_special_tokens too, once set to None: the reference's reading)
            return None
        if self.name == "additional_special_tokens":
            return [str(token) for token in value]
        return str(value)

    def __set__(self, obj, value):
        obj._set_special_token(self.name, value)


class _SpecialTokenId:
    """`tokenizer.cls_token_id`: the id of the matching special token; assigning an id sets the token."""

    def __set_name__(self, owner, name: str):
        self.name = name
        self.token_name = name[: -len("_ids")] if name.endswith("_ids") else name[: -len("_id")]

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        tokens = getattr(obj, self.token_name)
        return None if tokens is None else obj.convert_tokens_to_ids(tokens)

    def __set__(self, obj, value):
        obj._set_special_token(self.token_name, None if value is None else obj.convert_ids_to_tokens(value))


class SpecialTokensMixin:
    """The special-token half of `PreTrainedTokenizerBase`. Subclasses provide `convert_tokens_to_ids`,
    `convert_ids_to_tokens` and `_add_tokens` (how a token enters the vocabulary)."""

    SPECIAL_TOKENS_ATTRIBUTES = SPECIAL_TOKENS_ATTRIBUTES

    bos_token = _SpecialToken()
    eos_token = _SpecialToken()
    unk_token = _SpecialToken()
    sep_token = _SpecialToken()
    pad_token = _SpecialToken()
    cls_token = _SpecialToken()
    mask_token = _SpecialToken()
    additional_special_tokens = _SpecialToken()
    bos_token_id = _SpecialTokenId()
    eos_token_id = _SpecialTokenId()
    unk_token_id = _SpecialTokenId()
    sep_token_id = _SpecialTokenId()
    pad_token_id = _SpecialTokenId()
    cls_token_id = _SpecialTokenId()
    mask_token_id = _SpecialTokenId()
    additional_special_tokens_ids = _SpecialTokenId()

    def _init_special_tokens(self, kwargs: dict[str, Any]) -> None:
        """Set the special tokens given as init arguments (`cls_token="[CLS]"`, `extra_special_tokens={...}`)."""
        self._special_tokens_map: dict[str, Any] = dict.fromkeys(SPECIAL_TOKENS_ATTRIBUTES)
        self._special_tokens_map["additional_special_tokens"] = []
        self._special_attributes = list(SPECIAL_TOKENS_ATTRIBUTES)
        for key, value in kwargs.items():
            if value is None or key not in SPECIAL_TOKENS_ATTRIBUTES:
                continue
            if key == "additional_special_tokens":
                _check_token_list(key, value)
            elif not isinstance(value, (str, AddedToken)):
                raise TypeError(f"Special token {key} has to be either str or AddedToken but got: {type(value)}")
            self._set_special_token(key, value)

        # Model-specific named special tokens (tokenizer_config.json "extra_special_tokens": {"name": "<tok>"}).
        self.extra_special_tokens = dict(kwargs.pop("extra_special_tokens", None) or {})
        for key, value in self.extra_special_tokens.items():
            if not isinstance(value, (str, AddedToken)):
                raise TypeError(f"Special token {key} has to be either str or AddedToken but got: {type(value)}")
            self._special_attributes.append(key)
            self._special_tokens_map[key] = value

    def __getattr__(self, name: str):
        # Only reached for missing attributes: serves the extra (model-specific) special tokens and their ids.
        special = self.__dict__.get("_special_tokens_map")
        if special is not None and name not in SPECIAL_TOKENS_ATTRIBUTES:
            if name in special:
                return None if special[name] is None else str(special[name])
            if name.endswith("_id") and name[:-3] in special:
                token = special[name[:-3]]
                return None if token is None else self.convert_tokens_to_ids(str(token))
        raise AttributeError(f"{type(self).__name__} has no attribute {name}")

    def _set_special_token(self, name: str, value: Any) -> None:
        # additional_special_tokens is kept as given (a list, a tuple, or None, which reads back as None).
        if name != "additional_special_tokens" and value is not None and not isinstance(value, (str, AddedToken)):
            raise ValueError(f"Cannot set a non-string value as the {name}")
        self._special_tokens_map[name] = value

    def _extend_additional_special_tokens(self, tokens: list[str | AddedToken]) -> None:
        current = self._special_tokens_map["additional_special_tokens"]
        if isinstance(current, list):
            current.extend(tokens)
        else:  # None or a tuple
            self._special_tokens_map["additional_special_tokens"] = [*(current or ()), *tokens]

    @property
    def pad_token_type_id(self) -> int:
        return self._pad_token_type_id

    @property
    def special_tokens_map(self) -> dict[str, str | list[str]]:
        """The set special tokens as strings, e.g. {"cls_token": "[CLS]", ...}."""
        out = {}
        for attr in self._special_attributes:
            value = self._special_tokens_map[attr]
            if value:
                out[attr] = [str(t) for t in value] if attr == "additional_special_tokens" else str(value)
        return out

    @property
    def special_tokens_map_extended(self) -> dict[str, Any]:
        """Like `special_tokens_map` but keeping AddedToken objects (with their lstrip/rstrip/... flags)."""
        return {
            attr: self._special_tokens_map[attr] for attr in self._special_attributes if self._special_tokens_map[attr]
        }

    @property
    def all_special_tokens_extended(self) -> list[str | AddedToken]:
        tokens, seen = [], set()
        for value in self.special_tokens_map_extended.values():
            for token in value if isinstance(value, (list, tuple)) else [value]:
                if str(token) not in seen:
                    seen.add(str(token))
                    tokens.append(token)
        return tokens

    @property
    def all_special_tokens(self) -> list[str]:
        return [str(t) for t in self.all_special_tokens_extended]

    @property
    def all_special_ids(self) -> list[int]:
        return self.convert_tokens_to_ids(self.all_special_tokens)

    def add_special_tokens(
        self,
        special_tokens_dict: dict[str, str | AddedToken | Sequence[str | AddedToken]],
        replace_additional_special_tokens: bool = True,
    ) -> int:
        """Set special tokens (e.g. {"pad_token": "<pad>"}) and add the new ones to the vocabulary.

        Returns how many tokens were added to the vocabulary (resize the model's embeddings by that many).
        """
        if not special_tokens_dict:
            return 0
        added: list[AddedToken] = []
        for key, value in special_tokens_dict.items():
            if key not in self._special_attributes:
                raise SpecialTokenError(
                    f"Key {key} is not a special token: use one of {self._special_attributes}, or add_tokens() for a "
                    "token that needs no name."
                )
            if key == "additional_special_tokens":
                _check_token_list(key, value)
                to_add = []
                for token in value:
                    if isinstance(token, str):
                        token = AddedToken(token, rstrip=False, lstrip=False, normalized=False, special=True)
                    if not replace_additional_special_tokens and str(token) in (self.additional_special_tokens or []):
                        continue
                    to_add.append(token)
                if replace_additional_special_tokens and to_add:
                    self._set_special_token(key, to_add)
                else:
                    self._extend_additional_special_tokens(to_add)
                added += to_add
            else:
                if not isinstance(value, (str, AddedToken)):
                    raise SpecialTokenError(
                        f"Token {value!r} for key {key} should be a str or an AddedToken instance, not "
                        f"{type(value).__name__}."
                    )
                if isinstance(value, str):
                    value = AddedToken(value, rstrip=False, lstrip=False, normalized=False, special=True)
                self._set_special_token(key, value)
                if value not in added:
                    added.append(value)
        return self.add_tokens(added, special_tokens=True)

    def add_tokens(
        self, new_tokens: str | AddedToken | Sequence[str | AddedToken], special_tokens: bool = False
    ) -> int:
        """Add tokens that are never split (AddedToken flags control stripping/single-word matching).

        Returns how many tokens were new to the vocabulary.
        """
        if not new_tokens:
            return 0
        if not isinstance(new_tokens, (list, tuple)):
            new_tokens = [new_tokens]
        return self._add_tokens(list(new_tokens), special_tokens=special_tokens)

    def _add_tokens(self, new_tokens: list[str | AddedToken], special_tokens: bool = False) -> int:
        raise NotImplementedError

    # ------------------------------------------------------------------ vocabulary (subclasses)


def _check_token_list(key: str, value: Any) -> None:
    if not isinstance(value, (list, tuple)) or not all(isinstance(t, (str, AddedToken)) for t in value):
        raise SpecialTokenError(
            f"Tokens {value!r} for key {key} should all be str or AddedToken instances, given as a list "
            f'(e.g. {{"{key}": ["<tool>", "</tool>"]}}).'
        )
