"""SentenceEncoder: a transformer checkpoint followed by sentence-transformers modules, encoding text fast.

    from mintformers import SentenceEncoder
    encoder = SentenceEncoder.from_pretrained("sentence-transformers/all-MiniLM-L6-v2")
    embeddings = encoder.encode(["A man is eating food.", "A man is eating a piece of bread."])
    encoder.similarity(embeddings, embeddings)

`SentenceTransformer` is the same class under sentence-transformers' name and constructor. Outputs equal
sentence-transformers' `encode` within float rounding; batches are length-sorted (see batching.py).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..hub import hub_kwargs
from ..progress import Progress
from . import multiprocess
from .base import PromptsAndPools, default_device, loading_options
from .batching import pad_id_of, pad_rows, sorted_batches, windows
from .folder import encoder_arguments, hub_name, write_folder
from .modules import Dense, Pooling, Transformer, default_pooling
from .quantization import PRECISIONS, quantize_embeddings
from .similarity import SIMILARITY_FUNCTIONS

logger = logging.getLogger(__name__)

# Prompts every model has, empty unless its config or the caller sets them (as in sentence-transformers 5).
_DEFAULT_PROMPTS = {"query": "", "document": ""}
_DOCUMENT_PROMPT_NAMES = ("document", "passage", "corpus")  # encode_document's choice, in this order
OutputValue = Literal["sentence_embedding", "token_embeddings"] | None
Precision = Literal["float32", "int8", "uint8", "binary", "ubinary"]


class SentenceEncoder(PromptsAndPools, nn.Module):
    """A chain of modules: the Transformer (checkpoint + tokenizer), then Pooling, Dense, Normalize.

    Build it with `from_pretrained(path_or_hub_id)`; or from parts: `SentenceEncoder(model, tokenizer,
    [Pooling(model.config.hidden_size, "mean"), Normalize()])`, or `SentenceEncoder(modules=[Transformer(model,
    tokenizer), Pooling(...)])`. `encoder[i]` and `len(encoder)` index the chain, as in sentence-transformers.
    """

    def __init__(
        self,
        model: nn.Module | None = None,
        tokenizer: Any = None,
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
        modules = list(modules or [])
        if modules and isinstance(modules[0], Transformer):
            if model is not None or tokenizer is not None:
                raise ValueError("Pass either model and tokenizer, or modules starting with a Transformer, not both.")
            first, modules = modules[0], modules[1:]
            if max_seq_length is not None:
                first.max_seq_length = max_seq_length
        elif model is None or tokenizer is None:
            raise ValueError(
                "A SentenceEncoder needs a model and its tokenizer (SentenceEncoder(model, tokenizer, [Pooling(...)])), "
                "or modules starting with a Transformer; to load a saved one use SentenceEncoder.from_pretrained(path)."
            )
        else:
            first = Transformer(model, tokenizer, max_seq_length, do_lower_case)
        if not modules:
            if getattr(first.model.config, "hidden_size", None) is None:
                raise ValueError("Pass the pooling modules explicitly: the model config has no hidden_size.")
            modules = [default_pooling(first.model.config)]
        for i, module in enumerate([first, *modules]):
            self.add_module(str(i), module)  # named "0", "1", ... as sentence-transformers names them
        self.prompts = {**_DEFAULT_PROMPTS, **(prompts or {})}
        self.default_prompt_name = default_prompt_name
        if default_prompt_name is not None and default_prompt_name not in self.prompts:
            raise ValueError(f"default_prompt_name {default_prompt_name!r} is not one of the prompts {sorted(self.prompts)}.")
        self._similarity_fn_name: str | None = None
        self.similarity_fn_name = similarity_fn_name or "cosine"
        self.truncate_dim = _check_truncate_dim(truncate_dim)
        self._prompt_lengths: dict[tuple[str, int | None], int] = {}

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
        prompts: dict[str, str] | None = None,
        default_prompt_name: str | None = None,
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
            attn_implementation=attn_implementation, prompts=prompts, default_prompt_name=default_prompt_name, hub=hub,
        )
        encoder = cls.__new__(cls)  # a subclass's __init__ may take other arguments (SentenceTransformer: a path)
        SentenceEncoder.__init__(encoder, **arguments)
        return encoder.to(default_device() if device is None else torch.device(device))

    def save_pretrained(self, path: str | os.PathLike, *args: Any, **kwargs: Any) -> None:
        """Write a sentence-transformers folder: the checkpoint and tokenizer at the root, then one subfolder per
        module, `modules.json`, `sentence_bert_config.json` and `config_sentence_transformers.json`, which
        sentence-transformers loads as it loads its own. (Its model-card and pickle options are accepted and
        ignored: weights are always written as safetensors.)"""
        write_folder(self, path)

    save = save_pretrained  # sentence-transformers' name

    # ---- the chain of modules --------------------------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("model", "tokenizer", "max_seq_length"):  # the properties below, not new submodules
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def __getitem__(self, index: int | slice) -> Any:
        return list(self._modules.values())[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[nn.Module]:
        return iter(self._modules.values())

    @property
    def model(self) -> nn.Module:
        """The transformer checkpoint's model (`self[0].model`)."""
        return self[0].model

    @model.setter
    def model(self, value: nn.Module) -> None:
        self[0].model = value

    @property
    def tokenizer(self) -> Any:
        return self[0].tokenizer

    @tokenizer.setter
    def tokenizer(self, value: Any) -> None:
        self[0].tokenizer = value
        self._prompt_lengths.clear()

    @property
    def layers(self) -> list[nn.Module]:
        """The modules after the transformer (Pooling, Dense, Normalize), in order."""
        return self[1:]

    @property
    def max_seq_length(self) -> int | None:
        """Texts are truncated to this many tokens (special tokens included); settable."""
        return self[0].max_seq_length

    @max_seq_length.setter
    def max_seq_length(self, value: int | None) -> None:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            raise ValueError(f"max_seq_length must be a positive integer or None, got {value!r}.")
        self[0].max_seq_length = value

    def get_max_seq_length(self) -> int | None:
        return self.max_seq_length

    @property
    def do_lower_case(self) -> bool:
        return self[0].do_lower_case

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
        if self.truncate_dim is not None:
            dim = self.truncate_dim if dim is None else min(dim, self.truncate_dim)
        return dim

    get_embedding_dimension = get_sentence_embedding_dimension

    @property
    def similarity_fn_name(self) -> str:
        return self._similarity_fn_name or "cosine"

    @similarity_fn_name.setter
    def similarity_fn_name(self, value: str) -> None:
        value = getattr(value, "value", value)  # a SimilarityFunction enum member
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

    # ---- the forward pass ------------------------------------------------------------------------------------------
    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """The features dict for `texts` that `self(features)` takes: input_ids and attention_mask (B, T), padded to
        the longest and truncated to max_seq_length (plus the tokenizer's token_type_ids, where it has them)."""
        return self[0].tokenize(texts)

    def forward(self, features: dict[str, Any]) -> dict[str, Any]:
        """Tokenized, padded inputs (`input_ids`, `attention_mask`) → the same dict with `token_embeddings` (B, T, H)
        and `sentence_embedding` (B, D) added (the modules run in order)."""
        for module in self:
            features = module(features)
        return features

    # ---- encoding --------------------------------------------------------------------------------------------------
    def _prompt_length(self, prompt: str) -> int:
        """Tokens a prompt occupies at the start of every text (its trailing special token excluded)."""
        key = (prompt, self.max_seq_length)
        if key not in self._prompt_lengths:
            ids = self[0].token_ids([prompt])[0]
            special = set(getattr(self.tokenizer, "all_special_ids", []) or [])
            self._prompt_lengths[key] = len(ids) - 1 if ids and ids[-1] in special else len(ids)
        return self._prompt_lengths[key]

    def encode_query(self, inputs: Any = None, prompt_name: str | None = None, prompt: str | None = None, **kwargs: Any) -> Any:
        """`encode` with the model's "query" prompt (empty when it defines none), unless a prompt is given."""
        if prompt_name is None and prompt is None and "query" in self.prompts:
            prompt_name = "query"
        return self.encode(inputs, prompt_name, prompt, **kwargs)

    def encode_document(self, inputs: Any = None, prompt_name: str | None = None, prompt: str | None = None, **kwargs: Any) -> Any:
        """`encode` with the model's "document" prompt (else "passage", else "corpus"; empty when it defines none),
        unless a prompt is given."""
        if prompt_name is None and prompt is None:
            prompt_name = next((name for name in _DOCUMENT_PROMPT_NAMES if name in self.prompts), None)
        return self.encode(inputs, prompt_name, prompt, **kwargs)

    @torch.inference_mode()
    def encode(
        self,
        inputs: str | Iterable[str] | None = None,
        prompt_name: str | None = None,
        prompt: str | None = None,
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
        output_value: OutputValue = "sentence_embedding",
        precision: Precision = "float32",
        convert_to_numpy: bool = True,
        convert_to_tensor: bool = False,
        device: str | torch.device | list[str | torch.device] | None = None,
        normalize_embeddings: bool = False,
        truncate_dim: int | None = None,
        pool: dict[str, Any] | None = None,
        chunk_size: int | None = None,
        **kwargs: Any,
    ) -> Any:
        """Embed texts; returns what sentence-transformers' `encode` returns for the same arguments (same order).

        One string → one vector (1-D); a list → a (n, dim) numpy array (`convert_to_tensor=True`: a tensor on the
        model's device; both False: a list of tensors). `output_value="token_embeddings"` gives one (tokens, H)
        tensor per text instead; `output_value=None` one dict per text with every feature (input_ids,
        attention_mask, token_embeddings up to the text's length, sentence_embedding). `precision` quantizes the
        result ("int8"/"uint8": per-dimension ranges of these embeddings; "binary"/"ubinary": sign bits packed 8 per
        byte). `prompt` (or `prompt_name`, a key of the model's prompts) is prepended to every text.
        `truncate_dim` keeps the first dimensions (Matryoshka models). `show_progress_bar=None` shows a bar on
        stderr when this module's logger is at INFO level or below (as sentence-transformers does).
        `pool=` (from `start_multi_process_pool`) or `device=["cuda:0", "cuda:1"]` encode on several processes.
        """
        if isinstance(prompt_name, int) and not isinstance(prompt_name, bool):
            # mintformers < 0.2 and sentence-transformers 2 took batch_size second; a prompt name is never a number
            prompt_name, batch_size = None, prompt_name
        if inputs is None and "sentences" in kwargs:  # sentence-transformers' older name for the texts
            inputs = kwargs.pop("sentences")
        kwargs.pop("task", None)  # routes Router modules in sentence-transformers; plain chains have none
        if kwargs:
            raise TypeError(f"encode() got unexpected arguments {sorted(kwargs)}.")
        texts, single = _as_texts(inputs)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
        if precision not in PRECISIONS:
            raise ValueError(f"precision={precision!r} is not one of {PRECISIONS}.")
        if output_value not in ("sentence_embedding", "token_embeddings", None):
            raise ValueError(f"output_value={output_value!r}: use 'sentence_embedding', 'token_embeddings' or None.")
        truncate_dim = _check_truncate_dim(self.truncate_dim if truncate_dim is None else truncate_dim)
        if show_progress_bar is None:  # as sentence-transformers: shown when this module logs at INFO or below
            show_progress_bar = logger.getEffectiveLevel() <= logging.INFO

        if pool is not None or (isinstance(device, (list, tuple)) and device):
            per_chunk = {
                "prompt_name": prompt_name, "prompt": prompt, "batch_size": batch_size, "show_progress_bar": False,
                "output_value": output_value, "precision": precision, "convert_to_numpy": convert_to_numpy,
                "convert_to_tensor": convert_to_tensor, "normalize_embeddings": normalize_embeddings,
                "truncate_dim": truncate_dim,
            }
            result = multiprocess.run(self, "encode", texts, per_chunk, pool, device, chunk_size, show_progress_bar)
            if result is None:  # no texts: what one process returns for none
                result = self.encode([], **per_chunk)
            return result[0] if single else result

        prompt = self._resolve_prompt(prompt, prompt_name)
        prompt_length = None
        if prompt:
            texts = [prompt + t for t in texts]
            prompt_length = self._prompt_length(prompt)
        if convert_to_tensor:
            convert_to_numpy = False
        if output_value != "sentence_embedding":
            convert_to_numpy = convert_to_tensor = False

        if device is not None:
            self.to(device)
        device = self.device
        self.eval()
        n = len(texts)
        rows_out: list[Any] = [None] * n  # per text: token embeddings, or the features dict
        sentence_out: torch.Tensor | None = None
        # numpy and quantized results are gathered on the CPU in float32; tensors stay where they were computed
        gather_on_cpu = convert_to_numpy or precision != "float32"
        pad_id = pad_id_of(self.tokenizer)

        with Progress(total=n, desc="Embedding", unit="texts", enabled=show_progress_bar) as bar:
            for window in windows([len(t) for t in texts], batch_size):
                ids = self[0].token_ids([texts[i] for i in window])
                lengths = np.array([len(r) for r in ids])
                for rows in sorted_batches(lengths, batch_size, device):
                    input_ids, mask = pad_rows([ids[r] for r in rows], pad_id, device)
                    features = self.forward({"input_ids": input_ids, "attention_mask": mask, "prompt_length": prompt_length})
                    targets = window[rows]
                    emb = features["sentence_embedding"]
                    if truncate_dim is not None:
                        emb = emb[:, :truncate_dim]
                    if output_value == "token_embeddings":
                        for j, t in enumerate(targets):
                            rows_out[t] = features["token_embeddings"][j, : lengths[rows[j]]].clone()
                    elif output_value is None:
                        for j, t in enumerate(targets):
                            width = int(lengths[rows[j]])
                            rows_out[t] = {
                                "input_ids": input_ids[j, :width].clone(), "attention_mask": mask[j, :width].clone(),
                                "token_embeddings": features["token_embeddings"][j, :width].clone(),
                                "sentence_embedding": emb[j].clone(),
                            }
                    else:
                        if normalize_embeddings:
                            emb = F.normalize(emb, p=2, dim=1)
                        if sentence_out is None:
                            out_dtype = torch.float32 if gather_on_cpu else emb.dtype
                            sentence_out = torch.empty((n, emb.shape[1]), dtype=out_dtype, device="cpu" if gather_on_cpu else device)
                        sentence_out[torch.as_tensor(targets, device=sentence_out.device)] = emb.to(sentence_out.device, sentence_out.dtype)
                    bar.update(len(rows))

        if output_value != "sentence_embedding":
            return rows_out[0] if single else rows_out
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

    # ---- several processes: start_multi_process_pool / stop_multi_process_pool (base.PromptsAndPools) --------
    def encode_multi_process(self, sentences: list[str], pool: dict[str, Any], **kwargs: Any) -> Any:
        """sentence-transformers' older spelling of `encode(sentences, pool=pool, ...)`."""
        return self.encode(sentences, pool=pool, **kwargs)

    def __repr__(self) -> str:
        modules = ", ".join(type(m).__name__ for m in self.layers)
        return (
            f"{type(self).__name__}({type(self.model).__name__} → {modules}; max_seq_length={self.max_seq_length}, "
            f"dim={self.get_sentence_embedding_dimension()}, similarity={self.similarity_fn_name!r})"
        )


