"""The sentence-transformers modules: the Transformer (a checkpoint and its tokenizer), then Pooling, Dense, Normalize.

Each takes and returns the features dict (`input_ids` and `attention_mask` (B, T); the Transformer adds
`token_embeddings` (B, T, H), pooling `sentence_embedding` (B, D)), as sentence-transformers' modules do. With
`"packed": True` in the features, a model that supports it runs its rows end to end, spending nothing on padding
(layers.attention.Packing; the server does so for batches of whatever lengths arrived).
"""

from __future__ import annotations

import inspect
import json
import logging
import os
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..config import read_json
from ..hub import CheckpointError, resolve_file
from ..layers.attention import Packing, packed

logger = logging.getLogger(__name__)

# Families whose position ids start above 0: their max_position_embeddings holds that many fewer tokens.
_POSITION_OFFSETS = {"mpnet": 2, "ernie_m": 2}

POOLING_MODES = ("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken")
# The older boolean pooling flags, in the order sentence-transformers concatenates them.
_LEGACY_POOLING_FLAGS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}


class Transformer(nn.Module):
    """The checkpoint and its tokenizer, first in the chain: `input_ids`, `attention_mask` (B, T) → `token_embeddings`
    (B, T, H), the last hidden state. Texts are truncated to `max_seq_length` tokens (special tokens included).

    `Transformer(model, tokenizer)`, or `Transformer("path or hub id", max_seq_length=256)` as in sentence-transformers.
    """

    def __init__(
        self,
        model: nn.Module | str | os.PathLike,
        tokenizer: Any = None,
        max_seq_length: int | None = None,
        do_lower_case: bool = False,
    ):
        super().__init__()
        if isinstance(model, (str, os.PathLike)):
            from ..auto import AutoModel
            from ..tokenization import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(model) if tokenizer is None else tokenizer
            model = AutoModel.from_pretrained(model)
        if tokenizer is None:
            raise ValueError("Transformer needs the model's tokenizer: Transformer(model, tokenizer).")
        self.model = model
        self.tokenizer = tokenizer
        self.do_lower_case = do_lower_case
        if do_lower_case:
            lowercase_inputs(tokenizer)
        self.max_seq_length = max_seq_length if max_seq_length is not None else self.default_max_length()

    @property
    def auto_model(self) -> nn.Module:
        """sentence-transformers' name for the checkpoint's model."""
        return self.model

    def default_max_length(self) -> int | None:
        """No sentence_bert_config: the tokenizer's model_max_length, capped by the positions the model has."""
        return max_length_for(self.tokenizer, self.model.config)

    def get_word_embedding_dimension(self) -> int:
        return self.model.config.hidden_size

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids per text, with special tokens, truncated to max_seq_length; not padded."""
        if not texts:
            return []
        max_length = self.max_seq_length
        encoded = self.tokenizer(
            texts, truncation=max_length is not None, max_length=max_length, padding=False,
            return_attention_mask=False, return_token_type_ids=False,
        )
        return encoded["input_ids"]

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """Padded, truncated model inputs for `texts` (input_ids, attention_mask and the tokenizer's other fields),
        the features dict that `forward` takes."""
        max_length = self.max_seq_length
        encoded = self.tokenizer(
            list(texts), truncation=max_length is not None, max_length=max_length, padding=True, return_tensors="pt"
        )
        return dict(encoded)

    def forward(self, features: dict[str, Any]) -> dict[str, Any]:
        params = inspect.signature(self.model.forward).parameters  # the model may be swapped (e.g. quantized)
        mask = features.get("attention_mask")
        kwargs: dict[str, Any] = {"input_ids": features["input_ids"]}
        if mask is not None and not bool(mask.all()):  # without padding the model runs without a mask (SDPA's fast path)
            kwargs["attention_mask"] = mask
        if features.get("token_type_ids") is not None and "token_type_ids" in params:
            kwargs["token_type_ids"] = features["token_type_ids"]
        if "use_cache" in params:
            kwargs["use_cache"] = False
        if features.get("packed") and "attention_mask" in kwargs and getattr(self.model, "supports_packing", False):
            packing = Packing(mask.sum(1).tolist(), mask.device)
            if torch.equal(packing.mask, mask.long()):  # right-padded rows, as the tokenizer pads
                features["token_embeddings"] = self._packed(kwargs, packing)
                return features
        features["token_embeddings"] = self.model(**kwargs)[0]  # last_hidden_state (B, T, H)
        return features

    def _packed(self, kwargs: dict[str, Any], packing: Packing) -> torch.Tensor:
        """The model on the rows end to end: (1, T) inputs of the real tokens, positions counted per row → the
        last hidden states back in the padded (B, T, H) layout, zeros at the padding."""
        keep = kwargs.pop("attention_mask").bool()
        inputs = {name: value[keep][None] if isinstance(value, torch.Tensor) else value for name, value in kwargs.items()}
        with packed(packing):
            return packing.pad(self.model(**inputs, position_ids=packing.position_ids)[0])


def max_length_for(tokenizer: Any, config: Any) -> int | None:
    """The tokenizer's model_max_length, capped by the positions the model has (None when neither says)."""
    limits = [getattr(tokenizer, "model_max_length", None)]
    for key in ("max_position_embeddings", "max_seq_len", "n_positions"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            limits.append(value - _POSITION_OFFSETS.get(config.model_type, 0))
            break
    limits = [v for v in limits if isinstance(v, int) and 0 < v < 1_000_000]
    return min(limits) if limits else None


def lowercase_inputs(tokenizer: Any) -> None:
    """Make the tokenizer lower-case its input (sentence_bert_config's do_lower_case), as sentence-transformers does:
    a Lowercase normalizer in front of a fast tokenizer's own, or the slow tokenizer's do_lower_case flag."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        tokenizer.do_lower_case = True
        return
    from tokenizers import normalizers

    current = backend.normalizer
    state = json.loads(current.__getstate__()) if current is not None else {}
    if state.get("type") == "Lowercase" or state.get("lowercase") is True:
        return
    if state.get("type") == "Sequence" and any(
        n.get("type") == "Lowercase" or n.get("lowercase") is True for n in state.get("normalizers", [])
    ):
        return
    backend.normalizer = normalizers.Sequence([normalizers.Lowercase()] + ([current] if current is not None else []))


def pooling_modes_from_config(config: dict[str, Any]) -> tuple[str, ...]:
    """The pooling modes a `1_Pooling/config.json` asks for, from the compact `pooling_mode` (a string or a list)
    or the older `pooling_mode_*_tokens` booleans (none set → mean, as sentence-transformers does)."""
    mode = config.get("pooling_mode")
    if mode is not None:
        modes = (mode,) if isinstance(mode, str) else tuple(mode)
    else:
        modes = tuple(name for key, name in _LEGACY_POOLING_FLAGS.items() if config.get(key)) or ("mean",)
    for m in modes:
        if m not in POOLING_MODES:
            raise CheckpointError(f"Unknown pooling mode {m!r} in the pooling config; valid modes: {POOLING_MODES}.")
    return modes


class Pooling(nn.Module):
    """Token embeddings (B, T, H) + attention mask (B, T) → one vector per text (B, len(modes) * H).

    Several modes are concatenated in the given order. With `include_prompt=False`, the tokens of a prompt
    (see `SentenceEncoder.encode(prompt=...)`) are left out of the pooling.
    """

    def __init__(
        self,
        embedding_dimension: int,
        modes: str | Sequence[str] = "mean",
        include_prompt: bool = True,
        *,
        pooling_mode: str | Sequence[str] | None = None,  # sentence-transformers' name for `modes`
    ):
        super().__init__()
        modes = modes if pooling_mode is None else pooling_mode
        self.modes = (modes,) if isinstance(modes, str) else tuple(modes)
        for m in self.modes:
            if m not in POOLING_MODES:
                raise ValueError(f"Unknown pooling mode {m!r}; valid modes: {POOLING_MODES}.")
        self.embedding_dimension = embedding_dimension
        self.include_prompt = include_prompt

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Pooling:
        dim = config.get("embedding_dimension", config.get("word_embedding_dimension"))
        if dim is None:
            raise CheckpointError("The pooling config has no 'word_embedding_dimension' / 'embedding_dimension'.")
        return cls(int(dim), pooling_modes_from_config(config), bool(config.get("include_prompt", True)))

    def get_config_dict(self) -> dict[str, Any]:
        mode = self.modes[0] if len(self.modes) == 1 else list(self.modes)
        return {"embedding_dimension": self.embedding_dimension, "pooling_mode": mode, "include_prompt": self.include_prompt}

    @property
    def output_dimension(self) -> int:
        return len(self.modes) * self.embedding_dimension

    def forward(self, features: dict[str, Any]) -> dict[str, Any]:
        hidden = features["token_embeddings"]  # (B, T, H)
        mask = features["attention_mask"]  # (B, T), 1 = real token
        prompt_length = features.get("prompt_length")
        if not self.include_prompt and prompt_length:
            mask = mask.clone()
            mask[:, :prompt_length] = 0  # batches are right-padded: the prompt is the first tokens of every row
        pooled = []
        weights = mask.to(hidden.dtype)[..., None]  # (B, T, 1)
        for mode in self.modes:
            if mode == "cls":
                first = mask.to(torch.int32).argmax(1)  # first real token (0 with right padding)
                pooled.append(hidden[torch.arange(hidden.shape[0], device=hidden.device), first])
            elif mode == "max":
                pooled.append(hidden.masked_fill(weights == 0, float("-inf")).max(1).values)
            elif mode in ("mean", "mean_sqrt_len_tokens"):
                total = (hidden * weights).sum(1)
                count = weights.sum(1).clamp(min=1e-9)
                pooled.append(total / (count if mode == "mean" else count.sqrt()))
            elif mode == "weightedmean":
                positions = torch.arange(1, hidden.shape[1] + 1, device=hidden.device, dtype=hidden.dtype)
                w = weights * positions[None, :, None]  # later tokens weigh more
                pooled.append((hidden * w).sum(1) / w.sum(1).clamp(min=1e-9))
            else:  # lasttoken: the last real token; rows without any real token give zeros
                seq_len = hidden.shape[1]
                values, from_end = mask.flip(1).max(1)
                from_end = torch.where(values == 0, seq_len - 1, from_end)
                last = seq_len - 1 - from_end
                pooled.append((hidden * weights)[torch.arange(hidden.shape[0], device=hidden.device), last])
        features["sentence_embedding"] = torch.cat(pooled, dim=-1)
        return features


def activation_from_path(name: str) -> nn.Module | None:
    """An activation module from its dotted path ("torch.nn.modules.activation.Tanh"), or None. Only torch.nn
    classes are resolved, never arbitrary imports (sentence-transformers imports others only with remote code)."""
    cls = getattr(nn, name.rsplit(".", 1)[-1], None)
    if name.startswith("torch.") and isinstance(cls, type) and issubclass(cls, nn.Module):
        return cls()
    return None


def activation_path(module: Any) -> str:
    """The dotted path sentence-transformers writes for an activation (e.g. "torch.nn.modules.activation.Tanh")."""
    return f"{type(module).__module__}.{type(module).__qualname__}"


def _dense_activation(name: str | None) -> nn.Module:
    """A Dense module's activation; anything but a torch.nn class falls back to Tanh with a warning, as
    sentence-transformers does without remote code."""
    if name is None:
        return nn.Tanh()
    activation = activation_from_path(name)
    if activation is None:
        logger.warning("Dense activation %r is not a torch.nn class; using Tanh, as sentence-transformers does.", name)
        return nn.Tanh()
    return activation


class Dense(nn.Module):
    """`activation(linear(x))` on one feature (the sentence embedding unless the config names another)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        activation_function: nn.Module | None = None,
        module_input_name: str = "sentence_embedding",
        module_output_name: str | None = None,
    ):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, bias=bias)
        self.activation_function = nn.Tanh() if activation_function is None else activation_function
        self.module_input_name = module_input_name
        self.module_output_name = module_output_name or module_input_name

    @property
    def out_features(self) -> int:
        return self.linear.out_features

    @classmethod
    def load(cls, directory: str | os.PathLike, **hub: Any) -> Dense:
        """Read `config.json` and the weights (model.safetensors or pytorch_model.bin, never unpickling code)."""
        from ..loading import find_weight_files, load_state_dict

        config = read_json(resolve_file(directory, "config.json", **hub))
        try:
            dense = cls(
                int(config["in_features"]),
                int(config["out_features"]),
                bias=bool(config.get("bias", True)),
                activation_function=_dense_activation(config.get("activation_function")),
                module_input_name=config.get("module_input_name", "sentence_embedding"),
                module_output_name=config.get("module_output_name"),
            )
        except KeyError as e:
            raise CheckpointError(f"Dense config in {os.fspath(directory)!r} lacks {e.args[0]!r}.") from None
        state = load_state_dict(find_weight_files(directory, **hub))
        try:
            dense.load_state_dict(state)
        except RuntimeError as e:
            raise CheckpointError(f"Dense weights in {os.fspath(directory)!r} do not match its config: {e}") from None
        return dense

    def get_config_dict(self) -> dict[str, Any]:
        return {
            "in_features": self.linear.in_features,
            "out_features": self.linear.out_features,
            "bias": self.linear.bias is not None,
            "activation_function": activation_path(self.activation_function),
            "module_input_name": self.module_input_name,
            "module_output_name": self.module_output_name,
        }

    def forward(self, features: dict[str, Any]) -> dict[str, Any]:
        features[self.module_output_name] = self.activation_function(self.linear(features[self.module_input_name]))
        return features


class Normalize(nn.Module):
    """Scale each sentence embedding to unit L2 norm (then dot product = cosine similarity)."""

    def forward(self, features: dict[str, Any]) -> dict[str, Any]:
        features["sentence_embedding"] = F.normalize(features["sentence_embedding"], p=2, dim=1)
        return features



_CAUSAL_MODEL_TYPES = ("mpt",)  # decoder-only families: the last token has seen the whole text


def default_pooling(config: Any) -> Pooling:
    """What a plain checkpoint (no modules.json) is pooled with: mean, or the last token for decoder-only families."""
    return Pooling(config.hidden_size, "lasttoken" if config.model_type in _CAUSAL_MODEL_TYPES else "mean")
