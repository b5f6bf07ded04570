"""`GenerationMixin.generate()`: greedy decoding, sampling and beam search for causal language models.

How a run works (decoder-only models: MptForCausalLM, BertLMHeadModel with is_decoder=True):

1. Settings: model.generation_config, then the `generation_config=` argument, then keyword arguments. Keywords
   that are no GenerationConfig field go to the model's forward() (e.g. token_type_ids); a typo raises.
2. Inputs: the prompt ids (B, P) and their attention mask (inferred from pad_token_id when absent, like the
   reference). Rows are repeated for num_return_sequences / num_beams.
3. One prefill forward over the prompt, then one forward per new token over the key/value cache. Everything that
   grows is preallocated at its final size (B, max_length) — the token buffer, the attention mask, position ids —
   and each step passes views of it, so a step builds nothing but the model call. The model returns logits of the
   last position only (`logits_to_keep=1`).
4. Per step: logits processors → argmax / multinomial → stopping criteria. Finished rows keep receiving
   pad_token_id. When rows can stop early (eos, stop strings, user criteria) the loop reads `unfinished.any()`
   on the host once per step — the only sync, and the one it cannot drop without running past the end of every
   row; with a length limit only, it runs a fixed number of steps and never syncs.

Left padding: the mask hides pad keys, and for models whose forward takes position_ids (BERT), positions are
counted over real tokens (mask cumsum − 1), so each row of a left-padded batch gets the tokens of its prompt run
alone. MPT needs no position ids: ALiBi depends on key − query distance only, which left padding does not change.

Reproducible sampling: pass `generator=torch.Generator().manual_seed(s)` (or `seed=s`), or seed the global RNG
with `torch.manual_seed(s)`; the same seed, inputs and settings give the same tokens.

Speed (opt-in): `cache_implementation="static"` preallocates the cache (models with `new_static_cache`, i.e. MPT);
`compile=True` additionally runs the decode step through `torch.compile` with fixed shapes. Compilation costs
seconds to minutes once per shape. On the 2-core AVX2 CPU we benchmark it does not pay (125M MPT, 2 threads:
42 ms/step against 40 eager at batch 1, 118 against 64 at batch 8); the default eager steps with oneDNN matmuls
(`cpu_linear`, see onednn.py) are the fast CPU path there. It is meant for GPUs and larger CPUs.
"""

from __future__ import annotations

import inspect
import logging
import warnings
from dataclasses import dataclass
from typing import Any

import torch

from ..outputs import ModelOutput
from .configuration import GENERATION_CONFIG_NAME, GenerationConfig, split_generation_kwargs
from .logits_process import (
    LogitsProcessorList,
    MinLengthLogitsProcessor,
    MinPLogitsWarper,
    NoBadWordsLogitsProcessor,
    NoRepeatNGramLogitsProcessor,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
    TypicalLogitsWarper,
)
from .onednn import OneDNNLinears, onednn_available
from .stopping_criteria import EosTokenCriteria, MaxLengthCriteria, StoppingCriteriaList, StopStringCriteria
from .streamers import BaseStreamer

__all__ = ["GenerationMixin", "GenerateDecoderOnlyOutput", "GenerateBeamDecoderOnlyOutput"]

logger = logging.getLogger(__name__)

Tensor = torch.Tensor
Tensors = tuple[torch.Tensor, ...]
DEFAULT_NEW_TOKENS = 20  # the reference's model-agnostic default (max_length=20 counts new tokens only)
# compile=True: fixed shapes (a static cache makes every decode step alike), and weights frozen into the compiled
# code, which lets inductor prepack them for oneDNN's matmuls on CPU (costs a packed copy)
_COMPILE_DEFAULTS: dict[str, Any] = {"dynamic": False, "options": {"freezing": True}}
COMPILE_BUCKET = 256
# sampling settings that greedy decoding and beam search ignore
_SAMPLING_ONLY = {"temperature": 1.0, "top_k": 50, "top_p": 1.0, "min_p": None, "typical_p": 1.0}
# forward() inputs that generate() itself manages; passing them would silently fight the decode loop
_MANAGED_INPUTS = (
    "input_ids", "inputs_embeds", "past_key_values", "position_ids", "cache_position", "logits_to_keep", "labels",
    "return_dict",
)