def _as_texts(inputs: Any) -> tuple[list[str], bool]:
    """(the texts, whether one string was given), or a clear error for anything else."""
    if isinstance(inputs, str):
        return [inputs], True
    if inputs is None:
        raise TypeError('encode() got None instead of text: pass a string or a list of strings, e.g. encode(["first text", "second"]).')
    if isinstance(inputs, (bytes, bytearray)):
        raise TypeError("encode() takes text, not bytes: decode it first, e.g. data.decode('utf-8').")
    if isinstance(inputs, dict):
        raise TypeError("encode() takes a string or a list of strings, not a dict: pass its texts, e.g. list(d.values()).")
    if isinstance(inputs, np.ndarray):
        inputs = inputs.tolist()
    try:
        texts = list(inputs)
    except TypeError:
        raise TypeError(f"encode() takes a string or a list of strings, not a {type(inputs).__name__}.") from None
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(
                f"encode() takes strings; item {i} is a {type(text).__name__} ({text!r:.40}): convert it with str() "
                "or leave it out."
            )
    return texts, False


def _check_truncate_dim(truncate_dim: Any) -> int | None:
    if truncate_dim is not None and (isinstance(truncate_dim, bool) or not isinstance(truncate_dim, int) or truncate_dim <= 0):
        raise ValueError(f"truncate_dim must be a positive integer or None, got {truncate_dim!r}.")
    return truncate_dim


