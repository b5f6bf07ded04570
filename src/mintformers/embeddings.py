"""Sentence embeddings: load a sentence-transformers folder (or any plain checkpoint) and encode text, fast.

    from mintformers import SentenceEncoder
    encoder = SentenceEncoder.from_pretrained("sentence-transformers/all-MiniLM-L6-v2")
    embeddings = encoder.encode(["A man is eating food.", "A man is eating a piece of bread."])
    encoder.similarity(embeddings, embeddings)

A sentence-transformers folder is a chain of modules listed in `modules.json`: the Transformer (a checkpoint with
`sentence_bert_config.json`), then Pooling, Dense and Normalize modules, each in its own subfolder. They are read
here without sentence-transformers; outputs equal its `encode` within float rounding.

Why it is faster than encoding batch by batch in input order: every text is tokenized first, texts are sorted by
their *token* count, and the sorted list is cut into batches that minimise padded positions plus a fixed per-batch
cost (on CPU; a batch never holds more than `batch_size` texts). Padding is masked out of attention and pooling,
so a text's embedding does not depend on its batch: results are returned in input order, equal to encoding each
text alone within float rounding.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .config import read_json
from .hub import CheckpointError, hub_kwargs, is_local, resolve_file
from .progress import Progress

__all__ = [
    "SentenceEncoder",
    "SentenceTransformer",
    "Pooling",
    "Dense",
    "Normalize",
    "POOLING_MODES",
    "PRECISIONS",
    "SIMILARITY_FUNCTIONS",
    "cos_sim",
    "dot_score",
    "euclidean_sim",
    "manhattan_sim",
    "pairwise_cos_sim",
    "pairwise_dot_score",
    "pairwise_euclidean_sim",
    "pairwise_manhattan_sim",
    "semantic_search",
    "quantize_embeddings",
    "save_embeddings",
    "load_embeddings",
    "SavedEmbeddings",
]

logger = logging.getLogger(__name__)

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
PRECISIONS = ("float32", "int8", "uint8", "binary", "ubinary")
_CAUSAL_MODEL_TYPES = ("mpt",)  # decoder-only families: the last token has seen the whole text
# Families whose position ids start above 0: their max_position_embeddings holds that many fewer tokens.
_POSITION_OFFSETS = {"mpnet": 2, "ernie_m": 2}

# Per-batch cost of a forward call on CPU, in padded-token equivalents: the batch planner merges batches while the
# padding this adds costs less. On the benchmark's 256 mixed sentences, 128 keeps 81% of fixed batching's padded
# positions with 12 batches instead of 8 (16: 76% with 26 batches): most of the gain, few extra thread syncs.
CPU_BATCH_OVERHEAD_TOKENS = 128
# Texts tokenized and sorted together; larger inputs are first ordered by character length, then taken in windows.
_WINDOW_BATCHES = 32


# ---- modules after the transformer ---------------------------------------------------------------------------------


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

    def __init__(self, embedding_dimension: int, modes: str | Sequence[str] = "mean", include_prompt: bool = True):
        super().__init__()
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


def _activation(name: str | None) -> nn.Module:
    """A Dense module's activation from its dotted path. Only torch.nn classes are resolved (never arbitrary
    imports); anything else falls back to Tanh with a warning, as sentence-transformers does without remote code."""
    if name is None:
        return nn.Tanh()
    cls_name = name.rsplit(".", 1)[-1]
    cls = getattr(nn, cls_name, None)
    if name.startswith("torch.") and isinstance(cls, type) and issubclass(cls, nn.Module):
        return cls()
    logger.warning("Dense activation %r is not a torch.nn class; using Tanh, as sentence-transformers does.", name)
    return nn.Tanh()


def _activation_path(module: nn.Module) -> str:
    return f"{type(module).__module__}.{type(module).__qualname__}"


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
        from .loading import find_weight_files, load_state_dict

        config = read_json(resolve_file(directory, "config.json", **hub))
        try:
            dense = cls(
                int(config["in_features"]),
                int(config["out_features"]),
                bias=bool(config.get("bias", True)),
                activation_function=_activation(config.get("activation_function")),
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
            "activation_function": _activation_path(self.activation_function),
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


# ---- the encoder ----------------------------------------------------------------------------------------------------


def _default_device() -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def plan_batches(lengths: Sequence[int], max_batch: int, overhead: float | None) -> list[tuple[int, int]]:
    """Cut texts sorted by decreasing token count into contiguous batches of at most `max_batch`.

    Minimises sum(batch rows × longest row) + overhead × number of batches (dynamic programming over cut points);
    `overhead=None` gives plain fixed-size batches.
    """
    n = len(lengths)
    if overhead is None:
        return [(i, min(i + max_batch, n)) for i in range(0, n, max_batch)]
    lens = np.asarray(lengths, dtype=np.float64)
    best = np.zeros(n + 1)
    cut = np.zeros(n + 1, dtype=np.int64)
    for end in range(1, n + 1):
        starts = np.arange(max(0, end - max_batch), end)
        costs = best[starts] + (end - starts) * lens[starts] + overhead  # rows × longest (the first, sorted)
        k = int(np.argmin(costs))
        best[end], cut[end] = costs[k], starts[k]
    bounds = []
    end = n
    while end > 0:
        bounds.append((int(cut[end]), end))
        end = int(cut[end])
    return bounds[::-1]


class SentenceEncoder(nn.Module):
    """A transformer checkpoint followed by sentence-transformers modules (Pooling, Dense, Normalize).

    Build it with `from_pretrained(path_or_hub_id)`; or from parts: `SentenceEncoder(model, tokenizer,
    [Pooling(model.config.hidden_size, "mean"), Normalize()])`.
    """

    def __init__(
        self,
        model: nn.Module,
        tokenizer: Any,
        modules: Sequence[nn.Module] | None = None,
        *,
        max_seq_length: int | None = None,
        do_lower_case: bool = False,
        prompts: dict[str, str] | None = None,
        default_prompt_name: str | None = None,
        similarity_fn_name: str | None = None,
        truncate_dim: int | None = None,
    ):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        hidden = getattr(model.config, "hidden_size", None)
        if modules is None:
            if hidden is None:
                raise ValueError("Pass the pooling modules explicitly: the model config has no hidden_size.")
            modules = [Pooling(hidden, "lasttoken" if model.config.model_type in _CAUSAL_MODEL_TYPES else "mean")]
        self.layers = nn.ModuleList(modules)  # applied in order after the transformer
        self.max_seq_length = max_seq_length if max_seq_length is not None else self._default_max_length()
        self.do_lower_case = do_lower_case
        if do_lower_case:
            _lowercase_inputs(tokenizer)
        self.prompts = dict(prompts or {})
        self.default_prompt_name = default_prompt_name
        if default_prompt_name is not None and default_prompt_name not in self.prompts:
            raise ValueError(f"default_prompt_name {default_prompt_name!r} is not one of the prompts {sorted(self.prompts)}.")
        self._similarity_fn_name: str | None = None
        self.similarity_fn_name = similarity_fn_name or "cosine"
        self.truncate_dim = truncate_dim
        self._forward_params = set(inspect.signature(model.forward).parameters)
        self._prompt_lengths: dict[str, int] = {}

    # ---- loading and saving ---------------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(
        cls,
        model_name_or_path: str | os.PathLike,
        device: str | torch.device | None = None,
        dtype: Any = None,
        *,
        pooling: str | Sequence[str] | None = None,
        normalize: bool | None = None,
        max_seq_length: int | None = None,
        truncate_dim: int | None = None,
        similarity_fn_name: str | None = None,
        attn_implementation: str | None = None,
        **kwargs: Any,
    ) -> SentenceEncoder:
        """Load a sentence-transformers folder (modules.json) or a plain checkpoint (local directory or hub id).

        A plain checkpoint gets mean pooling (last-token for decoder-only families such as MPT) and no
        normalisation; `pooling=` and `normalize=` override either kind. `dtype` is e.g. "bfloat16" or a torch
        dtype; `device` defaults to CUDA when available, else CPU. Hub arguments (revision, cache_dir, token,
        local_files_only) are passed on.
        """
        hub = hub_kwargs(kwargs)
        if kwargs:
            raise TypeError(f"Unexpected arguments for {cls.__name__}.from_pretrained: {sorted(kwargs)}")
        arguments = _encoder_arguments(
            os.fspath(model_name_or_path), dtype=dtype, pooling=pooling, normalize=normalize,
            max_seq_length=max_seq_length, truncate_dim=truncate_dim, similarity_fn_name=similarity_fn_name,
            attn_implementation=attn_implementation, hub=hub,
        )
        encoder = cls.__new__(cls)  # a subclass's __init__ may take other arguments (SentenceTransformer: a path)
        SentenceEncoder.__init__(encoder, **arguments)
        return encoder.to(_default_device() if device is None else torch.device(device))

    def _default_max_length(self) -> int | None:
        """No sentence_bert_config: the tokenizer's model_max_length, capped by the positions the model has."""
        limits = [getattr(self.tokenizer, "model_max_length", None)]
        config = self.model.config
        for key in ("max_position_embeddings", "max_seq_len", "n_positions"):
            value = getattr(config, key, None)
            if isinstance(value, int) and value > 0:
                limits.append(value - _POSITION_OFFSETS.get(config.model_type, 0))
                break
        limits = [v for v in limits if isinstance(v, int) and 0 < v < 1_000_000]
        return min(limits) if limits else None

    def save_pretrained(self, path: str | os.PathLike) -> None:
        """Write a sentence-transformers folder: the checkpoint and tokenizer at the root, then one subfolder per
        module, `modules.json`, `sentence_bert_config.json` and `config_sentence_transformers.json`."""
        from . import __version__
        from .loading import atomic_write_text, save_state_dict

        root = Path(path)
        root.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(root)
        self.tokenizer.save_pretrained(root)
        entries = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}]
        for i, module in enumerate(self.layers, start=1):
            kind = type(module).__name__
            sub = f"{i}_{kind}"
            entries.append({"idx": i, "name": str(i), "path": sub, "type": f"sentence_transformers.models.{kind}"})
            if isinstance(module, (Pooling, Dense)):
                atomic_write_text(root / sub / "config.json", json.dumps(module.get_config_dict(), indent=4) + "\n")
            else:
                (root / sub).mkdir(exist_ok=True)
            if isinstance(module, Dense):
                save_state_dict(module.state_dict(), root / sub)
        atomic_write_text(root / "modules.json", json.dumps(entries, indent=2) + "\n")
        st_config = {"max_seq_length": self.max_seq_length, "do_lower_case": self.do_lower_case}
        atomic_write_text(root / "sentence_bert_config.json", json.dumps(st_config, indent=2) + "\n")
        extra = {
            "__version__": {"mintformers": __version__},
            "prompts": self.prompts,
            "default_prompt_name": self.default_prompt_name,
            "similarity_fn_name": self.similarity_fn_name,
        }
        atomic_write_text(root / "config_sentence_transformers.json", json.dumps(extra, indent=2) + "\n")

    save = save_pretrained  # sentence-transformers' name

    # ---- properties ------------------------------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(p.dtype for p in self.model.parameters() if p.is_floating_point())

    def get_sentence_embedding_dimension(self) -> int | None:
        """Length of the vectors `encode` returns (after Dense modules and `truncate_dim`)."""
        dim = None
        for module in self.layers:
            if isinstance(module, Pooling):
                dim = module.output_dimension
            elif isinstance(module, Dense) and module.module_output_name == "sentence_embedding":
                dim = module.out_features
        if dim is not None and self.truncate_dim is not None:
            dim = min(dim, self.truncate_dim)
        return dim

    get_embedding_dimension = get_sentence_embedding_dimension

    @property
    def similarity_fn_name(self) -> str:
        return self._similarity_fn_name or "cosine"

    @similarity_fn_name.setter
    def similarity_fn_name(self, value: str) -> None:
        value = getattr(value, "value", value)  # a sentence-transformers SimilarityFunction enum
        if value not in SIMILARITY_FUNCTIONS:
            raise ValueError(f"similarity_fn_name={value!r} is not one of {sorted(SIMILARITY_FUNCTIONS)}.")
        self._similarity_fn_name = value

    def similarity(self, embeddings1: Any, embeddings2: Any) -> torch.Tensor:
        """Scores between every row of `embeddings1` and every row of `embeddings2` (n, m), with the model's
        similarity function (cosine unless its config says dot / euclidean / manhattan)."""
        return SIMILARITY_FUNCTIONS[self.similarity_fn_name][0](embeddings1, embeddings2)

    def similarity_pairwise(self, embeddings1: Any, embeddings2: Any) -> torch.Tensor:
        """Scores between row i of `embeddings1` and row i of `embeddings2` (n,)."""
        return SIMILARITY_FUNCTIONS[self.similarity_fn_name][1](embeddings1, embeddings2)

    def forward(self, features: dict[str, Any]) -> dict[str, Any]:
        """Tokenized, padded inputs (`input_ids`, `attention_mask`) → features with `token_embeddings` and
        `sentence_embedding` (the modules run in order)."""
        ids, mask = features["input_ids"], features["attention_mask"]
        kwargs: dict[str, Any] = {"input_ids": ids}
        if not bool(mask.all()):  # without padding the model runs without a mask (SDPA's fastest path)
            kwargs["attention_mask"] = mask
        if "use_cache" in self._forward_params:
            kwargs["use_cache"] = False
        out = self.model(**kwargs)
        features["token_embeddings"] = out[0]  # last_hidden_state (B, T, H)
        for module in self.layers:
            features = module(features)
        return features

    # ---- encoding --------------------------------------------------------------------------------------------------
    def tokenize(self, texts: list[str]) -> list[list[int]]:
        """Token ids per text, with special tokens, truncated to max_seq_length; not padded."""
        if not texts:
            return []
        max_length = self.max_seq_length
        encoded = self.tokenizer(
            texts, truncation=max_length is not None, max_length=max_length, padding=False,
            return_attention_mask=False, return_token_type_ids=False,
        )
        return encoded["input_ids"]

    def _prompt_length(self, prompt: str) -> int:
        """Tokens a prompt occupies at the start of every text (its trailing special token excluded)."""
        if prompt not in self._prompt_lengths:
            ids = self.tokenize([prompt])[0]
            special = set(getattr(self.tokenizer, "all_special_ids", []) or [])
            self._prompt_lengths[prompt] = len(ids) - 1 if ids and ids[-1] in special else len(ids)
        return self._prompt_lengths[prompt]

    def _pad(self, rows: list[list[int]], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-pad to the longest row: (input_ids, attention_mask), both (B, T) int64 on `device`."""
        pad_id = self.tokenizer.pad_token_id
        if pad_id is None:  # e.g. GPT-NeoX tokenizers; the mask hides the value
            pad_id = getattr(self.tokenizer, "eos_token_id", None) or 0
        width = max(1, max(len(r) for r in rows))  # an empty text still gets one (masked) position
        ids = np.full((len(rows), width), pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        return torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device)

    @torch.inference_mode()
    def encode(
        self,
        sentences: str | Iterable[str],
        batch_size: int = 32,
        *,
        show_progress_bar: bool | None = None,
        output_value: Literal["sentence_embedding", "token_embeddings"] = "sentence_embedding",
        precision: Literal["float32", "int8", "uint8", "binary", "ubinary"] = "float32",
        convert_to_numpy: bool = True,
        convert_to_tensor: bool = False,
        device: str | torch.device | None = None,
        normalize_embeddings: bool = False,
        prompt_name: str | None = None,
        prompt: str | None = None,
        truncate_dim: int | None = None,
    ) -> Any:
        """Embed texts; returns what sentence-transformers' `encode` returns for the same arguments.

        One string → one vector (1-D); a list → a (n, dim) numpy array (`convert_to_tensor=True`: a tensor on the
        model's device; both False: a list of tensors). `output_value="token_embeddings"` gives one (tokens, H)
        tensor per text instead. `precision` quantizes the result ("int8"/"uint8": per-dimension ranges of these
        embeddings; "binary"/"ubinary": sign bits packed 8 per byte). `prompt` (or `prompt_name`, a key of the
        model's prompts) is prepended to every text. `show_progress_bar=None` shows a bar on stderr when this
        module's logger is at INFO level or below (as sentence-transformers does).
        """
        single = isinstance(sentences, str)
        texts = [sentences] if single else list(sentences)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"encode() takes strings; item {i} is a {type(text).__name__}.")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size}.")
        if precision not in PRECISIONS:
            raise ValueError(f"precision={precision!r} is not one of {PRECISIONS}.")
        if output_value not in ("sentence_embedding", "token_embeddings"):
            raise ValueError(f"output_value={output_value!r}: use 'sentence_embedding' or 'token_embeddings'.")
        if isinstance(device, (list, tuple)):
            raise TypeError("encode() runs on one device; multi-process encoding is not supported.")
        prompt = self._resolve_prompt(prompt, prompt_name)
        prompt_length = None
        if prompt:
            texts = [prompt + t for t in texts]
            prompt_length = self._prompt_length(prompt)
        truncate_dim = self.truncate_dim if truncate_dim is None else truncate_dim
        if convert_to_tensor:
            convert_to_numpy = False

        if device is not None:
            self.to(device)
        device = self.device
        self.eval()
        tokens = output_value == "token_embeddings"
        n = len(texts)
        token_out: list[torch.Tensor | None] = [None] * n
        sentence_out: torch.Tensor | None = None
        # numpy and quantized results are gathered on the CPU in float32; tensors stay where they were computed
        gather_on_cpu = convert_to_numpy or precision != "float32"
        overhead = CPU_BATCH_OVERHEAD_TOKENS if device.type == "cpu" else None

        if show_progress_bar is None:  # as sentence-transformers: shown when this module logs at INFO or below
            show_progress_bar = logger.getEffectiveLevel() <= logging.INFO
        with Progress(total=n, desc="Embedding", unit="texts", enabled=show_progress_bar) as bar:
            for window in self._windows(texts, batch_size):
                ids = self.tokenize([texts[i] for i in window])
                lengths = np.array([len(r) for r in ids])
                order = np.argsort(-lengths, kind="stable")
                for start, end in plan_batches(lengths[order].tolist(), batch_size, overhead):
                    rows = order[start:end]
                    input_ids, mask = self._pad([ids[r] for r in rows], device)
                    features = self.forward({"input_ids": input_ids, "attention_mask": mask, "prompt_length": prompt_length})
                    targets = window[rows]
                    if tokens:
                        hidden = features["token_embeddings"]
                        for j, t in enumerate(targets):
                            token_out[t] = hidden[j, : lengths[rows[j]]].clone()
                    else:
                        emb = features["sentence_embedding"]
                        if truncate_dim is not None:
                            emb = emb[:, :truncate_dim]
                        if normalize_embeddings:
                            emb = F.normalize(emb, p=2, dim=1)
                        if sentence_out is None:
                            out_dtype = torch.float32 if gather_on_cpu else emb.dtype
                            sentence_out = torch.empty((n, emb.shape[1]), dtype=out_dtype, device="cpu" if gather_on_cpu else device)
                        sentence_out[torch.as_tensor(targets, device=sentence_out.device)] = emb.to(sentence_out.device, sentence_out.dtype)
                    bar.update(end - start)

        if tokens:
            return token_out[0] if single else token_out
        if sentence_out is None:  # no texts
            dim = self.get_sentence_embedding_dimension() or 0
            if truncate_dim is not None:
                dim = min(dim, truncate_dim)
            sentence_out = torch.empty((0, dim), dtype=torch.float32, device="cpu" if gather_on_cpu else device)
        result: Any = sentence_out
        if precision != "float32":
            result = quantize_embeddings(sentence_out.numpy(), precision)
            result = torch.from_numpy(result) if convert_to_tensor else result if convert_to_numpy else list(torch.from_numpy(result))
        elif convert_to_numpy:
            result = sentence_out.numpy()
        elif not convert_to_tensor:
            result = list(sentence_out)
        return result[0] if single else result

    def _windows(self, texts: list[str], batch_size: int) -> Iterable[np.ndarray]:
        """Index windows to tokenize and sort together. Long inputs are pre-ordered by character length so each
        window holds similar lengths (little padding) while memory for token ids stays bounded."""
        size = max(1024, batch_size * _WINDOW_BATCHES)
        if len(texts) <= size:
            yield np.arange(len(texts))
            return
        by_chars = np.argsort(-np.array([len(t) for t in texts]), kind="stable")
        for start in range(0, len(texts), size):
            yield by_chars[start : start + size]

    def _resolve_prompt(self, prompt: str | None, prompt_name: str | None) -> str | None:
        if prompt is not None:
            return prompt
        name = prompt_name if prompt_name is not None else self.default_prompt_name
        if name is None:
            return None
        if name not in self.prompts:
            raise ValueError(f"prompt_name {name!r} is not one of this model's prompts: {sorted(self.prompts) or 'none'}.")
        return self.prompts[name]

    def __repr__(self) -> str:
        modules = ", ".join(type(m).__name__ for m in self.layers)
        return (
            f"{type(self).__name__}({type(self.model).__name__} → {modules}; max_seq_length={self.max_seq_length}, "
            f"dim={self.get_sentence_embedding_dimension()}, similarity={self.similarity_fn_name!r})"
        )


class SentenceTransformer(SentenceEncoder):
    """Drop-in name: `SentenceTransformer(path_or_hub_id, device=None)` is `SentenceEncoder.from_pretrained(...)`."""

    def __init__(
        self,
        model_name_or_path: str | os.PathLike,
        device: str | torch.device | None = None,
        *,
        truncate_dim: int | None = None,
        similarity_fn_name: str | None = None,
        dtype: Any = None,
        **kwargs: Any,
    ):
        hub = hub_kwargs(kwargs)
        if kwargs:
            raise TypeError(f"Unexpected arguments for SentenceTransformer: {sorted(kwargs)}")
        super().__init__(**_encoder_arguments(
            os.fspath(model_name_or_path), dtype=dtype, truncate_dim=truncate_dim,
            similarity_fn_name=similarity_fn_name, hub=hub,
        ))
        self.to(_default_device() if device is None else torch.device(device))


def _lowercase_inputs(tokenizer: Any) -> None:
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


def _subfolder(name: str, sub: str, hub: dict) -> tuple[str, dict]:
    """A module's location: a joined path for local folders, a `subfolder` for hub repos."""
    if not sub:
        return name, hub
    if is_local(name):
        return str(Path(name).expanduser() / sub), hub
    return name, {**hub, "subfolder": "/".join(filter(None, [hub.get("subfolder"), sub]))}


def _encoder_arguments(
    name: str,
    *,
    dtype: Any = None,
    pooling: str | Sequence[str] | None = None,
    normalize: bool | None = None,
    max_seq_length: int | None = None,
    truncate_dim: int | None = None,
    similarity_fn_name: str | None = None,
    attn_implementation: str | None = None,
    hub: dict | None = None,
) -> dict[str, Any]:
    """SentenceEncoder's constructor arguments for a folder or hub id, with the caller's overrides applied."""
    parts = _load_parts(name, dtype, attn_implementation, hub or {})
    modules = parts["modules"]
    if pooling is not None:
        modes = (pooling,) if isinstance(pooling, str) else tuple(pooling)
        modules = [Pooling(parts["model"].config.hidden_size, modes)] + [m for m in modules if not isinstance(m, Pooling)]
    if normalize is True and not any(isinstance(m, Normalize) for m in modules):
        modules.append(Normalize())
    elif normalize is False:
        modules = [m for m in modules if not isinstance(m, Normalize)]
    parts["modules"] = modules
    overrides = {"max_seq_length": max_seq_length, "similarity_fn_name": similarity_fn_name, "truncate_dim": truncate_dim}
    parts.update({k: v for k, v in overrides.items() if v is not None})
    return parts


def _load_parts(name: str, dtype: Any, attn_implementation: str | None, hub: dict) -> dict[str, Any]:
    """Read a sentence-transformers folder (or plain checkpoint) into SentenceEncoder's constructor arguments."""
    from .auto import AutoModel
    from .tokenization import AutoTokenizer

    modules_file = resolve_file(name, "modules.json", required=False, **hub)
    specs: list[dict[str, Any]]
    if modules_file is None:
        specs = [{"path": "", "type": "Transformer"}]
    else:
        try:
            with open(modules_file, encoding="utf-8") as f:
                specs = sorted(json.load(f), key=lambda s: s.get("idx", 0))
        except (json.JSONDecodeError, TypeError, AttributeError) as e:
            raise CheckpointError(f"{str(modules_file)!r} is not a valid modules.json ({e}).") from None
    if not specs or not str(specs[0].get("type", "")).endswith("Transformer"):
        raise CheckpointError(f"{name!r}: modules.json must start with a Transformer module.")

    parts: dict[str, Any] = {"modules": []}
    for spec in specs:
        kind = str(spec.get("type", "")).rsplit(".", 1)[-1]
        where, where_hub = _subfolder(name, spec.get("path", ""), hub)
        if kind == "Transformer" and "model" not in parts:
            model_kwargs: dict[str, Any] = {"dtype": dtype}
            if attn_implementation is not None:
                model_kwargs["attn_implementation"] = attn_implementation
            parts["model"] = AutoModel.from_pretrained(where, **where_hub, **model_kwargs)
            parts["tokenizer"] = AutoTokenizer.from_pretrained(where, **where_hub)
            st_file = resolve_file(where, "sentence_bert_config.json", required=False, **where_hub)
            st_config = read_json(st_file) if st_file is not None else {}
            if st_config.get("max_seq_length") is not None:
                parts["max_seq_length"] = int(st_config["max_seq_length"])
            parts["do_lower_case"] = bool(st_config.get("do_lower_case", False))
        elif kind == "Pooling":
            parts["modules"].append(Pooling.from_config(read_json(resolve_file(where, "config.json", **where_hub))))
        elif kind == "Dense":
            parts["modules"].append(Dense.load(where, **where_hub).to(parts["model"].dtype))
        elif kind == "Normalize":
            parts["modules"].append(Normalize())
        else:
            raise CheckpointError(
                f"{name!r} uses a sentence-transformers module {spec.get('type')!r} that mintformers does not "
                "implement (supported: Transformer, Pooling, Dense, Normalize)."
            )
    if modules_file is None or not any(isinstance(m, Pooling) for m in parts["modules"]):
        config = parts["model"].config
        mode = "lasttoken" if config.model_type in _CAUSAL_MODEL_TYPES else "mean"
        parts["modules"].insert(0, Pooling(config.hidden_size, mode))

    extra_file = resolve_file(name, "config_sentence_transformers.json", required=False, **hub)
    if extra_file is not None:
        extra = read_json(extra_file)
        parts["prompts"] = extra.get("prompts") or {}
        parts["default_prompt_name"] = extra.get("default_prompt_name")
        if extra.get("similarity_fn_name"):
            parts["similarity_fn_name"] = extra["similarity_fn_name"]
    return parts


# ---- similarity and search ------------------------------------------------------------------------------------------


def _as_tensor(x: Any) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        t = x
    elif isinstance(x, np.ndarray):
        t = torch.from_numpy(x)
    elif isinstance(x, (list, tuple)) and x and isinstance(x[0], torch.Tensor):
        t = torch.stack(list(x))
    else:
        t = torch.as_tensor(np.asarray(x))
    return t if t.is_floating_point() else t.float()


def _as_matrix(x: Any) -> torch.Tensor:
    t = _as_tensor(x)
    return t[None] if t.dim() == 1 else t


def _same_device(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return a, b.to(a.device) if b.device != a.device else b


def cos_sim(a: Any, b: Any) -> torch.Tensor:
    """cos(a[i], b[j]) for all i, j → (n, m). Vectors are treated as one-row matrices."""
    a, b = _same_device(_as_matrix(a), _as_matrix(b))
    return F.normalize(a, p=2, dim=1) @ F.normalize(b, p=2, dim=1).T


def dot_score(a: Any, b: Any) -> torch.Tensor:
    a, b = _same_device(_as_matrix(a), _as_matrix(b))
    return a @ b.T


def euclidean_sim(a: Any, b: Any) -> torch.Tensor:
    """-‖a[i] - b[j]‖₂ (higher is more similar)."""
    a, b = _same_device(_as_matrix(a), _as_matrix(b))
    return -torch.cdist(a, b, p=2.0)


def manhattan_sim(a: Any, b: Any) -> torch.Tensor:
    """-‖a[i] - b[j]‖₁ (higher is more similar)."""
    a, b = _same_device(_as_matrix(a), _as_matrix(b))
    return -torch.cdist(a, b, p=1.0)


def pairwise_cos_sim(a: Any, b: Any) -> torch.Tensor:
    a, b = _same_device(_as_tensor(a), _as_tensor(b))
    return (F.normalize(a, p=2, dim=-1) * F.normalize(b, p=2, dim=-1)).sum(-1)


def pairwise_dot_score(a: Any, b: Any) -> torch.Tensor:
    a, b = _same_device(_as_tensor(a), _as_tensor(b))
    return (a * b).sum(-1)


def pairwise_euclidean_sim(a: Any, b: Any) -> torch.Tensor:
    a, b = _same_device(_as_tensor(a), _as_tensor(b))
    return -((a - b) ** 2).sum(-1).sqrt()


def pairwise_manhattan_sim(a: Any, b: Any) -> torch.Tensor:
    a, b = _same_device(_as_tensor(a), _as_tensor(b))
    return -(a - b).abs().sum(-1)


SIMILARITY_FUNCTIONS: dict[str, tuple[Callable[[Any, Any], torch.Tensor], Callable[[Any, Any], torch.Tensor]]] = {
    "cosine": (cos_sim, pairwise_cos_sim),
    "dot": (dot_score, pairwise_dot_score),
    "euclidean": (euclidean_sim, pairwise_euclidean_sim),
    "manhattan": (manhattan_sim, pairwise_manhattan_sim),
}


def semantic_search(
    query_embeddings: Any,
    corpus_embeddings: Any,
    query_chunk_size: int = 100,
    corpus_chunk_size: int = 500_000,
    top_k: int = 10,
    score_function: Callable[[Any, Any], torch.Tensor] = cos_sim,
) -> list[list[dict[str, int | float]]]:
    """The `top_k` best corpus entries for each query: one list per query of {"corpus_id", "score"}, best first.

    Scores are computed chunk by chunk (queries × corpus), keeping a running top-k, so memory stays bounded for
    large corpora. Hits with equal scores are listed in corpus order.
    """
    corpus = _as_matrix(corpus_embeddings)
    queries = _as_matrix(query_embeddings).to(corpus.device)
    if top_k <= 0 or len(corpus) == 0:
        return [[] for _ in range(len(queries))]
    if score_function is cos_sim:  # normalise once instead of once per chunk pair
        queries, corpus, score_function = F.normalize(queries, dim=1), F.normalize(corpus, dim=1), dot_score
    results: list[list[dict[str, int | float]]] = []
    for q_start in range(0, len(queries), query_chunk_size):
        chunk = queries[q_start : q_start + query_chunk_size]
        best_scores = torch.empty((len(chunk), 0), device=chunk.device)
        best_ids = torch.empty((len(chunk), 0), dtype=torch.long, device=chunk.device)
        for c_start in range(0, len(corpus), corpus_chunk_size):
            scores = score_function(chunk, corpus[c_start : c_start + corpus_chunk_size]).float()
            k = min(top_k, scores.shape[1])
            values, ids = scores.topk(k, dim=1)
            merged_scores = torch.cat([best_scores, values], dim=1)
            merged_ids = torch.cat([best_ids, ids + c_start], dim=1)
            k = min(top_k, merged_scores.shape[1])
            keep = merged_scores.topk(k, dim=1).indices
            best_scores, best_ids = merged_scores.gather(1, keep), merged_ids.gather(1, keep)
        for scores_row, ids_row in zip(best_scores.tolist(), best_ids.tolist()):
            hits = sorted(zip(scores_row, ids_row), key=lambda h: (-h[0], h[1]))
            results.append([{"corpus_id": i, "score": s} for s, i in hits])
    return results


def quantize_embeddings(
    embeddings: Any,
    precision: Literal["float32", "int8", "uint8", "binary", "ubinary"],
    ranges: np.ndarray | None = None,
    calibration_embeddings: np.ndarray | None = None,
) -> np.ndarray:
    """Float embeddings → a smaller numpy representation, as sentence-transformers' `quantize_embeddings`.

    int8/uint8: each dimension's [min, max] (from `ranges` (2, dim), else `calibration_embeddings`, else these
    embeddings) is cut into 256 buckets. binary/ubinary: the sign bits (> 0), packed 8 per byte (int8 is offset
    by -128).
    """
    if isinstance(embeddings, torch.Tensor):
        embeddings = embeddings.detach().float().cpu().numpy()
    elif isinstance(embeddings, list):
        embeddings = np.array([e.detach().float().cpu().numpy() if isinstance(e, torch.Tensor) else e for e in embeddings])
    embeddings = np.asarray(embeddings)
    if embeddings.dtype in (np.int8, np.uint8):
        raise ValueError("Embeddings to quantize must be floats, not int8/uint8.")
    if precision == "float32":
        return embeddings.astype(np.float32)
    if precision in ("int8", "uint8"):
        if ranges is None:
            source = embeddings if calibration_embeddings is None else np.asarray(calibration_embeddings)
            if calibration_embeddings is None and len(embeddings) < 100:
                logger.warning(
                    "Computing %s quantization ranges from %d embeddings; pass ranges or calibration_embeddings "
                    "computed on more data for stable buckets.", precision, len(embeddings),
                )
            ranges = np.vstack((source.min(axis=0), source.max(axis=0)))
        starts = ranges[0, :]
        steps = (ranges[1, :] - ranges[0, :]) / 255
        steps = np.where(steps == 0, 1, steps)
        buckets = np.clip(np.floor((embeddings - starts) / steps), 0, 255)
        return buckets.astype(np.uint8) if precision == "uint8" else (buckets - 128).astype(np.int8)
    if precision in ("binary", "ubinary"):
        packed = np.packbits(embeddings > 0, axis=-1).reshape(embeddings.shape[0], -1)
        return packed if precision == "ubinary" else (packed.astype(np.int16) - 128).astype(np.int8)
    raise ValueError(f"precision={precision!r} is not one of {PRECISIONS}.")


# ---- saved embeddings (a reusable corpus index) ---------------------------------------------------------------------

_INDEX_FORMAT = "mintformers-embeddings"


class SavedEmbeddings(NamedTuple):
    embeddings: np.ndarray  # (n, dim)
    texts: list[str]
    records: list[dict[str, Any]]  # one per text: {"text": ..., plus any fields saved with it}
    metadata: dict[str, Any]


def _index_paths(path: str | os.PathLike) -> tuple[Path, Path]:
    path = Path(path)
    base = path.with_suffix("") if path.suffix in (".npy", ".jsonl") else path
    return base.with_name(base.name + ".npy"), base.with_name(base.name + ".jsonl")


def texts_fingerprint(texts: Iterable[str]) -> str:
    """sha256 over the texts (order matters): tells whether a saved index still matches a corpus."""
    digest = hashlib.sha256()
    for text in texts:
        data = text.encode("utf-8")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def save_embeddings(
    path: str | os.PathLike,
    embeddings: Any,
    texts: Sequence[str | dict[str, Any]],
    metadata: dict[str, Any] | None = None,
) -> tuple[Path, Path]:
    """Write `path`.npy (the (n, dim) array) and `path`.jsonl (a header line, then one record per text).

    `texts` are strings or dicts with a "text" key and any other JSON fields (e.g. where the text came from).
    Each file is written under a temporary name and renamed into place; the header records the row count and
    a fingerprint of the texts, which `load_embeddings` checks. Returns the two paths.
    """
    from .loading import atomic_path

    array = embeddings.detach().cpu().numpy() if isinstance(embeddings, torch.Tensor) else np.asarray(embeddings)
    if array.ndim != 2:
        raise ValueError(f"embeddings must be a 2-D array (n, dim), got shape {array.shape}.")
    records = [{"text": t} if isinstance(t, str) else dict(t) for t in texts]
    if any(not isinstance(r.get("text"), str) for r in records):
        raise ValueError("Every record needs a string 'text'.")
    if len(records) != len(array):
        raise ValueError(f"{len(array)} embeddings but {len(records)} texts: they must match one to one.")
    npy_path, jsonl_path = _index_paths(path)
    header = {
        "format": _INDEX_FORMAT,
        "version": 1,
        "count": len(array),
        "dim": int(array.shape[1]),
        "dtype": str(array.dtype),
        "texts_sha256": texts_fingerprint(r["text"] for r in records),
        "metadata": metadata or {},
    }
    with atomic_path(npy_path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, array, allow_pickle=False)
    with atomic_path(jsonl_path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(json.dumps(header, ensure_ascii=False) + "\n")
            for record in records:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return npy_path, jsonl_path


def load_embeddings(path: str | os.PathLike) -> SavedEmbeddings:
    """Read what `save_embeddings` wrote (`path` with or without .npy); checks that both files agree."""
    npy_path, jsonl_path = _index_paths(path)
    for p in (npy_path, jsonl_path):
        if not p.is_file():
            raise FileNotFoundError(f"Saved embeddings incomplete: {str(p)!r} does not exist.")
    try:
        array = np.load(npy_path, allow_pickle=False)
    except (ValueError, OSError) as e:
        raise CheckpointError(f"{str(npy_path)!r} is not a readable .npy file ({e}).") from None
    try:
        with open(jsonl_path, encoding="utf-8") as f:
            header = json.loads(f.readline())
            records = [json.loads(line) for line in f if line.strip()]
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{str(jsonl_path)!r} is not valid JSON lines ({e}).") from None
    if not isinstance(header, dict) or header.get("format") != _INDEX_FORMAT:
        raise CheckpointError(f"{str(jsonl_path)!r} was not written by save_embeddings (no {_INDEX_FORMAT} header).")
    texts = [r.get("text", "") for r in records]
    if len(records) != header.get("count") or array.shape[0] != len(records):
        raise CheckpointError(
            f"{str(npy_path)!r} holds {array.shape[0]} rows but {str(jsonl_path)!r} lists {len(records)} texts "
            f"(header says {header.get('count')}): the files do not belong together. Rebuild the index."
        )
    if header.get("texts_sha256") not in (None, texts_fingerprint(texts)):
        raise CheckpointError(f"{str(jsonl_path)!r}: texts do not match their fingerprint. Rebuild the index.")
    return SavedEmbeddings(array, texts, records, header.get("metadata", {}))
