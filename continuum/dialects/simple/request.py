"""The prompt API's request body, ``{"prompt", "user_id"}``, and its refusal as 400.

Seed 001 answers 400 to a body that is not JSON or lacks its prompt, so every problem
with the body is a 400 here (the OpenAI door's schema errors are 422).
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from continuum.core.json_body import parse_json
from continuum.core.types import ChatRequest, Message
from continuum.errors import InvalidRequest, SchemaViolation

MAX_USER_ID = 256


class PromptRequest(BaseModel):
    """A prompt for a model or an agent. Members the seed does not name are ignored."""

    model_config = ConfigDict(extra="ignore")

    prompt: str
    user_id: str | None = Field(default=None, max_length=MAX_USER_ID)

    def to_core(self, model: str, request_id: str, stream: bool) -> ChatRequest:
        return ChatRequest(
            model=model,
            messages=(Message("user", self.prompt),),
            user=self.user_id,
            request_id=request_id,
            stream=stream,
        )


class PromptMessage(PromptRequest):
    """A prompt sent over a WebSocket, which may carry the caller's key (browsers cannot
    set headers on a WebSocket)."""

    token: str | None = None


P = TypeVar("P", bound=PromptRequest)


def parse_prompt(body: bytes | str, model: type[P]) -> P:
    """The validated prompt: ``MalformedJSON`` or ``InvalidRequest`` (both 400) otherwise."""
    try:
        request = parse_json(body, model)
    except SchemaViolation as error:
        raise InvalidRequest(error.message, param=error.param, code=error.code) from None
    if not request.prompt.strip():
        raise InvalidRequest("'prompt' must not be empty", param="prompt", code="missing_prompt")
    if request.user_id is not None and not request.user_id.strip():
        request.user_id = None  # "" names nobody: counted by address, as an absent id is
    return request
