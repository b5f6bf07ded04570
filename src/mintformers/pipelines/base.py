"""The pipeline base: input kinds, batching, device placement and errors, written once for every task.

A task implements three steps; the base runs them over any input:

    preprocess(item, **options)  -> Chunk, or a list of Chunks when one item needs several model calls
                                    (long texts split with a stride, one chunk per candidate label or choice)
    forward(batch, **options)    -> dict of batched output tensors (the model call)
    postprocess(chunk(s), **options) -> the result for that item, shaped like the reference's

Chunks hold unpadded token lists. The base pads chunks from consecutive items into batches of `batch_size`, runs
`forward` under inference mode, then hands each chunk its own rows of the outputs with the padding cut off again, so
postprocessing never sees padding and `batch_size=8` gives what `batch_size=1` gives (up to float rounding).
"""

from __future__ import annotations

import inspect
import logging
import types
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch

__all__ = ["Pipeline", "Chunk", "resolve_device", "padding_changes_outputs"]

logger = logging.getLogger(__name__)


@dataclass
class Chunk:
    """One model call's worth of input for one item.

    `inputs`: model inputs of one sequence, unpadded (name → token-level list, e.g. input_ids, attention_mask).
    `info`: whatever postprocessing needs (offsets, masks, the original text).
    `outputs`: filled by the base after the forward pass: this chunk's rows of the model outputs, unpadded.
    """

    inputs: dict[str, list[int]]
    info: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, torch.Tensor] | None = None

    def __len__(self) -> int:
        return len(next(iter(self.inputs.values())))


def resolve_device(device: int | str | torch.device | None) -> torch.device | None:
    """`device` as the reference accepts it: an index (-1 = CPU), a string or a torch.device."""
    if device is None or isinstance(device, torch.device):
        resolved = device
    elif isinstance(device, bool) or not isinstance(device, (int, str)):
        raise TypeError(f"device must be an int index, a string like 'cpu' or 'cuda:0', or a torch.device; got {device!r}.")
    elif isinstance(device, int):
        if device < 0:
            resolved = torch.device("cpu")
        elif torch.cuda.is_available():
            resolved = torch.device("cuda", device)
        elif torch.backends.mps.is_available():
            resolved = torch.device("mps")
        else:
            # The reference silently runs on the CPU here; say so at least.
            logger.warning("device=%d asks for an accelerator but none is available; running on the CPU.", device)
            resolved = torch.device("cpu")
    else:
        try:
            resolved = torch.device(device)
        except RuntimeError as e:
            raise ValueError(f"Unknown device {device!r}; use e.g. 'cpu', 'cuda', 'cuda:1', 'mps' or an index.") from e
    if resolved is not None and resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r} needs CUDA, which is not available here; use device='cpu' (or -1).")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(f"device={device!r}: there are only {torch.cuda.device_count()} CUDA device(s).")
    return resolved


def _is_stream(inputs: Any) -> bool:
    """Generators, iterators and dataset-like objects are consumed lazily and answered with an iterator."""
    if isinstance(inputs, (str, bytes, dict, list, tuple)):
        return False
    if isinstance(inputs, (types.GeneratorType, Iterator)):
        return True
    return (hasattr(inputs, "__getitem__") and hasattr(inputs, "__len__")) or isinstance(inputs, Iterable)


def _iterate_dataset(data: Any) -> Iterator[Any]:
    if isinstance(data, Iterator) or not (hasattr(data, "__getitem__") and hasattr(data, "__len__")):
        yield from data
    else:
        for i in range(len(data)):
            yield data[i]


