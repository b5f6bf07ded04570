"""CrossEncoder: rerankers and pair classifiers on sequence-classification checkpoints, as sentence-transformers' class.

    from mintformers import CrossEncoder
    model = CrossEncoder("cross-encoder/ms-marco-MiniLM-L6-v2")
    model.predict([("How many people live in Berlin?", "Berlin has 3.5 million inhabitants.")])
    model.rank("How many people live in Berlin?", documents, top_k=3, return_documents=True)

Each (query, document) pair is tokenized together ([CLS] query [SEP] document [SEP], truncated longest-first to
`max_length`), run through the classifier, and its logits (num_labels of them) go through the activation: by
default the one the checkpoint names (config.json's `sentence_transformers.activation_fn`, or the older
`sbert_ce_default_activation_function`, or config_sentence_transformers.json's `activation_fn`), else sigmoid for
one label and identity otherwise, as sentence-transformers 5.7 decides it. Pairs are length-sorted into batches as
in `SentenceEncoder.encode` (see batching.py), so a pair's score does not depend on its batch.
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
from torch import nn

from ..config import read_json
from ..hub import CheckpointError, hub_kwargs, resolve_file
from ..progress import Progress
from . import multiprocess
from .base import PromptsAndPools, default_device, loading_options
from .batching import pad_id_of, pad_rows, sorted_batches, windows
from .folder import hub_name, read_modules_json
from .modules import activation_from_path, activation_path, max_length_for

logger = logging.getLogger(__name__)

class CrossEncoder(PromptsAndPools, nn.Module):
    """`CrossEncoder(path_or_hub_id, num_labels=None, max_length=None, activation_fn=None, device=None)`.

    Arguments as in sentence-transformers (which also took num_labels, max_length, activation_fn and device
    positionally, in that order, before 5.4: so does this). A bare name such as "ms-marco-MiniLM-L6-v2" means
    "cross-encoder/<name>". `num_labels` sets the classifier's width (a new head when it differs from the
    checkpoint's, to be trained); `max_length` caps the tokens of a pair.
    """

    def __init__(
        self,
        model_name_or_path: str | os.PathLike,
        *args: Any,
        num_labels: int | None = None,
        max_length: int | None = None,
        activation_fn: Callable | None = None,
        device: str | torch.device | None = None,
        prompts: dict[str, str] | None = None,
        default_prompt_name: str | None = None,
        cache_folder: str | None = None,
        trust_remote_code: bool = False,
        revision: str | None = None,
        local_files_only: bool = False,
        token: bool | str | None = None,
        model_kwargs: dict[str, Any] | None = None,
        backend: str = "torch",
        **kwargs: Any,
    ):
        super().__init__()
        if len(args) > 4:
            raise TypeError(f"CrossEncoder takes at most 5 positional arguments, got {1 + len(args)}.")
        legacy = dict(zip(("num_labels", "max_length", "activation_fn", "device"), args))
        num_labels = legacy.get("num_labels", num_labels)
        max_length = legacy.get("max_length", max_length)
        activation_fn = legacy.get("activation_fn", activation_fn)
        device = legacy.get("device", device)
        activation_fn = kwargs.pop("default_activation_function", activation_fn)  # sentence-transformers' older name
        hub = hub_kwargs(kwargs)
        if kwargs:
            raise TypeError(f"Unexpected arguments for CrossEncoder: {sorted(kwargs)}")
        if max_length is not None and (isinstance(max_length, bool) or not isinstance(max_length, int) or max_length <= 0):
            raise ValueError(f"max_length must be a positive integer or None, got {max_length!r}.")
        dtype, attn_implementation = loading_options(
            hub, model_kwargs=model_kwargs, trust_remote_code=trust_remote_code, backend=backend, revision=revision,
            token=token, cache_folder=cache_folder, local_files_only=local_files_only,
        )

        name = hub_name(os.fspath(model_name_or_path), "cross-encoder")
        parts = _load_parts(name, num_labels, dtype, attn_implementation, hub)
        self.model = parts["model"]
        self.tokenizer = parts["tokenizer"]
        self.max_length = max_length if max_length is not None else parts["max_length"]
        self.prompts = {**parts["prompts"], **(prompts or {})}
        self.default_prompt_name = default_prompt_name if default_prompt_name is not None else parts["default_prompt_name"]
        if self.default_prompt_name is not None and self.default_prompt_name not in self.prompts:
            raise ValueError(f"default_prompt_name {self.default_prompt_name!r} is not one of the prompts {sorted(self.prompts)}.")
        if activation_fn is None:
            activation_fn = _saved_activation(parts["activation_paths"])
        self.activation_fn = activation_fn if activation_fn is not None else self.get_default_activation_fn()
        self.to(default_device() if device is None else torch.device(device))

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "activation_fn":  # a plain attribute, not a submodule: it has no weights to save or move
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    @classmethod
    def from_pretrained(cls, model_name_or_path: str | os.PathLike, **kwargs: Any) -> CrossEncoder:
        return cls(model_name_or_path, **kwargs)

    # ---- properties ------------------------------------------------------------------------------------------------
    @property
    def config(self) -> Any:
        return self.model.config

    @property
    def num_labels(self) -> int:
        return self.model.config.num_labels

    @property
    def max_seq_length(self) -> int | None:
        """sentence-transformers 5's name for `max_length`."""
        return self.max_length

    @max_seq_length.setter
    def max_seq_length(self, value: int | None) -> None:
        self.max_length = value

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def get_default_activation_fn(self) -> nn.Module:
        """Sigmoid for one label (a relevance score in [0, 1]), identity otherwise."""
        return nn.Sigmoid() if self.num_labels == 1 else nn.Identity()

    # ---- scoring ---------------------------------------------------------------------------------------------------
    def _pair_token_ids(self, pairs: list[tuple[str, str]]) -> tuple[list[list[int]], list[list[int]] | None]:
        """Token ids (and token type ids, where the family has them) per pair, truncated longest-first."""
        if not pairs:
            return [], None
        encoded = self.tokenizer(
            [a for a, _ in pairs], [b for _, b in pairs], truncation="longest_first" if self.max_length else False,
            max_length=self.max_length, padding=False, return_attention_mask=False,
        )
        return encoded["input_ids"], encoded.get("token_type_ids")

    @torch.inference_mode()
    def predict(
        self,
        inputs: Any = None,
        prompt_name: str | None = None,
        prompt: str | None = None,
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
        activation_fn: Callable | None = None,
        apply_softmax: bool | None = False,
        convert_to_numpy: bool = True,
        convert_to_tensor: bool = False,
        device: str | torch.device | list[str | torch.device] | None = None,
        pool: dict[str, Any] | None = None,
        chunk_size: int | None = None,
        **kwargs: Any,
    ) -> Any:
        """Scores for (query, document) pairs: a numpy array (n,) for one label, (n, num_labels) otherwise
        (`convert_to_tensor`: a tensor; both False: a list of tensors); one pair → one score (or row).

        `activation_fn` replaces the model's for this call; `apply_softmax` turns each row of scores into
        probabilities. `prompt` / `prompt_name` is prepended to the first text of every pair. `pool=` (from
        `start_multi_process_pool`) or `device=[...]` score on several processes.
        """
        if isinstance(prompt_name, int) and not isinstance(prompt_name, bool):
            prompt_name, batch_size = None, prompt_name  # sentence-transformers < 5 took batch_size second
        if inputs is None and "sentences" in kwargs:
            inputs = kwargs.pop("sentences")
        activation_fn = kwargs.pop("activation_fct", activation_fn)  # sentence-transformers' older name
        kwargs.pop("num_workers", None)  # an old DataLoader option, without effect there too
        if kwargs:
            raise TypeError(f"predict() got unexpected arguments {sorted(kwargs)}.")
        pairs, single = _as_pairs(inputs)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
        if show_progress_bar is None:
            show_progress_bar = logger.getEffectiveLevel() <= logging.INFO

        if pool is not None or (isinstance(device, (list, tuple)) and device):
            per_chunk = {
                "prompt_name": prompt_name, "prompt": prompt, "batch_size": batch_size, "show_progress_bar": False,
                "activation_fn": activation_fn, "apply_softmax": apply_softmax, "convert_to_numpy": convert_to_numpy,
                "convert_to_tensor": convert_to_tensor,
            }
            scores = multiprocess.run(self, "predict", pairs, per_chunk, pool, device, chunk_size, show_progress_bar)
            if scores is None:
                scores = self.predict([], **per_chunk)
            return scores[0] if single else scores

        prompt = self._resolve_prompt(prompt, prompt_name)
        if prompt:
            pairs = [(prompt + a, b) for a, b in pairs]
        if device is not None:
            self.to(device)
        device = self.device
        self.eval()
        activation_fn = activation_fn or self.activation_fn
        if convert_to_tensor:
            convert_to_numpy = False
        n = len(pairs)
        out: torch.Tensor | None = None  # (n,) or (n, num_labels); float32 on the CPU for numpy
        pad_id = pad_id_of(self.tokenizer)
        # heads pass their inputs on to the base model: its signature says whether the family has token types
        takes_types = "token_type_ids" in inspect.signature(getattr(self.model, "base_model", self.model).forward).parameters
        with Progress(total=n, desc="Scoring", unit="pairs", enabled=show_progress_bar) as bar:
            for window in windows([len(a) + len(b) for a, b in pairs], batch_size):
                ids, types = self._pair_token_ids([pairs[i] for i in window])
                lengths = np.array([len(r) for r in ids])
                for rows in sorted_batches(lengths, batch_size, device):
                    input_ids, mask = pad_rows([ids[r] for r in rows], pad_id, device)
                    model_inputs: dict[str, Any] = {"input_ids": input_ids}
                    if not bool(mask.all()):  # without padding the model runs without a mask (SDPA's fast path)
                        model_inputs["attention_mask"] = mask
                    if types is not None and takes_types:
                        model_inputs["token_type_ids"] = pad_rows([types[r] for r in rows], 0, device)[0]
                    scores = self.model(**model_inputs).logits  # (B, num_labels)
                    if activation_fn is not None:
                        scores = activation_fn(scores)
                    if apply_softmax and scores.ndim > 1:
                        scores = torch.softmax(scores, dim=1)
                    if self.num_labels == 1 and scores.ndim > 1:
                        scores = scores.squeeze(-1)
                    if out is None:
                        out = torch.empty((n, *scores.shape[1:]), dtype=torch.float32 if convert_to_numpy else scores.dtype,
                                          device="cpu" if convert_to_numpy else device)
                    out[torch.as_tensor(window[rows], device=out.device)] = scores.to(out.device, out.dtype)
                    bar.update(len(rows))
        if out is None:  # no pairs: what sentence-transformers returns for none
            result: Any = torch.tensor([], device=device) if convert_to_tensor else np.asarray([]) if convert_to_numpy else []
        else:
            result = out.numpy() if convert_to_numpy else out if convert_to_tensor else list(out)
        return result[0] if single else result

    def rank(
        self,
        query: str,
        documents: list[str],
        top_k: int | None = None,
        return_documents: bool = False,
        prompt_name: str | None = None,
        prompt: str | None = None,
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
        activation_fn: Callable | None = None,
        apply_softmax: bool | None = False,
        convert_to_numpy: bool = True,
        convert_to_tensor: bool = False,
        device: str | torch.device | list[str | torch.device] | None = None,
        pool: dict[str, Any] | None = None,
        chunk_size: int | None = None,
    ) -> list[dict[str, Any]]:
        """The documents by decreasing score for `query`: [{"corpus_id", "score", ("text")}], the `top_k` best
        (all when None); equal scores keep the documents' order."""
        if self.num_labels != 1:
            raise ValueError(
                f"CrossEncoder.rank() needs a model with one label (this one has {self.num_labels}); score the "
                "pairs with predict() instead."
            )
        if not isinstance(query, str):
            raise TypeError(f"rank() takes the query as a string, not a {type(query).__name__}.")
        if isinstance(documents, str) or not isinstance(documents, Iterable):
            raise TypeError("rank() takes the documents as a list of strings.")
        documents = list(documents)
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int)):
            raise TypeError(f"top_k must be an integer or None, got {top_k!r}.")
        scores = self.predict(
            [[query, doc] for doc in documents], prompt_name, prompt, batch_size, show_progress_bar, activation_fn,
            apply_softmax, convert_to_numpy, convert_to_tensor, device, pool, chunk_size,
        )
        results = [{"corpus_id": i, "score": score} for i, score in enumerate(scores)]
        if return_documents:
            for hit in results:
                hit["text"] = documents[hit["corpus_id"]]
        return sorted(results, key=lambda hit: hit["score"], reverse=True)[:top_k]

    # ---- saving (prompts and start_multi_process_pool / stop_multi_process_pool: base.PromptsAndPools) -------
    def save_pretrained(self, path: str | os.PathLike, *args: Any, **kwargs: Any) -> None:
        """Write the checkpoint and tokenizer (model_max_length = max_length), with the activation in config.json's
        `sentence_transformers` entry: a plain sequence-classification folder that transformers, sentence-transformers
        (4 and 5) and this class load. (sentence-transformers' model-card options are accepted and ignored.)"""
        from .. import __version__
        from ..storage import save_folder

        if isinstance(self.activation_fn, nn.Module) and activation_from_path(activation_path(self.activation_fn)):
            entry = {"activation_fn": activation_path(self.activation_fn), "version": __version__}
            self.model.config.update({"sentence_transformers": entry})  # update() keeps a new key for saving
        else:  # a function of the caller's: nothing a loader may import
            logger.warning("The activation %r is not a torch.nn class; it is not saved.", self.activation_fn)
        if self.max_length is not None:
            self.tokenizer.model_max_length = self.max_length
        with save_folder(path) as save:  # the checkpoint and tokenizer replace the old files as one atomic save
            self.model.save_pretrained(save.path)
            self.tokenizer.save_pretrained(str(save.path))

    save = save_pretrained

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({type(self.model).__name__}; num_labels={self.num_labels}, "
            f"max_length={self.max_length}, activation_fn={self.activation_fn!r})"
        )


