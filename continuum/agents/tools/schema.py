"""A tool's argument model and JSON Schema, derived from its Python signature.

Each parameter becomes a field of a pydantic model, which both validates the arguments
a model sends and produces the JSON Schema the model is shown. The fields are named
``arg0``, ``arg1``, … with the parameter's name as their alias, so that parameters called
``json``, ``schema`` or ``model_id`` cannot collide with pydantic's own attributes.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.errors import PydanticSchemaGenerationError, PydanticUserError


@dataclass(frozen=True, slots=True)
class Signature:
    """How to validate a tool's arguments and call its function with them."""

    model: type[BaseModel]
    fields: Mapping[str, str]  # field name -> parameter name
    positional: tuple[str, ...]  # parameters that can only be passed by position
    context_parameter: str | None  # the parameter that receives the ToolContext, if any
    schema: dict[str, Any]


def _strip_titles(schema: Any) -> Any:
    """Drop pydantic's generated ``title`` keys: models are shown names and descriptions."""
    if isinstance(schema, list):
        return [_strip_titles(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    cleaned: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title":
            continue
        if key in ("properties", "$defs", "patternProperties"):
            cleaned[key] = {name: _strip_titles(item) for name, item in value.items()}
        else:
            cleaned[key] = _strip_titles(value)
    return cleaned


def build_signature(
    function: Callable[..., Any],
    tool_name: str,
    descriptions: Mapping[str, str],
    context_type: type,
) -> Signature:
    """Read ``function``'s parameters; raises ``TypeError`` naming what cannot be a tool."""
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except (NameError, TypeError) as error:
        raise TypeError(f"tool {tool_name!r}: cannot read its type hints ({error})") from None
    definitions: dict[str, Any] = {}
    fields: dict[str, str] = {}
    positional: list[str] = []
    context_parameter = None
    for parameter in inspect.signature(function).parameters.values():
        name = parameter.name
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise TypeError(f"tool {tool_name!r}: *{name} is not allowed; name each parameter")
        if name not in hints:
            raise TypeError(f"tool {tool_name!r}: parameter {name!r} needs a type hint")
        if hints[name] is context_type:
            context_parameter = name
            continue
        if parameter.kind is parameter.POSITIONAL_ONLY:
            positional.append(name)
        field_name = f"arg{len(fields)}"
        default = ... if parameter.default is parameter.empty else parameter.default
        definitions[field_name] = (
            hints[name],
            Field(default, alias=name, description=descriptions.get(name)),
        )
        fields[field_name] = name
    try:
        model = create_model(
            f"{tool_name}_arguments",
            __config__=ConfigDict(extra="forbid", populate_by_name=False),
            **definitions,
        )
        schema = _strip_titles(model.model_json_schema(by_alias=True))
    except (PydanticSchemaGenerationError, PydanticUserError) as error:
        raise TypeError(f"tool {tool_name!r}: {error}") from None
    # Always say which arguments are required, even none: an absent list would leave a
    # reader (or the local models) to guess that every property is.
    schema.setdefault("required", [])
    model_type: type[BaseModel] = model
    return Signature(model_type, fields, tuple(positional), context_parameter, schema)
