"""The neutral request model: what every door decodes into and every provider reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class ContentPart:
    """One part of a multi-part message. ``raw`` keeps non-text parts as the client sent them."""

    type: str
    text: str | None = None
    raw: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A complete call of a tool by the model (arguments as the JSON text the model wrote)."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Tool:
    """A function the model may call; ``parameters`` is its JSON Schema."""

    name: str
    description: str | None = None
    parameters: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Message:
    role: str
    content: str | tuple[ContentPart, ...] | None = None
    name: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None

    @property
    def text(self) -> str:
        """The message's text, with the text parts of a multi-part message joined."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text or "" for part in self.content if part.type == "text")


@dataclass(frozen=True, slots=True)
class SamplingParams:
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    n: int = 1
    stop: tuple[str, ...] = ()
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    # Sample from the k likeliest tokens: Anthropic and Ollama take it, OpenAI's API has none.
    top_k: int | None = None


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One chat request, whichever door it came through.

    ``model`` is the public model id the client asked for; the router hands a provider
    the deployment's upstream name separately. ``extra`` carries fields this model does
    not name, passed through to providers that understand them.
    """

    model: str
    messages: tuple[Message, ...]
    params: SamplingParams = field(default_factory=SamplingParams)
    tools: tuple[Tool, ...] = ()
    tool_choice: str | Mapping[str, Any] | None = None
    response_format: Mapping[str, Any] | None = None
    user: str | None = None
    request_id: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)
    # False when the client folds the answer anyway: a provider may then ask its upstream
    # for one whole answer instead of a stream (fewer bytes to decode, same events).
    stream: bool = True

    @property
    def last_user_text(self) -> str:
        for message in reversed(self.messages):
            if message.role == "user":
                return message.text
        return ""
