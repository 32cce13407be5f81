"""The request body of ``POST /v1/chat/completions`` as the OpenAI API defines it.

Validation happens once, in Rust (``model_validate_json``), then the body becomes
the core ``ChatRequest``. Fields we do not name are kept and passed through.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from continuum.core.types import ChatRequest, ContentPart, Message, SamplingParams, Tool, ToolCall
from continuum.dialects.openai.bounds import check_request, check_value


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ContentPartIn(_Open):
    type: str
    text: str | None = None


def _raw(part: ContentPartIn, where: str) -> dict[str, Any] | None:
    """A non-text part as sent (passed through to providers), its integers checked."""
    if part.type == "text":
        return None
    if part.model_extra:
        check_value(part.model_extra, where)
    return part.model_dump()


class FunctionCallIn(_Open):
    name: str
    arguments: str = ""


class ToolCallIn(_Open):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCallIn


class MessageIn(_Open):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPartIn] | None = None
    name: str | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: str | None = None

    def to_core(self, index: int = 0) -> Message:
        """The core message (``index``: its place in the request, for error messages)."""
        content: str | tuple[ContentPart, ...] | None
        if isinstance(self.content, list):
            content = tuple(
                ContentPart(part.type, part.text, _raw(part, f"messages.{index}.content.{i}"))
                for i, part in enumerate(self.content)
            )
        else:
            content = self.content
        calls = tuple(
            ToolCall(call.id, call.function.name, call.function.arguments)
            for call in self.tool_calls or ()
        )
        return Message(self.role, content, self.name, calls, self.tool_call_id)


class FunctionDefinition(_Open):
    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolIn(_Open):
    type: Literal["function"] = "function"
    function: FunctionDefinition


class StreamOptions(_Open):
    include_usage: bool | None = None


class NamedFunction(BaseModel):
    name: str


class NamedToolChoice(_Open):
    type: Literal["function"]
    function: NamedFunction


class ChatCompletionRequest(_Open):
    """Creates a model response for the given chat conversation."""

    model: str = Field(min_length=1)  # longer than MAX_MODEL_ID: a 400 from to_core
    messages: list[MessageIn] = Field(min_length=1)
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    n: int | None = Field(default=1, ge=1, le=128)
    # The official schema (StopConfiguration): a string or up to 4 strings.
    stop: str | Annotated[list[str], Field(max_length=4)] | None = Field(default=None)
    seed: int | None = None
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    tools: list[ToolIn] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    response_format: dict[str, Any] | None = None
    user: str | None = None

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)

    def to_core(self, request_id: str) -> ChatRequest:
        """The core request; ``InvalidRequest`` (400) for what the schema cannot say: a model
        id over ``MAX_MODEL_ID`` characters, an integer outside 64 bits anywhere."""
        check_request(self)
        stop = (self.stop,) if isinstance(self.stop, str) else tuple(self.stop or ())
        params = SamplingParams(
            max_tokens=self.max_completion_tokens or self.max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            n=self.n or 1,
            stop=stop,
            seed=self.seed,
            presence_penalty=self.presence_penalty,
            frequency_penalty=self.frequency_penalty,
        )
        tools = tuple(
            Tool(t.function.name, t.function.description, t.function.parameters)
            for t in self.tools or ()
        )
        tool_choice = (
            self.tool_choice.model_dump()
            if isinstance(self.tool_choice, BaseModel)
            else self.tool_choice
        )
        return ChatRequest(
            model=self.model,
            messages=tuple(message.to_core(i) for i, message in enumerate(self.messages)),
            params=params,
            tools=tools,
            tool_choice=tool_choice,
            response_format=self.response_format,
            user=self.user,
            request_id=request_id,
            extra=self.model_extra or {},
            stream=bool(self.stream),
        )
