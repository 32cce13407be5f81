"""The three doors ``continuum chat`` talks through, chosen by the URL's scheme.

    http://…  SSE from ``POST /v1/chat/completions`` (``stream: true``)
    ws://…    seed 000's WebSocket chat, ``/v1/chat/completions/ws``
    tcp://…   the Continuum TCP protocol, through ``continuum.client``

Each yields the answer's text as it streams and raises ``ChatFailed`` with the gateway's
own status, code and message when a request fails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect

from continuum.client import ClientError, ServerError, TcpClient
from continuum.core.events import TextDelta

Messages = Sequence[Mapping[str, Any]]
WS_PATH = "/v1/chat/completions/ws"


class ChatFailed(Exception):
    """A request failed. ``fatal``: later requests would fail the same way (a bad key, a
    gateway that cannot be reached), so an interactive session ends."""

    def __init__(self, message: str, *, fatal: bool = False):
        super().__init__(message)
        self.fatal = fatal


def _describe(status: int | None, error: Any) -> str:
    """``401 invalid_api_key: Incorrect API key provided.`` from an OpenAI error object."""
    if isinstance(error, Mapping):
        code, message = error.get("code"), error.get("message") or "the request failed"
    else:
        code, message = None, str(error) if error else "the request failed"
    head = " ".join(str(part) for part in (status, code) if part is not None)
    return f"{head}: {message}" if head else str(message)


class ChatDoor(Protocol):
    """One way to the gateway, kept open for a whole session."""

    async def default_model(self) -> str | None:
        """The first model the key may use, when the door can tell."""
        ...

    def answer(self, model: str, messages: Messages) -> AsyncIterator[str]:
        """The answer's text, piece by piece."""
        ...

    async def aclose(self) -> None: ...


class SseDoor:
    """``http(s)://host:port``: SSE chunks of ``POST /v1/chat/completions``."""

    def __init__(self, url: str, key: str):
        base = url.rstrip("/").removesuffix("/v1")
        headers = {"authorization": f"Bearer {key}"}
        # No read timeout: a model may think for a long time between tokens.
        timeout = httpx.Timeout(10.0, read=None)
        self._http = httpx.AsyncClient(base_url=base, headers=headers, timeout=timeout)

    async def default_model(self) -> str | None:
        return await _first_model(self._http)

    async def answer(self, model: str, messages: Messages) -> AsyncIterator[str]:
        body = {"model": model, "messages": list(messages), "stream": True}
        try:
            async with self._http.stream("POST", "/v1/chat/completions", json=body) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise _http_error(response)
                async for line in response.aiter_lines():
                    if not line.startswith("data: "):
                        continue
                    data = line[6:]
                    if data == "[DONE]":
                        return
                    chunk = orjson.loads(data)
                    if "error" in chunk:
                        raise ChatFailed(_describe(None, chunk["error"]))
                    text = _chunk_text(chunk)
                    if text:
                        yield text
        except httpx.TransportError as error:
            raise ChatFailed(f"cannot reach {self._http.base_url}: {error}", fatal=True) from None
        raise ChatFailed("the answer was cut short (the stream ended without [DONE])")

    async def aclose(self) -> None:
        await self._http.aclose()


def _http_error(response: httpx.Response) -> ChatFailed:
    try:
        error = response.json().get("error")
    except ValueError:
        error = response.text[:200]
    return ChatFailed(_describe(response.status_code, error), fatal=response.status_code == 401)


def _chunk_text(chunk: Mapping[str, Any]) -> str | None:
    for choice in chunk.get("choices") or ():
        if choice.get("index", 0) == 0:
            content: str | None = (choice.get("delta") or {}).get("content")
            return content
    return None


async def _first_model(http: httpx.AsyncClient) -> str | None:
    try:
        response = await http.get("/v1/models")
        models = response.json()["data"] if response.status_code == 200 else []
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None
    return str(models[0]["id"]) if models else None


