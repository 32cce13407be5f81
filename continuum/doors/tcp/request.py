"""The server's state for one open request, and the outcomes that end a request early."""

from __future__ import annotations

import asyncio

from continuum.core.events import Finish, Usage
from continuum.doors.tcp.flow import Window
from continuum.doors.tcp.payloads import ErrorInfo

CANCELLED = ErrorInfo(499, "cancelled", "the request was cancelled by the client")
SHUTTING_DOWN = ErrorInfo(503, "shutting_down", "the server shut down before the answer ended")
GOING_AWAY = ErrorInfo(503, "going_away", "the server is draining: open a new connection")
INTERNAL = ErrorInfo(500, "internal_error", "the server failed while serving this request")


class Request:
    """The server's state for one open request id."""

    __slots__ = (
        "cancel_reason",
        "closing",
        "finish",
        "id",
        "parts",
        "size",
        "task",
        "usage",
        "waiter",
        "window",
    )

    def __init__(self, request_id: int, window: int):
        self.id = request_id
        self.window = Window(window)
        self.parts: list[bytes] = []
        self.size = 0
        self.task: asyncio.Task[None] | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.finish: list[str | None] = []
        self.usage: Usage | None = None
        self.cancel_reason: ErrorInfo | None = None
        self.closing = False

    def finished(self, event: Finish) -> None:
        while len(self.finish) <= event.choice:
            self.finish.append(None)
        self.finish[event.choice] = event.reason
