"""Reading a request body without ever holding more than the configured limit, or for ever."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Generator
from typing import Any

from starlette.requests import Request
from starlette.types import Message

from continuum.errors import ClientClosed, InvalidRequest, PayloadTooLarge, RequestTimeout

log = logging.getLogger("continuum.http")
# When the app carries no gateway settings (a bare test app).
DEFAULT_TIMEOUT = 60.0


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Request body is larger than the limit of {limit} bytes")


def declared_length(request: Request) -> int | None:
    """The body's ``Content-Length``, if the client declared one."""
    declared = request.headers.get("content-length")
    if declared is None:
        return None
    try:
        return int(declared)
    except ValueError:
        raise InvalidRequest("Content-Length is not a number") from None


def _configured_timeout(request: Request) -> float:
    gateway = getattr(request.app.state, "gateway", None)
    return gateway.settings.body_timeout if gateway is not None else DEFAULT_TIMEOUT


class _Suspended:
    """Awaits the rest of a coroutine that was started by hand and has just yielded
    ``pending`` (as ``yield from`` would have)."""

    __slots__ = ("_pending", "_step")

    def __init__(self, step: Generator[Any, Any, Message], pending: Any):
        self._step = step
        self._pending = pending

    def __await__(self) -> Generator[Any, Any, Message]:
        step, pending = self._step, self._pending
        while True:
            try:
                value = yield pending
            except GeneratorExit:
                step.close()
                raise
            except BaseException as error:  # noqa: BLE001 - delegated, as yield from does
                try:
                    pending = step.throw(error)
                except StopIteration as done:
                    return done.value  # type: ignore[no-any-return]
            else:
                try:
                    pending = step.send(value)
                except StopIteration as done:
                    return done.value  # type: ignore[no-any-return]


async def _wait(step: Generator[Any, Any, Message], pending: Any, deadline: float) -> Message:
    """The rest of a ``receive`` that has to wait: now under the deadline."""
    async with asyncio.timeout_at(deadline):
        return await _Suspended(step, pending)


async def read_body(request: Request, limit: int, seconds: float | None = None) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed ``limit``.

    A declared ``Content-Length`` over the limit is refused before anything is read;
    a chunked body is counted as it arrives and refused at the first byte too many.
    The whole body must arrive within ``seconds`` (default: the gateway's
    ``body_timeout``), else 408: a body shorter than its ``Content-Length`` or a chunked
    body that never ends gets an answer instead of holding the connection. A client
    that leaves mid-upload is ``ClientClosed`` (499), logged at debug level only.
    """
    length = declared_length(request)
    if length is not None and length > limit:
        raise _too_large(limit)
    if seconds is None:
        seconds = _configured_timeout(request)
    deadline = asyncio.get_running_loop().time() + seconds
    receive = request.receive
    chunks: list[bytes] = []
    size = 0
    more = True
    try:
        while more:
            # Almost every body is already there when the route runs (it came with the
            # headers): ``receive`` then finishes on its first step and no timer is made,
            # which would cost more than the rest of reading the body.
            step = receive().__await__()
            try:
                pending = step.send(None)
            except StopIteration as done:
                message = done.value
            else:
                message = await _wait(step, pending, deadline)
            if message["type"] == "http.disconnect":
                log.debug("%s %s: the client left during the upload", request.method, request.url)
                raise ClientClosed("The client closed the connection during the upload.")
            chunk = message.get("body", b"")
            more = message.get("more_body", False)
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            if chunk:
                chunks.append(chunk)
    except TimeoutError:
        raise RequestTimeout(
            f"The request body did not arrive within {seconds:g} s ({size} bytes came)"
        ) from None
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