class WebSocketDoor:
    """``ws(s)://host:port``: seed 000's WebSocket chat, one connection for the session.

    Each request is ``{"token", "model", "messages", "settings"}``; the answer comes as
    OpenAI chunk objects until the one with choice 0's ``finish_reason``, or as
    ``{"error": {...}}``.
    """

    def __init__(self, url: str, key: str):
        parts = urlsplit(url)
        path = parts.path if parts.path not in ("", "/") else WS_PATH
        self.url = urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))
        self.origin = urlunsplit(
            ("https" if parts.scheme == "wss" else "http", parts.netloc, "", "", "")
        )
        self.key = key
        self._socket: ClientConnection | None = None

    async def default_model(self) -> str | None:
        headers = {"authorization": f"Bearer {self.key}"}
        async with httpx.AsyncClient(base_url=self.origin, headers=headers, timeout=10) as http:
            return await _first_model(http)

    async def _connect(self) -> ClientConnection:
        if self._socket is None:
            try:
                self._socket = await ws_connect(self.url, max_size=None, open_timeout=10)
            except (OSError, TimeoutError, websockets.InvalidHandshake) as error:
                raise ChatFailed(f"cannot open {self.url}: {error}", fatal=True) from None
        return self._socket

    async def answer(self, model: str, messages: Messages) -> AsyncIterator[str]:
        socket = await self._connect()
        request = {"token": self.key, "model": model, "messages": list(messages), "settings": {}}
        answer_id: str | None = None
        try:
            await socket.send(orjson.dumps(request).decode())
            while True:
                message = orjson.loads(await socket.recv())
                if not isinstance(message, dict):
                    continue
                if "error" in message:
                    error = message["error"]
                    status = error.get("status") if isinstance(error, Mapping) else None
                    raise ChatFailed(_describe(status, error), fatal=status == 401)
                choices = message.get("choices") or []
                if not choices:
                    continue  # a usage chunk, or one left over from an earlier answer
                if answer_id is None:
                    answer_id = message.get("id")
                elif message.get("id") != answer_id:
                    continue
                text = _chunk_text(message)
                if text:
                    yield text
                if any(c.get("index", 0) == 0 and c.get("finish_reason") for c in choices):
                    return
        except websockets.ConnectionClosed as closed:
            self._socket = None
            raise ChatFailed(f"the WebSocket closed: {closed}", fatal=True) from None

    async def aclose(self) -> None:
        if self._socket is not None:
            await self._socket.close()


class TcpDoorClient:
    """``tcp://host[:port]``: the Continuum TCP protocol, one connection for the session."""

    def __init__(self, url: str, key: str):
        self.url = url
        self.key = key
        self._client: TcpClient | None = None

    async def default_model(self) -> str | None:
        return None  # the protocol has no model list; the caller falls back

    async def _connect(self) -> TcpClient:
        if self._client is None:
            try:
                self._client = await TcpClient.connect_url(self.url, self.key)
            except ServerError as error:
                raise ChatFailed(_server_error(error), fatal=True) from None
            except (OSError, TimeoutError, ClientError) as error:
                raise ChatFailed(f"cannot reach {self.url}: {error}", fatal=True) from None
        return self._client

    async def answer(self, model: str, messages: Messages) -> AsyncIterator[str]:
        client = await self._connect()
        try:
            async with client.stream({"model": model, "messages": list(messages)}) as stream:
                async for text in _texts(stream):
                    yield text
        except ServerError as error:
            raise ChatFailed(_server_error(error)) from None
        except ClientError as error:  # the connection went away (or GOAWAY)
            self._client = None
            raise ChatFailed(f"the connection to {self.url} ended: {error}", fatal=True) from None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()


def _server_error(error: ServerError) -> str:
    return _describe(error.status, {"code": error.code, "message": error.message})


async def _texts(stream: AsyncIterator[object]) -> AsyncIterator[str]:
    async for event in stream:
        if isinstance(event, TextDelta) and event.choice == 0 and event.text:
            yield event.text


def open_door(url: str, key: str) -> ChatDoor:
    """The door for ``url``'s scheme; ``ValueError`` for any other scheme."""
    scheme = urlsplit(url).scheme
    if scheme in ("http", "https"):
        return SseDoor(url, key)
    if scheme in ("ws", "wss"):
        return WebSocketDoor(url, key)
    if scheme == "tcp":
        if not urlsplit(url).hostname:
            raise ValueError(f"not a tcp://host[:port] URL: {url!r}")
        return TcpDoorClient(url, key)
    raise ValueError(f"unsupported URL {url!r}: use http://, ws:// or tcp://")
