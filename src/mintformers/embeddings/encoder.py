"""SentenceEncoder: a transformer checkpoint followed by sentence-transformers modules, encoding text fast.

    from mintformers import SentenceEncoder
    encoder = SentenceEncoder.from_pretrained("sentence-transformers/all-MiniLM-L6-v2")
    embeddings = encoder.encode(["A man is eating food.", "A man is eating a piece of bread."])
    encoder.similarity(embeddings, embeddings)

Outputs equal sentence-transformers' `encode` within float rounding; batches are length-sorted (see batching.py).
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..hub import hub_kwargs
from ..progress import Progress
from .batching import pad_id_of, pad_rows, sorted_batches, windows
from .folder import encoder_arguments, lowercase_inputs, write_folder
from .modules import Dense, Pooling, default_pooling
from .similarity import PRECISIONS, SIMILARITY_FUNCTIONS, quantize_embeddings

logger = logging.getLogger(__name__)

# Families whose position ids start above 0: their max_position_embeddings holds that many fewer tokens.
_POSITION_OFFSETS = {"mpnet": 2, "ernie_m": 2}


def _default_device() -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


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
            modules = [default_pooling(model.config)]
        self.layers = nn.ModuleList(modules)  # applied in order after the transformer
        self.max_seq_length = max_seq_length if max_seq_length is not None else self._default_max_length()
        self.do_lower_case = do_lower_case
        if do_lower_case:
            lowercase_inputs(tokenizer)
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
        arguments = encoder_arguments(
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
        write_folder(self, path)

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
        pad_id = pad_id_of(self.tokenizer)

        if show_progress_bar is None:  # as sentence-transformers: shown when this module logs at INFO or below
            show_progress_bar = logger.getEffectiveLevel() <= logging.INFO
        with Progress(total=n, desc="Embedding", unit="texts", enabled=show_progress_bar) as bar:
            for window in windows([len(t) for t in texts], batch_size):
                ids = self.tokenize([texts[i] for i in window])
                lengths = np.array([len(r) for r in ids])
                for rows in sorted_batches(lengths, batch_size, device):
                    input_ids, mask = pad_rows([ids[r] for r in rows], pad_id, device)
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
                    bar.update(len(rows))

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
        super().__init__(**encoder_arguments(
            os.fspath(model_name_or_path), dtype=dtype, truncate_dim=truncate_dim,
            similarity_fn_name=similarity_fn_name, hub=hub,
        ))
        self.to(_default_device() if device is None else torch.device(device))

