"""What SentenceEncoder and CrossEncoder share: sentence-transformers' loading options, the default device,
prompts and multi-process pools."""

from __future__ import annotations

import os
from typing import Any

import torch

from ..hub import ignore_remote_code
from . import multiprocess


def default_device() -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def loading_options(
    hub: dict[str, Any],
    *,
    model_kwargs: dict[str, Any] | None,
    dtype: Any = None,
    trust_remote_code: bool = False,
    backend: str = "torch",
    revision: str | None = None,
    token: bool | str | None = None,
    cache_folder: str | None = None,
    local_files_only: bool = False,
) -> tuple[Any, str | None, str | None]:
    """sentence-transformers' constructor options → (dtype, attn_implementation, quantize); hub arguments go into
    `hub`. `model_kwargs={"quantize": "int8"}` is mintformers' own (mintformers.quantization)."""
    if backend != "torch":
        raise ValueError(f"backend={backend!r}: mintformers runs PyTorch models only (backend='torch').")
    ignore_remote_code(trust_remote_code)
    model_kwargs = dict(model_kwargs or {})
    dtype = model_kwargs.pop("torch_dtype", model_kwargs.pop("dtype", dtype))
    attn_implementation = model_kwargs.pop("attn_implementation", None)
    quantize = model_kwargs.pop("quantize", None)
    if model_kwargs:
        raise TypeError(
            f"model_kwargs {sorted(model_kwargs)} are not supported (supported: torch_dtype / dtype, attn_implementation, quantize)."
        )
    cache_folder = cache_folder or os.environ.get("SENTENCE_TRANSFORMERS_HOME")
    hub.update({k: v for k, v in {"revision": revision, "token": token, "cache_dir": cache_folder}.items() if v is not None})
    if local_files_only:
        hub["local_files_only"] = True
    return dtype, attn_implementation, quantize


class PromptsAndPools:
    """Prompt lookup (`self.prompts`, `self.default_prompt_name`) and multi-process pools for a model class."""

    prompts: dict[str, str]
    default_prompt_name: str | None

    def _resolve_prompt(self, prompt: str | None, prompt_name: str | None) -> str | None:
        if prompt is not None:
            return prompt
        name = prompt_name if prompt_name is not None else self.default_prompt_name
        if name is None:
            return None
        if name not in self.prompts:
            raise ValueError(f"prompt_name {name!r} is not one of this model's prompts: {sorted(self.prompts) or 'none'}.")
        return self.prompts[name]

    def start_multi_process_pool(self, target_devices: list[str] | None = None) -> dict[str, Any]:
        """Start one worker process per device (default: every CUDA GPU, else 4 CPU processes); pass the pool to
        `encode` / `predict` (`pool=pool`) and end it with `stop_multi_process_pool(pool)`. Moves the model to the
        CPU (each worker moves its copy to its device)."""
        return multiprocess.start_pool(self, target_devices)

    @staticmethod
    def stop_multi_process_pool(pool: dict[str, Any]) -> None:
        multiprocess.stop_pool(pool)
