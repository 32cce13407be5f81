"""Bytes to a validated pydantic model in one pass, with the error mapping every door shares."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from continuum.errors import MalformedJSON, SchemaViolation

M = TypeVar("M", bound=BaseModel)


def parse_json(body: bytes | str, model: type[M]) -> M:
    """Parse and validate: ``MalformedJSON`` if broken, ``SchemaViolation`` naming the field."""
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        if first["type"] == "json_invalid":
            raise MalformedJSON(f"The body is not valid JSON: {first['msg']}") from None
        param = ".".join(str(part) for part in first["loc"]) or None
        raise SchemaViolation(f"{first['msg']}: '{param}'", param=param) from None
