"""How the HTTP door is served: uvicorn's options, and the one thing uvicorn lacks.

Uvicorn bounds idle kept-alive connections (``timeout_keep_alive``) and concurrent
connections (``limit_concurrency``: a request beyond it is answered 503), but with the
httptools parser nothing bounds the time a client may take to send its request line
and headers: a connection that sends nothing, or one byte a second, is held for ever
(issue 9: 500 such sockets held 500 descriptors for as long as they liked). And a
connection over ``limit_concurrency`` is still accepted and held until its headers end.

``GatewayProtocol`` adds, at the protocol level (no task per connection, one timer):

* a header deadline: from the connection's start, or the first byte of each later
  request, the request line and headers must arrive within ``header_timeout`` seconds;
  otherwise the connection is closed (with a 408 if part of a request came);
* a header size bound (``max_header_bytes``, 431) since httptools has none;
* connections over ``limit_concurrency`` are answered 503 and closed at once, so idle
  sockets beyond the cap never hold a descriptor.

The body has its own deadline, in ``doors/http/body.read_body`` (408), where the app
reads it. See docs/decisions.md, "Slow clients".
"""

from __future__ import annotations

import asyncio
import functools
import resource
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from continuum.doors.ws.protocol import CorkedWebSockets
from continuum.settings import Settings

MAX_HEADER_BYTES = 64 * 1024


def _answer(status: bytes, reason: bytes) -> bytes:
    return (
        b"HTTP/1.1 " + status + b" " + reason + b"\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"content-length: " + str(len(reason)).encode() + b"\r\nconnection: close\r\n\r\n" + reason
    )


TIMED_OUT = _answer(b"408", b"Request Timeout")
TOO_LARGE = _answer(b"431", b"Request Header Fields Too Large")
OVERLOADED = _answer(b"503", b"Service Unavailable")


class GatewayProtocol(HttpToolsProtocol):
    """Uvicorn's httptools protocol with a header deadline, a header size bound and a
    connection cap that refuses at once (see the module docstring)."""

    def __init__(
        self,
        *args: Any,
        header_timeout: float = 10.0,
        max_header_bytes: int = MAX_HEADER_BYTES,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self._header_timeout = header_timeout
        self._max_header_bytes = max_header_bytes
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._requesting = False  # a request has begun and its headers are not complete
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.limit_concurrency is not None and len(self.connections) >= self.limit_concurrency:
            self._refuse(OVERLOADED)
            return
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._refused:
            super().data_received(data)

    def send_400_response(self, msg: str) -> None:
        if not self._refused:  # after our own 431 the parser's complaint is not sent
            super().send_400_response(msg)

    # Parser callbacks
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._requesting = True
        self._header_bytes = 0
        if self._header_timer is None:
            self._arm()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value))
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._requesting = False
        self._disarm()
        super().on_headers_complete()

    # The deadline and the bounds
    def _count(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > self._max_header_bytes:
            self._refuse(TOO_LARGE)
            raise ValueError("request headers too large")  # stops the parser

    def _arm(self) -> None:
        self._header_timer = self.loop.call_later(self._header_timeout, self._headers_late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self._requesting:
            self._refuse(TIMED_OUT)
        elif self.cycle is None:  # silent since the connection opened: nothing to answer
            self._refused = True
            self.transport.close()

    def _refuse(self, answer: bytes) -> None:
        self._refused = True
        self._disarm()
        if not self.transport.is_closing():
            self.transport.write(answer)
            self.transport.close()


def default_max_connections() -> int:
    """Half the process's file descriptors: a proxied request holds two (client, upstream)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    return max(64, soft // 2)


def server_options(settings: Settings) -> dict[str, Any]:
    """Uvicorn options for serving a gateway (``uvicorn.Config(app, **options)``)."""
    protocol = functools.partial(GatewayProtocol, header_timeout=settings.header_timeout)
    return {
        "http": protocol,
        "ws": CorkedWebSockets,  # one write per loop turn, not per message
        "limit_concurrency": settings.max_connections or default_max_connections(),
        "timeout_keep_alive": settings.keep_alive_timeout,
        # Without a bound, uvicorn waits at shutdown for every open stream and WebSocket
        # to end on its own: a server with a thousand live sessions never exits on SIGTERM.
        "timeout_graceful_shutdown": settings.shutdown_timeout,
    }
