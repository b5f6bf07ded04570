"""Input checks shared by the PyTorch, TensorFlow and Flax models: one set of messages naming the problem and the fix.

Framework-free: callers pass shapes and, when the values can be read (not while a graph is traced or compiled), the
range of the ids. Each backend keeps only its own type checks (a torch tensor, a tf.Tensor or numpy array, ...).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["check_input_shapes", "check_id_range", "check_table_range", "check_mask_values", "check_head_mask_shape"]


def check_input_shapes(
    ids_shape: Sequence[int] | None,
    embeds_shape: Sequence[int] | None,
    mask_shape: Sequence[int] | None = None,
    *,
    ids_are_integers: bool = True,
    max_positions: int | None = None,
    past_length: int = 0,
) -> tuple[int, int]:
    """Validate the shapes of input_ids / inputs_embeds / attention_mask; return (batch, seq_len)."""
    if ids_shape is not None and embeds_shape is not None:
        raise ValueError("You cannot specify both input_ids and inputs_embeds at the same time; pass one of them.")
    if ids_shape is None and embeds_shape is None:
        raise ValueError("You have to specify either input_ids or inputs_embeds.")
    if ids_shape is not None:
        ids_shape = tuple(ids_shape)
        if len(ids_shape) != 2:
            raise ValueError(
                f"input_ids must have shape (batch, sequence_length), got {ids_shape}"
                + ("; add a batch dimension with input_ids[None]." if len(ids_shape) == 1 else ".")
            )
        if not ids_are_integers:
            raise TypeError("input_ids must hold integer token ids, got floating-point values.")
        shape = ids_shape
    else:
        embeds_shape = tuple(embeds_shape)
        if len(embeds_shape) != 3:
            raise ValueError(f"inputs_embeds must have shape (batch, sequence_length, hidden), got {embeds_shape}.")
        shape = embeds_shape[:2]
    batch, seq_len = shape
    name = "input_ids" if ids_shape is not None else "inputs_embeds"
    if batch == 0:
        raise ValueError(f"{name} holds no sequences (shape {shape}): pass at least one.")
    if seq_len == 0:
        raise ValueError(
            f"{name} holds sequences of length 0 (shape {shape}): every sequence needs at least one token. "
            "Tokenize non-empty texts, or keep the tokenizer's special tokens."
        )
    if max_positions is not None and seq_len is not None and past_length + seq_len > max_positions:
        raise ValueError(
            f"Sequence length {past_length + seq_len} exceeds the model's maximum of {max_positions} positions "
            f"(max_position_embeddings). Truncate the input, e.g. tokenizer(..., truncation=True, max_length={max_positions})."
        )
    if mask_shape is not None:
        mask_shape = tuple(mask_shape)
        key_len = past_length + seq_len if seq_len is not None else None
        ok = (len(mask_shape) == 2 and _same(mask_shape, (batch, key_len))) or (
            len(mask_shape) == 3 and _same(mask_shape, (batch, seq_len, key_len))
        )
        if not ok:
            raise ValueError(
                f"attention_mask has shape {mask_shape} but the inputs are {shape} "
                f"(past length {past_length}): expected ({batch}, {key_len}) or ({batch}, {seq_len}, {key_len}). "
                "Pass the mask the tokenizer returned with these input_ids."
            )
    return batch, seq_len


def _same(actual: tuple, expected: tuple) -> bool:
    # None = a size unknown while tracing (dynamic batch or sequence): it matches anything
    return all(a is None or e is None or a == e for a, e in zip(actual, expected))


def check_id_range(lo: int, hi: int, vocab_size: int) -> None:
    """Token ids in [lo, hi] must index a vocabulary of vocab_size rows."""
    if lo < 0 or hi >= vocab_size:
        bad = hi if hi >= vocab_size else lo
        raise ValueError(
            f"Token id {bad} is out of range for this model's vocabulary (vocab_size={vocab_size}). The "
            "tokenizer does not match the model; after tokenizer.add_tokens(...) call "
            "model.resize_token_embeddings(len(tokenizer))."
        )


def check_table_range(top: int, rows: int, name: str, field: str, what: str) -> None:
    """Ids up to `top` index a table of `rows` rows (config.`field` `what`), e.g. token_type_ids into type_vocab_size."""
    if top >= rows:
        raise ValueError(f"{name} contain {top} but the model has only {field}={rows} {what}.")


def check_mask_values(has_other_values: bool) -> None:
    """An attention mask marks tokens to attend to (1) and padding (0); any other value is a mistake (a sum of masks,
    an additive mask of -inf/0, a count) that would silently change the attention scores."""
    if has_other_values:
        raise ValueError(
            "attention_mask must hold only 0 (padding) and 1 (attend), or booleans; it holds other values. Pass the "
            "mask the tokenizer returned (or (mask > 0).long())."
        )


def check_head_mask_shape(shape: Sequence[int], num_layers: int) -> None:
    """A head mask is (num_heads,) for every layer or (num_layers, num_heads)."""
    shape = tuple(shape)
    if not (len(shape) == 1 or (len(shape) == 2 and shape[0] == num_layers)):
        raise ValueError(f"head_mask must have shape (num_heads,) or (num_layers={num_layers}, num_heads), got {shape}.")
