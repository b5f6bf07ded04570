"""Request bodies, as text-embeddings-inference (TEI), text-generation-inference (TGI) and OpenAI define them.

FastAPI validates each body against its model: a wrong type or a missing field is a 422 whose message names the
field (`inputs: Input should be a valid string`). Unknown fields are ignored, as those servers do (clients send
fields such as OpenAI's `user`). Fields a client may send but this server cannot honour (OpenAI's `logprobs`,
`logit_bias`, TGI's `grammar` ...) are refused when set, never silently dropped.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "EmbedRequest", "EmbedAllRequest", "SimilarityRequest", "OpenAIEmbeddingsRequest", "RerankRequest",
    "ClassifyRequest", "PipelineRequest", "TokenizeRequest", "DecodeRequest", "GenerateParameters",
    "GenerateRequest", "CompletionRequest",
]

Texts = str | list[str]
Direction = Literal["right", "left", "Right", "Left"]
PositiveInt = Annotated[int, Field(ge=1)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)  # "yes" is no boolean, "3" no number


def _unsupported(name: str, value: Any, allowed: Any = None) -> None:
    if value is not None and value != allowed and value is not False:
        raise ValueError(f"{name} is not supported by this server; leave it out")


# ---- TEI: embeddings, similarity, reranking, classification ---------------------------------------------------------


class _Truncation(_Body):
    truncate: bool | None = Field(None, description="cut inputs longer than the limit (default: --auto-truncate)")
    truncation_direction: Direction = "right"


class EmbedRequest(_Truncation):
    """POST /embed → one vector per input: [[float, ...], ...]."""

    inputs: Texts
    normalize: bool = True
    prompt_name: str | None = None
    dimensions: PositiveInt | None = Field(None, description="keep the first `dimensions` values (Matryoshka models)")

    @model_validator(mode="before")
    @classmethod
    def _parameters(cls, data: Any) -> Any:
        """The hub's feature-extraction shape, {"inputs": ..., "parameters": {"normalize": ...}} (what
        huggingface_hub's InferenceClient sends): the parameters count as fields."""
        if isinstance(data, dict) and isinstance(data.get("parameters"), dict):
            data = {**data["parameters"], **{k: v for k, v in data.items() if k != "parameters"}}
        return data


class EmbedAllRequest(_Truncation):
    """POST /embed_all → token embeddings per input: [[[float, ...] per token], ...]."""

    inputs: Texts
    prompt_name: str | None = None


class SentencePair(_Body):
    source_sentence: str
    sentences: list[str] = Field(min_length=1)


class SimilarityRequest(_Truncation):
    """POST /similarity (the hub's sentence-similarity task) → one score per sentence: [float, ...]."""

    inputs: SentencePair
    prompt_name: str | None = None


class RerankRequest(_Truncation):
    """POST /rerank → [{"index", "score", "text"?}] sorted by score, best first."""

    query: str
    texts: list[str] = Field(min_length=1)
    raw_scores: bool = False
    return_text: bool = False


class ClassifyParameters(_Body):
    top_k: PositiveInt | None = None
    function_to_apply: Literal["softmax", "sigmoid", "none"] | None = None


class ClassifyRequest(_Truncation):
    """POST /predict on a classifier → [{"label", "score"}] sorted by score (a batch: one such list per input).

    `inputs`: a text, a pair ["text", "text pair"], or a list of texts / pairs (a batch).
    """

    inputs: str | list[str | list[str]]
    raw_scores: bool = False
    parameters: ClassifyParameters | None = None

    @field_validator("inputs")
    @classmethod
    def _pairs(cls, value: Any) -> Any:
        if isinstance(value, list):
            if not value:
                raise ValueError("give at least one input")
            for item in value:
                if isinstance(item, list) and not 1 <= len(item) <= 2:
                    raise ValueError("a pair is a list of two texts: [text, text_pair]")
        return value


