"""The request body of ``POST /agent/message/stream``.

    {"session_id": "s-1", "agent": "math", "message": "what is 2+2?", "user_id": "alice"}
    {"session_id": "s-1", "model": "agent/math", "messages": [{"role": "user", ...}, ...]}

Exactly one of ``agent`` (an agent's name) and ``model`` (any model id the service
serves, ``agent/<name>`` included); exactly one of ``message`` (the user's text) and
``messages`` (the whole conversation as OpenAI chat messages, ending with the user's).
``user_id`` names the end user, whom the service's limits and usage count against.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from continuum.agents.agent import agent_model_id
from continuum.core.types import ChatRequest, Message
from continuum.dialects.openai.request import MessageIn


class RuntimeMessage(BaseModel):
    """One message of a session, to be answered by an agent (or a model)."""

    model_config = ConfigDict(extra="forbid")

    session_id: str | None = Field(default=None, min_length=1, max_length=256)
    agent: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
    model: str | None = Field(default=None, min_length=1, max_length=256)
    message: str | None = Field(default=None, min_length=1)
    messages: list[MessageIn] | None = Field(default=None, min_length=1)
    user_id: str | None = Field(default=None, min_length=1, max_length=256)

    @model_validator(mode="after")
    def _one_of_each(self) -> RuntimeMessage:
        if (self.agent is None) == (self.model is None):
            raise ValueError("give exactly one of 'agent' (a name) and 'model' (a model id)")
        if (self.message is None) == (self.messages is None):
            raise ValueError("give exactly one of 'message' (text) and 'messages' (a list)")
        return self

    @property
    def target(self) -> str:
        """The model id to answer with: ``agent/<name>`` for an agent."""
        return self.model if self.model is not None else agent_model_id(str(self.agent))

    def to_core(self, request_id: str) -> ChatRequest:
        if self.messages is not None:
            messages = tuple(message.to_core() for message in self.messages)
        else:
            messages = (Message("user", self.message),)
        return ChatRequest(
            model=self.target, messages=messages, user=self.user_id, request_id=request_id
        )