def _as_pairs(inputs: Any) -> tuple[list[tuple[str, str]], bool]:
    """(the pairs, whether one pair was given), or a clear error."""
    if inputs is None:
        raise TypeError('predict() got None: pass (query, document) pairs, e.g. predict([("query", "a document")]).')
    if isinstance(inputs, np.ndarray):
        inputs = inputs.tolist()
    if isinstance(inputs, (str, bytes, dict)) or not isinstance(inputs, Iterable):
        raise TypeError(f"predict() takes (query, document) pairs, not a {type(inputs).__name__}.")
    items = list(inputs)
    single = bool(items) and isinstance(items[0], str)  # one pair given as ("query", "document")
    pairs = [items] if single else items
    for i, pair in enumerate(pairs):
        if isinstance(pair, str) or not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise TypeError(f"predict() takes (query, document) pairs; item {i} is {pair!r:.60}, not a pair of strings.")
        if not all(isinstance(t, str) for t in pair):
            kinds = ", ".join(type(t).__name__ for t in pair)
            raise TypeError(f"predict() takes pairs of strings; pair {i} holds ({kinds}): convert them with str().")
    return [(a, b) for a, b in pairs], single


def _saved_activation(paths: list[str]) -> nn.Module | None:
    """The first activation the checkpoint names that can be resolved (torch.nn classes only)."""
    for path in paths:
        activation = activation_from_path(path)
        if activation is not None:
            return activation
        logger.warning(
            "The checkpoint names the activation %r, which is not a torch.nn class; using the default (sigmoid for "
            "one label, identity otherwise), as sentence-transformers does without remote code.", path,
        )
    return None


