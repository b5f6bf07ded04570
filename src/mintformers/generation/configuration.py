"""`GenerationConfig`: the knobs of `generate()` as plain data, with the reference's names and defaults.

Sources, lowest priority first: the library defaults below → the model config's special token ids (bos/eos/pad)
and any generation keys an old `config.json` carries → the checkpoint's `generation_config.json` → the
`generation_config=` argument of `generate()` → keyword arguments of `generate()`.

Keys of `generation_config.json` that mintformers does not use (assistant settings, watermarking, ...) are kept in
`extra` and written back, so loading and saving never loses them.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..hub import hub_kwargs, resolve_file

__all__ = ["GenerationConfig", "GENERATION_CONFIG_NAME"]

GENERATION_CONFIG_NAME = "generation_config.json"
CACHE_IMPLEMENTATIONS = ("dynamic", "static")
CPU_LINEAR = ("auto", "packed", "default")
# Model-config keys that look like generation settings but mean something else there: `use_cache` in config.json
# is whether forward() returns a cache (MPT defaults it to False); generation always wants one.
_NOT_FROM_MODEL_CONFIG = ("use_cache",)
_BOOKKEEPING = ("transformers_version", "mintformers_version", "_from_model_config", "_commit_hash")


@dataclass
class GenerationConfig:
    # Length. max_new_tokens wins over max_length (prompt + new tokens); without either, 20 new tokens.
    max_length: int = 20
    max_new_tokens: int | None = None
    min_length: int = 0  # eos is banned until the sequence (prompt included) is this long
    min_new_tokens: int | None = None  # ... or until this many tokens were generated

    # Strategy: greedy (default), sampling (do_sample), beam search (num_beams > 1), beam sampling (both).
    do_sample: bool = False
    num_beams: int = 1
    num_return_sequences: int = 1  # sampling: independent samples per prompt; beams: best n beams

    # Sampling filters, applied in this order after the penalties: temperature, top_k, top_p, min_p, typical_p.
    temperature: float = 1.0
    top_k: int | None = 50  # 0 / None: off
    top_p: float | None = 1.0  # nucleus: keep the smallest top set with probability mass >= top_p
    min_p: float | None = None  # keep tokens with prob >= min_p * max prob
    typical_p: float | None = 1.0  # locally typical sampling (Meister et al.)

    # Penalties and constraints (greedy, sampling and beams).
    repetition_penalty: float = 1.0  # CTRL-style: logits of seen tokens divided (>0) or multiplied (<0) by it
    no_repeat_ngram_size: int = 0  # no n-gram of this size occurs twice
    bad_words_ids: list[list[int]] | None = None  # token sequences that may never be generated

    # Beam search.
    length_penalty: float = 1.0  # finished beams score sum(logprobs) / generated_length ** length_penalty
    early_stopping: bool | str = False  # True: stop at num_beams finished; False: heuristic; "never": exhaustive

    # Special tokens and stopping.
    bos_token_id: int | None = None  # the prompt when generate() gets no input_ids
    eos_token_id: int | list[int] | None = None  # one or several end-of-sequence ids
    pad_token_id: int | None = None  # fills rows that finished while others go on
    stop_strings: str | list[str] | None = None  # stop once the text contains one (needs tokenizer=)

    # Caching and speed.
    use_cache: bool = True
    cache_implementation: str | None = None  # None/"dynamic": growing cache; "static": preallocated (MPT)
    compile: bool | dict = False  # mintformers: torch.compile the decode step (True, or torch.compile kwargs)
    # mintformers: CPU float32 decode-step matmuls. "auto": oneDNN on the weights in place; "packed": oneDNN on a
    # cached copy of the weights in its blocked layout (faster, twice the weight memory); "default": PyTorch's (MKL)
    cpu_linear: str = "auto"

    # Outputs.
    return_dict_in_generate: bool = False
    output_scores: bool = False  # processed scores per step
    output_logits: bool = False  # raw logits per step
    output_attentions: bool = False
    output_hidden_states: bool = False

    # Keys read from generation_config.json that mintformers does not use, written back on save.
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    # ---- construction --------------------------------------------------------------------------------------------
    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls) if f.name != "extra"]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationConfig:
        known = set(cls.field_names())
        values = {k: v for k, v in data.items() if k in known}
        if data.get("_from_model_config"):  # the reference copied config.json into it: same rule as from_model_config
            for key in _NOT_FROM_MODEL_CONFIG:
                values.pop(key, None)
        extra = {k: v for k, v in data.items() if k not in known and k not in _BOOKKEEPING}
        config = cls(**values)
        config.extra = extra
        return config

    @classmethod
    def from_model_config(cls, model_config: Any) -> GenerationConfig:
        """Special token ids and generation keys found in a model config (older checkpoints keep e.g.
        `max_length` or `do_sample` in config.json)."""
        data = model_config.to_dict() if hasattr(model_config, "to_dict") else dict(model_config)
        values = {
            k: v for k, v in data.items() if k in cls.field_names() and v is not None and k not in _NOT_FROM_MODEL_CONFIG
        }
        return cls(**values)

    @classmethod
    def from_json_file(cls, path: str | os.PathLike) -> GenerationConfig:
        from ..storage import read_json

        return cls.from_dict(read_json(path))

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike, **kwargs: Any) -> GenerationConfig:
        """Read `generation_config.json` from a directory or hub id; keyword arguments override its values."""
        hub = hub_kwargs(kwargs)
        config = cls.from_json_file(resolve_file(name_or_path, GENERATION_CONFIG_NAME, **hub))
        unused = config.update(**kwargs)
        if unused:
            raise TypeError(f"Unknown GenerationConfig keys {sorted(unused)}.")
        return config

    # ---- editing -------------------------------------------------------------------------------------------------
    def update(self, **kwargs: Any) -> dict[str, Any]:
        """Set the keys that are fields; return the others untouched (generate() passes them to the model)."""
        known = set(self.field_names())
        for key in [k for k in kwargs if k in known]:
            setattr(self, key, kwargs.pop(key))
        return kwargs

    def copy(self) -> GenerationConfig:
        return copy.deepcopy(self)

    # ---- checks --------------------------------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise a ValueError naming the bad value and the fix. Length checks needing the prompt live in generate()."""

        def need(ok: bool, message: str) -> None:
            if not ok:
                raise ValueError(message)

        def is_int(v: Any) -> bool:
            return isinstance(v, int) and not isinstance(v, bool)

        need(is_int(self.max_length) and self.max_length > 0, f"max_length must be a positive int, got {self.max_length!r}.")
        if self.max_new_tokens is not None:
            need(
                is_int(self.max_new_tokens) and self.max_new_tokens > 0,
                f"max_new_tokens must be a positive int (how many tokens to generate), got {self.max_new_tokens!r}.",
            )
        need(is_int(self.min_length) and self.min_length >= 0, f"min_length must be an int >= 0, got {self.min_length!r}.")
        if self.min_new_tokens is not None:
            need(
                is_int(self.min_new_tokens) and self.min_new_tokens >= 0,
                f"min_new_tokens must be an int >= 0, got {self.min_new_tokens!r}.",
            )
        need(is_int(self.num_beams) and self.num_beams >= 1, f"num_beams must be an int >= 1, got {self.num_beams!r}.")
        need(
            is_int(self.num_return_sequences) and self.num_return_sequences >= 1,
            f"num_return_sequences must be an int >= 1, got {self.num_return_sequences!r}.",
        )
        if self.num_return_sequences > 1:
            if self.num_beams == 1:
                need(
                    self.do_sample,
                    f"num_return_sequences={self.num_return_sequences} with greedy decoding would return the same "
                    "sequence several times; set do_sample=True for different samples, or num_beams >= "
                    "num_return_sequences for the best beams.",
                )
            else:
                need(
                    self.num_return_sequences <= self.num_beams,
                    f"num_return_sequences={self.num_return_sequences} is larger than num_beams={self.num_beams}: beam "
                    "search can return at most num_beams sequences. Raise num_beams or lower num_return_sequences.",
                )
        if self.do_sample:
            need(
                isinstance(self.temperature, (int, float)) and self.temperature > 0,
                f"temperature must be > 0 when sampling, got {self.temperature!r}. For greedy decoding set "
                "do_sample=False instead of temperature=0.",
            )
            if self.top_k is not None:
                need(is_int(self.top_k) and self.top_k >= 0, f"top_k must be an int >= 0 (0 = off), got {self.top_k!r}.")
            if self.top_p is not None:
                need(
                    isinstance(self.top_p, (int, float)) and 0 < self.top_p <= 1,
                    f"top_p must be in (0, 1] (1 = off), got {self.top_p!r}.",
                )
            if self.min_p is not None:
                need(isinstance(self.min_p, (int, float)) and 0 <= self.min_p <= 1, f"min_p must be in [0, 1], got {self.min_p!r}.")
            if self.typical_p is not None:
                need(
                    isinstance(self.typical_p, (int, float)) and 0 < self.typical_p <= 1,
                    f"typical_p must be in (0, 1] (1 = off), got {self.typical_p!r}.",
                )
        need(
            isinstance(self.repetition_penalty, (int, float)) and self.repetition_penalty > 0,
            f"repetition_penalty must be > 0 (1 = off), got {self.repetition_penalty!r}.",
        )
        need(
            is_int(self.no_repeat_ngram_size) and self.no_repeat_ngram_size >= 0,
            f"no_repeat_ngram_size must be an int >= 0 (0 = off), got {self.no_repeat_ngram_size!r}.",
        )
        if self.bad_words_ids is not None:
            need(
                isinstance(self.bad_words_ids, list)
                and len(self.bad_words_ids) > 0
                and all(isinstance(w, list) and w and all(is_int(t) and t >= 0 for t in w) for w in self.bad_words_ids),
                f"bad_words_ids must be a non-empty list of non-empty lists of token ids, got {self.bad_words_ids!r}; "
                "e.g. [tokenizer.encode(' word', add_special_tokens=False)].",
            )
        need(isinstance(self.length_penalty, (int, float)), f"length_penalty must be a number, got {self.length_penalty!r}.")
        need(
            self.early_stopping in (True, False, "never"),
            f"early_stopping must be True, False or 'never', got {self.early_stopping!r}.",
        )
        for name in ("bos_token_id", "pad_token_id"):
            value = getattr(self, name)
            if value is not None:
                need(is_int(value) and value >= 0, f"{name} must be a token id (int >= 0), got {value!r}.")
        if self.eos_token_id is not None:
            ids = self.eos_token_id if isinstance(self.eos_token_id, (list, tuple)) else [self.eos_token_id]
            need(
                len(ids) > 0 and all(is_int(t) and t >= 0 for t in ids),
                f"eos_token_id must be a token id or a list of them, got {self.eos_token_id!r}.",
            )
        if self.stop_strings is not None:
            strings = [self.stop_strings] if isinstance(self.stop_strings, str) else self.stop_strings
            need(
                isinstance(strings, (list, tuple)) and len(strings) > 0 and all(isinstance(s, str) and s for s in strings),
                f"stop_strings must be a non-empty string or a list of them, got {self.stop_strings!r}.",
            )
        need(
            self.cpu_linear in CPU_LINEAR,
            f"cpu_linear={self.cpu_linear!r} is not supported; use one of {CPU_LINEAR}.",
        )
        need(
            self.cache_implementation is None or self.cache_implementation in CACHE_IMPLEMENTATIONS,
            f"cache_implementation={self.cache_implementation!r} is not supported; use one of {CACHE_IMPLEMENTATIONS}.",
        )
        if self.compile:
            need(
                self.compile is True or isinstance(self.compile, dict),
                f"compile must be True, False or a dict of torch.compile arguments, got {self.compile!r}.",
            )
            need(self.use_cache, "compile=True compiles the cached decode step; it needs use_cache=True.")
            need(
                self.cache_implementation in (None, "static"),
                "compile=True needs fixed shapes: use cache_implementation='static' (or leave it unset).",
            )

    # ---- serialisation -------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out = {name: copy.deepcopy(getattr(self, name)) for name in self.field_names()}
        out.update(copy.deepcopy(self.extra))
        return out

    def to_diff_dict(self) -> dict[str, Any]:
        """Only the values that differ from the defaults (what save_pretrained writes, like the reference)."""
        default = GenerationConfig().to_dict()
        return {k: v for k, v in self.to_dict().items() if k not in default or default[k] != v}

    def to_json_string(self, use_diff: bool = True) -> str:
        return json.dumps(self.to_diff_dict() if use_diff else self.to_dict(), indent=2, sort_keys=True) + "\n"

    def save_pretrained(self, save_directory: str | os.PathLike) -> None:
        from ..storage import atomic_write_text

        atomic_write_text(Path(save_directory) / GENERATION_CONFIG_NAME, self.to_json_string())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GenerationConfig) and self.to_dict() == other.to_dict()


def split_generation_kwargs(
    kwargs: dict[str, Any], model_args: set[str] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split generate()'s keyword arguments into GenerationConfig fields and model forward() inputs.

    `model_args`: the forward's named inputs, or None when it takes **kwargs. A key that is neither raises with
    the closest valid name (for **kwargs models: when it is a near-miss of a GenerationConfig field)."""
    fields_ = set(GenerationConfig.field_names())
    gen = {k: v for k, v in kwargs.items() if k in fields_}
    model = {k: v for k, v in kwargs.items() if k not in fields_}
    for key in model:
        if model_args is not None and key in model_args:
            continue
        candidates = sorted(fields_ | (model_args or set()))
        close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.7 if model_args is not None else 0.85)
        if model_args is None and not close:
            continue  # the model's forward takes **kwargs and checks them itself
        hint = f"; did you mean {close[0]!r}?" if close else "."
        raise TypeError(
            f"generate() got an unexpected keyword argument {key!r}: it is neither a GenerationConfig field nor an "
            f"input of the model's forward(){hint}"
        )
    return gen, model
