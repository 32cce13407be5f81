"""The request bodies of ``POST /v1/messages`` and ``/v1/messages/count_tokens``.

Shapes from Anthropic's API reference, "Messages" and "Count message tokens"
(https://docs.anthropic.com/en/api/messages, .../messages-count-tokens) and the tool-use
guide. Validation happens once, in Rust, then the body becomes the core ``ChatRequest``:

* ``system`` (a string or text blocks) becomes a leading system message;
* ``tool_use`` blocks become the assistant message's tool calls (``input`` as JSON text);
* each ``tool_result`` block becomes a ``tool`` message, in order with the user's other
  blocks (text, images) around it;
* images (base64 or URL sources) become ``image_url`` parts, which every provider that
  takes images understands (a data URL for base64);
* ``thinking`` blocks replayed from earlier answers are dropped (no provider here makes
  them); ``metadata.user_id`` becomes the request's ``user``; ``output_config.format``
  (structured outputs) the request's JSON-Schema ``response_format``.

Fields we do not name (``thinking``, ``service_tier``, ``cache_control``, ...) are
accepted and ignored: they are never passed on, since an OpenAI-compatible upstream
would refuse fields it does not know.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from continuum.core.types import ChatRequest, ContentPart, Message, SamplingParams, Tool, ToolCall
from continuum.errors import SchemaViolation


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


def _string_or_blocks(value: Any) -> str:
    return "string" if isinstance(value, str) else "blocks"


# A string or a list of blocks, told apart before validating, so a bad block gets one
# error naming it (``messages.0.content.blocks.1.text.text: Field required``) instead of
# one per alternative.
StringOr = Discriminator(_string_or_blocks)


class TextBlockIn(_Open):
    type: Literal["text"]
    text: str


class Base64Source(_Open):
    type: Literal["base64"]
    media_type: str
    data: str


class UrlSource(_Open):
    type: Literal["url"]
    url: str


class ImageBlockIn(_Open):
    type: Literal["image"]
    source: Annotated[Base64Source | UrlSource, Field(discriminator="type")]

    def part(self) -> ContentPart:
        source = self.source
        if isinstance(source, Base64Source):
            url = f"data:{source.media_type};base64,{source.data}"
        else:
            url = source.url
        return ContentPart("image_url", raw={"type": "image_url", "image_url": {"url": url}})


class ToolUseBlockIn(_Open):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]


ResultPart = Annotated[TextBlockIn | ImageBlockIn, Field(discriminator="type")]


class ToolResultBlockIn(_Open):
    type: Literal["tool_result"]
    tool_use_id: str
    content: (
        Annotated[
            Annotated[str, Tag("string")] | Annotated[list[ResultPart], Tag("blocks")], StringOr
        ]
        | None
    ) = None
    is_error: bool | None = None

    @property
    def text(self) -> str:
        if self.content is None or isinstance(self.content, str):
            return self.content or ""
        return "".join(part.text for part in self.content if isinstance(part, TextBlockIn))


class ThinkingBlockIn(_Open):
    """A thinking block of an earlier answer, sent back as Anthropic asks; dropped here."""

    type: Literal["thinking", "redacted_thinking"]


ContentBlockIn = Annotated[
    TextBlockIn | ImageBlockIn | ToolUseBlockIn | ToolResultBlockIn | ThinkingBlockIn,
    Field(discriminator="type"),
]


class MessageIn(_Open):
    role: Literal["user", "assistant"]
    content: Annotated[
        Annotated[str, Tag("string")] | Annotated[list[ContentBlockIn], Tag("blocks")], StringOr
    ]


class ToolIn(_Open):
    """A client tool. Anthropic's server tools (``web_search_…``, ``bash_…``) have a
    ``type`` and no ``input_schema``; no provider here runs them, so they are refused."""

    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,128}$")
    description: str | None = None
    input_schema: dict[str, Any] | None = None
    type: str | None = None


class ToolChoiceIn(_Open):
    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class MetadataIn(_Open):
    user_id: str | None = None


class JsonOutputFormat(_Open):
    type: Literal["json_schema"]
    schema_: dict[str, Any] = Field(alias="schema")


class OutputConfigIn(_Open):
    """Structured outputs: ``format`` becomes the core ``response_format`` (a JSON Schema),
    which the OpenAI-compatible and Ollama providers send on; ``effort`` is ignored."""

    format: JsonOutputFormat | None = None

    def response_format(self) -> dict[str, Any] | None:
        if self.format is None:
            return None
        return {
            "type": "json_schema",
            "json_schema": {"name": "output", "schema": self.format.schema_},
        }


def _parts(blocks: list[Any]) -> str | tuple[ContentPart, ...]:
    """Text and image blocks as a message's content: one text block stays a plain string."""
    if len(blocks) == 1 and isinstance(blocks[0], TextBlockIn):
        return blocks[0].text
    return tuple(
        ContentPart("text", block.text) if isinstance(block, TextBlockIn) else block.part()
        for block in blocks
    )


