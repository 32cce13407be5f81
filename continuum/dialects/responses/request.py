"""The request body of ``POST /v1/responses`` (OpenAI's ``CreateResponse``), as far as we serve it.

Validation happens once, in Rust (``model_validate_json``). What we cannot honour is
refused with a 400 naming the field (built-in tools, background mode, conversations,
file inputs) rather than silently ignored; what only describes the answer (reasoning,
include, service tier) is accepted. Input items become stored ``ItemResource`` objects
(``items.py``), and those become the core ``ChatRequest``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from continuum.core.types import ChatRequest, SamplingParams, Tool
from continuum.dialects.responses.items import NewId, messages_of, output_text_part


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class InputText(_Open):
    type: Literal["input_text"]
    text: str


class OutputText(_Open):
    """Text an assistant wrote, when the client sends a conversation back."""

    type: Literal["output_text"]
    text: str


class Refusal(_Open):
    type: Literal["refusal"]
    refusal: str


class InputImage(_Open):
    type: Literal["input_image"]
    image_url: str = Field(min_length=1)
    detail: Literal["low", "high", "auto", "original"] = "auto"


def _part_type(value: Any) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return f"type={kind}"


# Union members are tagged ``type=<type>``, so an error's location can leave the tag out
# of the ``param`` it names (``core.json_body``): ``input.0.role``, not ``input.0.message.role``.
ContentPart = Annotated[
    Annotated[InputText, Tag("type=input_text")]
    | Annotated[OutputText, Tag("type=output_text")]
    | Annotated[Refusal, Tag("type=refusal")]
    | Annotated[InputImage, Tag("type=input_image")],
    Discriminator(
        _part_type,
        custom_error_type="invalid_content_part",
        custom_error_message="unsupported content part: use input_text, output_text, "
        "refusal or input_image",
    ),
]


def _input_part(part: InputText | OutputText | Refusal | InputImage) -> dict[str, Any]:
    if isinstance(part, InputImage):
        return {"type": "input_image", "image_url": part.image_url, "detail": part.detail}
    text = part.refusal if isinstance(part, Refusal) else part.text
    return {"type": "input_text", "text": text}


def _assistant_part(part: InputText | OutputText | Refusal | InputImage) -> dict[str, Any]:
    if isinstance(part, Refusal):
        return {"type": "refusal", "refusal": part.refusal}
    if isinstance(part, InputImage):
        raise ValueError("an assistant message cannot hold an image")
    return output_text_part(part.text)


class MessageItem(_Open):
    """A message: ``EasyInputMessage`` (``type`` may be left out) or a full input message."""

    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"]
    content: str | list[ContentPart]
    id: str | None = None
    status: Literal["in_progress", "completed", "incomplete"] | None = None

    @model_validator(mode="after")
    def _assistant_text_only(self) -> MessageItem:
        if self.role == "assistant" and isinstance(self.content, list):
            for part in self.content:
                _assistant_part(part)
        return self

    def resource(self, new_id: NewId) -> dict[str, Any]:
        """An ``InputMessageResource`` (``OutputMessage`` for the assistant's own words)."""
        assistant = self.role == "assistant"
        if isinstance(self.content, str):
            parts = [
                output_text_part(self.content)
                if assistant
                else {"type": "input_text", "text": self.content}
            ]
        else:
            convert = _assistant_part if assistant else _input_part
            parts = [convert(part) for part in self.content]
        return {
            "id": self.id or new_id("msg_"),
            "type": "message",
            "role": self.role,
            "status": "completed",
            "content": parts,
        }


class FunctionCallItem(_Open):
    """A call the model made in an earlier turn, sent back with the conversation."""

    type: Literal["function_call"]
    call_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    arguments: str
    id: str | None = None
    status: Literal["in_progress", "completed", "incomplete"] | None = None

    def resource(self, new_id: NewId) -> dict[str, Any]:
        return {
            "id": self.id or new_id("fc_"),
            "type": "function_call",
            "status": "completed",
            "call_id": self.call_id,
            "name": self.name,
            "arguments": self.arguments,
        }


class FunctionCallOutputItem(_Open):
    """The result of a function call, for the model to read."""

    type: Literal["function_call_output"]
    call_id: str = Field(min_length=1, max_length=64)
    output: str | list[ContentPart]
    id: str | None = None
    status: Literal["in_progress", "completed", "incomplete"] | None = None

    def resource(self, new_id: NewId) -> dict[str, Any]:
        output = self.output
        return {
            "id": self.id or new_id("fco_"),
            "type": "function_call_output",
            "status": "completed",
            "call_id": self.call_id,
            "output": output if isinstance(output, str) else [_input_part(p) for p in output],
        }


def _item_type(value: Any) -> str | None:
    if isinstance(value, dict):
        return f"type={value.get('type', 'message')}"
    return f"type={getattr(value, 'type', None)}"


InputItem = Annotated[
    Annotated[MessageItem, Tag("type=message")]
    | Annotated[FunctionCallItem, Tag("type=function_call")]
    | Annotated[FunctionCallOutputItem, Tag("type=function_call_output")],
    Discriminator(
        _item_type,
        custom_error_type="invalid_input_item",
        custom_error_message="unsupported input item: use message, function_call or "
        "function_call_output",
    ),
]


class FunctionTool(_Open):
    type: Literal["function"]
    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolChoiceFunction(BaseModel):
    type: Literal["function"]
    name: str


class TextFormat(_Open):
    type: Literal["text", "json_object", "json_schema"]
    name: str | None = None
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")
    description: str | None = None
    strict: bool | None = None

    @model_validator(mode="after")
    def _named_schema(self) -> TextFormat:
        if self.type == "json_schema" and (self.name is None or self.json_schema is None):
            raise ValueError("a json_schema format needs a 'name' and a 'schema'")
        return self


class TextConfig(_Open):
    format: TextFormat | None = None
    verbosity: Literal["low", "medium", "high"] | None = None


class StreamOptions(BaseModel):
    include_obfuscation: bool | None = None


def _metadata(value: dict[str, str] | None) -> dict[str, str] | None:
    if value is None:
        return None
    if len(value) > 16:
        raise ValueError("at most 16 metadata keys")
    for key, text in value.items():
        if len(key) > 64 or len(text) > 512:
            raise ValueError("metadata keys are at most 64 characters, values at most 512")
    return value


class CreateResponseRequest(_Open):
    """Creates a model response from text or a list of input items (OpenAI Responses API)."""

    model: str = Field(min_length=1)
    input: str | list[InputItem]
    instructions: str | None = None
    previous_response_id: str | None = None
    tools: list[FunctionTool] | None = None
    tool_choice: Literal["none", "auto", "required"] | ToolChoiceFunction | None = None
    parallel_tool_calls: bool | None = None
    max_output_tokens: int | None = Field(default=None, ge=16)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    metadata: dict[str, str] | None = None
    store: bool | None = True
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    text: TextConfig | None = None
    truncation: Literal["auto", "disabled"] | None = None
    user: str | None = None
    reasoning: dict[str, Any] | None = None
    include: list[str] | None = None
    background: bool | None = Field(
        default=None, description="Background mode is not supported: omit it or send false."
    )
    conversation: Any = Field(
        default=None, description="Conversations are not supported: use previous_response_id."
    )

    _check_metadata = field_validator("metadata")(_metadata)

    @field_validator("background")
    @classmethod
    def _no_background(cls, value: bool | None) -> bool | None:
        if value:
            raise ValueError("background mode is not supported")
        return value

    @field_validator("conversation")
    @classmethod
    def _no_conversation(cls, value: Any) -> None:
        if value is not None:
            raise ValueError("conversations are not supported; use previous_response_id")
        return None

    @property
    def stored(self) -> bool:
        return self.store is not False

    def tool_objects(self) -> list[dict[str, Any]]:
        """The tools as the Response object echoes them (``FunctionTool``)."""
        return [
            {
                "type": "function",
                "name": tool.name,
                "description": tool.description,
                "parameters": tool.parameters,
                "strict": tool.strict,
            }
            for tool in self.tools or ()
        ]

    def tool_choice_object(self) -> str | dict[str, str]:
        if isinstance(self.tool_choice, ToolChoiceFunction):
            return {"type": "function", "name": self.tool_choice.name}
        return self.tool_choice or "auto"

    def text_object(self) -> dict[str, Any]:
        fmt = self.text.format if self.text else None
        if fmt is None:
            return {"format": {"type": "text"}}
        return {"format": fmt.model_dump(by_alias=True, exclude_none=True)}

    def response_fields(self) -> dict[str, Any]:
        """What the Response object echoes of this request (``output.Head.fields``)."""
        fields: dict[str, Any] = {
            "instructions": self.instructions,
            "max_output_tokens": self.max_output_tokens,
            "max_tool_calls": None,
            "model": self.model,
            "parallel_tool_calls": self.parallel_tool_calls is not False,
            "previous_response_id": self.previous_response_id,
            "prompt_cache_key": None,
            "reasoning": None,
            "safety_identifier": None,
            "service_tier": "default",
            "store": self.stored,
            "temperature": 1.0 if self.temperature is None else self.temperature,
            "text": self.text_object(),
            "tool_choice": self.tool_choice_object(),
            "tools": self.tool_objects(),
            "top_logprobs": 0,
            "top_p": 1.0 if self.top_p is None else self.top_p,
            "truncation": self.truncation or "disabled",
            "metadata": self.metadata or {},
        }
        if self.user is not None:
            fields["user"] = self.user
        return fields

    def input_resources(self, new_id: NewId) -> list[dict[str, Any]]:
        """This request's own input, as stored ``ItemResource`` objects with ids."""
        if isinstance(self.input, str):
            return [MessageItem(role="user", content=self.input).resource(new_id)]
        return [item.resource(new_id) for item in self.input]

    def _response_format(self) -> dict[str, Any] | None:
        fmt = self.text.format if self.text else None
        if fmt is None or fmt.type == "text":
            return None
        if fmt.type == "json_object":
            return {"type": "json_object"}
        schema: dict[str, Any] = {"name": fmt.name, "schema": fmt.json_schema}
        if fmt.description is not None:
            schema["description"] = fmt.description
        if fmt.strict is not None:
            schema["strict"] = fmt.strict
        return {"type": "json_schema", "json_schema": schema}

    def to_core(self, request_id: str, conversation: list[dict[str, Any]]) -> ChatRequest:
        """The chat the model answers: the instructions, then ``conversation`` (input items)."""
        params = SamplingParams(
            max_tokens=self.max_output_tokens, temperature=self.temperature, top_p=self.top_p
        )
        tools = tuple(Tool(t.name, t.description, t.parameters) for t in self.tools or ())
        tool_choice: str | dict[str, Any] | None
        if isinstance(self.tool_choice, ToolChoiceFunction):
            tool_choice = {"type": "function", "function": {"name": self.tool_choice.name}}
        else:
            tool_choice = self.tool_choice
        extra = {"parallel_tool_calls": False} if self.parallel_tool_calls is False else {}
        return ChatRequest(
            model=self.model,
            messages=messages_of(conversation, self.instructions),
            params=params,
            tools=tools,
            tool_choice=tool_choice,
            response_format=self._response_format(),
            user=self.user,
            request_id=request_id,
            extra=extra,
            stream=bool(self.stream),
        )