class SentenceTransformer(SentenceEncoder):
    """Drop-in for sentence-transformers' class: `SentenceTransformer(path_or_hub_id, device=None, ...)` loads as
    `SentenceEncoder.from_pretrained` does, with sentence-transformers' constructor arguments; `modules=[...]`
    builds one from modules instead. A bare name such as "all-MiniLM-L6-v2" means "sentence-transformers/<name>".
    """

    def __init__(
        self,
        model_name_or_path: str | os.PathLike | None = None,
        device: str | torch.device | None = None,
        *,
        modules: Sequence[nn.Module] | None = None,
        prompts: dict[str, str] | None = None,
        default_prompt_name: str | None = None,
        cache_folder: str | None = None,
        trust_remote_code: bool = False,
        revision: str | None = None,
        local_files_only: bool = False,
        token: bool | str | None = None,
        use_auth_token: bool | str | None = None,
        model_kwargs: dict[str, Any] | None = None,
        similarity_fn_name: str | None = None,
        truncate_dim: int | None = None,
        dtype: Any = None,
        backend: str = "torch",
        model_card_data: Any = None,
        **kwargs: Any,
    ):
        hub = hub_kwargs(kwargs)
        if kwargs:
            raise TypeError(f"Unexpected arguments for SentenceTransformer: {sorted(kwargs)}")
        dtype, attn_implementation = loading_options(
            hub, model_kwargs=model_kwargs, dtype=dtype, trust_remote_code=trust_remote_code, backend=backend,
            revision=revision, token=use_auth_token if token is None else token, cache_folder=cache_folder,
            local_files_only=local_files_only,
        )

        if model_name_or_path is None:
            if not modules:
                raise ValueError("SentenceTransformer needs a model name or path, or modules=[Transformer(...), ...].")
            super().__init__(
                modules=modules, prompts=prompts, default_prompt_name=default_prompt_name,
                similarity_fn_name=similarity_fn_name, truncate_dim=truncate_dim,
            )
        else:
            super().__init__(**encoder_arguments(
                hub_name(os.fspath(model_name_or_path), "sentence-transformers"), dtype=dtype, truncate_dim=truncate_dim,
                similarity_fn_name=similarity_fn_name, attn_implementation=attn_implementation, prompts=prompts,
                default_prompt_name=default_prompt_name, hub=hub,
            ))
        self.to(default_device() if device is None else torch.device(device))
