"""The server's limits: what `mintformers serve` accepts (its options of the same names). Importing this module
imports nothing heavy, so the command line can show the defaults in its help."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits"]


@dataclass
class Limits:
    """What the server accepts (the `mintformers serve` options of the same names)."""

    max_concurrent_requests: int = 512  # requests being served at once; beyond: 429 with Retry-After
    max_batch_tokens: int = 16_384  # padded tokens per forward pass (rows × longest row)
    max_batch_requests: int = 64  # rows (texts, pairs, prompts) per forward pass
    max_client_batch_size: int = 32  # inputs in one request; beyond: 413
    max_input_length: int | None = None  # tokens per input (None: what the model takes); beyond: 413 unless truncate
    auto_truncate: bool = False  # truncate over-long inputs when a request does not say
    max_payload_bytes: int = 2_000_000  # request body; beyond: 413
    max_new_tokens: int = 1_024  # generation: tokens per completion
    body_timeout: float = 30.0  # seconds a client may take to send its body; then 408
    header_timeout: float = 10.0  # seconds a connection may take to send its request line and headers

    def __post_init__(self) -> None:
        for name in ("max_concurrent_requests", "max_batch_tokens", "max_batch_requests", "max_client_batch_size",
                     "max_payload_bytes", "max_new_tokens"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}.")
        if self.max_input_length is not None and self.max_input_length < 1:
            raise ValueError(f"max_input_length must be at least 1, got {self.max_input_length}.")
