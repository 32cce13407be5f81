"""Bytes (or decoded JSON) to a validated pydantic model, with the errors every door shares."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from continuum.errors import MalformedJSON, SchemaViolation

M = TypeVar("M", bound=BaseModel)


def _violation(error: ValidationError, prefix: str = "") -> SchemaViolation | MalformedJSON:
    first = error.errors(include_url=False)[0]
    if first["type"] == "json_invalid":
        return MalformedJSON(f"The body is not valid JSON: {first['msg']}")
    param = prefix + ".".join(str(part) for part in first["loc"]) or None
    return SchemaViolation(f"{first['msg']}: '{param}'", param=param)


def parse_json(body: bytes | str, model: type[M]) -> M:
    """Parse and validate: ``MalformedJSON`` if broken, ``SchemaViolation`` naming the field."""
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        raise _violation(error) from None


def validate(value: object, model: type[M], prefix: str = "") -> M:
    """Validate JSON a door has already decoded (a part of a larger message, say).

    ``SchemaViolation`` names the field as ``prefix`` + its path (``"settings."``).
    """
    try:
        return model.model_validate(value)
    except ValidationError as error:
        raise _violation(error, prefix) from None
