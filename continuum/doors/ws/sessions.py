"""``WS /ws/{session_id}``: seed 003's chat sessions, durable and replica-independent.

    connect ─► key (Authorization header or ?token=) ─► open_chat (the key's own)
            ─► resume: what the client missed of the current/last turn, then its live rest
            ─► each {"type":"user_message"}: begin_turn ─► generation ─► relay from the buffer

A turn's answer is not streamed from the upstream to the socket: ``Generations`` runs it
into the session store in a task the gateway owns, and the connection reads it back
from the buffer like any reader (``store.read``), from its own cursor. A client that
leaves (or is closed as a slow consumer) therefore never stops a generation, and a
client that comes back, to this replica or another, reads on from where it was:

* with ``?last_event_id=<id>`` (the ``id`` of the last message it got): exactly what
  followed it; a cursor of an older turn or an expired one gets an error message with
  ``code: "reset"`` and then the whole current turn;
* without: what the gateway has not yet written to a socket of this session (the
  delivered cursor, saved with ``set_delivered`` when a connection ends). Frames lost in
  flight when a connection breaks, or a replica that dies before saving, can make this
  repeat a few tokens, never skip one; exact clients pass ``last_event_id``.

docs/sessions-ws.md describes the protocol, its reconnect rules and its limits.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator

from fastapi import APIRouter
from starlette.routing import WebSocketRoute

from continuum.core.context import RequestContext
from continuum.core.types import ChatRequest, Message
from continuum.dialects.session.messages import (
    error_message,
    final_message,
    parse_user_message,
    token_message,
)
from continuum.doors.ws.connection import Handler, Socket, SocketDoor
from continuum.errors import InvalidRequest, NotFound, PermissionDenied, UpstreamError
from continuum.gateway import Gateway
from continuum.sessions.model import (
    ChatMessage,
    Cursor,
    Done,
    Failed,
    Piece,
    Reset,
    SessionInfo,
    SessionSpec,
    check_chat_id,
)

DOOR = "ws-session"  # the door's name in the usage ledger


def session_model(gateway: Gateway) -> str | None:
    """The sessions' model: ``CONTINUUM_SESSION_MODEL``, else the gateway's default."""
    return gateway.settings.sessions.model or gateway.simple.model


def conversation(history: list[ChatMessage]) -> tuple[Message, ...]:
    """The history as the model sees it. A turn that failed left its user message with no
    answer; the next turn's message supersedes it, so it is not sent again (the roles
    keep alternating, which some upstreams require)."""
    messages: list[Message] = []
    for message in history:
        if messages and message.role == "user" and messages[-1].role == "user":
            messages.pop()
        messages.append(Message(role=message.role, content=message.content))
    return tuple(messages)


class _Delivery:
    """The cursor of the last message written to the client's socket: frames are written
    in order, so it is the last of ``_queued`` whose frame number the outbox has sent."""

    def __init__(self, socket: Socket):
        self._socket = socket
        self._queued: deque[tuple[int, Cursor]] = deque()
        self._written: Cursor | None = None

    def note(self, cursor: Cursor) -> None:
        """The frame just put carries ``cursor``."""
        self._queued.append((self._socket.frames_put, cursor))
        self._advance()

    def written(self) -> Cursor | None:
        self._advance()
        return self._written

    def _advance(self) -> None:
        sent, queued = self._socket.frames_sent, self._queued
        while queued and queued[0][0] <= sent:
            self._written = queued.popleft()[1]


class ChatConnection:
    """One client's connection to chat session ``chat_id`` (owned by ``owner``)."""

    def __init__(self, socket: Socket, chat_id: str, owner: str):
        self.socket = socket
        self.gateway = socket.gateway
        self.chat_id = chat_id
        self.owner = owner
        self.model = socket.websocket.query_params.get("model") or session_model(self.gateway)
        self.delivery = _Delivery(socket)

    async def resume(self, turn: str | None, delivered: str | None) -> None:
        """Send what the client has not had of the chat's current or last turn."""
        if turn is None:
            return
        given = self.socket.websocket.query_params.get("last_event_id") or None
        await self.relay(turn, given or delivered, announce_reset=given is not None)

    async def relay(self, turn: str, after: str | Cursor | None, announce_reset: bool) -> None:
        """The turn's entries after ``after``, as seed 003's messages, until its end."""
        restart: Cursor | None = None
        outcomes = self.gateway.sessions.read(turn, after)
        try:
            async for outcome in outcomes:
                if isinstance(outcome, Reset):
                    if announce_reset:
                        reset = InvalidRequest(f"cannot resume: {outcome.message}", code="reset")
                        await self.socket.send(error_message(reset))
                    restart = outcome.restart
                    break
                if isinstance(outcome, Piece):
                    frame = token_message(outcome.text, outcome.cursor)
                elif isinstance(outcome, Done):
                    frame = final_message(outcome.cursor)
                elif isinstance(outcome, Failed):
                    failure = UpstreamError(outcome.message, code=outcome.code)
                    frame = error_message(failure, outcome.cursor)
                else:
                    continue
                await self.socket.send(frame)
                self.delivery.note(outcome.cursor)
        finally:  # a client that leaves stops the read (and its follower) at once
            closing = getattr(outcomes, "aclose", None)
            if closing is not None:
                await closing()
        if restart is not None:  # the turn is still there: all of it, then
            await self.relay(turn, restart, announce_reset=False)

    async def serve(self, socket: Socket, text: str | bytes) -> None:
        """One ``user_message``: a turn, generated through the pipeline with the history."""
        message = parse_user_message(text)
        gateway = self.gateway
        pipeline = gateway.pipeline
        ctx = await pipeline.open(
            socket.credential, door=DOOR, prefix="sess-", client=socket.client
        )
        model = message.model or self.model
        if model is None:
            raise NotFound(
                "No model serves chat sessions: set CONTINUUM_SESSION_MODEL or a default model",
                code="no_default_model",
            )
        pipeline.authorize(ctx.principal, model)  # unknown or forbidden: before the turn
        spec = SessionSpec(owner=self.owner, prompt=message.content, model=model)
        # Shielded: a client that leaves now must not leave a turn begun and never
        # started (it would hold the chat as "in progress" until it expired).
        turn = await asyncio.shield(self._start_turn(ctx, spec))
        await self.relay(turn.id, turn.start, announce_reset=False)

    async def _start_turn(self, ctx: RequestContext, spec: SessionSpec) -> SessionInfo:
        """Add the message to the history and start generating the answer into its buffer."""
        gateway = self.gateway
        store, pipeline = gateway.sessions, gateway.pipeline
        turn = await store.begin_turn(self.chat_id, spec.prompt, spec)
        history = await store.chat_history(self.chat_id)
        request = ChatRequest(
            model=spec.model, messages=conversation(history), request_id=ctx.request_id
        )
        await gateway.generations.begin(turn.id, lambda: pipeline.chat(ctx, request))
        return turn

    async def close(self) -> None:
        """Remember how far the client got, for a reconnect that brings no cursor."""
        written = self.delivery.written()
        if written is not None:
            await self.gateway.sessions.set_delivered(self.chat_id, written)


@contextlib.asynccontextmanager
async def open_session(socket: Socket) -> AsyncIterator[Handler]:
    """Authenticate, take the key's chat session, resume it; serve; save the cursor."""
    chat_id: str = socket.websocket.path_params["session_id"]
    check_chat_id(chat_id)
    gateway = socket.gateway
    principal = await gateway.pipeline.authenticate(socket.credential)
    owner = principal.key_id or principal.id
    try:
        chat = await gateway.sessions.open_chat(chat_id, owner)
    except PermissionDenied:  # another key's session looks like one this key cannot open
        raise NotFound(
            f"chat session {chat_id} is not available", code="session_not_found"
        ) from None
    connection = ChatConnection(socket, chat_id, owner)
    try:
        await connection.resume(chat.turn, chat.delivered)
        yield connection.serve
    finally:
        await connection.close()


router = APIRouter()
router.routes.append(
    WebSocketRoute(
        "/ws/{session_id}", SocketDoor(None, error_message, opening=open_session, door="ws-session")
    )
)