def _user(message: MessageIn, where: str) -> list[Message]:
    """A user turn: its tool results as ``tool`` messages, its other blocks as user messages,
    in the order written."""
    if isinstance(message.content, str):
        return [Message("user", message.content)]
    out: list[Message] = []
    pending: list[Any] = []
    for index, block in enumerate(message.content):
        if isinstance(block, ToolResultBlockIn):
            if pending:
                out.append(Message("user", _parts(pending)))
                pending = []
            out.append(Message("tool", block.text, tool_call_id=block.tool_use_id))
        elif isinstance(block, ToolUseBlockIn):
            raise SchemaViolation(
                f"{where}.content.{index}: tool_use blocks belong in assistant messages",
                param=f"{where}.content.{index}",
            )
        elif not isinstance(block, ThinkingBlockIn):
            pending.append(block)
    if pending or not out:
        out.append(Message("user", _parts(pending) if pending else ""))
    return out


def _assistant(message: MessageIn, where: str) -> Message:
    if isinstance(message.content, str):
        return Message("assistant", message.content)
    shown: list[Any] = []
    calls: list[ToolCall] = []
    for index, block in enumerate(message.content):
        if isinstance(block, ToolUseBlockIn):
            calls.append(ToolCall(block.id, block.name, orjson.dumps(block.input).decode()))
        elif isinstance(block, ToolResultBlockIn):
            raise SchemaViolation(
                f"{where}.content.{index}: tool_result blocks belong in user messages",
                param=f"{where}.content.{index}",
            )
        elif not isinstance(block, ThinkingBlockIn):
            shown.append(block)
    content = _parts(shown) if shown else None
    return Message("assistant", content if content or not calls else None, tool_calls=tuple(calls))


class CountTokensRequest(_Open):
    """The conversation part of a Messages request: what ``count_tokens`` counts."""

    model: str = Field(min_length=1)
    messages: list[MessageIn] = Field(min_length=1)
    system: (
        Annotated[
            Annotated[str, Tag("string")] | Annotated[list[TextBlockIn], Tag("blocks")], StringOr
        ]
        | None
    ) = None
    tools: list[ToolIn] | None = None
    tool_choice: ToolChoiceIn | None = None

    def _messages(self) -> tuple[Message, ...]:
        out: list[Message] = []
        if isinstance(self.system, str):
            if self.system:
                out.append(Message("system", self.system))
        elif self.system:
            out.append(Message("system", _parts(list(self.system))))
        for index, message in enumerate(self.messages):
            where = f"messages.{index}"
            if message.role == "user":
                out.extend(_user(message, where))
            else:
                out.append(_assistant(message, where))
        return tuple(out)

    def _tools(self) -> tuple[Tool, ...]:
        tools = []
        for index, tool in enumerate(self.tools or ()):
            if tool.type not in (None, "custom") or tool.input_schema is None:
                kind = tool.type or "(none)"
                raise SchemaViolation(
                    f"tools.{index}: only custom tools (name, description, input_schema) are "
                    f"supported by this gateway; tool type '{kind}' is not",
                    param=f"tools.{index}",
                )
            tools.append(Tool(tool.name, tool.description, tool.input_schema))
        return tuple(tools)

    def _tool_choice(self) -> str | dict[str, Any] | None:
        choice = self.tool_choice
        if choice is None or choice.type == "auto":
            return None
        if choice.type == "any":
            return "required"
        if choice.type == "none":
            return "none"
        if not choice.name:
            raise SchemaViolation(
                "tool_choice.name: a tool_choice of type 'tool' names the tool",
                param="tool_choice.name",
            )
        return {"type": "function", "function": {"name": choice.name}}

    def to_core(self, request_id: str) -> ChatRequest:
        return ChatRequest(
            model=self.model,
            messages=self._messages(),
            tools=self._tools(),
            tool_choice=self._tool_choice(),
            request_id=request_id,
        )


class MessagesRequest(CountTokensRequest):
    """Send a structured list of input messages; the model answers with the next message."""

    max_tokens: int = Field(ge=1)
    stream: bool | None = False
    stop_sequences: list[str] | None = None
    temperature: float | None = Field(default=None, ge=0, le=1)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: int | None = Field(default=None, ge=0)
    metadata: MetadataIn | None = None
    output_config: OutputConfigIn | None = None

    def to_core(self, request_id: str) -> ChatRequest:
        return ChatRequest(
            model=self.model,
            messages=self._messages(),
            params=SamplingParams(
                max_tokens=self.max_tokens,
                temperature=self.temperature,
                top_p=self.top_p,
                top_k=self.top_k,
                stop=tuple(self.stop_sequences or ()),
            ),
            tools=self._tools(),
            tool_choice=self._tool_choice(),
            response_format=self.output_config.response_format() if self.output_config else None,
            user=self.metadata.user_id if self.metadata else None,
            request_id=request_id,
            stream=bool(self.stream),
        )