@dataclass
class GenerateDecoderOnlyOutput(ModelOutput):
    """Greedy / sampling result when return_dict_in_generate=True."""

    sequences: Tensor | None = None  # (B * num_return_sequences, prompt + new) token ids
    scores: Tensors | None = None  # per step, processed scores (B, V) (output_scores)
    logits: Tensors | None = None  # per step, raw logits (B, V) (output_logits)
    attentions: tuple | None = None  # per step, the model's attentions (output_attentions)
    hidden_states: tuple | None = None  # per step, the model's hidden states (output_hidden_states)
    past_key_values: Any = None


@dataclass
class GenerateBeamDecoderOnlyOutput(ModelOutput):
    """Beam search result when return_dict_in_generate=True."""

    sequences: Tensor | None = None  # (B * num_return_sequences, prompt + new)
    sequences_scores: Tensor | None = None  # (B * num_return_sequences,) length-normalised scores (output_scores)
    scores: Tensors | None = None  # per step, processed log-probabilities (B * num_beams, V)
    logits: Tensors | None = None  # per step, raw logits (B * num_beams, V)
    beam_indices: Tensor | None = None  # (B * num_return_sequences, new) beam row each token came from
    attentions: tuple | None = None
    hidden_states: tuple | None = None
    past_key_values: Any = None


