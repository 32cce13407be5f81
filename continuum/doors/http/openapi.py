"""The OpenAPI document: request bodies and the error statuses each route really answers.

Routes read their bodies themselves (``read_body`` + ``parse_json``) and answer errors
in their door's shape, so FastAPI can infer neither; a route says them:

    @router.post("/v1/things", responses=errors(400, 401, 422, 503),
                 openapi_extra=json_body(ThingRequest))

``errors`` takes the statuses (and, for a door with its own error shape, its schema);
``json_body`` a pydantic model. ``document`` (called by ``app``) gathers the schemas
they name into the components and drops FastAPI's own 422 schema, which no route
answers (validation errors are rendered in the door's shape too).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

REF = "#/components/schemas/{model}"
# Schemas an operation brings along, moved into the components by ``document``.
_CARRIED = "x-continuum-components"

OPENAI_ERROR = {
    "type": "object",
    "description": "The OpenAI error object.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
            "required": ["message", "type", "param", "code"],
        }
    },
    "required": ["error"],
}

DESCRIPTIONS = {
    400: "Invalid request (malformed JSON, a value out of range, an unusable name)",
    401: "Missing or unknown API key",
    403: "The key may not do this (not an admin)",
    404: "Not found (a model the key may not use is not found either)",
    408: "The request body did not arrive in time",
    413: "The request body is larger than the limit",
    422: "The body or a parameter breaks the schema (param names the field)",
    429: "Rate limited (Retry-After and x-ratelimit-* headers say when to retry)",
    500: "A bug in the gateway (logged with the request id)",
    502: "The upstream failed or refused",
    503: "The upstream or the gateway's database is unavailable",
    504: "The upstream timed out",
}


def errors(
    *statuses: int, schema: dict[str, Any] | None = None, name: str = "ErrorResponse"
) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route: each status with its door's error body (the OpenAI error
    object unless ``schema``/``name`` give another)."""
    body = {"content": {"application/json": {"schema": {"$ref": REF.format(model=name)}}}}
    carried = {_CARRIED: {name: schema or OPENAI_ERROR}}
    return {
        status: {"description": DESCRIPTIONS.get(status, "Error"), **body, **carried}
        for status in statuses
    }


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra=`` of a route that reads a JSON body validated by ``model``."""
    schema = model.model_json_schema(ref_template=REF)
    components = {**schema.pop("$defs", {}), model.__name__: schema}
    return {
        "requestBody": {
            "content": {"application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}},
            "required": True,
        },
        _CARRIED: components,
    }


def document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of ``app`` (see the module docstring)."""
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components: dict[str, Any] = schema.setdefault("components", {}).setdefault("schemas", {})
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            components.update(operation.pop(_CARRIED, {}))
            responses = operation.get("responses", {})
            for status, response in list(responses.items()):
                components.update(response.pop(_CARRIED, {}))
                if "HTTPValidationError" in str(response.get("content", "")):
                    del responses[status]  # FastAPI's, never answered in this shape
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema
