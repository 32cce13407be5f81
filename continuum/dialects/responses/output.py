"""The output of one response, folded from the core events, and the Response object around it.

``Output`` is fed the events of choice 0 (the Responses API has no ``n``): text opens an
assistant ``message`` item, each tool call a ``function_call`` item, in the order they
appear. The streaming encoder (``events.py``) and the non-streaming door read the same
``Output``, so a stream's final ``response.completed`` and a plain answer cannot differ.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

from continuum.core.events import ErrorEvent, Event, TextDelta, ToolCallDelta, Usage
from continuum.dialects.responses.items import NewId, output_text_part
from continuum.errors import ContinuumError, RateLimited, UpstreamRateLimited

# Finish reasons that cut the answer short, and what the Response calls them.
INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


@dataclass(slots=True)
class MessageOut:
    id: str
    index: int
    parts: list[str] = field(default_factory=list)
    done: bool = False

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def item(self, status: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "message",
            "status": status,
            "role": "assistant",
            "content": [output_text_part(self.text)] if status != "in_progress" else [],
        }


@dataclass(slots=True)
class CallOut:
    id: str
    index: int
    call_id: str
    name: str
    parts: list[str] = field(default_factory=list)
    done: bool = False

    @property
    def arguments(self) -> str:
        return "".join(self.parts)

    def item(self, status: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function_call",
            "status": status,
            "call_id": self.call_id,
            "name": self.name,
            "arguments": self.arguments if status != "in_progress" else "",
        }


Item = MessageOut | CallOut


class Output:
    """The items of one answer as its events arrive (see the module docstring)."""

    def __init__(self, new_id: NewId):
        self._new_id = new_id
        self.items: list[Item] = []
        self._message: MessageOut | None = None
        self._calls: dict[int, CallOut] = {}
        self.finish: str | None = None
        self.usage: Usage | None = None

    def text(self, event: TextDelta) -> tuple[MessageOut, bool]:
        """The message ``event`` adds to, and whether it was opened by it."""
        message = self._message
        opened = message is None
        if message is None:
            message = self._message = MessageOut(self._new_id("msg_"), len(self.items))
            self.items.append(message)
        message.parts.append(event.text)
        return message, opened

    def call(self, event: ToolCallDelta) -> tuple[CallOut, bool]:
        """The function call ``event`` adds to, and whether it was opened by it."""
        call = self._calls.get(event.index)
        opened = call is None
        if call is None:
            call = CallOut(
                self._new_id("fc_"),
                len(self.items),
                event.id or self._new_id("call_"),
                event.name or "",
            )
            self._calls[event.index] = call
            self.items.append(call)
            # Text after a call starts a new message, so the items keep the answer's order.
            self._message = None
        elif event.name and not call.name:
            call.name = event.name
        if event.arguments:
            call.parts.append(event.arguments)
        return call, opened

    def add(self, event: Event) -> None:
        """Fold one event (the non-streaming answer); an ``ErrorEvent`` raises its error."""
        if isinstance(event, ErrorEvent):
            raise event.error
        if isinstance(event, Usage):
            self.usage = event
        elif event.choice != 0:
            return
        elif isinstance(event, TextDelta):
            self.text(event)
        elif isinstance(event, ToolCallDelta):
            self.call(event)
        else:
            self.finish = event.reason

    async def collect(self, events: AsyncGenerator[Event, None]) -> None:
        """Run ``events`` to their end into this output; the upstream is always closed."""
        try:
            async for event in events:
                self.add(event)
        finally:
            await events.aclose()

    @property
    def incomplete_reason(self) -> str | None:
        return INCOMPLETE.get(self.finish or "")

    @property
    def status(self) -> str:
        return "incomplete" if self.incomplete_reason else "completed"

    def final_items(self, status: str | None = None) -> list[dict[str, Any]]:
        """Every item as it ends: ``status`` for all (a failed answer's are ``incomplete``)."""
        return [item.item(status or self.status) for item in self.items]


def usage_object(usage: Usage | None) -> dict[str, Any]:
    prompt = usage.prompt_tokens if usage else 0
    completion = usage.completion_tokens if usage else 0
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + completion,
    }


def error_code(error: ContinuumError) -> str:
    """The Response's ``error.code`` (an enum of OpenAI's; ours is in the ``error`` event)."""
    if isinstance(error, RateLimited | UpstreamRateLimited):
        return "rate_limit_exceeded"
    return "server_error"


@dataclass(frozen=True, slots=True)
class Head:
    """What a Response object says about its request: the same in every event of it."""

    id: str
    created_at: int
    fields: dict[str, Any]  # model, instructions, tools, … in the object's order

    def response(
        self,
        status: str,
        output: list[dict[str, Any]],
        *,
        usage: Usage | None = None,
        error: ContinuumError | None = None,
        incomplete: str | None = None,
        completed_at: int | None = None,
    ) -> dict[str, Any]:
        """The Response object in state ``status``. ``usage`` appears once the answer ended."""
        body: dict[str, Any] = {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "background": False,
            "completed_at": completed_at,
            "error": None
            if error is None
            else {"code": error_code(error), "message": error.message},
            "incomplete_details": None if incomplete is None else {"reason": incomplete},
            **self.fields,
            "output": output,
        }
        if status != "in_progress":
            body["usage"] = usage_object(usage)
        return body

    def final(
        self, output: Output, now: int, error: ContinuumError | None = None
    ) -> dict[str, Any]:
        """The Response once the answer ended: failed with ``error``, else completed or
        incomplete (cut by ``max_output_tokens`` or a content filter) at ``now``."""
        if error is not None:
            items = output.final_items("incomplete")
            return self.response("failed", items, usage=output.usage, error=error)
        reason = output.incomplete_reason
        return self.response(
            output.status,
            output.final_items(),
            usage=output.usage,
            incomplete=reason,
            completed_at=None if reason else now,
        )
