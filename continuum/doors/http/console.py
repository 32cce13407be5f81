"""``/ui``: the web console, static files shipped in the package (``continuum/ui/static``).

The console is plain HTML, CSS and JavaScript modules, served as they are (no build
step, nothing from a CDN). It talks to the gateway's own API with the key the user
typed, kept in the tab's ``sessionStorage``. Every response under ``/ui`` carries a
strict Content-Security-Policy: scripts, styles and connections only from this origin
(plus its WebSocket URLs), no inline code, Trusted Types enforced, no framing.

``GET /ui/api/session`` tells the console who a key belongs to and what it may do, so
it never has to probe endpoints that would answer with an error.
"""

from __future__ import annotations

import hashlib
import re
from importlib.resources import files
from importlib.resources.abc import Traversable

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from continuum.auth.admin import ADMIN
from continuum.dialects.openai.errors import error_object
from continuum.doors.http.auth import authenticate
from continuum.doors.http.services import gateway_of
from continuum.errors import AuthenticationFailed, MethodNotAllowed, NotFound

router = APIRouter(include_in_schema=False)

STATIC: Traversable = files("continuum.ui").joinpath("static")
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".json": "application/json",
}
# A Host header fit to be repeated in the policy: a name or address and a port.
_HOST = re.compile(r"[A-Za-z0-9.\-]{1,253}(:\d{1,5})?|\[[0-9A-Fa-f:.]{2,45}\](:\d{1,5})?")


def content_security_policy(host: str | None) -> str:
    """The policy for a console page served as ``host``.

    ``'self'`` covers ws:/wss: of the same host in current browsers (CSP level 3); the
    explicit WebSocket sources keep older ones working too.
    """
    connect = "'self'"
    if host and _HOST.fullmatch(host):
        connect += f" ws://{host} wss://{host}"
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self'",
            f"connect-src {connect}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "require-trusted-types-for 'script'",
            "trusted-types 'none'",
        )
    )


def security_headers(request: Request) -> dict[str, str]:
    return {
        "content-security-policy": content_security_policy(request.headers.get("host")),
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "no-referrer",
        "cross-origin-opener-policy": "same-origin",
        "cross-origin-resource-policy": "same-origin",
    }


def _json(request: Request, payload: object, status: int = 200) -> Response:
    headers = {**security_headers(request), "cache-control": "no-store"}
    return Response(orjson.dumps(payload), status, headers, media_type="application/json")


def _asset(path: str) -> Traversable | None:
    parts = path.split("/")
    if any(not part or part.startswith(".") for part in parts):
        return None  # no "..", no hidden files, no empty segments
    suffix = "." + parts[-1].rsplit(".", 1)[-1] if "." in parts[-1] else ""
    if suffix not in TYPES:
        return None
    resource = STATIC.joinpath(*parts)
    return resource if resource.is_file() else None


@router.api_route("/ui", methods=["GET", "HEAD"])
async def console_root(request: Request) -> Response:
    """Redirect to ``/ui/`` so the page's relative URLs resolve under it."""
    # A relative location keeps working behind a proxy that mounts the gateway on a prefix.
    headers = {**security_headers(request), "location": "ui/"}
    return Response(status_code=308, headers=headers)


@router.api_route("/ui/api/session", methods=["GET", "HEAD"])
async def console_session(request: Request) -> Response:
    """Who the bearer key is and what the console may show them (200 even for bad keys)."""
    try:
        principal = await authenticate(request)
    except AuthenticationFailed as error:
        return _json(request, {"valid": False, **error_object(error)})
    # The admin key manages keys and reads usage; it may use no model.
    models = gateway_of(request).pipeline.visible_models(principal)
    body = {
        "valid": True,
        "user": principal.id,
        "name": principal.name,
        "admin": principal.is_admin,
        "admin_key": principal is ADMIN,
        "models": [route.id for route in models],
    }
    return _json(request, body)


@router.api_route("/ui", methods=["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
@router.api_route("/ui/{path:path}", methods=["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
async def console_other_method(request: Request) -> Response:
    """Only reading: a 405 that carries the policy too (the router's own 405 would not)."""
    error = MethodNotAllowed(
        f"Method {request.method} is not allowed on {request.url.path}; the console is GET only."
    )
    response = _json(request, error_object(error), status=405)
    response.headers["allow"] = "GET, HEAD"
    return response


@router.api_route("/ui/{path:path}", methods=["GET", "HEAD"])
async def console_file(request: Request, path: str) -> Response:
    """A static file of the console (``index.html`` for ``/ui/``)."""
    resource = _asset(path or "index.html")
    if resource is None:
        error = NotFound(f"Unknown request URL: GET /ui/{path}. Please check the URL and method.")
        return _json(request, error_object(error), status=404)
    body = resource.read_bytes()  # a few kB, from the installed package
    etag = f'"{hashlib.sha256(body).hexdigest()[:20]}"'
    headers = {**security_headers(request), "etag": etag, "cache-control": "no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    suffix = "." + resource.name.rsplit(".", 1)[-1]
    return Response(body, headers=headers, media_type=TYPES[suffix])