def _load_parts(name: str, num_labels: int | None, dtype: Any, attn_implementation: str | None, hub: dict) -> dict[str, Any]:
    """The classifier, tokenizer, length limit, prompts and saved activation paths of a plain checkpoint or of a
    folder sentence-transformers 5 saved (modules.json with one Transformer at the root)."""
    from ..auto import AutoModelForSequenceClassification
    from ..tokenization import AutoTokenizer

    modules_file = resolve_file(name, "modules.json", required=False, **hub)
    if modules_file is not None:
        specs = read_modules_json(modules_file)
        if len(specs) != 1 or specs[0].get("path", "") != "" or not str(specs[0].get("type", "")).endswith("Transformer"):
            kinds = [str(s.get("type", "?")).rsplit(".", 1)[-1] for s in specs]
            raise CheckpointError(
                f"{name!r} is a cross-encoder made of {kinds}; mintformers loads cross-encoders that are one "
                "sequence-classification checkpoint (a single Transformer module)."
            )
    model_kwargs: dict[str, Any] = {"dtype": dtype}
    if num_labels is not None:
        model_kwargs["num_labels"] = num_labels
    if attn_implementation is not None:
        model_kwargs["attn_implementation"] = attn_implementation
    model = AutoModelForSequenceClassification.from_pretrained(name, **hub, **model_kwargs)
    tokenizer = AutoTokenizer.from_pretrained(name, **hub)

    st_file = resolve_file(name, "sentence_bert_config.json", required=False, **hub)
    st_config = read_json(st_file) if st_file is not None else {}
    max_length = st_config.get("max_seq_length") or max_length_for(tokenizer, model.config)

    extra_file = resolve_file(name, "config_sentence_transformers.json", required=False, **hub)
    extra = read_json(extra_file) if extra_file is not None else {}
    config = model.config
    # sentence-transformers' order: its own config file, then config.json's entry, then the entry before v4
    paths = [extra.get("activation_fn"), (getattr(config, "sentence_transformers", None) or {}).get("activation_fn"),
             getattr(config, "sbert_ce_default_activation_function", None)]
    return {
        "model": model, "tokenizer": tokenizer, "max_length": max_length,
        "prompts": {k: v for k, v in (extra.get("prompts") or {}).items() if v is not None},
        "default_prompt_name": extra.get("default_prompt_name"),
        "activation_paths": [p for p in paths if isinstance(p, str)],
    }
