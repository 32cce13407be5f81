"""Conversation items: the stored ``ItemResource`` objects, and the core messages they make.

A stored response keeps its whole input as items (earlier turns included), each with an
id: user, system and developer messages (``input_text`` / ``input_image`` parts), the
assistant's messages (``output_text`` / ``refusal`` parts), ``function_call`` and
``function_call_output`` items. ``messages_of`` turns such a list into the core chat
messages every provider reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from continuum.core.types import ContentPart, Message, ToolCall

NewId = Callable[[str], str]
"""Makes a fresh id with the given prefix (``msg_``, ``fc_``, …)."""


def output_text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _text(parts: Iterable[Mapping[str, Any]]) -> str:
    return "".join(
        part.get("text") or part.get("refusal") or ""
        for part in parts
        if "image" not in part["type"]
    )


def _content(parts: list[dict[str, Any]]) -> str | tuple[ContentPart, ...]:
    if all(part["type"] != "input_image" for part in parts):
        return _text(parts)
    out = []
    for part in parts:
        if part["type"] == "input_image":
            image = {"url": part["image_url"], "detail": part.get("detail", "auto")}
            out.append(ContentPart("image_url", None, {"type": "image_url", "image_url": image}))
        else:
            out.append(ContentPart("text", _text([part])))
    return tuple(out)


def messages_of(
    items: Iterable[Mapping[str, Any]], instructions: str | None
) -> tuple[Message, ...]:
    """The chat of ``items``, after a system message holding ``instructions`` if given.

    Function calls join the assistant message before them (calls made in one turn are
    one assistant message with several tool calls, as chat APIs expect); each
    ``function_call_output`` is a ``tool`` message answering its call id.
    """
    messages: list[Message] = []
    if instructions:
        messages.append(Message("system", instructions))
    for item in items:
        kind = item["type"]
        if kind == "message":
            messages.append(Message(item["role"], _content(item["content"])))
        elif kind == "function_call":
            call = ToolCall(item["call_id"], item["name"], item["arguments"])
            last = messages[-1] if messages else None
            if last is not None and last.role == "assistant":
                merged = Message("assistant", last.content, last.name, (*last.tool_calls, call))
                messages[-1] = merged
            else:
                messages.append(Message("assistant", None, tool_calls=(call,)))
        elif kind == "function_call_output":
            output = item["output"]
            text = output if isinstance(output, str) else _text(output)
            messages.append(Message("tool", text, tool_call_id=item["call_id"]))
    return tuple(messages)


def item_page(
    items: list[dict[str, Any]], *, limit: int, order: str, after: str | None
) -> dict[str, Any]:
    """A ``ResponseItemList`` page of ``items`` (stored oldest first), newest first for
    ``order="desc"``; ``after`` is the last id of the previous page. An empty page has
    no first or last id (``null``)."""
    ordered = items[::-1] if order == "desc" else items
    if after is not None:
        ids = [item["id"] for item in ordered]
        ordered = ordered[ids.index(after) + 1 :] if after in ids else []
    page = ordered[:limit]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": len(ordered) > limit,
    }