class Pipeline:
    """Base of every task pipeline: `pipe(inputs, **options)`.

    `inputs` may be one item (a string, or the task's dict), a list of items (→ a list of results), or a generator /
    iterator / dataset-like object (anything with `__len__` and `__getitem__`, or just iterable) → an iterator that
    yields results lazily as batches complete. Options given when the pipeline is built are defaults for every call;
    options given to a call override them for that call. Building a pipeline puts the model in eval mode and moves
    it to `device` / `dtype` when given.
    """

    task: ClassVar[str] = ""
    # Whether preprocess returns a list of chunks (and postprocess receives the list).
    chunked: ClassVar[bool] = False
    # Outputs with a sequence axis (dim 1 in the batch): cut back to each chunk's length after padding.
    sequence_outputs: ClassVar[tuple[str, ...]] = ()
    # Side the base pads batches on; decoder prompts are padded on the left.
    padding_side: ClassVar[str] = "right"
    # Types that are one item (not a batch) for this task.
    item_types: ClassVar[tuple[type, ...]] = (str,)

    def __init__(
        self,
        model: Any,
        tokenizer: Any = None,
        *,
        task: str | None = None,
        device: int | str | torch.device | None = None,
        dtype: Any = None,
        torch_dtype: Any = None,
        batch_size: int | None = None,
        num_workers: int | None = None,  # accepted for compatibility; tokenization runs in the calling thread
        **kwargs: Any,
    ):
        if tokenizer is None:
            hint = f" (e.g. AutoTokenizer.from_pretrained({model.name_or_path!r}))" if getattr(model, "name_or_path", "") else ""
            raise ValueError(f"The {self.task or type(self).__name__} pipeline needs a tokenizer; pass tokenizer=...{hint}.")
        self.model = model
        self.tokenizer = tokenizer
        if task is not None:
            self.task = task
        dtype = _one_dtype(dtype, torch_dtype)
        target = resolve_device(device)
        if dtype is not None and dtype != "auto":
            from ..modeling import resolve_dtype

            self.model.to(resolve_dtype(dtype))
        if target is not None:
            self.model.to(target)
        # A pipeline is for inference: dropout off.
        self.model.eval()
        self.batch_size = _check_batch_size(batch_size) if batch_size is not None else 1
        self._defaults = self._sanitize_checked(kwargs)

    # ---- what a task implements ------------------------------------------------------------------------------
    def _sanitize(self, **options: Any) -> tuple[dict, dict, dict]:
        """Split call options into (preprocess, forward, postprocess) keyword arguments; validate them."""
        return {}, {}, {}

    def preprocess(self, item: Any, **options: Any) -> Chunk | list[Chunk]:
        raise NotImplementedError

    def forward(self, batch: dict[str, torch.Tensor], **options: Any) -> dict[str, torch.Tensor]:
        """Default: call the model and keep its tensor outputs."""
        output = self.model(**batch)
        return {k: v for k, v in output.items() if isinstance(v, torch.Tensor)}

    def postprocess(self, chunks: Any, **options: Any) -> Any:
        raise NotImplementedError

    # ---- public helpers ---------------------------------------------------------------------------------------
    @property
    def pad_token_id(self) -> int | None:
        """The id batches are padded with."""
        return self.tokenizer.pad_token_id

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(p.dtype for p in self.model.parameters() if p.is_floating_point())

    torch_dtype = dtype

    def save_pretrained(self, save_directory: str | Path) -> None:
        """Write the model and tokenizer to one directory, loadable again with `pipeline(task, model=dir)`; the two
        replace the folder's old files as one atomic save (`storage.save_folder`)."""
        from ..storage import save_folder

        with save_folder(save_directory) as save:
            self.model.save_pretrained(save.path)
            self.tokenizer.save_pretrained(str(save.path))

    def __repr__(self) -> str:
        name = getattr(self.model, "name_or_path", "") or type(self.model).__name__
        return f"{type(self).__name__}(task={self.task!r}, model={name!r}, device={self.device}, batch_size={self.batch_size})"

    # ---- running ----------------------------------------------------------------------------------------------
    def __call__(self, inputs: Any, *, batch_size: int | None = None, num_workers: int | None = None, **options: Any) -> Any:
        batch_size = self.batch_size if batch_size is None else _check_batch_size(batch_size)
        params = self._call_params(options)
        if isinstance(inputs, self.item_types):
            return next(self._run([inputs], batch_size, *params))
        if isinstance(inputs, (list, tuple)):
            if not inputs:
                raise ValueError(f"The {self.task} pipeline got an empty {type(inputs).__name__}; pass at least one input.")
            if batch_size > 1:
                return self._run_by_length(inputs, batch_size, *params)
            return list(self._run(inputs, batch_size, *params))
        if inputs is None:
            raise ValueError(f"The {self.task} pipeline got no input (None).")
        if _is_stream(inputs):
            return self._run(_iterate_dataset(inputs), batch_size, *params)
        raise TypeError(
            f"The {self.task} pipeline cannot read an input of type {type(inputs).__name__}; pass "
            f"{' or '.join(t.__name__ for t in self.item_types)}, a list of them, a generator or a dataset."
        )

    def _call_params(self, options: dict[str, Any]) -> tuple[dict, dict, dict]:
        call = self._sanitize_checked(options) if options else ({}, {}, {})
        return tuple({**default, **given} for default, given in zip(self._defaults, call))  # type: ignore[return-value]

    def _sanitize_checked(self, options: dict[str, Any]) -> tuple[dict, dict, dict]:
        signature = inspect.signature(self._sanitize)
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values())
        unknown = sorted(set(options) - set(signature.parameters))
        if unknown and not takes_any:
            raise TypeError(
                f"The {self.task} pipeline does not know the option(s) {unknown}; it accepts "
                f"{sorted(signature.parameters)} (plus batch_size)."
            )
        return self._sanitize(**options)

    def _run(self, items: Iterable[Any], batch_size: int, pre: dict, fwd: dict, post: dict) -> Iterator[Any]:
        """Results in input order, one per item, produced as soon as all of an item's chunks have been run."""
        waiting: deque[list[Chunk]] = deque()  # chunks of items not yet postprocessed, in input order
        batch: list[Chunk] = []
        for item in items:
            chunks = self.preprocess(item, **pre)
            chunks = chunks if self.chunked else [chunks]
            waiting.append(chunks)
            for chunk in chunks:
                batch.append(chunk)
                if len(batch) == batch_size:
                    self._run_batch(batch, fwd)
                    batch = []
                    yield from self._finished(waiting, post)
        if batch:
            self._run_batch(batch, fwd)
        yield from self._finished(waiting, post)

    def _run_by_length(self, items: list | tuple, batch_size: int, pre: dict, fwd: dict, post: dict) -> list[Any]:
        """A whole list at once: batch chunks of similar length together (less padding, less work), postprocess
        each item as soon as its chunks are done (so outputs are not all held at once), return results in order."""
        entries: list[list[Chunk] | None] = []
        for item in items:
            chunks = self.preprocess(item, **pre)
            entries.append(chunks if self.chunked else [chunks])
        waiting = [len(chunks) for chunks in entries]
        results: list[Any] = [None if n else self.postprocess([], **post) for n in waiting]
        order = sorted(((i, c) for i, chunks in enumerate(entries) for c in chunks), key=lambda ic: len(ic[1]))
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            self._run_batch([c for _, c in batch], fwd)
            for i, _ in batch:
                waiting[i] -= 1
                if waiting[i] == 0:
                    results[i] = self.postprocess(entries[i] if self.chunked else entries[i][0], **post)
                    entries[i] = None
        return results

    def _finished(self, waiting: deque[list[Chunk]], post: dict) -> Iterator[Any]:
        while waiting and all(chunk.outputs is not None for chunk in waiting[0]):
            chunks = waiting.popleft()
            yield self.postprocess(chunks if self.chunked else chunks[0], **post)

    def _padding_changes_outputs(self) -> bool:
        return padding_changes_outputs(self.model)

    def _run_batch(self, chunks: list[Chunk], fwd: dict) -> None:
        lengths = {len(c) for c in chunks}
        if len(lengths) > 1 and self._padding_changes_outputs():
            for length in sorted(lengths):  # equal lengths need no padding
                self._run_batch([c for c in chunks if len(c) == length], fwd)
            return
        batch, length = self._collate(chunks)
        with torch.inference_mode():
            outputs = self.forward(batch, **fwd)
        outputs = {k: v.cpu() if isinstance(v, torch.Tensor) else v for k, v in outputs.items()}
        for i, chunk in enumerate(chunks):
            rows = {}
            for key, value in outputs.items():
                row = value[i]
                if key in self.sequence_outputs and value.dim() >= 2 and value.shape[1] == length:
                    row = row[: len(chunk)] if self.padding_side == "right" else row[length - len(chunk) :]
                rows[key] = row
            chunk.outputs = rows

    def _collate(self, chunks: list[Chunk]) -> tuple[dict[str, torch.Tensor], int]:
        """Pad the chunks' token lists into (batch, length) tensors on the model's device."""
        keys = list(chunks[0].inputs)
        if any(list(c.inputs) != keys for c in chunks):
            raise ValueError("Cannot batch chunks with different input names; use batch_size=1.")
        length = max(len(c) for c in chunks)
        needs_padding = any(len(c) != length for c in chunks)
        pad_id = self.pad_token_id
        if needs_padding and "attention_mask" not in keys:
            # A tokenizer that returns no mask (ErnieM's) serves a model that masks `input_ids == pad_token_id`
            # itself: pad with the model's id, so every row is masked exactly as it would be alone.
            model_pad = getattr(getattr(self.model, "config", None), "pad_token_id", None)
            if model_pad is not None:
                pad_id = model_pad
            elif pad_id is not None:
                keys.append("attention_mask")
                for c in chunks:
                    c.inputs["attention_mask"] = [1] * len(c)
        if needs_padding and pad_id is None:
            raise ValueError(
                "Batching inputs of different lengths needs a padding token, and this tokenizer has none. Set one "
                "(e.g. `pipe.tokenizer.pad_token = pipe.tokenizer.eos_token`) or use batch_size=1."
            )
        device = self.device
        batch = {}
        for key in keys:
            pad = pad_id if key == "input_ids" else 0
            rows = []
            for c in chunks:
                row, fill = list(c.inputs[key]), [pad] * (length - len(c))
                rows.append(row + fill if self.padding_side == "right" else fill + row)
            batch[key] = torch.tensor(rows, dtype=torch.long, device=device)
        return batch, length

    def _tokenizer_inputs(self, encoding: Any, index: int | None = None) -> dict[str, list[int]]:
        """The model inputs of one encoded sequence (row `index` of a batched encoding)."""
        names = [n for n in self.tokenizer.model_input_names if n in encoding]
        return {n: list(encoding[n] if index is None else encoding[n][index]) for n in names}


def padding_changes_outputs(model: Any) -> bool:
    """True for models whose real tokens see padding despite the attention mask: MobileBERT's trigram input
    concatenates each token with its neighbours' embeddings, so the last real token sees a pad embedding in a batch
    but zeros alone. Such rows are batched with rows of their own length only."""
    config = getattr(model, "config", None)
    return getattr(config, "model_type", None) == "mobilebert" and bool(getattr(config, "trigram_input", False))


def _check_batch_size(batch_size: Any) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    return batch_size


def _one_dtype(dtype: Any, torch_dtype: Any) -> Any:
    if dtype is not None and torch_dtype is not None and dtype != torch_dtype:
        raise ValueError(f"dtype={dtype!r} and torch_dtype={torch_dtype!r} disagree; pass one of them (dtype).")
    return dtype if dtype is not None else torch_dtype
