"""The response shapes of the Messages API as pydantic models, for the OpenAPI document.

The encoders build these objects with orjson directly (a model per token would cost
more than the token); the tests check both against the ``anthropic`` SDK's own types.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class TextBlock(BaseModel):
    type: Literal["text"]
    text: str


class ToolUseBlock(BaseModel):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]


class MessageUsage(BaseModel):
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None


StopReason = Literal["end_turn", "max_tokens", "stop_sequence", "tool_use", "refusal"]


class MessageResponse(BaseModel):
    """The answer of ``POST /v1/messages`` without ``stream``.

    With ``"stream": true`` the answer is ``text/event-stream``: ``message_start``,
    ``ping``, ``content_block_start`` / ``content_block_delta`` / ``content_block_stop``
    per block, ``message_delta`` (stop reason, output tokens), ``message_stop``; or an
    ``error`` event when the answer fails after it began.
    """

    id: str
    type: Literal["message"]
    role: Literal["assistant"]
    model: str
    content: list[Annotated[TextBlock | ToolUseBlock, Field(discriminator="type")]]
    stop_reason: StopReason | None
    stop_sequence: str | None
    usage: MessageUsage


class TokenCount(BaseModel):
    """The answer of ``POST /v1/messages/count_tokens``."""

    input_tokens: int


class AnthropicErrorDetail(BaseModel):
    type: str = Field(
        description="invalid_request_error, authentication_error, permission_error, "
        "not_found_error, request_too_large, rate_limit_error, api_error, timeout_error, "
        "overloaded_error"
    )
    message: str


class AnthropicErrorResponse(BaseModel):
    """Every error on the Messages paths, with Anthropic's statuses."""

    type: Literal["error"]
    error: AnthropicErrorDetail
    request_id: str | None = None


class MessageStreamEvent(BaseModel):
    """One event of a streamed message, named by ``type`` (and by the SSE ``event:`` line):
    message_start, content_block_start, content_block_delta, content_block_stop,
    message_delta, message_stop, ping, or error (see docs/anthropic.md)."""

    model_config = ConfigDict(extra="allow")

    type: Literal[
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
        "error",
    ]