class PipelineRequest(_Body):
    """POST /predict on a task pipeline → {"outputs": what `pipe(inputs, **parameters)` returns}."""

    inputs: Any = Field(description="what the task's pipeline takes: a text, a list of texts, a dict for qa")
    parameters: dict[str, Any] = Field(default_factory=dict)

    @field_validator("inputs")
    @classmethod
    def _present(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("inputs must not be null")
        return value


class TokenizeRequest(_Body):
    """POST /tokenize → per input, its tokens [{"id", "text", "special", "start", "stop"}]."""

    inputs: Texts
    add_special_tokens: bool = True
    prompt_name: str | None = None


class DecodeRequest(_Body):
    """POST /decode → one text per id list."""

    ids: list[int] | list[list[int]]
    skip_special_tokens: bool = True


# ---- OpenAI ------------------------------------------------------------------------------------------------------


class OpenAIEmbeddingsRequest(_Body):
    """POST /v1/embeddings → {"object": "list", "data": [{"object": "embedding", "index", "embedding"}], ...}."""

    input: str | list[str] | list[int] | list[list[int]]
    model: str | None = None
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: PositiveInt | None = None
    user: str | None = None


class StreamOptions(_Body):
    include_usage: bool = False


class CompletionRequest(_Body):
    """POST /v1/completions (OpenAI legacy completions; `stream: true` answers with server-sent events)."""

    prompt: str | list[str] | list[int] | list[list[int]]
    model: str | None = None
    max_tokens: PositiveInt | None = 16
    temperature: float = Field(1.0, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    n: int = Field(1, ge=1, le=16)
    stream: bool = False
    stream_options: StreamOptions | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    echo: bool = False
    user: str | None = None
    # accepted for compatibility only at their neutral values
    best_of: int | None = None
    logprobs: int | None = None
    logit_bias: dict[str, float] | None = None
    presence_penalty: float | None = 0.0
    frequency_penalty: float | None = 0.0
    suffix: str | None = None

    @field_validator("stop")
    @classmethod
    def _stops(cls, value: Any) -> Any:
        stops = [value] if isinstance(value, str) else value or []
        if len(stops) > 4 or any(not s for s in stops):
            raise ValueError("give at most 4 non-empty stop sequences")
        return value

    @model_validator(mode="after")
    def _neutral(self) -> CompletionRequest:
        _unsupported("best_of", self.best_of, self.n if self.best_of is not None else None)
        _unsupported("logprobs", self.logprobs)
        _unsupported("logit_bias", self.logit_bias or None)
        _unsupported("presence_penalty", self.presence_penalty or None)
        _unsupported("frequency_penalty", self.frequency_penalty or None)
        _unsupported("suffix", self.suffix)
        return self


# ---- TGI: /generate, /generate_stream ------------------------------------------------------------------------------


class GenerateParameters(_Body):
    max_new_tokens: PositiveInt | None = 100
    do_sample: bool = False
    temperature: float | None = Field(None, gt=0.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    top_k: PositiveInt | None = None
    repetition_penalty: float | None = Field(None, gt=0.0)
    seed: int | None = None
    stop: list[str] = Field(default_factory=list, max_length=4)
    return_full_text: bool = False
    details: bool = False
    truncate: PositiveInt | None = None
    # clients such as huggingface_hub send these; only their neutral values are accepted
    best_of: int | None = None
    watermark: bool = False
    grammar: Any = None
    decoder_input_details: bool = False
    top_n_tokens: int | None = None
    typical_p: float | None = None
    frequency_penalty: float | None = None
    adapter_id: str | None = None

    @model_validator(mode="after")
    def _neutral(self) -> GenerateParameters:
        _unsupported("best_of", self.best_of, 1)
        _unsupported("watermark", self.watermark)
        _unsupported("grammar", self.grammar)
        _unsupported("decoder_input_details", self.decoder_input_details)
        _unsupported("top_n_tokens", self.top_n_tokens or None)
        _unsupported("typical_p", self.typical_p, 1.0)
        _unsupported("frequency_penalty", self.frequency_penalty or None)
        _unsupported("adapter_id", self.adapter_id)
        if any(not s for s in self.stop):
            raise ValueError("stop sequences must be non-empty")
        return self

    @property
    def sampling(self) -> bool:
        """TGI's rule: sampling when asked, or when a sampling parameter is set."""
        return self.do_sample or any(
            v is not None and v != neutral for v, neutral in ((self.temperature, 1.0), (self.top_p, 1.0), (self.top_k, None))
        )


class GenerateRequest(_Body):
    """POST /generate → {"generated_text", "details"?}; /generate_stream → server-sent token events."""

    inputs: str
    parameters: GenerateParameters = Field(default_factory=GenerateParameters)
    stream: bool = False
