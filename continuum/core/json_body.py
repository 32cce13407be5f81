"""Bytes to a validated pydantic model in one pass, with the error mapping every door shares."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from continuum.errors import MalformedJSON, SchemaViolation

M = TypeVar("M", bound=BaseModel)

_TYPE_TAGS = frozenset({"str", "int", "float", "bool", "list", "dict", "none", "literal"})


def _is_tag(part: str | int) -> bool:
    """A union member's tag in an error location (``str``, ``list[str]``, ``StreamOptions``),
    which names no field of the body."""
    if not isinstance(part, str):
        return False
    return part in _TYPE_TAGS or "[" in part or part[:1].isupper()


def _most_telling(errors: list[Any]) -> Any:
    """The first field's error; for a union, the member that nearly matched says more than
    "should be a string"."""
    field = errors[0]["loc"][:1]
    for error in errors:
        if error["loc"][:1] != field:
            break
        if not error["type"].endswith("_type"):
            return error
    return errors[0]


def parse_json(body: bytes | str, model: type[M]) -> M:
    """Parse and validate: ``MalformedJSON`` if broken, ``SchemaViolation`` naming the field."""
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        errors = error.errors(include_url=False)
        if errors[0]["type"] == "json_invalid":
            raise MalformedJSON(f"The body is not valid JSON: {errors[0]['msg']}") from None
        first = _most_telling(errors)
        param = ".".join(str(part) for part in first["loc"] if not _is_tag(part)) or None
        raise SchemaViolation(f"{first['msg']}: '{param}'", param=param) from None
