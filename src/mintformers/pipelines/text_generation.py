"""text-generation: continue a prompt with a causal language model (`model.generate`).

    generate("Once upon a time", max_new_tokens=20, do_sample=False)
    → [{"generated_text": "Once upon a time there was ..."}]

Options (the reference's): `return_full_text` (default True: prompt + continuation; False: the continuation only),
`return_tensors=True` (token ids instead of text: {"generated_token_ids": [...]}, prompt included),
`return_text`, `prefix` (text put before every prompt and removed again from the output; default
`config.prefix`), `stop_sequence` (its tokens end generation), `handle_long_generation="hole"` (cut the prompt on
the left so that prompt + new tokens fit the model), `clean_up_tokenization_spaces`, `skip_special_tokens`,
`add_special_tokens` / `truncation` / `padding` / `max_length` / `tokenizer_encode_kwargs` for the prompt. Every
other keyword goes to `model.generate` (max_new_tokens, do_sample, temperature, top_k, num_beams,
num_return_sequences, `streamer`, ...). Unless the call or the model's generation config says otherwise, the
reference's defaults apply: max_new_tokens=256, do_sample=True, temperature=0.7.

Streaming: pass `streamer=TextStreamer(tokenizer)` (prints as tokens arrive) or a `TextIteratorStreamer` read from
another thread; one prompt at a time. Prompts in one batch are left-padded, so `batch_size > 1` generates what
`batch_size = 1` does; a tokenizer without a padding token pads with its end-of-text token. Each prompt's result is
a list with one record per returned sequence.
"""

from __future__ import annotations

import enum
from typing import Any

import torch

from .base import Chunk, Pipeline

__all__ = ["TextGenerationPipeline", "ReturnType"]

# The reference pipeline's generation defaults, used where neither the call nor the model's generation config
# chooses a value.
PIPELINE_GENERATION_DEFAULTS = {"max_new_tokens": 256, "do_sample": True, "temperature": 0.7}
_GLOBAL_DEFAULTS = {"max_new_tokens": None, "do_sample": False, "temperature": 1.0, "max_length": 20}


class ReturnType(enum.Enum):
    TENSORS = 0
    NEW_TEXT = 1
    FULL_TEXT = 2


class Chat:
    """A conversation (list of {"role", "content"} messages) given as one prompt."""

    def __init__(self, messages: list[dict]):
        for message in messages:
            if not (isinstance(message, dict) and "role" in message and "content" in message):
                raise ValueError("A chat is a list of dicts with 'role' and 'content' keys.")
        self.messages = list(messages)


