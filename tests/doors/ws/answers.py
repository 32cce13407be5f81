"""Reading whole answers off a WebSocket, for the tests of both WebSocket dialects."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection

TIMEOUT = 10.0


async def message(ws: ClientConnection) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    return data


async def chat_answer(ws: ClientConnection, usage: bool = False) -> list[dict[str, Any]]:
    """One chat answer: its chunks up to the one with ``finish_reason`` (then the usage
    chunk when ``usage``), or up to an error object."""
    out: list[dict[str, Any]] = []
    while True:
        data = await message(ws)
        out.append(data)
        if "error" in data:
            return out
        choices = data["choices"]
        if choices and choices[0]["finish_reason"] and not usage:
            return out
        if not choices and data.get("usage"):
            return out


def text_of(chunks: list[dict[str, Any]]) -> str:
    return "".join(
        c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices")
    )


async def prompt_answer(ws: ClientConnection) -> list[dict[str, Any]]:
    """One prompt-API answer: chunk messages up to the complete message, or an error."""
    out: list[dict[str, Any]] = []
    while True:
        data = await message(ws)
        out.append(data)
        if "error" in data or data.get("type") == "complete":
            return out
