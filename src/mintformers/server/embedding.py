"""Sentence embeddings: the batched forward pass and the routes (TEI /embed, /embed_all, /similarity; OpenAI
/v1/embeddings).

A request's texts are tokenized (with the prompt, if any), checked against the input-length limit, and queued as
rows; one forward pass over a batch gives both the pooled vectors and the token embeddings, so /embed and /embed_all
requests share passes. Per row, the server then applies what the request asked for (dimensions, normalize), as
`SentenceEncoder.encode` does. The passes run in the batcher's thread, or in a model process of their own
(worker.py; `mintformers serve` does so on a CPU).
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from fastapi import FastAPI, Request
from starlette.responses import Response

from ..embeddings.batching import pad_id_of, pad_rows
from ..pipelines.base import padding_changes_outputs
from .common import ApiError, json_response, off_loop
from .schemas import EmbedAllRequest, EmbedRequest, OpenAIEmbeddingsRequest, SimilarityRequest
from .worker import ModelProcess

if TYPE_CHECKING:
    from .app import ServerState

__all__ = ["EmbeddingEngine", "embedding_routes", "PASS_OVERHEAD_TOKENS"]

# A forward pass's fixed cost on a CPU, in padded tokens: for a model that cannot run its rows end to end (packed),
# the batcher cuts what it took into passes of similar lengths where the padding saved is worth more. Measured on all-MiniLM-L6-v2, one thread, passes of 1 to 64 rows
# of 8 to 32 tokens: 6.7 ms fixed + 0.29 ms per padded token, i.e. ~23 tokens (encode's 128 trades some of the
# saving for fewer batches; a server's batches are short unsorted sentences, where the padding costs the most).
PASS_OVERHEAD_TOKENS = 32


@dataclass
class _Text:
    ids: list[int]
    dimensions: int | None = None  # keep the first `dimensions` values
    normalize: bool = False  # scale to unit length (after cutting)
    tokens: bool = False  # also return its token embeddings


class EmbeddingEngine:
    """What the embedding routes need from a SentenceEncoder."""

    kind = "embed"

    def __init__(self, encoder: Any, max_input_length: int | None):
        self.encoder = encoder.eval()
        self.tokenizer = encoder.tokenizer
        limits = [n for n in (max_input_length, encoder.max_seq_length) if n]
        self.max_length = min(limits) if limits else None
        self.dimension = encoder.get_sentence_embedding_dimension()
        self.pad_id = pad_id_of(self.tokenizer)
        self.same_length_only = padding_changes_outputs(encoder.model)
        # rows run end to end where the model supports it: no padding to save by cutting a batch into passes
        packs = getattr(encoder.model, "supports_packing", False)
        self.pass_overhead = PASS_OVERHEAD_TOKENS if encoder.device.type == "cpu" and not packs else None
        self.process: ModelProcess | None = None  # the forward passes' process, when not this one

    # ---- on the event loop or a tokenization thread ----------------------------------------------------------------
    def prompt(self, prompt_name: str | None) -> str | None:
        try:
            return self.encoder._resolve_prompt(None, prompt_name)
        except ValueError as e:
            raise ApiError(422, str(e), param="prompt_name") from None

    def key(self, prompt: str | None, length: int) -> tuple:
        """Rows share a pass when their prompt covers as many tokens (pooling may leave the prompt out), and, for a
        model that padding changes (MobileBERT's trigram input), when they are as long."""
        return (self.kind, self.encoder._prompt_length(prompt) if prompt else None,
                length if self.same_length_only else None)

    def tokenize(self, texts: list[str], prompt: str | None, truncate: bool, direction: str) -> list[list[int]]:
        """Token ids per text (prompt prepended), each within max_length: cut when `truncate`, else refused."""
        if prompt:
            texts = [prompt + t for t in texts]
        rows = self.tokenizer(texts, padding=False, truncation=False, return_attention_mask=False,
                              return_token_type_ids=False)["input_ids"]
        return [self._fit(row, text, truncate, direction) for row, text in zip(rows, texts)]

    def tokenize_ids(self, ids: list[list[int]], truncate: bool, direction: str) -> list[list[int]]:
        """Token ids a client sent (OpenAI's pre-tokenized input): special tokens added, then the same limit."""
        vocab = len(self.tokenizer)
        for row in ids:
            if any(not 0 <= i < vocab for i in row):
                raise ApiError(422, f"input holds token ids outside this model's vocabulary (0..{vocab - 1}).", param="input")
        return [self._fit(self.tokenizer.build_inputs_with_special_tokens(row), row, truncate, direction) for row in ids]

    def _fit(self, row: list[int], source: str | list[int], truncate: bool, direction: str) -> list[int]:
        """`row` (special tokens included) if it fits; else its content (`source`: the text, or the ids the client
        sent) cut on one side to fit between the special tokens, or a 413 when not `truncate`."""
        limit = self.max_length
        if limit is None or len(row) <= limit:
            return row
        if not truncate:
            raise ApiError(
                413, f"An input has {len(row)} tokens; this server takes at most {limit} (--max-input-length / the "
                "model's max_seq_length). Shorten it, or send \"truncate\": true to cut it.", param="inputs",
            )
        # cut the content, keep the special tokens around it
        special = self.tokenizer.num_special_tokens_to_add()
        content = self.tokenizer(source, add_special_tokens=False)["input_ids"] if isinstance(source, str) else source
        keep = max(limit - special, 0)
        content = content[len(content) - keep:] if direction.lower() == "left" else content[:keep]
        return self.tokenizer.build_inputs_with_special_tokens(content)

    # ---- in the batcher's worker thread ----------------------------------------------------------------------------
    def run(self, key: tuple, rows: list) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """One batch of rows: its pass here, or in the model process when there is one (worker.py)."""
        texts = [row.payload for row in rows]
        if self.process is not None:
            return self.process.run(key, texts)
        return self.forward(key, texts)

    def close(self) -> None:
        if self.process is not None:
            self.process.close()

    def __getstate__(self) -> dict:
        return {**self.__dict__, "process": None}  # what the model process gets

    @torch.inference_mode()
    def forward(self, key: tuple, texts: list[_Text]) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """One pass; per text, its vector finished as asked (what encode() does after the pass: keep `dimensions`
        values, then scale to unit length) as float32, and its token embeddings when asked."""
        encoder = self.encoder
        input_ids, mask = pad_rows([t.ids for t in texts], self.pad_id, encoder.device)
        features = encoder.forward({"input_ids": input_ids, "attention_mask": mask, "prompt_length": key[1],
                                    "packed": True})  # no work on padding, where the model supports it
        vectors = features["sentence_embedding"].float()
        hidden = features["token_embeddings"] if any(t.tokens for t in texts) else None
        out = []
        for i, t in enumerate(texts):
            vector = vectors[i, : t.dimensions]
            if t.normalize:
                vector = F.normalize(vector, dim=0)
            tokens = hidden[i, : len(t.ids)].float().cpu().numpy() if t.tokens else None
            out.append((vector.cpu().numpy(), tokens))
        return out


def embedding_routes(app: FastAPI, state: ServerState) -> tuple[type, Any]:
    tags = ["embeddings"]

    def engine() -> EmbeddingEngine:
        return state.engine("embed")  # type: ignore[return-value]

    def texts_of(inputs: str | list[str], field: str = "inputs") -> list[str]:
        texts = [inputs] if isinstance(inputs, str) else inputs
        state.check_batch_size(len(texts), field)
        return texts

    def dimensions_of(dimensions: int | None) -> int | None:
        if dimensions is None:
            return engine().encoder.truncate_dim
        dim = engine().dimension
        if dim is not None and dimensions > dim:
            raise ApiError(422, f"dimensions={dimensions} exceeds this model's {dim} dimensions.", param="dimensions")
        return dimensions

    async def embed_rows(request: Request, rows: list[list[int]], prompt: str | None, dimensions: int | None = None,
                         normalize: bool = False, tokens: bool = False) -> list:
        rows_by_key: dict[tuple, list[int]] = {}  # a request's rows share one key, except for same-length-only models
        for i, r in enumerate(rows):
            rows_by_key.setdefault(engine().key(prompt, len(r)), []).append(i)
        groups = await asyncio.gather(*(
            state.submit(request, key, [(len(rows[i]), _Text(rows[i], dimensions, normalize, tokens)) for i in indexes])
            for key, indexes in rows_by_key.items()
        ))
        results: list = [None] * len(rows)
        for indexes, done in zip(rows_by_key.values(), groups):
            for i, result in zip(indexes, done):
                results[i] = result
        return results

    async def tokenize(texts: list[str], prompt: str | None, truncate: bool | None, direction: str) -> list[list[int]]:
        truncate = state.limits.auto_truncate if truncate is None else truncate
        chars = sum(map(len, texts))
        return await off_loop(chars, engine().tokenize, texts, prompt, truncate, direction)

    async def embed(request: Request, body: EmbedRequest) -> Response:
        texts = texts_of(body.inputs)
        dimensions = dimensions_of(body.dimensions)
        prompt = engine().prompt(body.prompt_name)
        rows = await tokenize(texts, prompt, body.truncate, body.truncation_direction)
        results = await embed_rows(request, rows, prompt, dimensions, body.normalize)
        return json_response([vector for vector, _ in results])

    @app.post("/embed", tags=tags, summary="Embed texts (TEI)")
    async def embed_route(request: Request, body: EmbedRequest) -> Response:
        return await embed(request, body)

    @app.post("/embed_all", tags=tags, summary="Token embeddings of texts (TEI)")
    async def embed_all(request: Request, body: EmbedAllRequest) -> Response:
        texts = texts_of(body.inputs)
        prompt = engine().prompt(body.prompt_name)
        rows = await tokenize(texts, prompt, body.truncate, body.truncation_direction)
        results = await embed_rows(request, rows, prompt, tokens=True)
        return json_response([tokens for _, tokens in results])

    @app.post("/similarity", tags=tags, summary="Similarity of one sentence to others (hub sentence-similarity)")
    async def similarity(request: Request, body: SimilarityRequest) -> Response:
        texts = [body.inputs.source_sentence, *body.inputs.sentences]
        state.check_batch_size(len(texts), "inputs.sentences")
        prompt = engine().prompt(body.prompt_name)
        rows = await tokenize(texts, prompt, body.truncate, body.truncation_direction)
        results = await embed_rows(request, rows, prompt, engine().encoder.truncate_dim)
        vectors = np.stack([vector for vector, _ in results])
        scores = engine().encoder.similarity(vectors[:1], vectors[1:])[0]
        return json_response(scores.numpy())

    @app.post("/v1/embeddings", tags=tags, summary="Embed texts (OpenAI)")
    async def openai_embeddings(request: Request, body: OpenAIEmbeddingsRequest) -> Response:
        inputs = body.input
        dimensions = dimensions_of(body.dimensions)
        truncate = state.limits.auto_truncate
        if isinstance(inputs, list) and inputs and isinstance(inputs[0], (int, list)):
            ids = [inputs] if isinstance(inputs[0], int) else inputs
            state.check_batch_size(len(ids), "input")
            rows = engine().tokenize_ids(ids, truncate, "right")
        else:
            texts = texts_of(inputs, "input")  # type: ignore[arg-type]
            rows = await tokenize(texts, None, truncate, "right")
        results = await embed_rows(request, rows, None, dimensions)
        data = []
        for i, (vector, _) in enumerate(results):
            if body.encoding_format == "base64":
                embedding: Any = base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
            else:
                embedding = vector
            data.append({"object": "embedding", "index": i, "embedding": embedding})
        tokens = sum(map(len, rows))
        return json_response({
            "object": "list", "data": data, "model": state.model_name,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        })

    return (EmbedRequest, embed)  # POST / (TEI's root route) embeds