class TextGenerationPipeline(Pipeline):
    task = "text-generation"
    padding_side = "left"
    item_types = (str, Chat)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if not callable(getattr(self.model, "generate", None)):
            raise NotImplementedError(
                f"{type(self.model).__name__} has no generate() method: text generation needs "
                "mintformers.generation (GenerationMixin on the causal LM classes), which this installation lacks."
            )
        self.prefix = getattr(self.model.config, "prefix", None)
        if self.prefix is not None and "prefix" not in self._defaults[0]:
            pre, fwd, _ = self._sanitize(prefix=self.prefix)
            self._defaults = ({**self._defaults[0], **pre}, {**self._defaults[1], **fwd}, self._defaults[2])

    def __call__(self, inputs: Any, **options: Any) -> Any:
        if isinstance(inputs, (list, tuple)) and inputs and isinstance(inputs[0], dict):
            inputs = Chat(inputs)
        elif isinstance(inputs, (list, tuple)) and inputs and isinstance(inputs[0], (list, tuple)):
            inputs = [Chat(chat) for chat in inputs]
        return super().__call__(inputs, **options)

    @property
    def pad_token_id(self) -> int | None:
        # Without a padding token, pad with end-of-text: left padding under an attention mask is never attended to.
        pad = self.tokenizer.pad_token_id
        return pad if pad is not None else self.tokenizer.eos_token_id

    # ---- options ----------------------------------------------------------------------------------------------
    def _sanitize(
        self,
        return_full_text: bool | None = None,
        return_tensors: bool | None = None,
        return_text: bool | None = None,
        return_type: ReturnType | None = None,
        clean_up_tokenization_spaces: bool | None = None,
        prefix: str | None = None,
        handle_long_generation: str | None = None,
        stop_sequence: str | None = None,
        truncation: bool | str | None = None,
        max_length: int | None = None,
        continue_final_message: bool | None = None,
        skip_special_tokens: bool | None = None,
        tokenizer_encode_kwargs: dict | None = None,
        **generate_kwargs: Any,
    ) -> tuple[dict, dict, dict]:
        pre: dict[str, Any] = {}
        for name in ("add_special_tokens", "padding"):
            if name in generate_kwargs:
                pre[name] = generate_kwargs.pop(name)
        if truncation is not None:
            pre["truncation"] = truncation
        if max_length is not None:
            pre["max_length"] = generate_kwargs["max_length"] = max_length  # both the prompt's and generate's
        if prefix is not None:
            pre["prefix"] = prefix
        if prefix:
            ids = self.tokenizer(prefix, padding=False, add_special_tokens=pre.get("add_special_tokens", False))["input_ids"]
            generate_kwargs["prefix_length"] = len(ids)
        if handle_long_generation is not None:
            if handle_long_generation != "hole":
                raise ValueError(f"handle_long_generation={handle_long_generation!r} is not valid; use None or 'hole'.")
            pre["handle_long_generation"] = handle_long_generation
        if continue_final_message is not None:
            pre["continue_final_message"] = continue_final_message
        if tokenizer_encode_kwargs is not None:
            pre["tokenizer_encode_kwargs"] = tokenizer_encode_kwargs
        if stop_sequence is not None:
            generate_kwargs["eos_token_id"] = self.tokenizer.encode(stop_sequence, add_special_tokens=False)

        post: dict[str, Any] = {}
        if return_full_text is not None and return_type is None:
            if return_text is not None:
                raise ValueError("`return_text` is mutually exclusive with `return_full_text`")
            if return_tensors is not None:
                raise ValueError("`return_full_text` is mutually exclusive with `return_tensors`")
            return_type = ReturnType.FULL_TEXT if return_full_text else ReturnType.NEW_TEXT
        if return_tensors is not None and return_type is None:
            if return_text is not None:
                raise ValueError("`return_text` is mutually exclusive with `return_tensors`")
            return_type = ReturnType.TENSORS
        if return_type is not None:
            post["return_type"] = return_type
        if clean_up_tokenization_spaces is not None:
            post["clean_up_tokenization_spaces"] = clean_up_tokenization_spaces
        if continue_final_message is not None:
            post["continue_final_message"] = continue_final_message
        if skip_special_tokens is not None:
            post["skip_special_tokens"] = skip_special_tokens
        return pre, generate_kwargs, post

    def _call_params(self, options: dict[str, Any]) -> tuple[dict, dict, dict]:
        pre, fwd, post = super()._call_params(options)
        if pre.get("handle_long_generation") == "hole":
            pre = {**pre, "generate_kwargs": fwd}  # the hole's size depends on max_new_tokens / max_length
        return pre, fwd, post

    def _generation_defaults(self, given: dict[str, Any]) -> dict[str, Any]:
        """The reference pipeline's defaults, for what neither the call nor the model's generation config sets."""
        model_config = getattr(self.model, "generation_config", None)

        def model_sets(name: str) -> bool:
            value = getattr(model_config, name, _GLOBAL_DEFAULTS[name])
            return value != _GLOBAL_DEFAULTS[name]

        defaults = {}
        for name, value in PIPELINE_GENERATION_DEFAULTS.items():
            if name not in given and "generation_config" not in given and not model_sets(name):
                defaults[name] = value
        if "max_length" in given or model_sets("max_length"):
            defaults.pop("max_new_tokens", None)  # honour a max_length chosen by the call or the model
        if "pad_token_id" not in given and getattr(model_config, "pad_token_id", None) is None:
            defaults["pad_token_id"] = self.pad_token_id
        return defaults

    # ---- steps ------------------------------------------------------------------------------------------------
    def preprocess(
        self,
        prompt: str | Chat,
        prefix: str = "",
        handle_long_generation: str | None = None,
        add_special_tokens: bool | None = None,
        truncation: bool | str | None = None,
        padding: Any = None,
        max_length: int | None = None,
        continue_final_message: bool | None = None,
        tokenizer_encode_kwargs: dict | None = None,
        generate_kwargs: dict | None = None,
    ) -> Chunk:
        options = {"add_special_tokens": add_special_tokens, "truncation": truncation, "padding": padding,
                   "max_length": max_length}
        options = {k: v for k, v in options.items() if v is not None}
        options.update(tokenizer_encode_kwargs or {})
        if isinstance(prompt, (list, tuple)) and all(isinstance(m, dict) for m in prompt):
            prompt = Chat(prompt)  # a chat from a generator or dataset
        if isinstance(prompt, Chat):
            options.pop("add_special_tokens", None)
            if continue_final_message is None:
                continue_final_message = prompt.messages[-1]["role"] == "assistant"
            encoding = self.tokenizer.apply_chat_template(
                prompt.messages, add_generation_prompt=not continue_final_message,
                continue_final_message=continue_final_message, return_dict=True, **options,
            )
        elif isinstance(prompt, str):
            encoding = self.tokenizer(prefix + prompt, **options)
        else:
            raise ValueError(f"text-generation takes a prompt string (or a chat); got {type(prompt).__name__}.")
        inputs = {k: list(encoding[k]) for k in ("input_ids", "attention_mask") if k in encoding}
        if handle_long_generation == "hole":
            inputs = self._make_hole(inputs, generate_kwargs or {})
        return Chunk(inputs, {"prompt": prompt})

    def _make_hole(self, inputs: dict[str, list[int]], generate_kwargs: dict) -> dict[str, list[int]]:
        """Drop tokens on the left of the prompt so that the prompt plus the new tokens fit the model."""
        length = len(inputs["input_ids"])
        if "max_new_tokens" in generate_kwargs:
            new_tokens = generate_kwargs["max_new_tokens"]
        else:
            default_max = getattr(getattr(self.model, "generation_config", None), "max_length", 20)
            new_tokens = generate_kwargs.get("max_length", default_max) - length
            if new_tokens < 0:
                raise ValueError("We cannot infer how many new tokens are expected")
        if length + new_tokens > self.tokenizer.model_max_length:
            keep = self.tokenizer.model_max_length - new_tokens
            if keep <= 0:
                raise ValueError(
                    "We cannot use `hole` to handle this generation the number of desired tokens exceeds the models max length"
                )
            inputs = {k: v[-keep:] for k, v in inputs.items()}
        return inputs

    def forward(self, batch: dict[str, torch.Tensor], **generate_kwargs: Any) -> dict[str, torch.Tensor]:
        input_ids, attention_mask = batch["input_ids"], batch.get("attention_mask")
        rows = input_ids.shape[0]
        if input_ids.shape[1] == 0:  # an empty prompt: let generate start from its start token
            input_ids = attention_mask = None
        prefix_length = generate_kwargs.pop("prefix_length", 0)
        if prefix_length and "max_new_tokens" not in generate_kwargs and "min_length" in generate_kwargs:
            generate_kwargs["min_length"] += prefix_length
        if prefix_length and "max_new_tokens" not in generate_kwargs and "max_length" in generate_kwargs:
            generate_kwargs["max_length"] += prefix_length
        generate_kwargs = {**self._generation_defaults(generate_kwargs), **generate_kwargs}
        output = self.model.generate(input_ids=input_ids, attention_mask=attention_mask, **generate_kwargs)
        sequences = output if isinstance(output, torch.Tensor) else output["sequences"]
        padded = 0 if attention_mask is None else attention_mask.shape[1]
        pads = torch.zeros(rows, dtype=torch.long) if attention_mask is None else (attention_mask == 0).sum(1).cpu()
        return {
            "sequences": sequences.reshape(rows, -1, sequences.shape[-1]),  # (prompts, returned sequences, tokens)
            "left_pads": pads,
            "prompt_end": torch.full((rows,), padded),
            "eos": torch.tensor(self._eos_ids(generate_kwargs)).expand(rows, -1),
        }

    def _eos_ids(self, generate_kwargs: dict) -> list[int]:
        eos = generate_kwargs.get("eos_token_id")
        if eos is None:
            eos = getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)
        if eos is None:
            eos = self.model.config.eos_token_id
        eos = [] if eos is None else [eos] if isinstance(eos, int) else list(eos)
        return eos or [-1]

    def postprocess(
        self,
        chunk: Chunk,
        return_type: ReturnType = ReturnType.FULL_TEXT,
        clean_up_tokenization_spaces: bool = True,
        continue_final_message: bool | None = None,
        skip_special_tokens: bool | None = None,
    ) -> list[dict]:
        out = chunk.outputs
        pads, prompt_end = int(out["left_pads"]), int(out["prompt_end"])
        eos = set(out["eos"].tolist())
        prompt = chunk.info["prompt"]
        prompt_ids = chunk.inputs["input_ids"]
        skip = True if skip_special_tokens is None else skip_special_tokens
        decode = {"skip_special_tokens": skip, "clean_up_tokenization_spaces": clean_up_tokenization_spaces}
        records = []
        for row in out["sequences"].tolist():
            # Drop this prompt's left padding and anything after an end-of-text token (batch filler), so a batched
            # prompt returns exactly what it returns alone.
            tokens, generated = row[pads:prompt_end], row[prompt_end:]
            stop = next((i + 1 for i, t in enumerate(generated) if t in eos), len(generated))
            tokens = tokens + generated[:stop]
            if return_type == ReturnType.TENSORS:
                records.append({"generated_token_ids": tokens})
                continue
            text = self.tokenizer.decode(tokens, **decode)
            # The prompt's decoded length is cut from the full decode (the reference's rule, which keeps spacing
            # right where the prompt's last word and the continuation join).
            start = len(self.tokenizer.decode(prompt_ids, **decode)) if prompt_ids else 0
            new_text = text[start:]
            if return_type == ReturnType.FULL_TEXT:
                if isinstance(prompt, str):
                    new_text = prompt + new_text
                else:
                    if continue_final_message is None:
                        continue_final_message = prompt.messages[-1]["role"] == "assistant"
                    if continue_final_message:
                        last = prompt.messages[-1]
                        new_text = prompt.messages[:-1] + [{"role": last["role"], "content": last["content"] + new_text}]
                    else:
                        new_text = prompt.messages + [{"role": "assistant", "content": new_text}]
            records.append({"generated_text": new_text})
        return records
