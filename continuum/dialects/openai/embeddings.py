"""``POST /v1/embeddings`` as OpenAI defines it: ``CreateEmbeddingRequest`` in,
``CreateEmbeddingResponse`` out.

``input`` takes OpenAI's four forms: a string, a list of strings, one token array, a
list of token arrays. ``encoding_format: base64`` is each vector's little-endian
float32 bytes in base64 (what the ``openai`` SDK asks for unless told otherwise, and
decodes itself).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
)

from continuum.core.embedding import EmbeddingRequest, Embeddings
from continuum.embeddings.vectors import to_base64
from continuum.errors import InvalidRequest

MAX_INPUTS = 2048  # OpenAI's bound on the items of one request

TokenArray = Annotated[list[StrictInt], Field(min_length=1)]


class CreateEmbeddingBody(BaseModel):
    """The request body; fields OpenAI adds later are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    input: str | list[str] | list[TokenArray] | TokenArray
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(default=None, ge=1)
    user: str | None = None

    @field_validator("input", mode="wrap")
    @classmethod
    def _one_of_four(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        # One clear message instead of one error per member of the union.
        try:
            return handler(value)
        except ValidationError:
            raise ValueError(
                "input must be a string, a list of strings, a token array (a list of "
                "integers) or a list of token arrays"
            ) from None

    def to_core(self, request_id: str) -> EmbeddingRequest:
        """The core request; ``InvalidRequest`` (naming ``input``) for what OpenAI refuses."""
        raw = self.input
        inputs: tuple[str, ...] | tuple[tuple[int, ...], ...]
        if isinstance(raw, str):
            inputs = (raw,)
        elif all(isinstance(item, str) for item in raw):
            inputs = tuple(cast("list[str]", raw))
        elif all(isinstance(item, int) for item in raw):
            inputs = (tuple(cast("list[int]", raw)),)
        else:
            inputs = tuple(tuple(ids) for ids in cast("list[list[int]]", raw))
        if not inputs:
            raise InvalidRequest("input must not be an empty list", param="input")
        if len(inputs) > MAX_INPUTS:
            raise InvalidRequest(
                f"input may hold at most {MAX_INPUTS} items, not {len(inputs)}", param="input"
            )
        if any(item == "" for item in inputs):
            raise InvalidRequest("input must not contain empty strings", param="input")
        if any(isinstance(item, tuple) and min(item) < 0 for item in inputs):
            raise InvalidRequest("token ids must not be negative", param="input")
        return EmbeddingRequest(self.model, inputs, self.dimensions, self.user, request_id)


def embeddings_body(found: Embeddings, model: str, encoding_format: str) -> bytes:
    """The ``CreateEmbeddingResponse`` JSON; ``model`` is the public id the client asked for."""
    encode: Any = to_base64 if encoding_format == "base64" else _same
    tokens = found.prompt_tokens
    return orjson.dumps(
        {
            "object": "list",
            "data": [
                {"object": "embedding", "index": index, "embedding": encode(vector)}
                for index, vector in enumerate(found.vectors)
            ],
            "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )


def _same(vector: list[float]) -> list[float]:
    return vector