class GenerationMixin:
    """Adds `generate()` to a causal LM whose forward takes input_ids, attention_mask, past_key_values, use_cache,
    return_dict (and optionally position_ids, cache_position, logits_to_keep) and returns `.logits`."""

    # ---- the model's generation defaults ------------------------------------------------------------------------
    @property
    def generation_config(self) -> GenerationConfig:
        config = self.__dict__.get("_generation_config")
        if config is None:  # derived from the model config on first use, then kept (users edit it in place)
            config = GenerationConfig.from_model_config(self.config)
            self.__dict__["_generation_config"] = config
        return config

    @generation_config.setter
    def generation_config(self, value: GenerationConfig) -> None:
        if not isinstance(value, GenerationConfig):
            raise TypeError(f"generation_config must be a GenerationConfig, got {type(value).__name__}.")
        self.__dict__["_generation_config"] = value

    def load_generation_config(self, name_or_path: Any, **hub: Any) -> None:
        """Called by from_pretrained: the checkpoint's generation_config.json, when it has one, over the model
        config's token ids."""
        from ..hub import resolve_file

        path = resolve_file(name_or_path, GENERATION_CONFIG_NAME, required=False, **hub)
        if path is None:
            return
        loaded = GenerationConfig.from_json_file(path)
        base = GenerationConfig.from_model_config(self.config)
        for name in ("bos_token_id", "eos_token_id", "pad_token_id"):  # keep the model config's ids if the file has none
            if getattr(loaded, name) is None:
                setattr(loaded, name, getattr(base, name))
        self.generation_config = loaded

    def save_generation_config(self, save_directory: Any) -> None:
        """Called by save_pretrained: writes generation_config.json like the reference does for generative models."""
        self.generation_config.save_pretrained(save_directory)

    @classmethod
    def can_generate(cls) -> bool:
        return True

    # ---- what the model's forward accepts (cached per class) ----------------------------------------------------
    @classmethod
    def _forward_args(cls) -> tuple[frozenset[str], bool]:
        """(named inputs of forward, whether it also takes **kwargs)."""
        cached = cls.__dict__.get("_mf_forward_args")
        if cached is None:
            params = inspect.signature(cls.forward).parameters
            named = frozenset(n for n, p in params.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)) - {"self"}
            cached = (named, any(p.kind == p.VAR_KEYWORD for p in params.values()))
            cls._mf_forward_args = cached
        return cached

    def _generation_position_limit(self) -> tuple[int, str] | None:
        """(longest sequence the model can embed, the config field that says so), or None when unbounded.

        Learned absolute positions end at their table: BERT's position_embeddings, an MPT checkpoint's wpe. MPT with
        ALiBi only has no limit: its bias is computed for any length (mintformers' MptModel; the reference fails
        past max_seq_len), so max_new_tokens may take a prompt past max_seq_len."""
        config = self.config
        if getattr(config, "model_type", "") == "mpt":
            has_wpe = getattr(self.base_model, "wpe", None) is not None
            return (config.max_seq_len, "max_seq_len") if has_wpe else None
        limit = getattr(config, "max_position_embeddings", None)
        return (limit, "max_position_embeddings") if limit else None

    # ---- generate -----------------------------------------------------------------------------------------------
    @torch.no_grad()
    def generate(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        generation_config: GenerationConfig | None = None,
        streamer: BaseStreamer | None = None,
        *,
        logits_processor: LogitsProcessorList | None = None,
        stopping_criteria: StoppingCriteriaList | None = None,
        tokenizer: Any = None,
        generator: torch.Generator | None = None,
        seed: int | None = None,
        inputs: torch.LongTensor | None = None,
        **kwargs: Any,
    ) -> torch.LongTensor | GenerateDecoderOnlyOutput | GenerateBeamDecoderOnlyOutput:
        """Continue `input_ids` (B, P) (left-padded for B > 1, with its attention_mask).

        Returns the ids (B * num_return_sequences, P + new), or a Generate*Output with return_dict_in_generate.
        Keyword arguments set GenerationConfig fields (max_new_tokens=..., do_sample=..., ...) or, when they are
        inputs of the model's forward (token_type_ids, encoder_hidden_states), are passed to every step.
        `tokenizer` is needed for stop_strings; `generator` / `seed` make sampling reproducible.
        """
        config, model_kwargs, max_length_given = self._resolve_generation_config(generation_config, kwargs)
        if input_ids is None:
            input_ids = inputs
        if seed is not None:
            if generator is not None:
                raise ValueError("Pass either seed= or generator=, not both.")
            device = input_ids.device if isinstance(input_ids, torch.Tensor) else self.device
            generator = torch.Generator(device=device).manual_seed(seed)

        input_ids, attention_mask = self._prepare_prompt(input_ids, attention_mask, config, model_kwargs)
        batch, prompt_len = input_ids.shape
        eos = _as_list(config.eos_token_id)
        returned_rows = batch * config.num_return_sequences
        if config.pad_token_id is None and (eos or config.stop_strings) and returned_rows > 1:
            raise ValueError(
                f"pad_token_id is not set, but the {returned_rows} returned sequences may end at different lengths "
                "(eos_token_id / stop_strings) and the shorter ones need a filler. Pass pad_token_id=... "
                "(tokenizer.pad_token_id, or the eos id to pad with eos as transformers does)."
            )
        max_length, min_length = self._resolve_lengths(config, prompt_len, max_length_given)
        if streamer is not None and config.num_beams > 1:
            raise ValueError("Streamers show one sequence as it grows; beam search only knows its result at the end.")

        # one row per returned sample / per beam: [p0, p0, p1, p1, ...]
        expand = config.num_beams if config.num_beams > 1 else config.num_return_sequences
        if expand > 1:
            input_ids = input_ids.repeat_interleave(expand, dim=0)
            attention_mask = None if attention_mask is None else attention_mask.repeat_interleave(expand, dim=0)
            model_kwargs = {
                k: v.repeat_interleave(expand, dim=0) if isinstance(v, torch.Tensor) and v.shape[:1] == (batch,) else v
                for k, v in model_kwargs.items()
            }

        processors = self._logits_processors(config, min_length, eos, logits_processor)
        criteria = StoppingCriteriaList([MaxLengthCriteria(max_length)])
        if config.stop_strings:
            criteria.append(StopStringCriteria(tokenizer, config.stop_strings))
        if eos:
            criteria.append(EosTokenCriteria(eos))
        criteria.extend(stopping_criteria or ())

        stepper = _Stepper(self, config, input_ids, attention_mask, max_length, model_kwargs)
        if streamer is not None:
            streamer.put(input_ids.cpu())
        try:
            if config.num_beams > 1:
                from .beam_search import beam_search

                result = beam_search(stepper, input_ids, config, processors, criteria, max_length, generator)
            else:
                result = _sample(stepper, input_ids, config, processors, criteria, max_length, streamer, generator)
        except BaseException as error:
            if streamer is not None:
                streamer.on_error(error)
            raise
        if streamer is not None:
            streamer.end()
        return result if config.return_dict_in_generate else result.sequences

    # ---- argument handling --------------------------------------------------------------------------------------
    def _resolve_generation_config(
        self, generation_config: GenerationConfig | None, kwargs: dict[str, Any]
    ) -> tuple[GenerationConfig, dict[str, Any], bool]:
        """(validated settings, inputs for the model's forward, whether max_length was set explicitly)."""
        if generation_config is None:
            config = self.generation_config.copy()
        else:
            if not isinstance(generation_config, GenerationConfig):
                raise TypeError(f"generation_config must be a GenerationConfig, got {type(generation_config).__name__}.")
            config = generation_config.copy()
            for name in ("bos_token_id", "eos_token_id", "pad_token_id"):  # the model's ids fill what it leaves unset
                if getattr(config, name) is None:
                    setattr(config, name, getattr(self.generation_config, name))
        named, takes_any = self._forward_args()
        gen_kwargs, model_kwargs = split_generation_kwargs(kwargs, None if takes_any else set(named))
        managed = [k for k in model_kwargs if k in _MANAGED_INPUTS]
        if managed:
            raise ValueError(
                f"generate() manages {managed[0]!r} itself; pass the prompt as input_ids (with its attention_mask) "
                "and leave caches, positions and logits selection to generate()."
            )
        config.update(**gen_kwargs)
        ignored = [k for k, default in _SAMPLING_ONLY.items() if k in gen_kwargs and gen_kwargs[k] != default]
        if ignored and not config.do_sample:
            logger.warning("%s only apply when sampling; set do_sample=True or drop them.", ", ".join(ignored))
        if config.output_logits is None:  # generation_config.json files written by the reference may hold null
            config.output_logits = False
        config.validate()
        # as the reference: a max_length other than the default 20 (from any source) counts the prompt
        max_length_given = "max_length" in gen_kwargs or config.max_length != GenerationConfig.max_length
        return config, model_kwargs, max_length_given

    def _prepare_prompt(
        self, input_ids: Any, attention_mask: Any, config: GenerationConfig, model_kwargs: dict
    ) -> tuple[torch.LongTensor, torch.Tensor | None]:
        """Validated (B, P) ids and their mask; the mask is None when it would mask nothing (the fast path)."""
        if input_ids is None:
            if config.bos_token_id is None:
                raise ValueError("generate() needs input_ids (the prompt), or a bos_token_id to start from.")
            batch = attention_mask.shape[0] if isinstance(attention_mask, torch.Tensor) else 1
            input_ids = torch.full((batch, 1), config.bos_token_id, dtype=torch.long, device=self.device)
            attention_mask = None
        if not isinstance(input_ids, torch.Tensor):
            raise TypeError(f"input_ids must be a LongTensor (B, P), got {type(input_ids).__name__}; use return_tensors='pt'.")
        if input_ids.dim() == 1:
            raise ValueError(f"input_ids must be (batch, length), got shape {tuple(input_ids.shape)}; use input_ids[None].")
        if input_ids.dim() != 2 or input_ids.is_floating_point():
            raise ValueError(f"input_ids must be integer ids of shape (batch, length), got {input_ids.dtype} {tuple(input_ids.shape)}.")
        if input_ids.shape[1] == 0:
            raise ValueError("input_ids is empty: give at least one prompt token (e.g. the bos token).")
        vocab = getattr(self.config, "vocab_size", None)
        if vocab is not None:
            lo, hi = int(input_ids.min()), int(input_ids.max())
            if lo < 0 or hi >= vocab:
                raise ValueError(f"input_ids hold id {hi if hi >= vocab else lo}, outside the vocabulary (size {vocab}).")
            for name in ("pad_token_id", "bos_token_id"):
                value = getattr(config, name)
                if value is not None and value >= vocab:
                    raise ValueError(f"{name}={value} is outside the vocabulary (size {vocab}).")
        input_ids = input_ids.long()

        pad = config.pad_token_id
        if attention_mask is None:
            # the reference's rule: pad ids in the prompt are padding, unless pad doubles as eos (then it may be text)
            eos = _as_list(config.eos_token_id)
            if pad is not None and pad not in eos and bool((input_ids == pad).any()):
                attention_mask = (input_ids != pad).long()
        else:
            if not isinstance(attention_mask, torch.Tensor) or tuple(attention_mask.shape) != tuple(input_ids.shape):
                shape = tuple(attention_mask.shape) if isinstance(attention_mask, torch.Tensor) else type(attention_mask).__name__
                raise ValueError(
                    f"attention_mask must have the shape of input_ids {tuple(input_ids.shape)}, got {shape}; pass the "
                    "mask the tokenizer returned with these ids."
                )
            attention_mask = attention_mask.to(input_ids.device)
        if attention_mask is not None:
            if not bool(attention_mask[:, -1].all()):
                warnings.warn(
                    "A prompt ends in padding (right padding). Decoder-only models continue from the last position: "
                    "pad on the left (tokenizer.padding_side = 'left').",
                    stacklevel=3,
                )
            if bool(attention_mask.all()):
                attention_mask = None
        for name, value in model_kwargs.items():
            if isinstance(value, torch.Tensor) and value.dim() >= 1 and value.shape[0] != input_ids.shape[0]:
                raise ValueError(f"{name} has batch size {value.shape[0]} but input_ids has {input_ids.shape[0]}.")
        if "token_type_ids" in model_kwargs and tuple(model_kwargs["token_type_ids"].shape) != tuple(input_ids.shape):
            raise ValueError("token_type_ids must have the shape of input_ids.")
        return input_ids, attention_mask

    def _resolve_lengths(self, config: GenerationConfig, prompt_len: int, max_length_given: bool) -> tuple[int, int]:
        """(max_length, min_length), both counting the prompt, checked against what the model can embed."""
        limit = self._generation_position_limit()
        if config.max_new_tokens is not None:
            max_length = prompt_len + config.max_new_tokens
        elif max_length_given:
            max_length = config.max_length
        else:  # the default: 20 new tokens, within the position table
            max_length = prompt_len + DEFAULT_NEW_TOKENS
            if limit is not None:
                max_length = min(max_length, limit[0])
        if prompt_len >= max_length:
            raise ValueError(
                f"The prompt has {prompt_len} tokens but max_length is {max_length}, so nothing is left to generate. "
                "Set max_new_tokens (tokens to add) instead of max_length, or shorten the prompt."
            )
        if limit is not None and max_length > limit[0]:
            n, field = limit
            raise ValueError(
                f"Prompt ({prompt_len} tokens) + {max_length - prompt_len} new tokens = {max_length} exceeds the "
                f"{n} positions this model has learned embeddings for (config.{field}). Lower max_new_tokens to at "
                f"most {max(n - prompt_len, 0)} or shorten the prompt."
            )
        min_length = prompt_len + config.min_new_tokens if config.min_new_tokens is not None else config.min_length
        return max_length, min_length

    def _logits_processors(
        self, config: GenerationConfig, min_length: int, eos: list[int], user: LogitsProcessorList | None
    ) -> LogitsProcessorList:
        """The reference's order: penalties and constraints, the user's processors, then the sampling warpers."""
        processors = LogitsProcessorList()
        if config.repetition_penalty != 1.0:
            processors.append(RepetitionPenaltyLogitsProcessor(config.repetition_penalty))
        if config.no_repeat_ngram_size > 0:
            processors.append(NoRepeatNGramLogitsProcessor(config.no_repeat_ngram_size))
        if config.bad_words_ids is not None:
            processors.append(NoBadWordsLogitsProcessor(config.bad_words_ids, eos))
        if min_length > 0 and eos:
            processors.append(MinLengthLogitsProcessor(min_length, eos))
        for custom in user or ():  # a user processor replaces a built-in one of the same type
            same = [i for i, p in enumerate(processors) if type(p) is type(custom)]
            if same:
                processors[same[0]] = custom
            else:
                processors.append(custom)
        if config.do_sample:
            # beams keep enough candidates that one can continue beside every eos
            keep = (len(eos) + 1 if eos else 2) if config.num_beams > 1 else 1
            if config.temperature != 1.0:
                processors.append(TemperatureLogitsWarper(config.temperature))
            if config.top_k:
                processors.append(TopKLogitsWarper(config.top_k, min_tokens_to_keep=keep))
            if config.top_p is not None and config.top_p < 1.0:
                processors.append(TopPLogitsWarper(config.top_p, min_tokens_to_keep=keep))
            if config.min_p is not None:
                processors.append(MinPLogitsWarper(config.min_p, min_tokens_to_keep=keep))
            if config.typical_p is not None and config.typical_p < 1.0:
                processors.append(TypicalLogitsWarper(config.typical_p, min_tokens_to_keep=keep))
        return processors


