"""Text generation: batched waves of `model.generate` and the routes (OpenAI /v1/completions, TGI /generate and
/generate_stream).

Each completion asked for (a prompt × `n`) is one row. Rows with the same sampling settings share a wave: their
prompts are left-padded into one batch and generated together (generate() gives each row of a left-padded batch the
tokens it gets alone). Seeded sampling runs in a wave of its own, so a seed gives what it gives alone. Each row has
its own limits, checked after every step by a stopping criterion that also streams the row's new text to its client,
cuts it at a stop sequence, and ends it when the client has left; the wave stops once every row is done. Requests
that arrive during a wave wait for the next one.

A row's text is decoded as the text-generation pipeline decodes it — the whole sequence, minus the prompt's decoded
length — so the server returns what `pipeline("text-generation")(prompt, return_full_text=False)` returns.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from fastapi import FastAPI, Request
from starlette.responses import Response, StreamingResponse

from ..generation import StoppingCriteria, StoppingCriteriaList
from .common import ApiError, dumps, json_response, off_loop
from .schemas import CompletionRequest, GenerateParameters, GenerateRequest

if TYPE_CHECKING:
    from ..pipelines.text_generation import TextGenerationPipeline
    from .app import ServerState

__all__ = ["GenerationEngine", "Completion", "Sampling", "generation_routes"]


@dataclass(frozen=True)
class Sampling:
    """Settings a wave shares (greedy: all None)."""

    do_sample: bool = False
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    repetition_penalty: float | None = None
    seed: int | None = None

    def generate_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"do_sample": self.do_sample}
        for name in ("temperature", "top_p", "top_k", "repetition_penalty", "seed"):
            value = getattr(self, name)
            if value is not None:
                kwargs[name] = value
        return kwargs


@dataclass(eq=False)
class Completion:
    """One row: a prompt to continue, its limits, and (once generated) its text."""

    prompt_ids: list[int]
    max_new_tokens: int
    stop: tuple[str, ...] = ()
    tokens: list[int] = field(default_factory=list)
    text: str = ""
    finish_reason: str | None = None  # "length", "eos_token", "stop_sequence"
    sent: int = 0  # characters of `text` already streamed


class _Wave(StoppingCriteria):
    """generate()'s per-step hook for one wave: records each row's token, streams its new text, and says which
    rows are done (limit reached, eos, stop sequence, client gone)."""

    def __init__(self, engine: GenerationEngine, rows: list):
        self.engine = engine
        self.rows = rows
        self.done = [False] * len(rows)
        self.prompt_chars = [engine.prompt_chars(row.payload.prompt_ids) for row in rows]

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor | None = None, **kwargs) -> torch.BoolTensor:
        new = input_ids[:, -1].tolist()
        logprobs = torch.log_softmax(scores.float(), -1).gather(1, input_ids[:, -1:])[:, 0].tolist()
        for i, row in enumerate(self.rows):
            if self.done[i]:
                continue
            if row.cancelled:  # its client left: stop spending steps on it
                self.done[i] = True
                continue
            completion: Completion = row.payload
            token = new[i]
            completion.tokens.append(token)
            if token in self.engine.eos:
                completion.finish_reason = "eos_token"
            elif len(completion.tokens) >= completion.max_new_tokens:
                completion.finish_reason = "length"
            if completion.stop or row.ticket.on_event is not None or completion.finish_reason:
                self._update_text(i, completion)
            self.done[i] = completion.finish_reason is not None
            if row.ticket.on_event is not None:
                row.emit(self._event(completion, token, logprobs[i]))
        return torch.tensor(self.done, device=input_ids.device)

    def _update_text(self, i: int, completion: Completion) -> None:
        completion.text = self.engine.decode(completion.prompt_ids + completion.tokens)[self.prompt_chars[i]:]
        for stop in completion.stop:
            at = completion.text.find(stop, max(0, completion.sent - len(stop)))
            if at >= 0:
                completion.text = completion.text[:at]
                completion.finish_reason = "stop_sequence"

    def _event(self, completion: Completion, token: int, logprob: float) -> dict[str, Any]:
        """The row's new text since the last event: all of it once finished, else what can no longer change (an
        incomplete character, or the start of a stop sequence, waits)."""
        text = completion.text
        end = len(text)
        if completion.finish_reason is None:
            if text.endswith("\ufffd"):
                end = len(text.rstrip("\ufffd"))
            for stop in completion.stop:
                for n in range(min(len(stop) - 1, end), 0, -1):
                    if text[:end].endswith(stop[:n]):
                        end -= n
                        break
        piece = text[completion.sent : max(end, completion.sent)]
        completion.sent = max(end, completion.sent)
        return {"id": token, "text": piece, "logprob": logprob, "special": token in self.engine.special_ids,
                "finish_reason": completion.finish_reason}


class GenerationEngine:
    """Waves of generation on a text-generation pipeline's model and tokenizer."""

    kind = "generate"

    def __init__(self, pipe: TextGenerationPipeline, max_input_length: int | None, max_new_tokens: int):
        self.pipe = pipe
        self.model = pipe.model
        self.tokenizer = pipe.tokenizer
        self.prefix = pipe.prefix or ""
        self.eos = set(pipe._eos_ids({})) - {-1}  # as the pipeline cuts its output
        self.special_ids = set(getattr(self.tokenizer, "all_special_ids", []) or [])
        self.max_new_tokens = max_new_tokens
        self.max_input_length = max_input_length
        limit = self.model._generation_position_limit()
        self.positions = limit[0] if limit else None

    # ---- requests --------------------------------------------------------------------------------------------------
    def tokenize(self, prompt: str | list[int], truncate: int | None = None) -> list[int]:
        if isinstance(prompt, str):
            ids = self.tokenizer(self.prefix + prompt)["input_ids"]  # as the pipeline tokenizes a prompt
        else:
            vocab = len(self.tokenizer)
            if any(not 0 <= i < vocab for i in prompt):
                raise ApiError(422, f"prompt holds token ids outside this model's vocabulary (0..{vocab - 1}).", param="prompt")
            ids = list(prompt)
        if truncate is not None and len(ids) > truncate:
            ids = ids[-truncate:]
        if not ids:
            raise ApiError(422, "The prompt is empty: give some text to continue.", param="prompt")
        if self.max_input_length is not None and len(ids) > self.max_input_length:
            raise ApiError(413, f"The prompt has {len(ids)} tokens; this server takes at most {self.max_input_length} "
                                "(--max-input-length). Shorten it.", param="prompt")
        return ids

    def completion(self, prompt_ids: list[int], max_new_tokens: int | None, stop: tuple[str, ...]) -> Completion:
        wanted = self.max_new_tokens if max_new_tokens is None else max_new_tokens
        if wanted > self.max_new_tokens:
            raise ApiError(422, f"max_new_tokens={wanted} is more than this server generates per completion "
                                f"({self.max_new_tokens}, --max-new-tokens).", param="max_tokens")
        if self.positions is not None and len(prompt_ids) + wanted > self.positions:
            raise ApiError(422, f"The prompt ({len(prompt_ids)} tokens) + {wanted} new tokens exceeds the "
                                f"{self.positions} positions of this model; ask for at most "
                                f"{max(self.positions - len(prompt_ids), 0)} new tokens.", param="max_tokens")
        return Completion(prompt_ids, wanted, stop)

    def key(self, sampling: Sampling, request_id: int) -> tuple:
        if sampling.do_sample and sampling.seed is not None:
            return (self.kind, sampling, request_id)  # a wave of its own
        return (self.kind, sampling)

    def prompt_chars(self, prompt_ids: list[int]) -> int:
        return len(self.decode(prompt_ids)) if prompt_ids else 0

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=True)

    # ---- the worker thread -----------------------------------------------------------------------------------------
    def run(self, key: tuple, rows: list) -> list[Completion]:
        completions: list[Completion] = [row.payload for row in rows]
        longest = max(len(c.prompt_ids) for c in completions)
        most = max(c.max_new_tokens for c in completions)
        if self.positions is not None and longest + most > self.positions and len(rows) > 1:
            # left padding makes every row as long as the longest prompt: split until each wave fits
            ordered = sorted(rows, key=lambda row: len(row.payload.prompt_ids))
            half = len(ordered) // 2
            self.run(key, ordered[:half])
            self.run(key, ordered[half:])
            return completions
        pad = self.pipe.pad_token_id
        input_ids = torch.full((len(rows), longest), pad if pad is not None else 0, dtype=torch.long)
        mask = torch.zeros((len(rows), longest), dtype=torch.long)
        for i, c in enumerate(completions):
            input_ids[i, longest - len(c.prompt_ids):] = torch.tensor(c.prompt_ids)
            mask[i, longest - len(c.prompt_ids):] = 1
        wave = _Wave(self, rows)
        device = self.pipe.device
        sampling: Sampling = key[1]
        self.model.generate(
            input_ids=input_ids.to(device), attention_mask=mask.to(device), max_new_tokens=most, pad_token_id=pad,
            stopping_criteria=StoppingCriteriaList([wave]), **sampling.generate_kwargs(),
        )
        for i, c in enumerate(completions):
            if not c.finish_reason:  # cancelled, or the wave ended first
                c.finish_reason = "length"
            if not c.stop and rows[i].ticket.on_event is None:
                c.text = self.decode(c.prompt_ids + c.tokens)[wave.prompt_chars[i]:]
        return completions


