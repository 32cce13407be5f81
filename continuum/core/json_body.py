"""Bytes (or decoded JSON) to a validated pydantic model, with the errors every door shares."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from continuum.errors import MalformedJSON, SchemaViolation

M = TypeVar("M", bound=BaseModel)

_TYPE_LABELS = frozenset({"str", "int", "float", "bool", "bytes", "none", "dict", "list"})


def _is_field(part: int | str) -> bool:
    # pydantic puts union members in an error's location: ``str``, ``list[...]``,
    # ``function-after[...]``, and the tags of tagged unions (``type=message`` in ours).
    return isinstance(part, int) or not (part in _TYPE_LABELS or "[" in part or "=" in part)


def _violation(error: ValidationError, prefix: str = "") -> SchemaViolation | MalformedJSON:
    """Of several errors the deepest is reported: for a field that may be a string or a
    list, the list's bad item says more than "should be a valid string"."""
    errors = error.errors(include_url=False)
    if errors[0]["type"] == "json_invalid":
        return MalformedJSON(f"The body is not valid JSON: {errors[0]['msg']}")
    # Deepest first; at equal depth, a member that nearly matched ("at most 4 items")
    # over one of the wrong type ("should be a valid string").
    worst = max(errors, key=lambda e: (len(e["loc"]), not e["type"].endswith("_type")))
    path = ".".join(str(part) for part in worst["loc"] if _is_field(part))
    param = prefix + path if path else (prefix.rstrip(".") or None)
    if param is None:
        return SchemaViolation(f"{worst['msg']} (the body as a whole)")
    return SchemaViolation(f"{worst['msg']}: '{param}'", param=param)


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