def _as_list(ids: int | list[int] | None) -> list[int]:
    if ids is None:
        return []
    return [ids] if isinstance(ids, int) else list(ids)


class _Stepper:
    """Runs the model on a growing sequence: the first call sees the prompt, later calls only the new tokens (with
    a cache) or everything (use_cache=False). Mask, position and token-type buffers are built once at full length
    (B, max_length); each call passes views of them."""

    def __init__(
        self,
        model: Any,
        config: GenerationConfig,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None,
        max_length: int,
        model_kwargs: dict,
    ):
        rows, prompt_len = input_ids.shape
        device = input_ids.device
        accepts, _ = model._forward_args()
        self.model = model
        self.use_cache = config.use_cache
        self.keep_last_logits = "logits_to_keep" in accepts
        self.outputs = {k: True for k in ("output_attentions", "output_hidden_states") if getattr(config, k)}
        self.kwargs = dict(model_kwargs)
        self.seen = 0  # tokens already in the cache

        # a static cache holds every fed token (all but the last); compiled, its length is rounded up to a multiple
        # of COMPILE_BUCKET so that runs of different lengths share one compiled step
        static = config.use_cache and (config.cache_implementation == "static" or bool(config.compile))
        cache_len = max_length - 1
        if config.compile:
            cache_len = -(-cache_len // COMPILE_BUCKET) * COMPILE_BUCKET
            limit = model._generation_position_limit()
            cache_len = min(cache_len, limit[0]) if limit is not None else cache_len

        self.mask = None
        self.positions = None
        if attention_mask is not None:
            width = max(max_length, cache_len + 1)
            self.mask = torch.ones((rows, width), dtype=attention_mask.dtype, device=device)
            self.mask[:, :prompt_len] = attention_mask
            if "position_ids" in accepts:
                # positions count real tokens, so a left-padded row sees what it would see alone
                prompt_pos = attention_mask.long().cumsum(-1) - 1
                prompt_pos.masked_fill_(attention_mask == 0, 1)
                self.positions = torch.empty((rows, max_length), dtype=torch.long, device=device)
                self.positions[:, :prompt_len] = prompt_pos
                steps = torch.arange(1, max_length - prompt_len + 1, device=device)
                self.positions[:, prompt_len:] = prompt_pos[:, -1:] + steps
        self.token_types = None
        if "token_type_ids" in self.kwargs:  # new tokens take the segment of the last prompt token
            given = self.kwargs.pop("token_type_ids")
            self.token_types = given[:, -1:].repeat(1, max_length)
            self.token_types[:, :prompt_len] = given

        self.cache = None
        self.cache_positions = None
        self.mask_width = None  # static cache: every step sees the full-width mask, so shapes never change
        if static:
            if not hasattr(model, "new_static_cache"):
                raise ValueError(
                    f"{type(model).__name__} has no static cache; use cache_implementation='dynamic' (the default)."
                )
            self.cache = model.new_static_cache(rows, cache_len, dtype=model.dtype, device=device)
            self.mask_width = cache_len
        if "cache_position" in accepts:
            self.cache_positions = torch.arange(max_length, device=device)
        self.forward = _compiled_forward(model, config.compile) if config.compile else model.__call__
        # decode steps (a few rows against every weight) run their CPU float32 matmuls on oneDNN: see onednn.py
        self.onednn = None
        if config.cpu_linear != "default" and not config.compile and device.type == "cpu" and onednn_available():
            self.onednn = OneDNNLinears(model, pack=config.cpu_linear == "packed", rows=rows)

    def __call__(self, sequences: torch.LongTensor, length: int) -> Any:
        """Logits for position `length - 1` of `sequences` (rows, ≥ length)."""
        start = self.seen if self.use_cache else 0
        inputs: dict[str, Any] = dict(self.kwargs, input_ids=sequences[:, start:length], use_cache=self.use_cache)
        inputs["return_dict"] = True
        inputs.update(self.outputs)
        if self.use_cache:
            inputs["past_key_values"] = self.cache
        if self.mask is not None:
            inputs["attention_mask"] = self.mask[:, : self.mask_width or length]
        if self.positions is not None:
            inputs["position_ids"] = self.positions[:, start:length]
        if self.token_types is not None:
            inputs["token_type_ids"] = self.token_types[:, start:length]
        if self.cache_positions is not None:
            inputs["cache_position"] = self.cache_positions[start:length]
        if self.keep_last_logits:
            inputs["logits_to_keep"] = 1
        if start == 0:  # the prefill runs eagerly (its shape differs from every decode step's) and with MKL
            out = self.model(**inputs)
        elif self.onednn is not None:
            with self.onednn:
                out = self.forward(**inputs)
        else:
            out = self.forward(**inputs)
        if self.use_cache:
            self.cache = out.past_key_values
            self.seen = length
        return out

    def reorder(self, rows: torch.LongTensor) -> None:
        """Beam search: row i of the cache becomes old row rows[i]."""
        if self.cache is not None:
            self.cache.reorder_cache(rows)


def _compiled_forward(model: Any, options: bool | dict) -> Any:
    """torch.compile of the model's call, kept on the model per set of options; a new batch size or max_length
    recompiles, a repeat reuses the compiled code. `options` True means _COMPILE_DEFAULTS; a dict goes to
    torch.compile as keyword arguments (e.g. {"backend": "eager"} checks the tracing without code generation).

    Frozen weights are baked into the compiled code, so the key includes every parameter's identity and version
    counter: after training steps, load_state_dict or .to(), the next generate() compiles afresh."""
    kwargs = _COMPILE_DEFAULTS if options is True else {"dynamic": False, **options}
    weights = tuple((id(p), p._version) for p in model.parameters())
    key = (repr(sorted(kwargs.items())), hash(weights))
    compiled = model.__dict__.setdefault("_mf_compiled_forward", {})
    if key not in compiled:
        stale = [k for k in compiled if k[0] == key[0]]
        for k in stale:  # an older compile over weights that have changed since
            del compiled[k]
        compiled[key] = torch.compile(model.__call__, **kwargs)
    return compiled[key]


def _sample(
    step: _Stepper,
    input_ids: torch.LongTensor,
    config: GenerationConfig,
    processors: LogitsProcessorList,
    criteria: StoppingCriteriaList,
    max_length: int,
    streamer: BaseStreamer | None,
    generator: torch.Generator | None,
) -> GenerateDecoderOnlyOutput:
    """Greedy decoding or multinomial sampling, one token per row per step."""
    rows, length = input_ids.shape
    pad = config.pad_token_id
    # rows that stopped (eos, stop string, a user criterion) get pad from then on; the reference pads only when
    # an eos id is set, and lets rows stopped by other criteria run on
    fill_finished = pad is not None
    # with only a length limit every row ends at max_length: no per-step check of the rows, no host sync at all
    rows_can_stop = any(not isinstance(c, MaxLengthCriteria) for c in criteria)
    sequences = input_ids.new_full((rows, max_length), pad if pad is not None else 0)
    sequences[:, :length] = input_ids
    unfinished = torch.ones(rows, dtype=torch.bool, device=input_ids.device)
    record = config.return_dict_in_generate
    scores, raw_logits, attentions, hidden_states = [], [], [], []

    out = step(sequences, length)
    while True:
        logits = out.logits[:, -1, :].float()  # (rows, V); no copy when the model runs in float32
        next_scores = processors(sequences[:, :length], logits) if processors else logits
        if record:
            if config.output_scores:
                scores.append(next_scores)
            if config.output_logits:
                raw_logits.append(logits)
            if config.output_attentions:
                attentions.append(out.attentions)
            if config.output_hidden_states:
                hidden_states.append(out.hidden_states)
        if config.do_sample:
            probs = next_scores.softmax(-1)
            next_tokens = torch.multinomial(probs, 1, generator=generator).squeeze(1)
        else:
            next_tokens = next_scores.argmax(-1)
        if fill_finished:
            next_tokens = torch.where(unfinished, next_tokens, pad)
        sequences[:, length] = next_tokens
        length += 1
        if streamer is not None:
            streamer.put(next_tokens.cpu())
        if rows_can_stop:
            unfinished &= ~criteria(sequences[:, :length], next_scores)
            if not bool(unfinished.any()):  # the one host sync per step
                break
        elif length >= max_length:
            break
        out = step(sequences, length)

    def steps(items: list) -> tuple | None:
        return tuple(items) if items else None

    return GenerateDecoderOnlyOutput(
        sequences=sequences[:, :length],
        scores=steps(scores),
        logits=steps(raw_logits),
        attentions=steps(attentions),
        hidden_states=steps(hidden_states),
        past_key_values=step.cache,
    )
