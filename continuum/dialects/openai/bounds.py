"""Limits of an OpenAI chat request that its JSON Schema cannot state, checked after parsing.

* A model id is at most ``MAX_MODEL_ID`` printable characters: ids are stored in the
  usage ledger and echoed in logs, and no provider names a model otherwise.
* Every integer the gateway may forward (the typed ones and those inside free-form
  fields: extra top-level fields, ``response_format``, tool parameters, non-text content
  parts, ``tool_choice``) fits in 64 signed bits. JSON has no integer limit, but every
  upstream does, and so does the JSON encoder the providers use (orjson), which refused
  them with a 500 before this check existed.

Both are a 400 (``InvalidRequest``) naming the parameter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from continuum.errors import InvalidRequest

if TYPE_CHECKING:
    from continuum.dialects.openai.request import ChatCompletionRequest

MAX_MODEL_ID = 256
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def check_model_id(model: str) -> None:
    if len(model) > MAX_MODEL_ID:
        raise InvalidRequest(
            f"'model' is {len(model)} characters long; model ids have at most {MAX_MODEL_ID}",
            param="model",
        )
    if not model.isprintable():
        raise InvalidRequest("'model' holds control characters", param="model")


def _refuse(path: str, value: int) -> InvalidRequest:
    digits = len(str(abs(value)))
    return InvalidRequest(
        f"'{path}' is an integer of {digits} digits, outside the 64-bit range "
        f"({INT64_MIN}..{INT64_MAX})",
        param=path,
    )


def check_value(value: Any, path: str) -> None:
    """Refuse an integer outside 64 bits anywhere inside ``value`` (JSON data)."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        kind = item.__class__
        if kind is int:
            if not INT64_MIN <= item <= INT64_MAX:
                raise _refuse(where, item)
        elif kind is dict:
            stack.extend((v, f"{where}.{k}" if where else str(k)) for k, v in item.items())
        elif kind is list:
            stack.extend((v, f"{where}.{i}") for i, v in enumerate(item))


def check_request(request: ChatCompletionRequest) -> None:
    """The model id's length and characters, and every integer of ``request`` that could
    reach a provider (64 signed bits), except non-text content parts' (``MessageIn``)."""
    model = request.model
    if len(model) > MAX_MODEL_ID or not model.isprintable():
        check_model_id(model)
    if request.max_tokens is not None and not 0 < request.max_tokens <= INT64_MAX:
        raise _refuse("max_tokens", request.max_tokens)
    if request.max_completion_tokens is not None and request.max_completion_tokens > INT64_MAX:
        raise _refuse("max_completion_tokens", request.max_completion_tokens)
    if request.seed is not None and not INT64_MIN <= request.seed <= INT64_MAX:
        raise _refuse("seed", request.seed)
    if request.model_extra:
        check_value(request.model_extra, "")
    if request.response_format:
        check_value(request.response_format, "response_format")
    for index, tool in enumerate(request.tools or ()):
        if tool.function.parameters:
            check_value(tool.function.parameters, f"tools.{index}.function.parameters")
    if isinstance(request.tool_choice, BaseModel) and request.tool_choice.model_extra:
        check_value(request.tool_choice.model_extra, "tool_choice")
    # Non-text content parts are checked as ``MessageIn.to_core`` passes them on.