# ---- routes --------------------------------------------------------------------------------------------------------

_OPENAI_FINISH = {"length": "length", "eos_token": "stop", "stop_sequence": "stop"}


def _sse(payload: Any) -> bytes:
    return b"data: " + (payload.encode() if isinstance(payload, str) else dumps(payload)) + b"\n\n"


def generation_routes(app: FastAPI, state: ServerState) -> tuple[type, Any]:
    tags = ["generation"]

    def engine() -> GenerationEngine:
        return state.engine("generate")  # type: ignore[return-value]

    async def prepare(prompts: list[str | list[int]], n: int, max_new: int | None, stop: tuple[str, ...],
                      truncate: int | None = None) -> list[Completion]:
        state.check_batch_size(len(prompts) * n, "prompt")
        chars = sum(len(p) for p in prompts if isinstance(p, str))
        ids = [await off_loop(chars, engine().tokenize, p, truncate) for p in prompts]
        return [engine().completion(p, max_new, stop) for p in ids for _ in range(n)]

    async def generate(request: Request, sampling: Sampling, rows: list[Completion], on_event: Any = None) -> list[Completion]:
        key = engine().key(sampling, id(rows))
        results = await state.submit(request, key, [(len(c.prompt_ids) + c.max_new_tokens, c) for c in rows], on_event)
        state.metrics.generated.inc(sum(len(c.tokens) for c in results))
        return results

    def stream(request: Request, sampling: Sampling, rows: list[Completion], events: Any) -> StreamingResponse:
        """Server-sent events: `events(index, event)` formats each token event; the generator's finally (the client
        left, or the stream ended) stops the rows' generation."""
        queue: asyncio.Queue = asyncio.Queue()
        work = asyncio.ensure_future(generate(request, sampling, rows, lambda i, e: queue.put_nowait((i, e))))
        work.add_done_callback(lambda _: queue.put_nowait(None))

        async def body() -> AsyncIterator[bytes]:
            try:
                while (item := await queue.get()) is not None:
                    for chunk in events(*item):
                        yield chunk
                work.result()  # an error ends the stream with an error event
                for chunk in events(None, None):
                    yield chunk
            except Exception as error:
                yield _sse({"error": state.public_message(error), "error_type": "generation"})
            finally:
                work.cancel()

        return StreamingResponse(body(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    # ---- OpenAI ----------------------------------------------------------------------------------------------------
    @app.post("/v1/completions", tags=tags, summary="Complete prompts (OpenAI)")
    async def completions(request: Request, body: CompletionRequest) -> Response:
        prompts = body.prompt if isinstance(body.prompt, list) and body.prompt and not isinstance(body.prompt[0], int) else [body.prompt]
        stop = tuple([body.stop] if isinstance(body.stop, str) else body.stop or ())
        rows = await prepare(prompts, body.n, body.max_tokens, stop)  # type: ignore[arg-type]
        greedy = body.temperature == 0
        sampling = Sampling() if greedy else Sampling(True, body.temperature, body.top_p if body.top_p < 1 else None, seed=body.seed)
        head = {"id": f"cmpl-{uuid.uuid4().hex}", "object": "text_completion", "created": int(time.time()),
                "model": state.model_name}
        echo = [prompts[i // body.n] if body.echo and isinstance(prompts[i // body.n], str) else "" for i in range(len(rows))]

        def usage() -> dict[str, int]:
            prompt = sum(len(ids) for ids in {id(c.prompt_ids): c.prompt_ids for c in rows}.values())
            done = sum(len(c.tokens) for c in rows)
            return {"prompt_tokens": prompt, "completion_tokens": done, "total_tokens": prompt + done}

        if not body.stream:
            results = await generate(request, sampling, rows)
            choices = [{"text": echo[i] + c.text, "index": i, "logprobs": None, "finish_reason": _OPENAI_FINISH[c.finish_reason]}
                       for i, c in enumerate(results)]
            return json_response({**head, "choices": choices, "usage": usage()})

        started = set()

        def events(index: int | None, event: dict | None) -> list[bytes]:
            if index is None:  # the end
                tail = [_sse({**head, "choices": [], "usage": usage()})] if body.stream_options and body.stream_options.include_usage else []
                return [*tail, _sse("[DONE]")]
            text = event["text"]
            if index not in started:
                started.add(index)
                text = echo[index] + text
            finish = event["finish_reason"]
            if not text and finish is None:
                return []
            choice = {"text": text, "index": index, "logprobs": None, "finish_reason": _OPENAI_FINISH.get(finish)}
            return [_sse({**head, "choices": [choice]})]

        return stream(request, sampling, rows, events)

    # ---- TGI ----------------------------------------------------------------------------------------------------
    def tgi_sampling(p: GenerateParameters) -> Sampling:
        if not p.sampling:
            return Sampling(repetition_penalty=p.repetition_penalty)
        return Sampling(True, p.temperature, p.top_p, p.top_k, p.repetition_penalty, p.seed)

    async def tgi_rows(body: GenerateRequest) -> list[Completion]:
        p = body.parameters
        return await prepare([body.inputs], 1, p.max_new_tokens, tuple(p.stop), p.truncate)

    def details(p: GenerateParameters, c: Completion) -> dict[str, Any] | None:
        if not p.details:
            return None
        return {"finish_reason": c.finish_reason, "generated_tokens": len(c.tokens), "seed": p.seed}

    async def tgi_generate(request: Request, body: GenerateRequest) -> Response:
        if body.stream:
            return await tgi_stream(request, body)
        p = body.parameters
        [c] = await generate(request, tgi_sampling(p), await tgi_rows(body))
        text = (body.inputs if p.return_full_text else "") + c.text
        answer = {"generated_text": text, **({"details": details(p, c)} if p.details else {})}
        return json_response(answer)

    @app.post("/generate", tags=tags, summary="Continue a prompt (TGI)")
    async def generate_route(request: Request, body: GenerateRequest) -> Response:
        return await tgi_generate(request, body)

    async def tgi_stream(request: Request, body: GenerateRequest) -> Response:
        p = body.parameters
        rows = await tgi_rows(body)
        count = [0]

        def events(index: int | None, event: dict | None) -> list[bytes]:
            if index is None:
                return []
            count[0] += 1
            c = rows[0]
            final = event["finish_reason"] is not None
            generated = ((body.inputs if p.return_full_text else "") + c.text) if final else None
            token = {k: event[k] for k in ("id", "text", "logprob", "special")}
            return [_sse({"index": count[0], "token": token, "generated_text": generated,
                          "details": details(p, c) if final else None, "top_tokens": None})]

        return stream(request, tgi_sampling(p), rows, events)

    @app.post("/generate_stream", tags=tags, summary="Continue a prompt, streamed as server-sent events (TGI)")
    async def generate_stream(request: Request, body: GenerateRequest) -> Response:
        return await tgi_stream(request, body)

    return (GenerateRequest, tgi_generate)  # POST / generates (TGI)
