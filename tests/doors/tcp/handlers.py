"""Handlers for the TCP server tests: the local provider, and a scripted one that stalls,
fails and records when its generators are closed."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

import orjson

from continuum.core.events import ErrorEvent, Event, Finish, TextDelta, ToolCallDelta, Usage
from continuum.core.routes import Deployment
from continuum.core.types import ChatRequest, Message, SamplingParams
from continuum.errors import AuthenticationFailed, MalformedJSON, RateLimited, UpstreamError
from continuum.providers.local import LocalProvider

KEY = "ck-test-key"
# 100 kB of one-, two-, three- and four-byte characters: splitting it must respect them.
BIG_TEXT = "aé€😀" * 10_000
TEXT = Deployment("local", "text")


def chat_request(body: dict[str, Any], request_id: str = "chatcmpl-tcp") -> ChatRequest:
    """The few fields the tests use, as the lead's door will decode them."""
    params = SamplingParams(
        max_tokens=body.get("max_tokens"),
        temperature=body.get("temperature"),
        seed=body.get("seed"),
        n=body.get("n", 1),
    )
    messages = tuple(Message(m["role"], m.get("content")) for m in body["messages"])
    return ChatRequest(body["model"], messages, params, request_id=request_id)


def body(prompt: str, **extra: Any) -> dict[str, Any]:
    return {"model": "local-text", "messages": [{"role": "user", "content": prompt}], **extra}


async def direct_text(request_body: dict[str, Any]) -> str:
    """The answer the provider gives for the same request, without any door."""
    parts = []
    async for event in LocalProvider().stream_chat(chat_request(request_body), TEXT):
        if isinstance(event, TextDelta):
            parts.append(event.text)
    return "".join(parts)


class LocalHandler:
    """Serves every request with the local ``text`` model."""

    def __init__(self) -> None:
        self.provider = LocalProvider()

    async def authenticate(self, key: str, client: str | None) -> object:
        if key != KEY:
            raise AuthenticationFailed("Incorrect API key provided")
        return {"key": key, "client": client}

    async def stream(self, identity: object, body: bytes) -> AsyncGenerator[Event, None]:
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise MalformedJSON("The body is not valid JSON") from None
        # aclosing: closing this generator must close the provider's at once, not when
        # the garbage collector gets to it (that is what cancels the upstream).
        async with contextlib.aclosing(
            self.provider.stream_chat(chat_request(parsed), TEXT)
        ) as events:
            async for event in events:
                yield event


@dataclass
class Record:
    """What the scripted handler saw of one request."""

    model: str
    pulled: int = 0  # events the server took from the generator
    closed_at: float | None = None
    closed: asyncio.Event = field(default_factory=asyncio.Event)


class ScriptedHandler(LocalHandler):
    """Behaviour chosen by the request's ``model``:

    * ``endless``: text pieces of ``piece`` bytes forever, as fast as they are pulled;
    * ``stall``: one piece, then waits until released (``release``);
    * ``rate-limited``: raises RateLimited before the first event;
    * ``fail-after``: two pieces, then an ErrorEvent (502);
    * ``crash`` / ``crash-after``: a RuntimeError before / after the first event;
    * ``tools``: a tool call in pieces, then ``Finish("tool_calls")``;
    * ``big``: ``BIG_TEXT`` as one text delta, then as one tool call's arguments;
    * anything else: the local text model.
    """

    def __init__(self, piece: int = 1000) -> None:
        super().__init__()
        self.piece = piece
        self.records: list[Record] = []
        self.release = asyncio.Event()
        self.started = asyncio.Event()

    async def stream(self, identity: object, body: bytes) -> AsyncGenerator[Event, None]:
        parsed = orjson.loads(body)
        record = Record(parsed["model"])
        self.records.append(record)
        self.started.set()
        try:
            async with contextlib.aclosing(self._script(parsed, record)) as events:
                async for event in events:
                    record.pulled += 1
                    yield event
        finally:
            record.closed_at = time.monotonic()
            record.closed.set()

    async def _script(self, parsed: dict[str, Any], record: Record) -> AsyncGenerator[Event, None]:
        model = parsed["model"]
        if model == "endless":
            while True:
                yield TextDelta("x" * self.piece)
        elif model == "stall":
            yield TextDelta("first ")
            await self.release.wait()
            yield TextDelta("second")
            yield Finish("stop")
        elif model == "rate-limited":
            raise RateLimited("Rate limit reached for requests", retry_after=7.5)
        elif model == "fail-after":
            yield TextDelta("partial ")
            yield TextDelta("answer")
            yield ErrorEvent(UpstreamError("the upstream broke mid-stream"))
        elif model == "crash":
            raise RuntimeError("a bug before the first event")
        elif model == "crash-after":
            yield TextDelta("ok so far")
            raise ValueError("a bug after the first event")
        elif model == "big":
            yield TextDelta(BIG_TEXT)
            yield ToolCallDelta(0, BIG_TEXT, id="call_big", name="echo")
            yield Finish("tool_calls")
        elif model == "tools":
            yield ToolCallDelta(0, id="call_1", name="lookup")
            yield ToolCallDelta(0, arguments='{"city": ')
            yield ToolCallDelta(0, arguments='"Paris"}')
            yield Finish("tool_calls")
            yield Usage(5, 3)
        else:
            async for event in self.provider.stream_chat(chat_request(parsed), TEXT):
                yield event
