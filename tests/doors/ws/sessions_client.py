"""A seed 003 client for the tests of ``WS /ws/{session_id}``: reading turns and cursors."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection

TIMEOUT = 10.0


def new_session() -> str:
    return f"test-{uuid.uuid4().hex}"


def user_message(content: str, **extra: Any) -> str:
    return orjson.dumps({"type": "user_message", "content": content, **extra}).decode()


async def message(ws: ClientConnection) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    return data


@dataclass
class Turn:
    """The messages of one answer as a client got them."""

    messages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(m["token"] for m in self.messages if m["type"] == "assistant_message")

    @property
    def final(self) -> bool:
        return bool(self.messages) and self.messages[-1].get("is_final") is True

    @property
    def last_id(self) -> str | None:
        return self.messages[-1]["id"] if self.messages else None


async def read_turn(ws: ClientConnection, limit: int | None = None) -> Turn:
    """Messages up to the final one or an error (or ``limit`` of them)."""
    turn = Turn()
    while limit is None or len(turn.messages) < limit:
        data = await message(ws)
        turn.messages.append(data)
        if data["type"] == "error" or data.get("is_final"):
            break
    return turn


def offset(cursor: str) -> int:
    return int(cursor.rsplit("-", 1)[1])
