"""Bytes to a validated pydantic model in one pass, with the error mapping every door shares."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from continuum.errors import MalformedJSON, SchemaViolation

M = TypeVar("M", bound=BaseModel)


def _is_field(part: int | str) -> bool:
    # pydantic puts union members in an error's location: ``str``, ``list[...]``,
    # ``function-after[...]``, and the tags of tagged unions (``type=message`` in ours).
    return isinstance(part, int) or not (part in _TYPE_LABELS or "[" in part or "=" in part)


_TYPE_LABELS = frozenset({"str", "int", "float", "bool", "bytes", "none", "dict", "list"})


def parse_json(body: bytes | str, model: type[M]) -> M:
    """Parse and validate: ``MalformedJSON`` if broken, ``SchemaViolation`` naming the field.

    Of several errors the deepest is reported: for a field that may be a string or a
    list, the list's bad item says more than "should be a valid string".
    """
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        errors = error.errors(include_url=False)
        if errors[0]["type"] == "json_invalid":
            raise MalformedJSON(f"The body is not valid JSON: {errors[0]['msg']}") from None
        worst = max(errors, key=lambda e: len(e["loc"]))
        param = ".".join(str(part) for part in worst["loc"] if _is_field(part)) or None
        raise SchemaViolation(f"{worst['msg']}: '{param}'", param=param) from None
