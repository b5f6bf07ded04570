"""Access to a model output's fields, shared by every backend: attribute (`out.logits`), key (`out["logits"]`),
index (`out[0]`) and `to_tuple()`. Framework-free: the PyTorch, TensorFlow and Flax output dataclasses add only
what their framework needs (pytree registration, immutability).

As in the reference, only fields that are set (not None) count as keys, in index order and in `to_tuple()`, so
`return_dict=False` is simply `output.to_tuple()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from typing import Any

__all__ = ["OutputBase"]


class OutputBase:
    """Mixin for dataclasses: dict- and tuple-like reads over the fields that are set."""

    def keys(self) -> list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]

    def values(self) -> list[Any]:
        return [getattr(self, k) for k in self.keys()]

    def items(self) -> list[tuple[str, Any]]:
        return [(k, getattr(self, k)) for k in self.keys()]

    def to_tuple(self) -> tuple[Any, ...]:
        return tuple(self.values())

    def __getitem__(self, key: str | int | slice) -> Any:
        if isinstance(key, str):
            if key not in self.keys():
                raise KeyError(key)
            return getattr(self, key)
        return self.to_tuple()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if key not in {f.name for f in fields(self)}:
            raise KeyError(f"{type(self).__name__} has no field {key!r}")
        setattr(self, key, value)

    def __contains__(self, key: object) -> bool:
        return key in self.keys()

    def __iter__(self) -> Iterator[str]:
        # Dict-like, as in the reference: iterating yields the names of the set fields.
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in self.keys() else default
