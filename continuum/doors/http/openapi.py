"""How an HTTP route declares its schemas, the ``/openapi.json`` built from them, and ``/docs``.

Routes read their bodies themselves (bounded, validated in one pass, errors in their
door's shape), so FastAPI cannot see their schemas; each route declares them instead:

    @router.post("/v1/responses", summary="Create a model response", **operation(
        body=CreateResponseRequest,              # a pydantic model of the request body
        ok="Response",                           # JSON answer: a model or an official name
        stream=EVENTS,                           # and/or a text/event-stream answer (one of)
        errors=(400, 401, 403, 404, 413, 429, 502, 503, 504),
    ))

A schema is a pydantic model (its JSON Schema goes into the components under the
class name) or the name of an official OpenAI component (``dialects/openai/schemas.json``,
pulled in with everything it references); a list of them is ``oneOf`` them. Name what
the route really sends: the Responses stream lists its 14 event types rather than the
official union of 58, which Swagger UI took 20 s to expand. ``errors`` are the statuses the route
answers, each with the error object (``error_schema``, the OpenAI ``ErrorResponse``
unless a door registers another shape). ``document`` builds the whole document once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from http import HTTPStatus
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import HTMLResponse

from continuum.dialects.openai.schemas import official_schemas

Schema = type[BaseModel] | str
_HOIST = "x-continuum-components"
REF = "#/components/schemas/"

# What each status means on our routes (the error tree's classes, see errors.py).
ERROR_MEANING = {
    400: "Invalid request: malformed JSON or a field that breaks the schema (`param` names it)",
    401: "No API key, or an unknown, revoked or expired one",
    403: "The key may not use this operator endpoint",
    404: "No such resource for this key (a model the key may not use is not found either)",
    408: "The request body did not arrive within the body deadline",
    413: "The request body is larger than the configured limit",
    429: "A rate limit (ours or the upstream's) refused the request; see `Retry-After`",
    499: "The client closed the connection (recorded, never sent)",
    500: "A bug, logged with the request id",
    502: "The upstream provider failed or refused the request",
    503: "The upstream, or the state backend (database, Redis), is unavailable",
    504: "The upstream did not answer in time",
    529: "The upstream is overloaded (Anthropic's status for an unavailable upstream)",
}


def _ref(schema: Schema | Sequence[Schema], hoisted: dict[str, Any]) -> dict[str, Any]:
    if isinstance(schema, Sequence) and not isinstance(schema, str):
        return {"oneOf": [_ref(one, hoisted) for one in schema]}
    if isinstance(schema, str):
        return {"$ref": REF + schema}
    body = schema.model_json_schema(ref_template=REF + "{model}")
    hoisted.update(body.pop("$defs", {}))
    hoisted[schema.__name__] = body
    return {"$ref": REF + schema.__name__}


def operation(
    *,
    body: Schema | None = None,
    body_media: str = "application/json",
    ok: Schema | None = None,
    stream: Schema | Sequence[Schema] | None = None,
    ok_status: int = 200,
    ok_description: str = "OK",
    errors: Iterable[int] = (),
    error_schema: Schema = "ErrorResponse",
) -> dict[str, Any]:
    """Keyword arguments for a route decorator that document its body, answers and errors."""
    hoisted: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    if body is not None:
        extra["requestBody"] = {
            "required": True,
            "content": {body_media: {"schema": _ref(body, hoisted)}},
        }
    content: dict[str, Any] = {}
    if ok is not None:
        content["application/json"] = {"schema": _ref(ok, hoisted)}
    if stream is not None:
        content["text/event-stream"] = {"schema": _ref(stream, hoisted)}
    responses: dict[int | str, dict[str, Any]] = {
        ok_status: {"description": ok_description, "content": content}
    }
    error_ref = _ref(error_schema, hoisted)
    for status in errors:
        responses[status] = {
            "description": ERROR_MEANING.get(status) or HTTPStatus(status).phrase,
            "content": {"application/json": {"schema": error_ref}},
        }
    if hoisted:
        extra[_HOIST] = hoisted
    kwargs: dict[str, Any] = {"openapi_extra": extra, "responses": responses}
    if ok_status != 200:
        kwargs["status_code"] = ok_status
    return kwargs


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF):
            found.add(ref[len(REF) :])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def _official(components: dict[str, Any], document: dict[str, Any]) -> None:
    """Add every official schema the document names, and what those name in turn."""
    official = official_schemas()
    wanted: set[str] = set()
    _refs(document, wanted)
    todo = [name for name in wanted if name not in components]
    while todo:
        name = todo.pop()
        if name in components or name not in official:
            continue
        components[name] = official[name]
        more: set[str] = set()
        _refs(official[name], more)
        todo.extend(more - components.keys())


def _our_statuses(operation: dict[str, Any]) -> None:
    # FastAPI documents a 422 for every route with parameters; ours answer 400 instead,
    # which the routes that can (a query parameter out of range) declare themselves.
    responses = operation.get("responses", {})
    responses.pop("422", None)
    ok = responses.get("200", {}).get("content", {}).get("application/json")
    if ok is not None and ok.get("schema") == {} and len(responses["200"]["content"]) > 1:
        del responses["200"]["content"]["application/json"]  # an SSE-only answer


def document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of ``app`` (built once, then kept on the app)."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for path_item in schema.get("paths", {}).values():
            for op in path_item.values():
                components.update(op.pop(_HOIST, {}))
                _our_statuses(op)
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        _official(components, schema)
        app.openapi_schema = schema
    return app.openapi_schema


def _static() -> Path:
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


def install(app: FastAPI, docs: str = "/docs", redoc: str = "/redoc") -> None:
    """Serve ``/openapi.json`` from ``document`` and the docs pages from package files.

    Make the app with ``docs_url=None, redoc_url=None``: FastAPI's own pages load Swagger
    UI from a CDN, which an offline gateway cannot reach.
    """
    assets = f"{docs}/assets"
    app.openapi = lambda: document(app)  # type: ignore[method-assign]
    app.mount(assets, StaticFiles(directory=_static()), name="docs-assets")

    @app.get(docs, include_in_schema=False)
    async def swagger(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - API",
            swagger_js_url=f"{root}{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{assets}/swagger-ui.css",
            swagger_favicon_url=f"{root}{assets}/favicon.png",
            # Schemas, not generated examples, at first: generating an example of the
            # official Response union took Swagger UI 15 s per operation here.
            swagger_ui_parameters={"defaultModelRendering": "model"},
        )

    @app.get(redoc, include_in_schema=False)
    async def redoc_page(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - API reference",
            redoc_js_url=f"{root}{assets}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{assets}/favicon.png",
            with_google_fonts=False,
        )
